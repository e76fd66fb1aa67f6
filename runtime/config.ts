// Configuration from the environment, validated once (at cold start for Lambda, at startup for the CLI).
// Errors name the variable and what is wrong, in one line.
import { resolve } from 'node:path';
import { z } from 'zod';
import type { HubSpotConfig } from '../connectors/hubspot/index.ts';
import type { SalesforceConfig } from '../connectors/salesforce/index.ts';
import {
  FileTokenStore,
  type SecretsClient,
  SecretsManagerTokenStore,
  type TokenStore,
} from './token-store.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface Credentials {
  salesforce: SalesforceConfig;
  hubspot: HubSpotConfig;
}

const httpUrl = z
  .string()
  .trim()
  .refine(
    (v) => /^https?:\/\/[^/\s]+/.test(v) && URL.canParse(v),
    'must be an http(s) URL such as https://example.my.salesforce.com',
  );
const token = z.string().trim().min(1, 'must not be empty');
const seconds = z.coerce.number().int().min(0).max(3600);

const credentialsSchema = z.object({
  SALESFORCE_INSTANCE_URL: httpUrl,
  // Optional with a refresh token: the first call then refreshes (reference A4.2).
  SALESFORCE_ACCESS_TOKEN: token.optional(),
  SALESFORCE_REFRESH_TOKEN: token.optional(),
  SALESFORCE_CLIENT_ID: token.optional(),
  SALESFORCE_CLIENT_SECRET: token.optional(),
  SALESFORCE_LOGIN_URL: httpUrl.optional(),
  SALESFORCE_API_VERSION: z
    .string()
    .regex(/^\d+\.\d$/, 'must look like 62.0')
    .default('62.0'),
  // Optional with a refresh token (a public app's OAuth, reference B3): the first call then refreshes.
  HUBSPOT_ACCESS_TOKEN: token.optional(),
  HUBSPOT_REFRESH_TOKEN: token.optional(),
  HUBSPOT_CLIENT_ID: token.optional(),
  // The app's client secret: signs its webhooks (v3) and authenticates the refresh.
  HUBSPOT_CLIENT_SECRET: token.optional(),
  // Written with a refreshed access token (ms since the epoch): a fresh token is reused, not refreshed.
  HUBSPOT_ACCESS_TOKEN_EXPIRES_AT: z.coerce.number().int().min(0).optional(),
  HUBSPOT_BASE_URL: httpUrl.default('https://api.hubapi.com'),
  FIELDSYNC_POLL_OVERLAP_SECONDS: seconds.default(60),
});

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid configuration';
  const key = issue.path.join('.');
  const message = issue.code === 'invalid_type' && issue.input === undefined ? 'is not set' : issue.message;
  return `${key} ${message}`;
}

export interface CredentialsDeps {
  /** The Secrets Manager client refreshed tokens are written with (tests pass a fake); default a new one. */
  secretsClient?: SecretsClient;
}

export function credentialsFrom(
  source: Readonly<Record<string, string | undefined>>,
  deps: CredentialsDeps = {},
): Credentials {
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = credentialsSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(firstIssue(parsed.error));
  const e = parsed.data;
  const overlapMs = e.FIELDSYNC_POLL_OVERLAP_SECONDS * 1000;
  const store = tokenStore(present, deps);
  return {
    salesforce: { ...salesforceAuth(e, store), apiVersion: e.SALESFORCE_API_VERSION, overlapMs },
    hubspot: { ...hubspotAuth(e, store), baseUrl: e.HUBSPOT_BASE_URL, overlapMs },
  };
}

/**
 * Where refreshed tokens go: the credentials secret when the settings came from one (on AWS; the
 * pollers and writers may write it), the state dir locally, nowhere on Lambda without a secret.
 */
function tokenStore(
  source: Readonly<Record<string, string | undefined>>,
  deps: CredentialsDeps,
): TokenStore | undefined {
  const arn = source.CREDENTIALS_SECRET_ARN;
  if (arn !== undefined) return new SecretsManagerTokenStore(arn, deps.secretsClient);
  if (source.AWS_LAMBDA_FUNCTION_NAME !== undefined) return undefined;
  return new FileTokenStore(resolve(source.FIELDSYNC_STATE_DIR ?? '.fieldsync'));
}

type HubSpotAuth = Pick<
  HubSpotConfig,
  'accessToken' | 'refreshToken' | 'clientId' | 'clientSecret' | 'accessTokenExpiresAt' | 'onTokenRefreshed'
>;

/**
 * A private-app token alone, or a public app's refresh token with its client id and secret. A saved
 * token pair (state dir locally; on AWS the secret's keys, already in the settings) wins over the
 * configured refresh token when it is newer: HubSpot may rotate refresh tokens.
 */
