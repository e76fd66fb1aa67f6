// Bad input at the queue boundary: SQS batches mixing good messages with bodies that are not JSON,
// do not match the schema, are huge, or pass the schema but cannot be processed, through the real
// Lambda handlers (functions/*.ts) on the embedded stack. Deliberate behaviour (runtime/lambda.ts):
// a body the schema refuses is logged with its first issue and reported as a batch item failure, so
// SQS redelivers it until maxReceiveCount and then parks it in the queue's DLQ (`fieldsync dlq list`
// shows it, `dlq replay` can send it back after a fix) rather than dropping it. The good messages of
// the same batch are processed, and no stored record changes unless a good message addresses it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { z } from 'zod';
import { SYSTEMS, type SystemName } from '../connectors/systems.ts';
import type { CanonicalRecord, ObjectType } from '../engine/index.ts';
import { startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { logger } from '../runtime/lambda.ts';
import { ingestMessageSchema, noticeMessageSchema, writeSignalSchema } from '../runtime/messages.ts';
import { fuzzRuns } from './support/fuzz.ts';
import { syncCycle } from './support/sync.ts';

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack;
let stateDir: string;
let ingest: Handler;
let writers: Record<SystemName, Handler>;
let noticeHandlers: Record<SystemName, Handler>;
const OBJECTS: ObjectType[] = ['company', 'contact', 'deal'];

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'fieldsync-fuzz-queue-'));
  boxes = await startSandboxes({ seed: 23, people: 8, deals: 3 });
  stack = await startEmbedded({ stateDir, credentials: boxes.env });
  // Both sides agree after one cycle: from here on no record needs a write.
  await syncCycle(stack);
  await syncCycle(stack);
  // The very modules the stack runs (one instance per process).
  ingest = (await import('../functions/ingest.ts')).handler;
  writers = {
    salesforce: (await import('../functions/write-salesforce.ts')).handler,
    hubspot: (await import('../functions/write-hubspot.ts')).handler,
  };
  const notices =
    (s: SystemName): Handler =>
    async (event) => {
      const res = await stack.pollers[s](event);
      if (!('batchItemFailures' in res)) throw new Error('the poller did not take the SQS event');
      return res;
    };
  noticeHandlers = { salesforce: notices('salesforce'), hubspot: notices('hubspot') };
});

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  await boxes?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

// ---- messages -------------------------------------------------------------------------------

type Verdict = 'good' | 'refused' | 'unprocessable';
interface Message {
  verdict: Verdict;
  label: string;
  body: string;
}

