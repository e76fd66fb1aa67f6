// Access tokens and the OAuth refresh endpoint (reference B3 "OAuth"): without OAuth options the
// sandbox accepts one fixed bearer token forever, like a private app. With them, the initial token
// and every token issued by `POST /oauth/v1/token` expire after `ttlSeconds`, and each refresh
// rotates the refresh token (the previous one stops working).
import { randomUUID } from 'node:crypto';

export interface SandboxOAuthOptions {
  clientId: string;
  clientSecret: string;
  /** The refresh token the app was installed with. */
  refreshToken: string;
  /** Lifetime of issued access tokens; default 1800 (HubSpot: 30 minutes). */
  ttlSeconds?: number;
}

export type TokenCheck = 'ok' | 'expired' | 'invalid';

export interface TokenReply {
  status: number;
  body: unknown;
}

function oauthError(status: string, message: string): TokenReply {
  return { status: 400, body: { status, message, correlationId: randomUUID() } };
}

export class SandboxAuth {
  private readonly staticToken: string;
  private readonly oauth: SandboxOAuthOptions | undefined;
  private readonly now: () => number;
  /** Access token → expiry (ms). */
  private readonly issued = new Map<string, number>();
  private refreshToken: string | undefined;
  private serial = 0;
  /** Refreshes answered with new tokens. */
  refreshes = 0;

  constructor(token: string, oauth: SandboxOAuthOptions | undefined, now: () => number) {
    this.staticToken = token;
    this.oauth = oauth;
    this.now = now;
    this.refreshToken = oauth?.refreshToken;
    if (oauth !== undefined) this.issued.set(token, now() + this.ttlMs());
  }

  private ttlMs(): number {
    return (this.oauth?.ttlSeconds ?? 1800) * 1000;
  }

  /** The refresh token currently accepted (after rotation), if OAuth is on. */
  currentRefreshToken(): string | undefined {
    return this.refreshToken;
  }

  check(authorization: string | undefined): TokenCheck {
    const match = /^Bearer (.+)$/.exec(authorization ?? '');
    const token = match?.[1];
    if (token === undefined) return 'invalid';
    if (this.oauth === undefined) return token === this.staticToken ? 'ok' : 'invalid';
    const expiresAt = this.issued.get(token);
    if (expiresAt === undefined) return 'invalid';
    return this.now() < expiresAt ? 'ok' : 'expired';
  }

  /** Every access token issued so far stops working now (refresh tokens keep working). */
  expireTokens(): void {
    const now = this.now();
    for (const token of this.issued.keys()) this.issued.set(token, now);
  }

  /** `POST /oauth/v1/token` with a form-encoded body. */
  token(rawBody: string): TokenReply {
    const form = new URLSearchParams(rawBody);
    const oauth = this.oauth;
    if (form.get('grant_type') !== 'refresh_token')
      return oauthError('BAD_GRANT_TYPE', 'grant_type must be refresh_token (the sandbox issues no codes)');
    if (oauth === undefined || form.get('client_id') !== oauth.clientId)
      return oauthError('BAD_CLIENT_ID', 'missing or unknown client id');
    if (form.get('client_secret') !== oauth.clientSecret)
      return oauthError('BAD_CLIENT_SECRET', 'missing or invalid client secret');
    const presented = form.get('refresh_token');
    if (presented === null || presented !== this.refreshToken)
      return oauthError('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
    this.serial++;
    this.refreshes++;
    const accessToken = `${this.staticToken}.oauth.${this.serial}`;
    const refreshToken = `${oauth.refreshToken}.${this.serial}`;
    this.issued.set(accessToken, this.now() + this.ttlMs());
    this.refreshToken = refreshToken;
    return {
      status: 200,
      body: {
        token_type: 'bearer',
        access_token: accessToken,
        refresh_token: refreshToken,
        expires_in: Math.floor(this.ttlMs() / 1000),
      },
    };
  }
}
