// `fieldsync secrets set`: the real Secrets Manager client against the local stand-in.
import { spawn } from 'node:child_process';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSecretId, parseValues, runSecrets, type SecretsIo } from '../local/commands/secrets.ts';
import { loadCredentials } from '../runtime/credentials.ts';
import { type SecretsManagerSandbox, startSecretsManagerSandbox } from '../sandboxes/secretsmanager/index.ts';

let sm: SecretsManagerSandbox;
let client: SecretsManagerClient;

beforeAll(async () => {
  sm = await startSecretsManagerSandbox();
  client = new SecretsManagerClient({
    region: sm.region,
    endpoint: sm.url,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  client.destroy();
  await sm.close();
});

function io(stdin: string | undefined, answers: Record<string, string> = {}) {
  const lines: string[] = [];
  const asked: { question: string; hidden: boolean }[] = [];
  const value: SecretsIo = {
    out: (l) => lines.push(l),
    readStdin: async () => stdin,
    prompt: async (question, hidden) => {
      asked.push({ question, hidden });
      const key = question.split(' ')[0] ?? '';
      return answers[key];
    },
    client,
  };
  return { io: value, lines, asked };
}

const SF = {
  SALESFORCE_INSTANCE_URL: 'https://acme.my.salesforce.com',
  SALESFORCE_REFRESH_TOKEN: '5Aep861-sf-refresh',
  SALESFORCE_CLIENT_ID: '3MVG9-client',
};

describe('fieldsync secrets set', () => {
  it('creates the stage secret from KEY=VALUE lines and names the keys, never the values', async () => {
    const stdin = Object.entries(SF)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n');
    const t = io(`# Salesforce\n${stdin}\n`);
    expect(await runSecrets(['set', 'salesforce', '--stage', 'prod'], {}, t.io)).toBe(0);
    const stored = JSON.parse(sm.value(defaultSecretId('prod')) ?? '{}');
    expect(stored).toEqual(SF);
    expect(t.lines[0]).toMatch(/^salesforce: created fieldsync\/prod\/credentials \(arn:aws:secretsmanager:/);
    const printed = t.lines.join('\n');
    expect(printed).toContain('SALESFORCE_REFRESH_TOKEN');
    expect(printed).not.toContain('5Aep861');
  });

  it('adds the other system from JSON and keeps the first one; the functions load both', async () => {
    const t = io(
      JSON.stringify({ HUBSPOT_ACCESS_TOKEN: 'pat-na1-abc', HUBSPOT_CLIENT_SECRET: 'hs-app-secret' }),
    );
    expect(await runSecrets(['set', 'hubspot', '--stage', 'prod'], {}, t.io)).toBe(0);
    expect(t.lines.join('\n')).toContain('kept: 3 other key(s)');
    const id = defaultSecretId('prod');
    const stored = JSON.parse(sm.value(id) ?? '{}');
    expect(stored).toMatchObject({ ...SF, HUBSPOT_ACCESS_TOKEN: 'pat-na1-abc' });

    // What a function does at cold start: the real client reads the secret through its endpoint setting.
    const creds = await loadCredentials(
      { CREDENTIALS_SECRET_ARN: id, AWS_LAMBDA_FUNCTION_NAME: 'fieldsync-test' },
      client,
    );
    expect(creds.salesforce.instanceUrl).toBe(SF.SALESFORCE_INSTANCE_URL);
    expect(creds.hubspot.accessToken).toBe('pat-na1-abc');
  });

  it('refuses what the functions would refuse, naming the setting, and writes nothing', async () => {
    const before = sm.value(defaultSecretId('prod'));
    const puts = sm.calls.PutSecretValue ?? 0;
    await expect(
      runSecrets(['set', 'salesforce', '--stage', 'prod'], {}, io('SALESFORCE_INSTANCE_URL=not a url').io),
    ).rejects.toThrow(/SALESFORCE_INSTANCE_URL must be an http\(s\) URL/);
    await expect(
      runSecrets(
        ['set', 'hubspot', '--stage', 'prod'],
        {},
        io('HUBSPOT_ACCESS_TOKEN=\nHUBSPOT_REFRESH_TOKEN=rt').io,
      ),
    ).rejects.toThrow(/HUBSPOT_CLIENT_ID is not set/);
    await expect(
      runSecrets(['set', 'hubspot', '--stage', 'prod'], {}, io('SALESFORCE_CLIENT_ID=x').io),
    ).rejects.toThrow(/SALESFORCE_CLIENT_ID: not a hubspot setting/);
    await expect(runSecrets(['set', 'jira'], {}, io('').io)).rejects.toThrow(/usage: fieldsync secrets set/);
    expect(sm.value(defaultSecretId('prod'))).toBe(before);
    expect(sm.calls.PutSecretValue ?? 0).toBe(puts);
  });

  it('takes the system keys from the environment with --from-env, and an empty value removes a key', async () => {
    const t = io(undefined);
    const env = { HUBSPOT_ACCESS_TOKEN: 'pat-na1-new', HUBSPOT_CLIENT_SECRET: '', OTHER: 'x' };
    expect(await runSecrets(['set', 'hubspot', '--stage', 'prod', '--from-env'], env, t.io)).toBe(0);
    const stored = JSON.parse(sm.value(defaultSecretId('prod')) ?? '{}');
    expect(stored.HUBSPOT_ACCESS_TOKEN).toBe('pat-na1-new');
    expect(stored).not.toHaveProperty('OTHER');
    expect(stored.HUBSPOT_CLIENT_SECRET).toBe('hs-app-secret');
    const removed = io('HUBSPOT_CLIENT_SECRET=');
    expect(await runSecrets(['set', 'hubspot', '--stage', 'prod'], {}, removed.io)).toBe(0);
    expect(removed.lines.join('\n')).toContain('removed: HUBSPOT_CLIENT_SECRET');
    expect(JSON.parse(sm.value(defaultSecretId('prod')) ?? '{}')).not.toHaveProperty('HUBSPOT_CLIENT_SECRET');
  });

  it('prompts on a terminal with secret values hidden, Enter keeping the current value', async () => {
    const t = io(undefined, { HUBSPOT_ACCESS_TOKEN: 'pat-na1-typed' });
    expect(await runSecrets(['set', 'hubspot', '--secret-id', 'team/fieldsync'], {}, t.io)).toBe(0);
    expect(t.asked.find((a) => a.question.startsWith('HUBSPOT_ACCESS_TOKEN'))?.hidden).toBe(true);
    expect(t.asked.find((a) => a.question.startsWith('HUBSPOT_CLIENT_ID'))?.hidden).toBe(false);
    expect(JSON.parse(sm.value('team/fieldsync') ?? '{}')).toEqual({ HUBSPOT_ACCESS_TOKEN: 'pat-na1-typed' });
  });

  it('does not touch a secret that is not a JSON object', async () => {
    await runSecrets(['set', 'hubspot', '--secret-id', 'broken'], {}, io('HUBSPOT_ACCESS_TOKEN=a').io);
    const { PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    await client.send(new PutSecretValueCommand({ SecretId: 'broken', SecretString: 'not json' }));
    await expect(
      runSecrets(['set', 'hubspot', '--secret-id', 'broken'], {}, io('HUBSPOT_ACCESS_TOKEN=b').io),
    ).rejects.toThrow(/does not hold JSON/);
    expect(sm.value('broken')).toBe('not json');
  });

  it('runs as a command: piped values, the AWS SDK endpoint from the environment, exit 2 on a bad value', async () => {
    const env = {
      ...process.env,
      AWS_REGION: sm.region,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    const run = (input: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ['bin/fieldsync.ts', 'secrets', 'set', 'hubspot', '--stage', 'ci'],
          {
            env,
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(input);
      });
    const ok = await run('HUBSPOT_ACCESS_TOKEN=pat-na1-cli\n');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('hubspot: created fieldsync/ci/credentials');
    expect(JSON.parse(sm.value('fieldsync/ci/credentials') ?? '{}')).toEqual({
      HUBSPOT_ACCESS_TOKEN: 'pat-na1-cli',
    });
    const bad = await run('HUBSPOT_BASE_URL=ftp://x\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^fieldsync: HUBSPOT_BASE_URL must be an http\(s\) URL/);
  });

  it('parses KEY=VALUE with quotes and export, and rejects other lines by number', () => {
    expect(parseValues('export A_B="x y"\nC=\'z\'\n\n# c\nD=')).toEqual({ A_B: 'x y', C: 'z', D: '' });
    expect(() => parseValues('A=1\nnot a line')).toThrow(/line 2/);
  });
});