function sqsEvent(messages: readonly Message[], queue: string): { event: SQSEvent; ids: string[] } {
  const ids = messages.map((_, i) => `msg-${runNo}-${i}`);
  return {
    ids,
    event: {
      Records: messages.map((m, i) => ({
        messageId: ids[i] ?? '',
        receiptHandle: `rh-${i}`,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: String(Date.now()),
          SenderId: 'fuzz',
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queue}`,
        awsRegion: 'us-east-1',
      })),
    },
  };
}

let runNo = 0;

const notJson: fc.Arbitrary<Message> = fc
  .oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', ' ', '{', '{"v":1,', 'undefined', "{'v':1}", '\u0000', 'NaN', '{"v":1}}'),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1')),
  )
  .filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  })
  .map((body) => ({ verdict: 'refused', label: 'not JSON', body }));

/** Any JSON value the schema refuses (most of them): the schema is the contract, this checks the handler keeps it. */
const wrongJson = (schema: z.ZodType): fc.Arbitrary<Message> =>
  fc
    .jsonValue({ maxDepth: 4 })
    .filter((v) => !schema.safeParse(v).success)
    .map((v) => ({ verdict: 'refused', label: 'JSON of the wrong shape', body: JSON.stringify(v) }));

/** A good message with one field deleted or replaced by a value of the wrong type. */
function mutated(good: Record<string, unknown>, paths: readonly (readonly string[])[], schema: z.ZodType) {
  const wrong = fc.constantFrom<unknown>(null, -1, 1.5, '', 'x', [], {}, true, '1', [1], 1e300, 2);
  return fc
    .tuple(fc.constantFrom(...paths), fc.option(wrong, { nil: undefined }))
    .map(([path, value]): Message => {
      const copy: Record<string, unknown> = structuredClone(good);
      let parent: unknown = copy;
      for (const k of path.slice(0, -1))
        parent = typeof parent === 'object' && parent !== null ? Reflect.get(parent, k) : undefined;
      const last = path.at(-1) ?? '';
      if (typeof parent === 'object' && parent !== null) {
        if (value === undefined) Reflect.deleteProperty(parent, last);
        else Reflect.set(parent, last, value);
      }
      const body = JSON.stringify(copy);
      // Some replacements still fit (a '1' where a string is due): the schema decides which verdict holds.
      const verdict: Verdict = schema.safeParse(copy).success ? 'good' : 'refused';
      return {
        verdict,
        label: `${path.join('.')} ${value === undefined ? 'deleted' : JSON.stringify(value)}`,
        body,
      };
    });
}

/** A batch of 1-6 messages, good and bad in any order, at least one good one. */
const batchOf = (good: fc.Arbitrary<Message>, bad: fc.Arbitrary<Message>) =>
  fc
    .array(fc.oneof({ weight: 2, arbitrary: good }, { weight: 3, arbitrary: bad }), {
      minLength: 1,
      maxLength: 6,
    })
    .chain((ms) => good.map((g) => [...ms, g]))
    .chain((ms) => fc.shuffledSubarray(ms, { minLength: ms.length, maxLength: ms.length }));

async function snapshot(): Promise<Map<string, CanonicalRecord>> {
  const out = new Map<string, CanonicalRecord>();
  for (const object of OBJECTS) for (const r of await stack.store.listRecords(object)) out.set(r.id, r);
  return out;
}

/**
 * Run one batch: refused messages are batch item failures (and logged with their issue), good ones are
 * not, unprocessable ones fail alone; records not addressed by a good message are unchanged.
 */
async function runBatch(
  handler: Handler,
  queue: string,
  messages: readonly Message[],
  addressed = new Set<string>(),
) {
  runNo++;
  const before = await snapshot();
  const { event, ids } = sqsEvent(messages, queue);
  const logged: unknown[] = [];
  const spy = vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => {
    logged.push(args[1]);
  });
  let res: SQSBatchResponse;
  try {
    res = await handler(event);
  } finally {
    spy.mockRestore();
  }
  const failed = new Set(res.batchItemFailures.map((f) => f.itemIdentifier));
  messages.forEach((m, i) => {
    const id = ids[i] ?? '';
    if (m.verdict === 'refused') {
      expect(failed.has(id), `${m.label} not reported`).toBe(true);
      expect(logged).toContainEqual(expect.objectContaining({ messageId: id }));
    }
    if (m.verdict === 'good')
      expect(failed.has(id), `good message failed: ${m.body.slice(0, 200)}`).toBe(false);
  });
  const after = await snapshot();
  for (const [id, record] of before)
    if (!addressed.has(id)) expect(after.get(id), `record ${id} changed`).toEqual(record);
  return { failed, before, after };
}

// ---- write signals --------------------------------------------------------------------------

describe('write queue messages', () => {
  it('a batch mixing good signals with bad bodies: bad ones fail, good ones are processed, nothing changes', async () => {
    const records = await snapshot();
    const idsBy = (object: ObjectType) =>
      [...records.values()].filter((r) => r.object === object).map((r) => r.id);
    const goodSignal = fc.constantFrom(...OBJECTS).chain((object) =>
      fc.record({
        v: fc.constant(1),
        object: fc.constant(object),
        ids: fc.array(fc.oneof(fc.constantFrom(...idsBy(object)), fc.constant(`${object}_not_there`)), {
          minLength: 1,
          maxLength: 4,
        }),
        attempt: fc.nat({ max: 3 }),
      }),
    );
    const good = goodSignal.map(
      (s): Message => ({ verdict: 'good', label: 'signal', body: JSON.stringify(s) }),
    );
    const bad = fc.oneof(
      notJson,
      wrongJson(writeSignalSchema),
      goodSignal.chain((s) =>
        mutated(s, [['v'], ['object'], ['ids'], ['ids', '0'], ['attempt']], writeSignalSchema),
      ),
      fc.constantFrom<Message>(
        { verdict: 'refused', label: 'no ids', body: '{"v":1,"object":"contact","ids":[]}' },
        { verdict: 'refused', label: 'v2', body: '{"v":2,"object":"contact","ids":["x"]}' },
        { verdict: 'refused', label: 'ticket', body: '{"v":1,"object":"ticket","ids":["x"]}' },
        {
          verdict: 'refused',
          label: 'a 720 KB body of version 2',
          body: `{"v":2,"object":"contact","ids":[${'"x",'.repeat(180_000)}"x"]}`,
        },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SYSTEMS), batchOf(good, bad), async (system, messages) => {
        await runBatch(writers[system], `fieldsync-write-${system}`, messages);
      }),
      fuzzRuns(25),
    );
  });
});

// ---- notices --------------------------------------------------------------------------------

describe('notice queue messages', () => {
  it('good notices are read and queued for ingest; bad ones fail; an id the system refuses fails alone', async () => {
    const sfIds = {
      contact: boxes.salesforce.list('Contact').map((r) => r.Id),
      company: boxes.salesforce.list('Account').map((r) => r.Id),
    };
    const hsIds = {
      contact: boxes.hubspot.list('contacts').map((r) => r.id),
      company: boxes.hubspot.list('companies').map((r) => r.id),
    };
    const goodNotice = (system: SystemName) =>
      fc.constantFrom('contact' as const, 'company' as const).chain((object) =>
        fc.record({
          system: fc.constant(system),
          object: fc.constant(object),
          externalId: fc.constantFrom(...(system === 'salesforce' ? sfIds : hsIds)[object]),
          occurredAt: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
          eventId: fc.uuid(),
          kind: fc.constantFrom('change' as const, 'association' as const, 'restore' as const),
        }),
      );
    const goodMessage = (system: SystemName) =>
      fc.array(goodNotice(system), { minLength: 1, maxLength: 3 }).map((notices) => ({ v: 1, notices }));
    const messagesFor = (system: SystemName) => {
      const good = goodMessage(system).map(
        (m): Message => ({ verdict: 'good', label: 'notices', body: JSON.stringify(m) }),
      );
      const bad = fc.oneof(
        notJson,
        wrongJson(noticeMessageSchema),
        goodMessage(system).chain((m) =>
          mutated(
            m,
            [
              ['v'],
              ['notices'],
              ['notices', '0', 'kind'],
              ['notices', '0', 'externalId'],
              ['notices', '0', 'object'],
              ['notices', '0', 'occurredAt'],
              ['notices', '0', 'eventId'],
            ],
            noticeMessageSchema,
          ),
        ),
        fc.constant<Message>({ verdict: 'refused', label: 'no notices', body: '{"v":1,"notices":[]}' }),
        // Passes the schema, but the system refuses the id: the message fails alone (its batch is retried one by one).
        fc.constant<Message>({
          verdict: 'unprocessable',
          label: 'an id the system refuses',
          body: JSON.stringify({
            v: 1,
            notices: [
              {
                system,
                object: 'contact',
                externalId: system === 'salesforce' ? 'not an id!' : 'abc',
                occurredAt: 1,
                eventId: 'e',
                kind: 'change',
              },
            ],
          }),
        }),
      );
      return batchOf(good, bad);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SYSTEMS).chain((s) => fc.tuple(fc.constant(s), messagesFor(s))),
        async ([system, messages]) => {
          await runBatch(noticeHandlers[system], `fieldsync-notices-${system}`, messages);
        },
      ),
      fuzzRuns(20),
    );
  });
});

// ---- ingest ---------------------------------------------------------------------------------

describe('ingest queue messages', () => {
  it('good snapshots are merged, bad bodies fail, unstorable ones fail alone, other records unchanged', async () => {
    const emails = [...(await snapshot()).values()].flatMap((r) => {
      const email = r.object === 'contact' ? r.fields.email?.value : undefined;
      return typeof email === 'string' ? [email] : [];
    });
    let person = 0;
    const goodChange = fc
      .record({
        system: fc.constantFrom(...SYSTEMS),
        lastName: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== ''),
        title: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
        modifiedAt: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
      })
      .map((c) => {
        const n = person++;
        return {
          system: c.system,
          object: 'contact' as const,
          externalId:
            c.system === 'salesforce' ? `003FUZZ${String(n).padStart(11, '0')}` : String(9_000_000 + n),
          modifiedAt: c.modifiedAt,
          fields: { email: `fuzz-${n}@queue.example`, lastName: c.lastName.trim(), title: c.title },
          refs: {},
        };
      });
    const goodMessage = fc
      .array(goodChange, { minLength: 1, maxLength: 3 })
      .map((changes) => ({ v: 1, changes, attempt: 0 }));
    const good = goodMessage.map(
      (m): Message => ({ verdict: 'good', label: 'changes', body: JSON.stringify(m) }),
    );
    const bad = fc.oneof(
      notJson,
      wrongJson(ingestMessageSchema),
      goodMessage.chain((m) =>
        mutated(
          m,
          [
            ['v'],
            ['changes'],
            ['attempt'],
            ['changes', '0', 'object'],
            ['changes', '0', 'externalId'],
            ['changes', '0', 'modifiedAt'],
            ['changes', '0', 'fields'],
            ['changes', '0', 'fields', 'lastName'],
            ['changes', '0', 'refs'],
            ['changes', '0', 'system'],
          ],
          ingestMessageSchema,
        ),
      ),
      // A system fieldsync does not sync, with the email of a stored contact: it must not reach that record.
      fc
        .tuple(
          goodMessage,
          fc.constantFrom('Salesforce', 'zoho', 'hubspot ', 'fieldsync'),
          fc.constantFrom(...emails),
        )
        .map(
          ([m, system, email]): Message => ({
            verdict: 'refused',
            label: `system '${system}'`,
            body: JSON.stringify({
              ...m,
              changes: m.changes.map((c) => ({
                ...c,
                system,
                modifiedAt: 4_000_000_000_000,
                fields: { ...c.fields, email },
              })),
            }),
          }),
        ),
      // Passes the schema but cannot be stored (DynamoDB items stop at 400 KB): fails alone, stores nothing.
      goodMessage.map((m): Message => {
        const [first, ...rest] = m.changes;
        const huge =
          first === undefined ? [] : [{ ...first, fields: { ...first.fields, title: 'x'.repeat(300_000) } }];
        return {
          verdict: 'unprocessable',
          label: 'a 300 KB value',
          body: JSON.stringify({ ...m, changes: [...huge, ...rest] }),
        };
      }),
    );
    await fc.assert(
      fc.asyncProperty(batchOf(good, bad), async (messages) => {
        const { failed, before, after } = await runBatch(ingest, 'fieldsync-ingest', messages);
        const { ids } = sqsEvent(messages, 'fieldsync-ingest');
        // Every change of a good message is now linked to a stored record holding its values.
        for (const [i, m] of messages.entries()) {
          if (m.verdict !== 'good' || failed.has(ids[i] ?? '')) continue;
          const parsed = ingestMessageSchema.parse(JSON.parse(m.body));
          for (const c of parsed.changes) {
            const id = (await stack.store.getLinks(c.system, c.object, [c.externalId])).get(c.externalId);
            expect(id, `${c.system} ${c.externalId} not linked`).toBeDefined();
            const record = after.get(id ?? '');
            expect(record?.fields.email?.value).toBe(c.fields.email);
          }
        }
        // Only records of good messages were added.
        for (const [id, record] of after)
          if (!before.has(id))
            expect(
              Object.values(record.links).some((x) => x.startsWith('003FUZZ') || Number(x) >= 9_000_000),
            ).toBe(true);
      }),
      fuzzRuns(25),
    );
  });
});
