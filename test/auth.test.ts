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
    // On Lambda nothing is written locally (Secrets Manager persistence is a follow-up).
    expect(
      credentialsFrom({ ...env, AWS_LAMBDA_FUNCTION_NAME: 'f' }).salesforce.onTokenRefreshed,
    ).toBeUndefined();
  });
});
