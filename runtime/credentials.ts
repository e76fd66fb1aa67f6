// SaaS credentials: from Secrets Manager on AWS (CREDENTIALS_SECRET_ARN), from the environment locally.
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigError, type Credentials, credentialsFrom } from './config.ts';

export async function loadCredentials(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Credentials> {
  const arn = env.CREDENTIALS_SECRET_ARN;
  if (arn === undefined || arn === '') return credentialsFrom(env);
  const res = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: arn }));
  let json: unknown;
  try {
    json = JSON.parse(res.SecretString ?? '');
  } catch {
    throw new ConfigError('the credentials secret is not a JSON object of SALESFORCE_* and HUBSPOT_* keys');
  }
  const parsed = z.record(z.string(), z.string()).safeParse(json);
  if (!parsed.success) throw new ConfigError('the credentials secret must map names to strings');
  return credentialsFrom({ ...env, ...parsed.data });
}
