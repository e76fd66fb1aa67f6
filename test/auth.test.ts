// Salesforce OAuth refresh (reference A4.2): expired sessions are refreshed by jsforce with the refresh
// token, the request replayed, and the new access token handed to the runtime to persist.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { RateBudget } from '../connectors/budget.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import type { SourceChange } from '../connectors/types.ts';
import { ConfigError, credentialsFrom } from '../runtime/config.ts';
import { FileTokenStore } from '../runtime/token-store.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';

const VIEW = DEFAULT_CONFIG.systems.salesforce;
let sandbox: SalesforceSandbox;
let dir: string;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ seed: 4, people: 30, pageSize: 10 });
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-auth-'));
});
afterAll(async () => {
  await sandbox.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Salesforce session refresh', () => {
  it('expired mid-poll: the next call refreshes, succeeds, and the hook gets the new token', async () => {
    const tokens: string[] = [];
    const c = new SalesforceConnector(
      {
        instanceUrl: sandbox.url,
        accessToken: sandbox.token,
        refreshToken: sandbox.refreshToken,
        clientId: 'fieldsync-test',
        clientSecret: 'secret',
        overlapMs: 0,
        budget: new RateBudget(),
        onTokenRefreshed: (t) => {
          tokens.push(t);
        },
      },
      VIEW,
    );
    const changes: SourceChange[] = [];
    let pages = 0;
    for await (const page of c.poll('contact', undefined)) {
      changes.push(...page.changes);
      // After the first page of 10 the org expires every session: queryMore meets 401 INVALID_SESSION_ID.
      if (++pages === 1) sandbox.expireSessions();
    }
    expect(pages).toBeGreaterThan(1);
    expect(changes.map((ch) => ch.externalId).sort()).toEqual(
      sandbox
        .list('Contact')
        .map((r) => r.Id)
        .sort(),
    );
    expect(sandbox.stats.get('POST oauth2/token')).toBe(1);
    expect(tokens).toEqual([`${sandbox.token}.refreshed.1`]);
  });

  it('without a refresh token an expired session is an AuthError', async () => {
    const c = new SalesforceConnector(
      { instanceUrl: sandbox.url, accessToken: `${sandbox.token}.refreshed.1`, budget: new RateBudget() },
      VIEW,
    );
    sandbox.expireSessions();
    await expect(c.describe('contact')).rejects.toMatchObject({
      name: 'AuthError',
      code: 'INVALID_SESSION_ID',
    });
  });
});

