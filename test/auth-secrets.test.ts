// Refreshed tokens on AWS: merged into the credentials secret's JSON (GetSecretValue → PutSecretValue),
// other keys kept, a concurrent writer's stale merge repaired once; wired by credentialsFrom whenever
// the settings came from the secret (CREDENTIALS_SECRET_ARN).
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type PutSecretValueCommand,
  type PutSecretValueCommandOutput,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { credentialsFrom } from '../runtime/config.ts';
import { type SecretsClient, SecretsManagerTokenStore, TokenStoreError } from '../runtime/token-store.ts';

const secretSchema = z.record(z.string(), z.string());
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:fieldsync-credentials-AbCdEf';

/** A SecretsManagerClient stand-in holding one secret; `beforePut` runs before each write lands. */
class FakeSecrets implements SecretsClient {
  value: string;
  gets = 0;
  puts: Record<string, string>[] = [];
  beforePut: ((attempt: number) => void) | undefined;
  failPut: ((attempt: number) => Error | undefined) | undefined;
  constructor(initial: Record<string, string> | string) {
    this.value = typeof initial === 'string' ? initial : JSON.stringify(initial);
  }
  json(): Record<string, string> {
    return secretSchema.parse(JSON.parse(this.value));
  }
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  send(command: PutSecretValueCommand): Promise<PutSecretValueCommandOutput>;
  async send(
    command: GetSecretValueCommand | PutSecretValueCommand,
  ): Promise<GetSecretValueCommandOutput | PutSecretValueCommandOutput> {
    expect(command.input.SecretId).toBe(ARN);
    if (command instanceof GetSecretValueCommand) {
      this.gets++;
      return { $metadata: {}, SecretString: this.value, VersionId: `v${this.puts.length}` };
    }
    const attempt = this.puts.length + 1;
    const failure = this.failPut?.(attempt);
    if (failure !== undefined) throw failure;
    const next = command.input.SecretString ?? '';
    this.puts.push(secretSchema.parse(JSON.parse(next)));
    this.value = next;
    this.beforePut?.(attempt);
    return { $metadata: {}, VersionId: `v${this.puts.length}` };
  }
}

const SECRET = {
  SALESFORCE_INSTANCE_URL: 'https://example.my.salesforce.com',
  SALESFORCE_ACCESS_TOKEN: '00Dxx!OLD',
  SALESFORCE_REFRESH_TOKEN: 'sf-rt',
  SALESFORCE_CLIENT_ID: 'sf-cid',
  HUBSPOT_ACCESS_TOKEN: 'hs-old',
  HUBSPOT_REFRESH_TOKEN: 'hs-rt',
  HUBSPOT_CLIENT_ID: 'hs-cid',
  HUBSPOT_CLIENT_SECRET: 'hs-secret',
  SALESFORCE_OUTBOUND_SECRET: 'path-secret',
};

