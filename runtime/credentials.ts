// SaaS credentials: from Secrets Manager on AWS (CREDENTIALS_SECRET_ARN), from the environment locally.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigError, type Credentials, credentialsFrom } from './config.ts';
import type { WebhookSettings } from './webhook.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** The part of the Secrets Manager client read here (default: a client configured from the process env). */
export type SecretReader = Pick<SecretsManagerClient, 'send'>;

/** The environment, with the credentials secret's keys over it when one is configured. */
async function settings(env: Env, client?: SecretReader): Promise<Env> {
  const arn = env.CREDENTIALS_SECRET_ARN;
  if (arn === undefined || arn === '') return env;
  const res = await (client ?? new SecretsManagerClient({})).send(
    new GetSecretValueCommand({ SecretId: arn }),
  );
  let json: unknown;
  try {
    json = JSON.parse(res.SecretString ?? '');
  } catch {
    throw new ConfigError('the credentials secret is not a JSON object of SALESFORCE_* and HUBSPOT_* keys');
  }
  const parsed = z.record(z.string(), z.string()).safeParse(json);
  if (!parsed.success) throw new ConfigError('the credentials secret must map names to strings');
  return { ...env, ...parsed.data };
}

export async function loadCredentials(env: Env = process.env, client?: SecretReader): Promise<Credentials> {
  return credentialsFrom(await settings(env, client));
}

/** Webhook verification settings: the public base URL, HubSpot's app client secret, the Salesforce org
 * and the secret path segment of its Outbound Message endpoint. */
export async function loadWebhookSettings(env: Env = process.env): Promise<WebhookSettings> {
  const s = await settings(env);
  const base = s.WEBHOOK_BASE_URL;
  if (base !== undefined && base !== '' && !/^https?:\/\/[^/\s]+/.test(base))
    throw new ConfigError('WEBHOOK_BASE_URL must be the public http(s) URL of the webhook API');
  return {
    publicBaseUrl: base === '' ? undefined : base,
    hubspotClientSecret: s.HUBSPOT_CLIENT_SECRET,
    hubspotAllowV1V2: s.HUBSPOT_WEBHOOK_ALLOW_V1V2 === 'true',
    salesforceOrgId: s.SALESFORCE_ORG_ID,
    salesforceSecret: s.SALESFORCE_OUTBOUND_SECRET,
  };
}
