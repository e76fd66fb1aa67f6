// `fieldsync secrets set <salesforce|hubspot>`: puts a system's credentials into the Secrets Manager
// secret the functions read (CREDENTIALS_SECRET_ARN), keeping the other system's keys. Values come
// from hidden prompts on a terminal, KEY=VALUE lines or a JSON object on stdin, or the environment
// (--from-env). They are checked with the functions' own rules before anything is written, and
// never printed: the command names the keys it set.
import { parseArgs } from 'node:util';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { ConfigError, checkSystemCredentials, defaultCredentialsSecretName } from '../../runtime/config.ts';

type SecretSystem = 'salesforce' | 'hubspot';

interface SecretKey {
  name: string;
  /** Typed without echo at the prompt. */
  hidden: boolean;
  help: string;
}

/** The keys of each system in the credentials secret (runtime/config.ts and runtime/credentials.ts read them). */
export const SECRET_KEYS: Readonly<Record<SecretSystem, readonly SecretKey[]>> = {
  salesforce: [
    { name: 'SALESFORCE_INSTANCE_URL', hidden: false, help: 'https://yourorg.my.salesforce.com' },
    {
      name: 'SALESFORCE_ACCESS_TOKEN',
      hidden: true,
      help: 'a session or OAuth access token (or use a refresh token)',
    },
    { name: 'SALESFORCE_REFRESH_TOKEN', hidden: true, help: 'OAuth refresh token of the connected app' },
    {
      name: 'SALESFORCE_CLIENT_ID',
      hidden: false,
      help: 'connected app consumer key (with a refresh token)',
    },
    {
      name: 'SALESFORCE_CLIENT_SECRET',
      hidden: true,
      help: 'connected app consumer secret, if the app requires it',
    },
    {
      name: 'SALESFORCE_LOGIN_URL',
      hidden: false,
      help: 'https://login.salesforce.com or https://test.salesforce.com',
    },
    { name: 'SALESFORCE_API_VERSION', hidden: false, help: 'e.g. 62.0' },
    {
      name: 'SALESFORCE_ORG_ID',
      hidden: false,
      help: 'the 18-character org id that signs Outbound Messages',
    },
    {
      name: 'SALESFORCE_OUTBOUND_SECRET',
      hidden: true,
      help: 'last path segment of the Outbound Message URL',
    },
  ],
  hubspot: [
    { name: 'HUBSPOT_ACCESS_TOKEN', hidden: true, help: 'private app token (or use a refresh token)' },
    { name: 'HUBSPOT_REFRESH_TOKEN', hidden: true, help: 'public app OAuth refresh token' },
    { name: 'HUBSPOT_CLIENT_ID', hidden: false, help: 'app client id (with a refresh token)' },
    {
      name: 'HUBSPOT_CLIENT_SECRET',
      hidden: true,
      help: 'app client secret: signs webhooks, authenticates refreshes',
    },
    { name: 'HUBSPOT_BASE_URL', hidden: false, help: 'https://api.hubapi.com' },
    { name: 'HUBSPOT_WEBHOOK_ALLOW_V1V2', hidden: false, help: 'true to accept v1/v2 webhook signatures' },
  ],
};

/** The secret the stack's functions read when none is named: one per stage. */
export const defaultSecretId = defaultCredentialsSecretName;

const USAGE = `usage: fieldsync secrets set <salesforce|hubspot> [--stage dev|prod] [--secret-id name-or-arn] [--from-env]
  values: hidden prompts on a terminal; otherwise KEY=VALUE lines or a JSON object on stdin;
  --from-env takes the system's keys from the environment. An empty value removes a key.`;

export interface SecretsIo {
  out: (line: string) => void;
  /** The whole of stdin when it is not a terminal (undefined on a terminal). */
  readStdin: () => Promise<string | undefined>;
  /** Asks for one value; `hidden` turns echo off. Undefined (Enter) keeps the current value. */
  prompt: (question: string, hidden: boolean) => Promise<string | undefined>;
  client: Pick<SecretsManagerClient, 'send'>;
}

