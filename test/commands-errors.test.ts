// fieldsync errors and fieldsync dlq against a real sync on the embedded stack: a record Salesforce
// refuses for good is parked with the vendor's code; a poison message ends in its queue's DLQ after
// MAX_RECEIVE_COUNT tries, is listed, and replayed back to its source queue.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cycle, main, startSandboxes } from '../local/cli.ts';
import { dlqCommand } from '../local/commands/dlq.ts';
import { type EmbeddedStack, MAX_RECEIVE_COUNT, startEmbedded } from '../local/stack.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');
const POISON = '{"v":1,"object":"contact","ids":"not-a-list"}';

let root: string;
let stateDir: string;
let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack | undefined;
let hsId: string;
let listed: string[] = [];
let dlqJson: unknown;
let sourceAfterReplay = 0;
let dlqAfterReplay = 0;

async function visible(s: EmbeddedStack, url: string): Promise<number> {
  const res = await s.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
}

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SALESFORCE|HUBSPOT|FIELDSYNC|AWS)_/.test(k)),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...base, ...env, FIELDSYNC_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fieldsync-errors-'));
  stateDir = join(root, 'state');
  boxes = await startSandboxes({ seed: 21, people: 6 });
  // A HubSpot contact without a last name: Salesforce requires LastName on Contact.
  hsId = boxes.hubspot.create('contacts', { email: 'no.last.name@example.com', firstname: 'Nolast' }).id;
  const s = await startEmbedded({ stateDir, credentials: boxes.env });
  stack = s;
  await cycle(s);

  // A message no handler can parse: failed on every receive, dead-lettered after MAX_RECEIVE_COUNT.
  await s.sqs.send(
    new SendMessageCommand({
      QueueUrl: s.queues.salesforce.url,
      MessageBody: POISON,
    }),
  );
  await s.drain({ timeoutMs: 60_000 });
  const out: string[] = [];
  await dlqCommand(s, 'list', false, (l) => out.push(l));
  listed = out;
  const json: string[] = [];
  await dlqCommand(s, 'list', true, (l) => json.push(l));
  dlqJson = JSON.parse(json.join('\n'));
  await dlqCommand(s, 'replay', false, () => undefined);
  sourceAfterReplay = await visible(s, s.queues.salesforce.url);
  dlqAfterReplay = await visible(s, s.queues.salesforce.dlqUrl);
  // Dead-letter it again, for the CLI's own listing below.
  await s.drain({ timeoutMs: 60_000 });
  await s.stop();
  stack = undefined;
}, 180_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
  await boxes?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe('fieldsync errors', () => {
  it('lists the record Salesforce refused, with its links, vendor code and message, and a count', async () => {
    const out: string[] = [];
    const code = await main(['errors'], { FIELDSYNC_STATE_DIR: stateDir }, (l) => out.push(l));
    expect(code).toBe(0);
    expect(out[0]).toBe(
      '1 sync error (records a system refused for good; see fieldsync audit <record> for its history)',
    );
    const line = out.find((l) => l.includes('REQUIRED_FIELD_MISSING'));
    expect(line).toMatch(
      /^ {2}salesforce +contact +contact_\S+ +hubspot \S+ +REQUIRED_FIELD_MISSING +\d{4}-\d\d-\d\dT\S+ +.*LastName/,
    );
    expect(line).toContain(`hubspot ${hsId}`);
  });

  it('--json', async () => {
    const out: string[] = [];
    await main(['errors', '--json'], { FIELDSYNC_STATE_DIR: stateDir }, (l) => out.push(l));
    const parsed: unknown = JSON.parse(out.join('\n'));
    expect(parsed).toMatchObject({
      count: 1,
      errors: [
        {
          system: 'salesforce',
          object: 'contact',
          code: 'REQUIRED_FIELD_MISSING',
          links: { hubspot: hsId },
        },
      ],
    });
  });
});

describe('a parked record fixed at the source', () => {
  it('is written on the next sync and leaves fieldsync errors', async () => {
    boxes.hubspot.update('contacts', hsId, { lastname: 'Nowhas' });
    // One embedded stack per process: the next sync runs as the CLI does, in its own process.
    const sync = await run(['sync', '--once'], boxes.env);
    expect(sync.stderr).not.toMatch(/fieldsync: /);
    expect(sync.code).toBe(0);
    const sf = boxes.salesforce.list('Contact').filter((c) => c.Email === 'no.last.name@example.com');
    expect(sf).toMatchObject([{ LastName: 'Nowhas' }]);
    const out: string[] = [];
    await main(['errors', '--json'], { FIELDSYNC_STATE_DIR: stateDir }, (l) => out.push(l));
    expect(JSON.parse(out.join('\n'))).toMatchObject({ count: 0, errors: [] });
  }, 120_000);
});

describe('fieldsync dlq', () => {
  it('a poison message ends in its DLQ after MAX_RECEIVE_COUNT tries and is listed', () => {
    expect(listed[0]).toBe('1 dead-lettered message (fieldsync dlq replay moves them back to their queue)');
    expect(listed).toContain('fieldsync-write-salesforce-dlq: 1 message (source fieldsync-write-salesforce)');
    expect(listed).toContain('fieldsync-ingest-dlq: 0 messages (source fieldsync-ingest)');
    expect(dlqJson).toMatchObject({
      action: 'list',
      count: 1,
      queues: expect.arrayContaining([
        expect.objectContaining({
          queue: 'fieldsync-write-salesforce',
          count: 1,
          messages: [expect.objectContaining({ body: POISON })],
        }),
      ]),
    });
    const receives = z
      .object({
        queues: z.array(z.object({ messages: z.array(z.object({ receives: z.number().nullable() })) })),
      })
      .parse(dlqJson)
      .queues.flatMap((q) => q.messages.map((m) => m.receives ?? 0));
    expect(receives[0]).toBeGreaterThanOrEqual(MAX_RECEIVE_COUNT);
  });

  it('replay moves it back to its source queue', () => {
    expect(sourceAfterReplay).toBe(1);
    expect(dlqAfterReplay).toBe(0);
  });

  it('the CLI lists and replays on the state dir', async () => {
    const list = await run(['dlq', '--json'], boxes.env);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({ action: 'list', count: 1 });
    const replay = await run(['dlq', 'replay'], boxes.env);
    expect(replay.code).toBe(0);
    expect(replay.stdout.trim()).toBe(
      'replayed 1 message to fieldsync-write-salesforce; run fieldsync sync --once to process them',
    );
    const usage = await run(['dlq', 'purge'], boxes.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim()).toBe('fieldsync: usage: fieldsync dlq [list|replay] [--json]');
  });
});