function hubspotAuth(e: z.infer<typeof credentialsSchema>, store: TokenStore | undefined): HubSpotAuth {
  if (e.HUBSPOT_REFRESH_TOKEN === undefined) {
    if (e.HUBSPOT_ACCESS_TOKEN === undefined)
      throw new ConfigError('HUBSPOT_ACCESS_TOKEN is not set (or set HUBSPOT_REFRESH_TOKEN)');
    return { accessToken: e.HUBSPOT_ACCESS_TOKEN };
  }
  if (e.HUBSPOT_CLIENT_ID === undefined)
    throw new ConfigError(
      'HUBSPOT_CLIENT_ID is not set (the app client id; required with HUBSPOT_REFRESH_TOKEN)',
    );
  if (e.HUBSPOT_CLIENT_SECRET === undefined)
    throw new ConfigError(
      'HUBSPOT_CLIENT_SECRET is not set (the app client secret; required with HUBSPOT_REFRESH_TOKEN)',
    );
  const saved = e.HUBSPOT_ACCESS_TOKEN === undefined ? store?.loadTokens('hubspot') : undefined;
  const accessToken = e.HUBSPOT_ACCESS_TOKEN ?? saved?.accessToken ?? '';
  const expiresAt =
    e.HUBSPOT_ACCESS_TOKEN !== undefined ? e.HUBSPOT_ACCESS_TOKEN_EXPIRES_AT : saved?.expiresAt;
  return {
    accessToken,
    refreshToken: saved?.refreshToken ?? e.HUBSPOT_REFRESH_TOKEN,
    clientId: e.HUBSPOT_CLIENT_ID,
    clientSecret: e.HUBSPOT_CLIENT_SECRET,
    ...(accessToken !== '' && expiresAt !== undefined ? { accessTokenExpiresAt: expiresAt } : {}),
    ...(store !== undefined ? { onTokenRefreshed: (t) => store.save('hubspot', t) } : {}),
  };
}

type SalesforceAuth = Pick<
  SalesforceConfig,
  | 'instanceUrl'
  | 'accessToken'
  | 'refreshToken'
  | 'clientId'
  | 'clientSecret'
  | 'loginUrl'
  | 'onTokenRefreshed'
>;

/**
 * An access token alone, or a refresh token with the connected app's client id (and secret, unless
 * the app allows refresh without one). A refreshed token is kept in the state dir locally (used at the
 * next start when no access token is set) and in the credentials secret on AWS.
 */
function salesforceAuth(e: z.infer<typeof credentialsSchema>, store: TokenStore | undefined): SalesforceAuth {
  const base = { instanceUrl: e.SALESFORCE_INSTANCE_URL };
  if (e.SALESFORCE_REFRESH_TOKEN === undefined) {
    if (e.SALESFORCE_ACCESS_TOKEN === undefined)
      throw new ConfigError('SALESFORCE_ACCESS_TOKEN is not set (or set SALESFORCE_REFRESH_TOKEN)');
    return { ...base, accessToken: e.SALESFORCE_ACCESS_TOKEN };
  }
  if (e.SALESFORCE_CLIENT_ID === undefined)
    throw new ConfigError(
      'SALESFORCE_CLIENT_ID is not set (the connected app consumer key; required with SALESFORCE_REFRESH_TOKEN)',
    );
  return {
    ...base,
    accessToken: e.SALESFORCE_ACCESS_TOKEN ?? store?.load('salesforce') ?? '',
    refreshToken: e.SALESFORCE_REFRESH_TOKEN,
    clientId: e.SALESFORCE_CLIENT_ID,
    ...(e.SALESFORCE_CLIENT_SECRET !== undefined ? { clientSecret: e.SALESFORCE_CLIENT_SECRET } : {}),
    ...(e.SALESFORCE_LOGIN_URL !== undefined ? { loginUrl: e.SALESFORCE_LOGIN_URL } : {}),
    ...(store !== undefined ? { onTokenRefreshed: (t: string) => store.save('salesforce', t) } : {}),
  };
}

/**
 * Checks one system's settings alone (its SALESFORCE_* or HUBSPOT_* keys), with the same rules the
 * functions apply at cold start: `fieldsync secrets set` refuses what the functions would refuse.
 */
export function checkSystemCredentials(
  system: 'salesforce' | 'hubspot',
  source: Readonly<Record<string, string | undefined>>,
): void {
  const prefix = `${system.toUpperCase()}_`;
  const shape = Object.fromEntries(
    Object.entries(credentialsSchema.shape).filter(([k]) => k.startsWith(prefix)),
  ) as Partial<typeof credentialsSchema.shape>;
  const present = Object.fromEntries(
    Object.entries(source).filter(([k, v]) => k.startsWith(prefix) && v !== undefined && v !== ''),
  );
  const parsed = z.object(shape).safeParse(present);
  if (!parsed.success) throw new ConfigError(firstIssue(parsed.error));
  const e = parsed.data as z.infer<typeof credentialsSchema>;
  if (system === 'salesforce') salesforceAuth(e, undefined);
  else hubspotAuth(e, undefined);
}

/** True when the user set any SaaS credential (then all must be valid). */
export function hasCredentials(source: Readonly<Record<string, string | undefined>>): boolean {
  return [
    'SALESFORCE_INSTANCE_URL',
    'SALESFORCE_ACCESS_TOKEN',
    'SALESFORCE_REFRESH_TOKEN',
    'HUBSPOT_ACCESS_TOKEN',
    'HUBSPOT_REFRESH_TOKEN',
  ].some((k) => (source[k] ?? '') !== '');
}

/** A required variable, read at cold start: a missing one fails the function at once, not mid-batch. */
export function requireEnv(
  name: string,
  source: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const v = source[name];
  if (v === undefined || v.trim() === '') throw new ConfigError(`${name} is not set`);
  return v;
}

/** The variable holding a system's webhook-notice queue URL (read by that system's poller). */
export function noticeQueueEnv(system: string): string {
  return `NOTICE_QUEUE_URL_${system.toUpperCase()}`;
}

/**
 * The credentials secret of a stage when none is named: what `fieldsync secrets set --stage` writes
 * and what the CDK stack gives its functions (CREDENTIALS_SECRET_ARN).
 */
export function defaultCredentialsSecretName(stage: string): string {
  return `fieldsync/${stage}/credentials`;
}

/** The variable holding a system's write queue URL (set by the CDK stack and the embedded stack). */
export function writeQueueEnv(system: string): string {
  return `WRITE_QUEUE_URL_${system.toUpperCase()}`;
}
