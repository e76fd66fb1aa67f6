// Neither API makes an update conditional: a user's HubSpot edit can land between read-before-write's
// check and fieldsync's write of the same field, and be overwritten unseen (the chaos suite's
// racing-workers scenario, seed 5010, lost one edit this way). The written properties' history shows it;
// the edit is merged back by its own time and wins, so it is written back to HubSpot and on to Salesforce.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { replacedValues } from '../connectors/hubspot/mapping.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import type { Connector, SourceChange, WriteOp } from '../connectors/types.ts';
import { emptyRecord, mergeSnapshot } from '../engine/index.ts';
import { ingestChanges } from '../runtime/ingest.ts';
import type { IngestMessage, WriteSignal } from '../runtime/messages.ts';
import { writeSignals } from '../runtime/write.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';
import { RecordingQueue, startMemoryStore } from './support/fuzz.ts';

const VIEW = DEFAULT_CONFIG.systems.hubspot;
const CONTACTS = VIEW.objects.contact;
if (CONTACTS === undefined) throw new Error('the default config syncs contacts');

let memory: Awaited<ReturnType<typeof startMemoryStore>>;
let hs: HubSpotSandbox;
let connector: HubSpotConnector;
let queue: RecordingQueue;
let seq = 0;

beforeAll(async () => {
  memory = await startMemoryStore();
  hs = await startHubSpotSandbox({ seeded: false });
  connector = new HubSpotConnector({ accessToken: hs.token, baseUrl: hs.url, overlapMs: 0 }, VIEW);
});
afterAll(async () => {
  await hs.close();
  await memory.close();
});
beforeEach(() => {
  queue = new RecordingQueue();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A contact in HubSpot (linked), and a newer Salesforce last name in canonical that HubSpot lacks. */
async function linkedContact(): Promise<{ id: string; hsId: string }> {
  const n = ++seq;
  const made = hs.create('contacts', {
    email: `window${n}@example.com`,
    firstname: 'Ann',
    lastname: 'Hubspot',
  });
  await sleep(5);
  const [read] = await connector.read('contact', [made.id]);
  if (read === undefined) throw new Error('not read back');
  const id = `contact_window${n}`;
  const ctx = { priority: {}, skewMs: 0, now: Date.now() };
  const { system, externalId, modifiedAt, fields } = read;
  let r = mergeSnapshot(
    emptyRecord(id, 'contact'),
    { system, object: 'contact', externalId, modifiedAt, fields },
    ctx,
  ).record;
  r = mergeSnapshot(
    r,
    {
      system: 'salesforce',
      object: 'contact',
      externalId: `003window${n}`,
      modifiedAt: Date.now(),
      fields: { email: `window${n}@example.com`, firstName: 'Ann', lastName: 'Salesforce' },
    },
    ctx,
  ).record;
  await memory.store.putRecord({ ...r, version: 1 });
  await memory.store.putLink('hubspot', 'contact', made.id, id);
  await memory.store.putLink('salesforce', 'contact', `003window${n}`, id);
  return { id, hsId: made.id };
}

function deps(target: Connector) {
  return {
    store: memory.store,
    queue,
    connector: target,
    writeQueueUrl: 'write-hubspot',
    ingestQueueUrl: 'ingest',
    model: DEFAULT_CONFIG.model,
    now: Date.now,
  };
}

const ingestDeps = () => ({
  store: memory.store,
  queue,
  writeQueues: { hubspot: 'write-hubspot', salesforce: 'write-salesforce' },
  ingestQueueUrl: 'ingest',
  model: DEFAULT_CONFIG.model,
  merge: { priority: {}, skewMs: 0 },
  now: Date.now,
});

function signal(ids: string[]): WriteSignal[] {
  return [{ v: 1, object: 'contact', ids, attempt: 0 }];
}

function ingested(url = 'ingest'): SourceChange[] {
  return queue
    .take()
    .filter((m) => m.url === url)
    .flatMap((m) => (JSON.parse(m.body) as IngestMessage).changes);
}

describe('a user edit made between the check and the write', () => {
  it('is found in the property history, merged back by its own time, and written back everywhere', async () => {
    const { id, hsId } = await linkedContact();
    // The user saves the last name in HubSpot after the check, just before fieldsync's update lands.
    let editedAt = 0;
    const racing = Object.create(connector) as HubSpotConnector;
    racing.write = async (object, ops) => {
      hs.update('contacts', hsId, { lastname: 'Typed by user' });
      editedAt = Date.now();
      await sleep(3);
      return connector.write(object, ops);
    };
    const report = await writeSignals(deps(racing), signal([id]));
    expect(report.updated).toBe(1);
    expect(hs.get('contacts', hsId)?.properties.lastname).toBe('Salesforce');
    expect(report.replacedEdits).toBe(1);
    expect(connector.stats().calls['read:history']).toBe(1);

    const changes = ingested();
    expect(changes).toHaveLength(1);
    const [change] = changes;
    expect(change).toMatchObject({ system: 'hubspot', externalId: hsId, replaced: true });
    expect(change?.fields).toEqual({ lastName: 'Typed by user' });
    expect(Math.abs((change?.fieldTimes?.lastName ?? 0) - editedAt)).toBeLessThan(50);

    // Merged: the user's edit is the newest, so it wins over the Salesforce value, audited as an edit.
    const merged = await ingestChanges(ingestDeps(), changes);
    expect(merged.recordsStored).toBe(1);
    const record = (await memory.store.getRecords('contact', [id])).get(id);
    expect(record?.fields.lastName).toMatchObject({ value: 'Typed by user', source: 'hubspot' });
    // HubSpot's shadow still holds what it really holds now (our write), so both systems get signalled.
    expect(record?.shadows.hubspot?.values.lastName).toBe('Salesforce');
    const signalled = queue.take().map((m) => m.url);
    expect(signalled.sort()).toEqual(['write-hubspot', 'write-salesforce']);
    const audit = await memory.store.audit(id);
    expect(audit.some((a) => a.field === 'lastName' && a.new === 'Typed by user')).toBe(true);

    // The writer first reads back the record it changed (read-before-write), then restores the edit.
    await writeSignals(deps(connector), signal([id]));
    await ingestChanges(ingestDeps(), ingested());
    queue.take();
    const again = await writeSignals(deps(connector), signal([id]));
    expect(again.updated).toBe(1);
    expect(again.replacedEdits).toBe(0);
    expect(hs.get('contacts', hsId)?.properties.lastname).toBe('Typed by user');
  });

  it('finds nothing when nobody edited in between (one history read per 50 updated records)', async () => {
    const made = await Promise.all(Array.from({ length: 3 }, () => linkedContact()));
    const before = connector.stats().calls['read:history'] ?? 0;
    const report = await writeSignals(deps(connector), signal(made.map((m) => m.id)));
    expect(report.updated).toBe(3);
    expect(report.replacedEdits).toBe(0);
    expect(ingested()).toEqual([]);
    expect((connector.stats().calls['read:history'] ?? 0) - before).toBe(1);
    for (const m of made) expect(hs.get('contacts', m.hsId)?.properties.lastname).toBe('Salesforce');
  });
});

describe('replacedValues', () => {
  const op = (fields: WriteOp['fields'], asOf: number): WriteOp => ({
    canonicalId: 'c',
    externalId: '1',
    fields,
    refs: {},
    previousRefs: {},
    asOf,
  });
  const at = (ms: number) => new Date(ms).toISOString();
  const user = (value: string, ms: number) => ({
    value,
    timestamp: at(ms),
    sourceType: 'CRM_UI',
    sourceId: 'userId:1',
  });
  const api = (value: string, ms: number) => ({ value, timestamp: at(ms), sourceType: 'INTEGRATION' });

  it('takes the last value someone else set after asOf and before our own entry, never a later one', () => {
    const history = {
      lastname: [
        user('Later user edit', 5000),
        api('Ours', 4000),
        user('Second', 3000),
        user('First', 2000),
        user('Seen before', 1000),
      ],
      firstname: [user('Ann', 1000)],
    };
    expect(
      replacedValues(CONTACTS, op({ lastName: 'Ours', firstName: 'Bo' }, 1000), history, VIEW, 3900),
    ).toEqual({ fields: { lastName: 'Second' }, times: { lastName: 3000 } });
  });

  it('never takes a value fieldsync itself wrote (a second writer racing on the record)', () => {
    // Two writers passed the check at once: the other one wrote 'Theirs' just before our 'Ours'.
    const history = { lastname: [api('Ours', 4000), api('Theirs', 3990), user('Seen before', 1000)] };
    expect(replacedValues(CONTACTS, op({ lastName: 'Ours' }, 1000), history, VIEW, 3950)).toBeUndefined();
    // Our entry is the first with our value from when we sent: an older write of the same value is not it.
    const again = { lastname: [api('Ours', 4000), user('User', 3000), api('Ours', 1500)] };
    expect(replacedValues(CONTACTS, op({ lastName: 'Ours' }, 1000), again, VIEW, 3900)).toEqual({
      fields: { lastName: 'User' },
      times: { lastName: 3000 },
    });
  });

  it('finds the edit a second writer racing on the record replaced (chaos racing-workers, seed 5013)', () => {
    // Both writers passed the check; the first wrote 'Ours', the user typed, the second wrote 'Ours' again.
    const history = {
      lastname: [api('Ours', 4100), user('Typed', 4050), api('Ours', 4000), user('Seen before', 1000)],
    };
    const found = { fields: { lastName: 'Typed' }, times: { lastName: 4050 } };
    // Whichever writer reads the history, the user's edit is found (merged twice: idempotent).
    expect(replacedValues(CONTACTS, op({ lastName: 'Ours' }, 1000), history, VIEW, 4090)).toEqual(found);
    expect(replacedValues(CONTACTS, op({ lastName: 'Ours' }, 1000), history, VIEW, 3990)).toEqual(found);
  });

  it('reports a user clearing the field as a blank, and nothing without asOf or when no entry is ours', () => {
    const cleared = { lastname: [api('Ours', 3000), user('', 2000)] };
    expect(replacedValues(CONTACTS, op({ lastName: 'Ours' }, 1000), cleared, VIEW, 2900)).toEqual({
      fields: { lastName: null },
      times: { lastName: 2000 },
    });
    const { asOf: _, ...noAsOf } = op({ lastName: 'Ours' }, 1000);
    expect(replacedValues(CONTACTS, noAsOf, cleared, VIEW, 2900)).toBeUndefined();
    const notOurs = { lastname: [user('User', 3000)] };
    expect(replacedValues(CONTACTS, op({ lastName: 'Ours' }, 1000), notOurs, VIEW, 2900)).toBeUndefined();
  });
});

describe('the same window in Salesforce (field history tracking)', () => {
  it('finds a save made between the check and the update in ContactHistory, and nothing otherwise', async () => {
    const sf = await startSalesforceSandbox({ seeded: false });
    try {
      const c = new SalesforceConnector(
        { instanceUrl: sf.url, accessToken: sf.token, overlapMs: 0 },
        DEFAULT_CONFIG.systems.salesforce,
      );
      const made = sf.create('Contact', { LastName: 'Before', Email: 'sfwindow@example.com' });
      const quiet = sf.create('Contact', { LastName: 'Quiet', Email: 'sfquiet@example.com' });
      const op = (id: string, lastName: string, previous: string): WriteOp => ({
        canonicalId: `c-${id}`,
        externalId: id,
        fields: { lastName },
        refs: {},
        previousRefs: {},
        asOf: Date.now() - 1000,
        previous: { lastName: previous },
      });
      // The user saves just before our update of the same field lands.
      sf.update('Contact', made.Id, { LastName: 'Typed in Salesforce' });
      const outcomes = await c.write('contact', [
        op(made.Id, 'From HubSpot', 'Before'),
        op(quiet.Id, 'Also from HubSpot', 'Quiet'),
      ]);
      const byId = new Map(outcomes.map((o) => [o.canonicalId, o]));
      const hit = byId.get(`c-${made.Id}`);
      expect(hit).toMatchObject({ ok: true, replaced: { fields: { lastName: 'Typed in Salesforce' } } });
      expect(byId.get(`c-${quiet.Id}`)).not.toHaveProperty('replaced');
      expect(c.stats().calls['query:history']).toBe(1);
      expect(sf.get('Contact', made.Id)?.LastName).toBe('From HubSpot');
    } finally {
      await sf.close();
    }
  });
});