describe('refresh settings', () => {
  const base = {
    SALESFORCE_INSTANCE_URL: 'https://example.my.salesforce.com',
    HUBSPOT_ACCESS_TOKEN: 'pat',
  };

  it('a refresh token needs the client id: one clear line', () => {
    expect(() => credentialsFrom({ ...base, SALESFORCE_REFRESH_TOKEN: 'rt' })).toThrow(ConfigError);
    expect(() => credentialsFrom({ ...base, SALESFORCE_REFRESH_TOKEN: 'rt' })).toThrow(
      /^SALESFORCE_CLIENT_ID is not set/,
    );
    expect(() => credentialsFrom(base)).toThrow(/^SALESFORCE_ACCESS_TOKEN is not set/);
    expect(() =>
      credentialsFrom({
        ...base,
        SALESFORCE_REFRESH_TOKEN: 'rt',
        SALESFORCE_CLIENT_ID: 'cid',
        SALESFORCE_LOGIN_URL: 'login.salesforce.com',
      }),
    ).toThrow(/^SALESFORCE_LOGIN_URL must be an http\(s\) URL/);
  });

  it('locally, a refreshed token is kept in the state dir and used at the next start', async () => {
    const env = {
      ...base,
      SALESFORCE_REFRESH_TOKEN: 'rt',
      SALESFORCE_CLIENT_ID: 'cid',
      SALESFORCE_CLIENT_SECRET: 'cs',
      SALESFORCE_LOGIN_URL: 'https://login.salesforce.com',
      FIELDSYNC_STATE_DIR: dir,
    };
    const first = credentialsFrom(env).salesforce;
    expect(first).toMatchObject({
      accessToken: '',
      refreshToken: 'rt',
      clientId: 'cid',
      clientSecret: 'cs',
      loginUrl: 'https://login.salesforce.com',
    });
    await first.onTokenRefreshed?.('00Dxx!NEW');
    const file = join(dir, 'tokens.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      salesforce: { accessToken: '00Dxx!NEW' },
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(new FileTokenStore(dir).load('salesforce')).toBe('00Dxx!NEW');
    expect(credentialsFrom(env).salesforce.accessToken).toBe('00Dxx!NEW');
    // An access token in the environment still wins.
    expect(credentialsFrom({ ...env, SALESFORCE_ACCESS_TOKEN: 'env' }).salesforce.accessToken).toBe('env');
    // On Lambda nothing is written locally; without the credentials secret there is nowhere to write.
    expect(
      credentialsFrom({ ...env, AWS_LAMBDA_FUNCTION_NAME: 'f' }).salesforce.onTokenRefreshed,
    ).toBeUndefined();
  });
});

describe('HubSpot OAuth settings', () => {
  const base = {
    SALESFORCE_INSTANCE_URL: 'https://example.my.salesforce.com',
    SALESFORCE_ACCESS_TOKEN: 'sf',
  };

  it('a private-app token alone works as before; with neither token, one clear line', () => {
    const hs = credentialsFrom({
      ...base,
      HUBSPOT_ACCESS_TOKEN: 'pat',
      HUBSPOT_CLIENT_SECRET: 'webhook',
    }).hubspot;
    expect(hs.accessToken).toBe('pat');
    expect(hs.refreshToken).toBeUndefined();
    expect(hs.onTokenRefreshed).toBeUndefined();
    expect(() => credentialsFrom(base)).toThrow(
      /^HUBSPOT_ACCESS_TOKEN is not set \(or set HUBSPOT_REFRESH_TOKEN\)$/,
    );
  });

  it('a refresh token needs the app client id and secret (the same secret that signs webhooks)', () => {
    expect(() => credentialsFrom({ ...base, HUBSPOT_REFRESH_TOKEN: 'rt' })).toThrow(
      /^HUBSPOT_CLIENT_ID is not set/,
    );
    expect(() => credentialsFrom({ ...base, HUBSPOT_REFRESH_TOKEN: 'rt', HUBSPOT_CLIENT_ID: 'cid' })).toThrow(
      /^HUBSPOT_CLIENT_SECRET is not set/,
    );
    const hs = credentialsFrom({
      ...base,
      HUBSPOT_REFRESH_TOKEN: 'rt',
      HUBSPOT_CLIENT_ID: 'cid',
      HUBSPOT_CLIENT_SECRET: 'cs',
      FIELDSYNC_STATE_DIR: join(dir, 'hs-empty'),
    }).hubspot;
    expect(hs).toMatchObject({ accessToken: '', refreshToken: 'rt', clientId: 'cid', clientSecret: 'cs' });
    expect(hs.accessTokenExpiresAt).toBeUndefined();
  });

  it('locally, a refreshed pair is kept in the state dir and used at the next start', async () => {
    const env = {
      ...base,
      HUBSPOT_REFRESH_TOKEN: 'rt',
      HUBSPOT_CLIENT_ID: 'cid',
      HUBSPOT_CLIENT_SECRET: 'cs',
      FIELDSYNC_STATE_DIR: join(dir, 'hs'),
    };
    const expiresAt = Date.parse('2030-01-01T00:00:00Z');
    await credentialsFrom(env).hubspot.onTokenRefreshed?.({
      accessToken: 'at-2',
      refreshToken: 'rt-2',
      expiresAt,
    });
    expect(statSync(join(dir, 'hs', 'tokens.json')).mode & 0o777).toBe(0o600);
    expect(credentialsFrom(env).hubspot).toMatchObject({
      accessToken: 'at-2',
      refreshToken: 'rt-2',
      accessTokenExpiresAt: expiresAt,
    });
    // An access token in the environment wins; its expiry is unknown, so the first call refreshes.
    const fromEnv = credentialsFrom({ ...env, HUBSPOT_ACCESS_TOKEN: 'env' }).hubspot;
    expect(fromEnv).toMatchObject({ accessToken: 'env', refreshToken: 'rt' });
    expect(fromEnv.accessTokenExpiresAt).toBeUndefined();
  });
});
