// Configuration from the environment, validated once (at cold start for Lambda, at startup for the CLI).
// Errors name the variable and what is wrong, in one line.
import { resolve } from 'node:path';
import { z } from 'zod';
import type { HubSpotConfig } from '../connectors/hubspot/index.ts';
import type { SalesforceConfig } from '../connectors/salesforce/index.ts';
import { FileTokenStore } from './token-store.ts';

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
  HUBSPOT_ACCESS_TOKEN: token,
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

export function credentialsFrom(source: Readonly<Record<string, string | undefined>>): Credentials {
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = credentialsSchema.safeParse(present);
  if (!parsed.success) throw new ConfigError(firstIssue(parsed.error));
  const e = parsed.data;
  const overlapMs = e.FIELDSYNC_POLL_OVERLAP_SECONDS * 1000;
  return {
    salesforce: { ...salesforceAuth(e, present), apiVersion: e.SALESFORCE_API_VERSION, overlapMs },
    hubspot: { accessToken: e.HUBSPOT_ACCESS_TOKEN, baseUrl: e.HUBSPOT_BASE_URL, overlapMs },
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
 * the app allows refresh without one). Locally a refreshed token is kept in the state dir, and used at
 * the next start when no access token is set; on AWS persisting it to the secret is a follow-up.
 */
function salesforceAuth(
  e: z.infer<typeof credentialsSchema>,
  source: Readonly<Record<string, string | undefined>>,
): SalesforceAuth {
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
  const local = (source.AWS_LAMBDA_FUNCTION_NAME ?? '') === '';
  const store = local ? new FileTokenStore(resolve(source.FIELDSYNC_STATE_DIR ?? '.fieldsync')) : undefined;
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

/** True when the user set any SaaS credential (then all must be valid). */
export function hasCredentials(source: Readonly<Record<string, string | undefined>>): boolean {
  return [
    'SALESFORCE_INSTANCE_URL',
    'SALESFORCE_ACCESS_TOKEN',
    'SALESFORCE_REFRESH_TOKEN',
    'HUBSPOT_ACCESS_TOKEN',
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

/** The variable holding a system's write queue URL (set by the CDK stack and the embedded stack). */
export function writeQueueEnv(system: string): string {
  return `WRITE_QUEUE_URL_${system.toUpperCase()}`;
}
