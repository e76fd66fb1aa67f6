// A system's modification time far in the future (a wrong clock, a corrupt value) must not win every
// later conflict until that day: ingest caps source times at now plus the allowed clock skew.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import type { SourceChange } from '../connectors/types.ts';
import { type IngestDeps, ingestChanges, MAX_CLOCK_AHEAD_MS } from '../runtime/ingest.ts';
import { RecordingQueue, startMemoryStore } from './support/fuzz.ts';

let memory: Awaited<ReturnType<typeof startMemoryStore>>;
let now = 1_790_000_000_000;

beforeAll(async () => {
  memory = await startMemoryStore();
});
afterAll(() => memory.close());

function deps(): IngestDeps {
  return {
    store: memory.store,
    queue: new RecordingQueue(),
    writeQueues: { salesforce: 'sf', hubspot: 'hs' },
    ingestQueueUrl: 'ingest',
    model: DEFAULT_CONFIG.model,
    merge: { priority: DEFAULT_CONFIG.priority, skewMs: DEFAULT_CONFIG.skewMs },
    now: () => now,
  };
}

const change = (system: string, id: string, t: number, title: string): SourceChange => ({
  system,
  object: 'contact',
  externalId: id,
  modifiedAt: t,
  fields: { email: 'clock@example.com', lastName: 'Clock', title },
  refs: {},
});

describe('source times from the future', () => {
  it('are capped, so a later real edit in the other system still wins', async () => {
    const year9999 = Date.UTC(9999, 0, 1);
    await ingestChanges(deps(), [change('salesforce', '003A', year9999, 'From a broken clock')]);
    const [first] = await memory.store.listRecords('contact');
    expect(first?.fields.title?.value).toBe('From a broken clock');
    expect(first?.fields.title?.sourceTime).toBe(now + MAX_CLOCK_AHEAD_MS);

    // Ten minutes later a user edits the title in HubSpot, with a correct clock.
    now += 10 * 60_000;
    await ingestChanges(deps(), [change('hubspot', '501', now - 1000, 'Real edit')]);
    const [after] = await memory.store.listRecords('contact');
    expect(after?.fields.title).toMatchObject({ value: 'Real edit', source: 'hubspot' });

    // The next poll reads the Salesforce record again, still stamped 9999: no new edit, nothing changes.
    now += 60_000;
    await ingestChanges(deps(), [change('salesforce', '003A', year9999, 'From a broken clock')]);
    const [again] = await memory.store.listRecords('contact');
    expect(again?.fields.title).toMatchObject({ value: 'Real edit', source: 'hubspot' });
  });

  it('leaves times within the skew as they are', async () => {
    const t = now + 60_000;
    await ingestChanges(deps(), [change('hubspot', '501', t, 'Slightly ahead')]);
    const [rec] = await memory.store.listRecords('contact');
    expect(rec?.fields.title).toMatchObject({ value: 'Slightly ahead', sourceTime: t });
  });
});
