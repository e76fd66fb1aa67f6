// HubSpot OAuth refresh (reference B3 "OAuth"): access tokens last 30 minutes and a 401 is not a
// reliable signal, so the connector refreshes before a call once the token's expiry (less a minute)
// has passed or is unknown, keeps the rotated refresh token, and hands the new pair to the runtime.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { RateBudget } from '../connectors/budget.ts';
import { AuthError } from '../connectors/errors.ts';
import { type HubSpotConfig, HubSpotConnector, type HubSpotTokens } from '../connectors/hubspot/index.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { testClock } from '../sandboxes/hubspot/testing.ts';

const VIEW = DEFAULT_CONFIG.systems.hubspot;
const OAUTH = { clientId: 'fieldsync-app', clientSecret: 'app-secret', refreshToken: 'rt-install' };
const TOKEN_CALL = 'POST /oauth/v1/token';
const clock = testClock();
let sandbox: HubSpotSandbox;
let privateApp: HubSpotSandbox;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({
    people: 5,
    now: clock.now,
    oauth: { ...OAUTH, ttlSeconds: 1800 },
  });
  privateApp = await startHubSpotSandbox({ people: 5, now: clock.now });
});
afterAll(async () => {
  await sandbox.close();
  await privateApp.close();
});

function connector(overrides: Partial<HubSpotConfig>, tokens: HubSpotTokens[] = []): HubSpotConnector {
  return new HubSpotConnector(
    {
      accessToken: sandbox.token,
      baseUrl: sandbox.url,
      ...OAUTH,
      refreshToken: sandbox.refreshToken() ?? '',
      now: clock.now,
      budget: new RateBudget(),
      onTokenRefreshed: (t) => {
        tokens.push(t);
      },
      ...overrides,
    },
    VIEW,
  );
}

describe('HubSpot OAuth refresh', () => {
  it('uses a token that is still fresh, refreshes once when it has expired, and the call succeeds', async () => {
    const tokens: HubSpotTokens[] = [];
    const c = connector({ accessTokenExpiresAt: clock.now() + 1_800_000 }, tokens);
    await c.describe('contact');
    expect(sandbox.stats.get(TOKEN_CALL)).toBe(0);

    // 29.5 minutes later the token is inside the one-minute margin: refresh before the call.
    clock.advance(1_770_000);
    const fields = await c.describe('contact');
    expect(fields.length).toBeGreaterThan(0);
    expect(sandbox.stats.get(TOKEN_CALL)).toBe(1);
    expect(tokens).toEqual([
      {
        accessToken: `${sandbox.token}.oauth.1`,
        refreshToken: `${OAUTH.refreshToken}.1`,
        expiresAt: clock.now() + 1_800_000,
      },
    ]);

    // The server expires it; the connector knows from expires_in, not from a 401.
    clock.advance(1_800_000);
    await c.read(
      'contact',
      sandbox.list('contacts').map((r) => r.id),
    );
    expect(sandbox.stats.get(TOKEN_CALL)).toBe(2);
    // The rotated refresh token was used: the installed one no longer works.
    expect(tokens.map((t) => t.refreshToken)).toEqual([`${OAUTH.refreshToken}.1`, `${OAUTH.refreshToken}.2`]);
    expect(sandbox.refreshToken()).toBe(`${OAUTH.refreshToken}.2`);
  });

  it('refreshes before the first call when the expiry is unknown; concurrent calls share one refresh', async () => {
    sandbox.stats.reset();
    sandbox.expireTokens();
    const tokens: HubSpotTokens[] = [];
    const c = connector({}, tokens);
    await Promise.all([c.describe('contact'), c.describe('company'), c.describe('contact')]);
    expect(sandbox.stats.get(TOKEN_CALL)).toBe(1);
    expect(tokens).toHaveLength(1);
  });

  it('a refused refresh token is one clear AuthError, and nothing is saved', async () => {
    sandbox.stats.reset();
    const tokens: HubSpotTokens[] = [];
    const c = connector({ refreshToken: 'rt-revoked' }, tokens);
    const err = await c.describe('contact').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: 'BAD_REFRESH_TOKEN', retryable: false });
    expect(String(err)).toMatch(/HUBSPOT_REFRESH_TOKEN/);
    expect(String(err)).not.toContain('rt-revoked');
    expect(sandbox.stats.get(TOKEN_CALL)).toBe(1);
    // No API call went out with a token that could not be refreshed.
    expect(sandbox.stats.total).toBe(1);
    expect(tokens).toEqual([]);
  });

  it('a wrong client secret names HUBSPOT_CLIENT_SECRET', async () => {
    const c = connector({ clientSecret: 'wrong' });
    await expect(c.describe('contact')).rejects.toMatchObject({
      name: 'AuthError',
      code: 'BAD_CLIENT_SECRET',
      message: expect.stringMatching(/HUBSPOT_CLIENT_SECRET/),
    });
  });

  it('a private-app token (no refresh token) works as before and never refreshes', async () => {
    const c = new HubSpotConnector(
      { accessToken: privateApp.token, baseUrl: privateApp.url, budget: new RateBudget() },
      VIEW,
    );
    clock.advance(86_400_000);
    expect((await c.describe('contact')).length).toBeGreaterThan(0);
    expect(privateApp.stats.get(TOKEN_CALL)).toBe(0);
  });
});

describe('HubSpot sandbox token endpoint', () => {
  it('answers a form-encoded refresh with a bearer pair, and 400 BAD_REFRESH_TOKEN for a wrong one', async () => {
    const post = (body: Record<string, string>) =>
      fetch(`${sandbox.url}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      });
    const bad = await post({
      grant_type: 'refresh_token',
      client_id: OAUTH.clientId,
      client_secret: OAUTH.clientSecret,
      refresh_token: 'nope',
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 'BAD_REFRESH_TOKEN' });

    const ok = await post({
      grant_type: 'refresh_token',
      client_id: OAUTH.clientId,
      client_secret: OAUTH.clientSecret,
      refresh_token: sandbox.refreshToken() ?? '',
    });
    expect(ok.status).toBe(200);
    const body = z
      .object({
        token_type: z.literal('bearer'),
        access_token: z.string(),
        refresh_token: z.string(),
        expires_in: z.number(),
      })
      .parse(await ok.json());
    expect(body.expires_in).toBe(1800);
    expect(body.refresh_token).toBe(sandbox.refreshToken());
    const fresh = await fetch(`${sandbox.url}/crm/v3/properties/contacts`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(fresh.status).toBe(200);
    sandbox.expireTokens();
    const after = await fetch(`${sandbox.url}/crm/v3/properties/contacts`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ category: 'EXPIRED_AUTHENTICATION' });
  });
});
