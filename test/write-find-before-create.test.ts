// The same new person entered in both systems at once: fieldsync reads them from one system and must
// not create them in the other, where a user has just made them (after its last read there). Before,
// the chaos suite's create-race scenario made a duplicate in Salesforce for 17 of 51 such people and
// held the user's record as ambiguous. The writer now searches by match key before creating.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import type { SourceChange } from '../connectors/types.ts';
import { emptyRecord, mergeSnapshot } from '../engine/index.ts';
import { ingestChanges } from '../runtime/ingest.ts';
import type { IngestMessage } from '../runtime/messages.ts';
import { writeSignals } from '../runtime/write.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';
import { RecordingQueue, startMemoryStore } from './support/fuzz.ts';

let memory: Awaited<ReturnType<typeof startMemoryStore>>;
let sf: SalesforceSandbox;
let hs: HubSpotSandbox;
let salesforce: SalesforceConnector;
let hubspot: HubSpotConnector;

beforeAll(async () => {
  memory = await startMemoryStore();
  sf = await startSalesforceSandbox({ seeded: false });
  hs = await startHubSpotSandbox({ seeded: false });
  salesforce = new SalesforceConnector(
    { instanceUrl: sf.url, accessToken: sf.token, overlapMs: 0 },
    DEFAULT_CONFIG.systems.salesforce,
  );
  hubspot = new HubSpotConnector(
    { accessToken: hs.token, baseUrl: hs.url, overlapMs: 0 },
    DEFAULT_CONFIG.systems.hubspot,
  );
  process.env.FIELDSYNC_INITIAL_READ_SETTLE_MS = '0';
  await memory.store.putMeta('creates-open-salesforce', '1');
  await memory.store.putMeta('creates-open-hubspot', '1');
});
afterAll(async () => {
  await sf.close();
  await hs.close();
  await memory.close();
});

/** A canonical contact known only from HubSpot (read there), not linked in Salesforce yet. */
async function fromHubSpot(id: string, email: string, lastName: string): Promise<void> {
  const ctx = { priority: {}, skewMs: 0, now: Date.now() };
  const r = mergeSnapshot(
    emptyRecord(id, 'contact'),
    {
      system: 'hubspot',
      object: 'contact',
      externalId: `hs-${id}`,
      modifiedAt: Date.now(),
      fields: { email, lastName },
    },
    ctx,
  ).record;
  await memory.store.putRecord({ ...r, version: 1 });
  await memory.store.putLink('hubspot', 'contact', `hs-${id}`, id);
  await memory.store.claimKey('contact', 'email', email, id);
}

const deps = (queue: RecordingQueue) => ({
  store: memory.store,
  queue,
  connector: salesforce,
  writeQueueUrl: 'write-salesforce',
  ingestQueueUrl: 'ingest',
  model: DEFAULT_CONFIG.model,
  now: Date.now,
});

describe('search before create', () => {
  it('links the record a user just made in the target instead of creating a duplicate', async () => {
    await fromHubSpot('contact_race1', 'race1@example.com', 'Hubspot');
    await fromHubSpot('contact_new1', 'new1@example.com', 'Nobody');
    // The user enters the same person in Salesforce (different case), after fieldsync's last read there.
    const made = sf.create('Contact', { LastName: 'Typed', Email: 'Race1@Example.com' });
    const queue = new RecordingQueue();
    const report = await writeSignals(deps(queue), [
      { v: 1, object: 'contact', ids: ['contact_race1', 'contact_new1'], attempt: 0 },
    ]);
    expect(report.created).toBe(1);
    expect(report.foundBeforeCreate).toBe(1);
    expect(salesforce.stats().calls['query:match']).toBe(1);
    const people = sf.list('Contact').map((c) => String(c.Email).toLowerCase());
    expect(people.sort()).toEqual(['new1@example.com', 'race1@example.com']);

    // The found record goes to ingest, which links it to the canonical record; the create waits.
    const sent = queue.take();
    const found = sent
      .filter((m) => m.url === 'ingest')
      .flatMap((m) => (JSON.parse(m.body) as IngestMessage).changes);
    expect(found.map((c) => c.externalId)).toEqual([made.Id]);
    expect(sent.some((m) => m.url === 'write-salesforce' && m.body.includes('contact_race1'))).toBe(true);
    const ingestQueue = new RecordingQueue();
    await ingestChanges(
      {
        store: memory.store,
        queue: ingestQueue,
        writeQueues: { hubspot: 'write-hubspot', salesforce: 'write-salesforce' },
        ingestQueueUrl: 'ingest',
        model: DEFAULT_CONFIG.model,
        merge: { priority: {}, skewMs: 0 },
        now: Date.now,
      },
      found as SourceChange[],
    );
    expect((await memory.store.getLinks('salesforce', 'contact', [made.Id])).get(made.Id)).toBe(
      'contact_race1',
    );

    // Signalled again: now an update of the linked record, never a second person.
    const again = await writeSignals(deps(new RecordingQueue()), [
      { v: 1, object: 'contact', ids: ['contact_race1'], attempt: 1 },
    ]);
    expect(again.created).toBe(0);
    expect(
      sf.list('Contact').filter((c) => String(c.Email).toLowerCase() === 'race1@example.com'),
    ).toHaveLength(1);
  });

  it('creates anyway when the record found already belongs to another canonical record', async () => {
    await fromHubSpot('contact_race2', 'shared@example.com', 'Second');
    const other = sf.create('Contact', { LastName: 'First', Email: 'shared@example.com' });
    await memory.store.putLink('salesforce', 'contact', other.Id, 'contact_someone_else');
    const report = await writeSignals(deps(new RecordingQueue()), [
      { v: 1, object: 'contact', ids: ['contact_race2'], attempt: 0 },
    ]);
    expect(report.foundBeforeCreate).toBe(0);
    expect(report.created).toBe(1);
  });

  it('finds companies by the domain inside a website, and HubSpot contacts by email', async () => {
    sf.create('Account', { Name: 'Acme', Website: 'https://www.Acme-Race.example/about' });
    sf.create('Account', { Name: 'Not it', Website: 'https://notacme-race.example' });
    const companies = await salesforce.findByKey('company', 'domain', ['acme-race.example']);
    expect(companies.map((c) => c.fields.name)).toEqual(['Acme']);

    const contact = hs.create('contacts', { email: 'hsrace@example.com', lastname: 'Typed' });
    const contacts = await hubspot.findByKey('contact', 'email', ['hsrace@example.com', 'none@example.com']);
    expect(contacts.map((c) => c.externalId)).toEqual([contact.id]);
    expect(contacts[0]?.refs).toEqual({ company: null });
  });
});