export async function runSecrets(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  io: SecretsIo,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      stage: { type: 'string', default: 'dev' },
      'secret-id': { type: 'string' },
      'from-env': { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [verb, system, ...extra] = positionals;
  if (verb !== 'set' || (system !== 'salesforce' && system !== 'hubspot') || extra.length > 0)
    throw new ConfigError(USAGE);
  if (!/^[a-z][a-z0-9-]{0,20}$/.test(values.stage))
    throw new ConfigError(`--stage '${values.stage}' is not a stage name`);
  const secretId = values['secret-id'] ?? defaultSecretId(values.stage);
  const keys = SECRET_KEYS[system];

  const current = await readSecret(io.client, secretId);
  const given = values['from-env'] ? fromEnv(keys, env) : await fromInput(keys, current.values, io);
  const unknown = Object.keys(given).filter((k) => !keys.some((key) => key.name === k));
  if (unknown.length > 0)
    throw new ConfigError(
      `${unknown.join(', ')}: not a ${system} setting (known: ${keys.map((k) => k.name).join(', ')})`,
    );
  if (Object.keys(given).length === 0) throw new ConfigError(`no ${system} values given; nothing written`);

  const next: Record<string, string> = { ...current.values };
  for (const [k, v] of Object.entries(given)) {
    if (v === '') delete next[k];
    else next[k] = v;
  }
  checkSystemCredentials(system, next);
  checkWebhookSettings(system, next);

  const body = JSON.stringify(next);
  let arn: string | undefined;
  if (current.exists) {
    const res = await io.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: body }));
    arn = res.ARN;
  } else {
    if (secretId.startsWith('arn:'))
      throw new ConfigError(`secret ${secretId} does not exist (give a name to create it, or deploy first)`);
    const res = await io.client.send(
      new CreateSecretCommand({
        Name: secretId,
        Description: 'fieldsync SaaS credentials (JSON of SALESFORCE_* and HUBSPOT_* keys)',
        SecretString: body,
      }),
    );
    arn = res.ARN;
  }
  const set = Object.entries(given)
    .filter(([, v]) => v !== '')
    .map(([k]) => k);
  const removed = Object.entries(given)
    .filter(([, v]) => v === '')
    .map(([k]) => k);
  io.out(
    `${system}: ${current.exists ? 'updated' : 'created'} ${secretId}${arn !== undefined ? ` (${arn})` : ''}`,
  );
  if (set.length > 0) io.out(`  set: ${set.join(', ')}`);
  if (removed.length > 0) io.out(`  removed: ${removed.join(', ')}`);
  const others = Object.keys(next).filter((k) => !keys.some((key) => key.name === k));
  if (others.length > 0) io.out(`  kept: ${others.length} other key(s)`);
  return 0;
}

async function readSecret(
  client: SecretsIo['client'],
  secretId: string,
): Promise<{ exists: boolean; values: Record<string, string> }> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return { exists: false, values: {} };
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new ConfigError(`secret ${secretId} does not hold JSON; fix or delete it first (nothing written)`);
  }
  const parsed = z.record(z.string(), z.string()).safeParse(json);
  if (!parsed.success)
    throw new ConfigError(
      `secret ${secretId} must be a JSON object of strings; fix it first (nothing written)`,
    );
  // The stack's placeholder holds empty strings: they are not settings.
  return {
    exists: true,
    values: Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== '')),
  };
}

function fromEnv(keys: readonly SecretKey[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name } of keys) {
    const v = env[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

async function fromInput(
  keys: readonly SecretKey[],
  current: Record<string, string>,
  io: SecretsIo,
): Promise<Record<string, string>> {
  const piped = await io.readStdin();
  if (piped !== undefined) return parseValues(piped);
  const out: Record<string, string> = {};
  io.out('Enter each value; press Enter to keep the current one (values are never shown).');
  for (const key of keys) {
    const state = current[key.name] !== undefined ? 'set' : 'not set';
    const answer = await io.prompt(`${key.name} (${key.help}; ${state}): `, key.hidden);
    if (answer !== undefined && answer !== '') out[key.name] = answer.trim();
  }
  return out;
}

/** KEY=VALUE lines (blank lines and # comments skipped) or one JSON object of strings. */
export function parseValues(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new ConfigError(`stdin is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const parsed = z.record(z.string(), z.string()).safeParse(json);
    if (!parsed.success) throw new ConfigError('stdin JSON must map setting names to strings');
    return parsed.data;
  }
  const out: Record<string, string> = {};
  trimmed.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Z][A-Z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) throw new ConfigError(`stdin line ${i + 1}: expected KEY=VALUE`);
    const [, key = '', rawValue = ''] = m;
    out[key] = rawValue.replace(/^(['"])(.*)\1$/, '$2');
  });
  return out;
}

function checkWebhookSettings(system: SecretSystem, values: Record<string, string>): void {
  if (system === 'salesforce') {
    const org = values.SALESFORCE_ORG_ID;
    if (org !== undefined && !/^00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$/.test(org))
      throw new ConfigError('SALESFORCE_ORG_ID must be a 15- or 18-character org id starting with 00D');
    const secret = values.SALESFORCE_OUTBOUND_SECRET;
    if (secret !== undefined && !/^[A-Za-z0-9_-]{16,128}$/.test(secret))
      throw new ConfigError(
        'SALESFORCE_OUTBOUND_SECRET must be 16-128 URL-safe characters (it is a URL path segment)',
      );
  } else {
    const allow = values.HUBSPOT_WEBHOOK_ALLOW_V1V2;
    if (allow !== undefined && allow !== 'true' && allow !== 'false')
      throw new ConfigError('HUBSPOT_WEBHOOK_ALLOW_V1V2 must be true or false');
  }
}

/** The terminal side: stdin read whole when piped, hidden prompts on a TTY. */
export function terminalIo(out: (line: string) => void): Omit<SecretsIo, 'client'> {
  return {
    out,
    readStdin: async () => {
      if (process.stdin.isTTY) return undefined;
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    prompt: (question, hidden) => promptLine(question, hidden),
  };
}

function promptLine(question: string, hidden: boolean): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let value = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const done = (result: string | undefined, err?: Error) => {
      stdin.setRawMode?.(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err !== undefined) reject(err);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\u0003') return done(undefined, new ConfigError('cancelled; nothing written'));
        if (ch === '\r' || ch === '\n') return done(value === '' ? undefined : value);
        if (ch === '\u007f' || ch === '\b') {
          value = value.slice(0, -1);
          if (!hidden) process.stderr.write('\b \b');
          continue;
        }
        value += ch;
        if (!hidden) process.stderr.write(ch);
      }
    };
    stdin.on('data', onData);
  });
}

export function secretsClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}
