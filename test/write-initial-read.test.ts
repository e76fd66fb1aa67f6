// Creates in a system wait until everything it held at the start is merged: its first full poll is
// complete and the ingest queue has drained. Updates go at once. (At 20,000 people, creates that went
// ahead of the target's own records made thousands of duplicates; see the bench.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import type { Connector, WriteOp, WriteOutcome } from '../connectors/types.ts';
import { emptyRecord, mergeSnapshot } from '../engine/index.ts';
import { initialReadMeta, writeSignals } from '../runtime/write.ts';
import { RecordingQueue, startMemoryStore } from './support/fuzz.ts';

let memory: Awaited<ReturnType<typeof startMemoryStore>>;
beforeAll(async () => {
  memory = await startMemoryStore();
});
afterAll(() => memory.close());

/** A target system that takes every write: records what it was asked to do. */
function target(): { connector: Connector; written: WriteOp[] } {
  const written: WriteOp[] = [];
  const connector = {
    system: 'hubspot',
    async *poll() {},
    modifiedTimes: async () => new Map<string, number>(),
    read: async () => [],
    write: async (_object: unknown, ops: readonly WriteOp[]): Promise<WriteOutcome[]> => {
      written.push(...ops);
      return ops.map((op) => ({
        canonicalId: op.canonicalId,
        ok: true,
        externalId: op.externalId ?? `new-${op.canonicalId}`,
        created: op.externalId === undefined,
      }));
    },
    delete: async () => [],
    describe: async () => [],
    stats: () => ({ calls: {}, recordsRead: 0, recordsWritten: 0 }),
  } as unknown as Connector;
  return { connector, written };
}

class BacklogQueue extends RecordingQueue {
  waiting = 0;
  async backlog(): Promise<number> {
    return this.waiting;
  }
}

async function seedRecord(id: string, email: string, linkedInHubSpot: boolean): Promise<void> {
  let r = emptyRecord(id, 'contact');
  const ctx = { priority: {}, skewMs: 0, now: 1000 };
  r = mergeSnapshot(
    r,
    {
      system: 'salesforce',
      object: 'contact',
      externalId: `003${id}`,
      modifiedAt: 900,
      fields: { email, lastName: 'A' },
    },
    ctx,
  ).record;
  if (linkedInHubSpot)
    r = mergeSnapshot(
      r,
      {
        system: 'hubspot',
        object: 'contact',
        externalId: `hs${id}`,
        modifiedAt: 800,
        fields: { email, lastName: 'B' },
      },
      ctx,
    ).record;
  await memory.store.putRecord({ ...r, version: 1 });
}

describe('creates before the first full read', () => {
  it('hold the creates and let the updates through until the read is merged', async () => {
    await seedRecord('contact_new', 'new@example.com', false);
    await seedRecord('contact_old', 'old@example.com', true);
    const { connector, written } = target();
    const queue = new BacklogQueue();
    let now = 10_000;
    const deps = {
      store: memory.store,
      queue,
      connector,
      writeQueueUrl: 'write-hubspot',
      model: DEFAULT_CONFIG.model,
      now: () => now,
      ingestQueueUrl: 'ingest',
    };
    const signal = [
      { v: 1 as const, object: 'contact' as const, ids: ['contact_new', 'contact_old'], attempt: 0 },
    ];

    // HubSpot not read yet: the update goes, the create waits and is signalled again.
    let report = await writeSignals(deps, signal);
    expect(written.map((op) => op.canonicalId)).toEqual(['contact_old']);
    expect(report.waiting).toBe(1);
    expect(queue.take().map((m) => JSON.parse(m.body).ids)).toEqual([['contact_new']]);

    // Read, but its records still in the ingest queue: still waiting.
    process.env.FIELDSYNC_INITIAL_READ_SETTLE_MS = '0';
    await memory.store.putMeta(initialReadMeta('hubspot'), String(now));
    queue.waiting = 3;
    written.length = 0;
    report = await writeSignals(deps, [{ ...signal[0], ids: ['contact_new'] } as (typeof signal)[0]]);
    expect(written).toEqual([]);
    expect(report.waiting).toBe(1);

    // Merged: the create goes, and stays allowed when the queue fills up again.
    queue.waiting = 0;
    now += 1000;
    report = await writeSignals(deps, [{ ...signal[0], ids: ['contact_new'] } as (typeof signal)[0]]);
    expect(written.map((op) => [op.canonicalId, op.externalId])).toEqual([['contact_new', undefined]]);
    expect(report.created).toBe(1);
    expect(await memory.store.getMeta('creates-open-hubspot')).toBeDefined();
  });
});