describe('SecretsManagerTokenStore', () => {
  it('merges the new tokens into the secret and keeps every other key', async () => {
    const fake = new FakeSecrets(SECRET);
    const store = new SecretsManagerTokenStore(ARN, fake);
    await store.save('hubspot', {
      accessToken: 'hs-new',
      refreshToken: 'hs-rt-2',
      expiresAt: 1_717_200_000_000,
    });
    expect(fake.puts).toHaveLength(1);
    expect(fake.json()).toEqual({
      ...SECRET,
      HUBSPOT_ACCESS_TOKEN: 'hs-new',
      HUBSPOT_REFRESH_TOKEN: 'hs-rt-2',
      HUBSPOT_ACCESS_TOKEN_EXPIRES_AT: '1717200000000',
    });
    await store.save('salesforce', '00Dxx!NEW');
    expect(fake.json()).toEqual({
      ...SECRET,
      SALESFORCE_ACCESS_TOKEN: '00Dxx!NEW',
      HUBSPOT_ACCESS_TOKEN: 'hs-new',
      HUBSPOT_REFRESH_TOKEN: 'hs-rt-2',
      HUBSPOT_ACCESS_TOKEN_EXPIRES_AT: '1717200000000',
    });
  });

  it('repairs a concurrent writer that put a stale merge over ours, once', async () => {
    const fake = new FakeSecrets(SECRET);
    // Another function read the secret before our write and lands its own merge right after it.
    fake.beforePut = (attempt) => {
      if (attempt === 1) fake.value = JSON.stringify({ ...SECRET, SALESFORCE_ACCESS_TOKEN: '00Dxx!OTHER' });
    };
    await new SecretsManagerTokenStore(ARN, fake).save('hubspot', {
      accessToken: 'hs-new',
      refreshToken: 'hs-rt-2',
    });
    expect(fake.puts).toHaveLength(2);
    expect(fake.json()).toMatchObject({
      SALESFORCE_ACCESS_TOKEN: '00Dxx!OTHER',
      HUBSPOT_ACCESS_TOKEN: 'hs-new',
      HUBSPOT_REFRESH_TOKEN: 'hs-rt-2',
      HUBSPOT_CLIENT_SECRET: 'hs-secret',
    });
  });

  it('keeps a later refresh by another function instead of overwriting it', async () => {
    const fake = new FakeSecrets(SECRET);
    fake.beforePut = (attempt) => {
      if (attempt === 1) fake.value = JSON.stringify({ ...fake.json(), HUBSPOT_ACCESS_TOKEN: 'hs-newer' });
    };
    await new SecretsManagerTokenStore(ARN, fake).save('hubspot', { accessToken: 'hs-new' });
    expect(fake.puts).toHaveLength(1);
    expect(fake.json().HUBSPOT_ACCESS_TOKEN).toBe('hs-newer');
  });

  it('retries a failed write once from a fresh read, then fails without token values in the error', async () => {
    const fake = new FakeSecrets(SECRET);
    const conflict = Object.assign(new Error('a concurrent update is in progress'), {
      name: 'ResourceExistsException',
    });
    fake.failPut = (attempt) => (attempt === 1 && fake.gets === 1 ? conflict : undefined);
    await new SecretsManagerTokenStore(ARN, fake).save('salesforce', '00Dxx!NEW');
    expect(fake.json().SALESFORCE_ACCESS_TOKEN).toBe('00Dxx!NEW');

    const denied = new FakeSecrets(SECRET);
    denied.failPut = () => Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const err = await new SecretsManagerTokenStore(ARN, denied)
      .save('hubspot', { accessToken: 'hs-secret-value', refreshToken: 'hs-rt-secret' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenStoreError);
    expect(String(err)).toMatch(/AccessDeniedException/);
    expect(String(err)).not.toMatch(/hs-secret-value|hs-rt-secret/);
    expect(denied.json()).toEqual(SECRET);
  });

  it('never overwrites a secret that is not a JSON object of strings', async () => {
    const fake = new FakeSecrets('not json');
    await expect(new SecretsManagerTokenStore(ARN, fake).save('salesforce', 'x')).rejects.toThrow(
      TokenStoreError,
    );
    expect(fake.puts).toEqual([]);
  });
});

describe('credentialsFrom with the credentials secret', () => {
  it('persists refreshed tokens of both systems to the secret', async () => {
    const fake = new FakeSecrets(SECRET);
    // On Lambda the secret's keys are merged over the environment (runtime/credentials.ts).
    const creds = credentialsFrom(
      { ...SECRET, CREDENTIALS_SECRET_ARN: ARN, AWS_LAMBDA_FUNCTION_NAME: 'fieldsync-poll-hubspot' },
      { secretsClient: fake },
    );
    expect(creds.hubspot).toMatchObject({
      accessToken: 'hs-old',
      refreshToken: 'hs-rt',
      clientId: 'hs-cid',
      clientSecret: 'hs-secret',
    });
    expect(creds.hubspot.accessTokenExpiresAt).toBeUndefined();
    await creds.hubspot.onTokenRefreshed?.({ accessToken: 'hs-new', refreshToken: 'hs-rt-2', expiresAt: 42 });
    await creds.salesforce.onTokenRefreshed?.('00Dxx!NEW');
    expect(fake.json()).toEqual({
      ...SECRET,
      SALESFORCE_ACCESS_TOKEN: '00Dxx!NEW',
      HUBSPOT_ACCESS_TOKEN: 'hs-new',
      HUBSPOT_REFRESH_TOKEN: 'hs-rt-2',
      HUBSPOT_ACCESS_TOKEN_EXPIRES_AT: '42',
    });
    // The next cold start reads them back, expiry included: a fresh token is not refreshed again.
    const next = credentialsFrom({ ...fake.json(), CREDENTIALS_SECRET_ARN: ARN }, { secretsClient: fake });
    expect(next.hubspot).toMatchObject({
      accessToken: 'hs-new',
      refreshToken: 'hs-rt-2',
      accessTokenExpiresAt: 42,
    });
    expect(next.salesforce.accessToken).toBe('00Dxx!NEW');
  });
});
