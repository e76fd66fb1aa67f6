// Configuration from the environment, validated once (at cold start for Lambda, at startup for the CLI).
// Errors name the variable and what is wrong, in one line.
import { z } from 'zod';
import type { HubSpotConfig } from '../connectors/hubspot/index.ts';
import type { SalesforceConfig } from '../connectors/salesforce/index.ts';

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
  SALESFORCE_ACCESS_TOKEN: token,
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
    salesforce: {
      instanceUrl: e.SALESFORCE_INSTANCE_URL,
      accessToken: e.SALESFORCE_ACCESS_TOKEN,
      apiVersion: e.SALESFORCE_API_VERSION,
      overlapMs,
    },
    hubspot: { accessToken: e.HUBSPOT_ACCESS_TOKEN, baseUrl: e.HUBSPOT_BASE_URL, overlapMs },
  };
}

/** True when the user set any SaaS credential (then all must be valid). */
export function hasCredentials(source: Readonly<Record<string, string | undefined>>): boolean {
  return ['SALESFORCE_INSTANCE_URL', 'SALESFORCE_ACCESS_TOKEN', 'HUBSPOT_ACCESS_TOKEN'].some(
    (k) => (source[k] ?? '') !== '',
  );
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

/** The variable holding a system's write queue URL (set by the CDK stack and the embedded stack). */
export function writeQueueEnv(system: string): string {
  return `WRITE_QUEUE_URL_${system.toUpperCase()}`;
}
