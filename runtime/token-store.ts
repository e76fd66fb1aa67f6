// Where refreshed SaaS tokens are kept between runs. Locally: `<state dir>/tokens.json` (mode 0600).
// On AWS: the credentials secret itself (CREDENTIALS_SECRET_ARN), whose JSON the handlers read at cold
// start: the new values are merged into it as SALESFORCE_ACCESS_TOKEN, HUBSPOT_ACCESS_TOKEN,
// HUBSPOT_REFRESH_TOKEN and HUBSPOT_ACCESS_TOKEN_EXPIRES_AT. Token values never appear in errors or logs.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

export interface StoredTokens {
  accessToken: string;
  /** Kept when the vendor rotates it (HubSpot). */
  refreshToken?: string;
  /** When the access token expires, ms since the epoch (HubSpot's `expires_in`). */
  expiresAt?: number;
}

export interface TokenStore {
  /** The last access token saved for `system`, if any. */
  load(system: string): string | undefined;
  /** Everything last saved for `system`, if any. */
  loadTokens(system: string): StoredTokens | undefined;
  /** A bare string is an access token. */
  save(system: string, tokens: StoredTokens | string): Promise<void>;
}

const storedSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  expiresAt: z.number().optional(),
  savedAt: z.string(),
});
const fileSchema = z.record(z.string(), storedSchema);
type TokenFile = z.infer<typeof fileSchema>;

export const TOKEN_FILE = 'tokens.json';

function normalize(tokens: StoredTokens | string): StoredTokens {
  return typeof tokens === 'string' ? { accessToken: tokens } : tokens;
}

export class FileTokenStore implements TokenStore {
  readonly path: string;
  constructor(stateDir: string) {
    this.path = join(stateDir, TOKEN_FILE);
  }

  private read(): TokenFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return {};
    }
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : {};
    } catch {
      return {};
    }
  }

  load(system: string): string | undefined {
    return this.read()[system]?.accessToken;
  }

  loadTokens(system: string): StoredTokens | undefined {
    const entry = this.read()[system];
    if (entry === undefined) return undefined;
    return {
      accessToken: entry.accessToken,
      ...(entry.refreshToken !== undefined ? { refreshToken: entry.refreshToken } : {}),
      ...(entry.expiresAt !== undefined ? { expiresAt: entry.expiresAt } : {}),
    };
  }

  async save(system: string, tokens: StoredTokens | string): Promise<void> {
    const t = normalize(tokens);
    const next: TokenFile = {
      ...this.read(),
      [system]: {
        accessToken: t.accessToken,
        ...(t.refreshToken !== undefined ? { refreshToken: t.refreshToken } : {}),
        ...(t.expiresAt !== undefined ? { expiresAt: t.expiresAt } : {}),
        savedAt: new Date().toISOString(),
      },
    };
    mkdirSync(dirname(this.path), { recursive: true });
    // Write then rename: a reader never sees half a file.
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}

/** The part of `SecretsManagerClient` the store uses; tests pass a fake. */
export interface SecretsClient {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  send(command: PutSecretValueCommand): Promise<PutSecretValueCommandOutput>;
}

/** The secret's keys for a system's tokens, e.g. HUBSPOT_ACCESS_TOKEN. */
export function secretKeys(system: string, tokens: StoredTokens | string): Record<string, string> {
  const t = normalize(tokens);
  const prefix = system.toUpperCase();
  return {
    [`${prefix}_ACCESS_TOKEN`]: t.accessToken,
    ...(t.refreshToken !== undefined ? { [`${prefix}_REFRESH_TOKEN`]: t.refreshToken } : {}),
    ...(t.expiresAt !== undefined ? { [`${prefix}_ACCESS_TOKEN_EXPIRES_AT`]: String(t.expiresAt) } : {}),
  };
}

export class TokenStoreError extends Error {
  override name = 'TokenStoreError';
}

const secretJsonSchema = z.record(z.string(), z.string());

/**
 * Persists refreshed tokens into the credentials secret (GetSecretValue → merge → PutSecretValue),
 * keeping every other key. Secrets Manager has no compare-and-swap, so after writing it reads the
 * secret back once: if another function's write (merged from an older read) replaced ours, it merges
 * and writes again. A failed write is also retried once from a fresh read.
 */
export class SecretsManagerTokenStore implements TokenStore {
  private readonly secretId: string;
  private client: SecretsClient | undefined;

  constructor(secretId: string, client?: SecretsClient) {
    this.secretId = secretId;
    this.client = client;
  }

  private secrets(): SecretsClient {
    this.client ??= new SecretsManagerClient({});
    return this.client;
  }

  /** Tokens in the secret are read with the rest of the credentials at cold start. */
  load(): string | undefined {
    return undefined;
  }

  loadTokens(): StoredTokens | undefined {
    return undefined;
  }

  private async read(): Promise<Record<string, string>> {
    let res: GetSecretValueCommandOutput;
    try {
      res = await this.secrets().send(new GetSecretValueCommand({ SecretId: this.secretId }));
    } catch (err) {
      throw new TokenStoreError(`could not read the credentials secret: ${errorName(err)}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(res.SecretString ?? '');
    } catch {
      throw new TokenStoreError('the credentials secret is not a JSON object; not overwriting it');
    }
    const parsed = secretJsonSchema.safeParse(json);
    if (!parsed.success)
      throw new TokenStoreError('the credentials secret must map names to strings; not overwriting it');
    return parsed.data;
  }

  private async put(values: Record<string, string>): Promise<void> {
    await this.secrets().send(
      new PutSecretValueCommand({ SecretId: this.secretId, SecretString: JSON.stringify(values) }),
    );
  }

  async save(system: string, tokens: StoredTokens | string): Promise<void> {
    const updates = secretKeys(system, tokens);
    const holds = (values: Record<string, string>) =>
      Object.entries(updates).every(([k, v]) => values[k] === v);
    let current = await this.read();
    for (let attempt = 1; ; attempt++) {
      const before = current;
      try {
        await this.put({ ...before, ...updates });
      } catch (err) {
        if (attempt >= 2)
          throw new TokenStoreError(`could not write the credentials secret: ${errorName(err)}`, {
            cause: err,
          });
        current = await this.read();
        continue;
      }
      if (attempt >= 2) return;
      // A concurrent writer that read before our write may have put its merge over ours: our keys
      // are then back to what we read. (Other values there are a later refresh's: keep them.)
      current = await this.read();
      if (holds(current)) return;
      const reverted = Object.keys(updates).every((k) => current[k] === before[k]);
      if (!reverted) return;
    }
  }
}

/** The AWS error's name (e.g. AccessDeniedException), never its request data. */
function errorName(err: unknown): string {
  if (err instanceof Error) return err.name === 'Error' ? err.message : err.name;
  return String(err);
}
