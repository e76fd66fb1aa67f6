// Where refreshed SaaS access tokens are kept between runs. Locally: `<state dir>/tokens.json`
// (mode 0600). On AWS the same port is to be backed by the credentials secret in Secrets Manager
// (follow-up: PutSecretValue merging SALESFORCE_ACCESS_TOKEN into the secret's JSON).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export interface TokenStore {
  /** The last access token saved for `system`, if any. */
  load(system: string): string | undefined;
  save(system: string, accessToken: string): Promise<void>;
}

const fileSchema = z.record(z.string(), z.object({ accessToken: z.string().min(1), savedAt: z.string() }));
type TokenFile = z.infer<typeof fileSchema>;

export const TOKEN_FILE = 'tokens.json';

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

  async save(system: string, accessToken: string): Promise<void> {
    const next: TokenFile = {
      ...this.read(),
      [system]: { accessToken, savedAt: new Date().toISOString() },
    };
    mkdirSync(dirname(this.path), { recursive: true });
    // Write then rename: a reader never sees half a file.
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}
