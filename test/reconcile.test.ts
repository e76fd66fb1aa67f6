// Reconciliation end to end on the embedded stack: the reconcile function file against both
// sandboxes, changes that no poller or webhook can see (silent edits, an old timestamp, a purge), the
// repairs through ingest and the writers, the call budget and the rotating sample, and the CLI.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { RateBudget } from '../connectors/budget.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import type { Connector } from '../connectors/types.ts';
import type { CanonicalRecord } from '../engine/index.ts';
import { main, startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { collect } from '../local/summary.ts';
import { credentialsFrom } from '../runtime/config.ts';
import { SqsQueue } from '../runtime/queue.ts';
import {
  RECONCILE_SUMMARY_META,
  type ReconcileResult,
  type ReconcileSummary,
  reconcile,
} from '../runtime/reconcile.ts';
import { updateRecord } from '../runtime/store.ts';
import { agreementOf, syncCycle } from './support/sync.ts';

const run = promisify(execFile);
const PEOPLE = 12;

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack;
let stateDir: string;
let handler: (event?: unknown) => Promise<ReconcileResult>;

const WRITE_ROUTE = /update|create|upsert|archive|merge|PATCH|DELETE|PUT/;

/** API calls that change data, made since `before` (both sandboxes). */
function writesSince(before: { sf: Record<string, number>; hs: Record<string, number> }): string[] {
  const changed = (now: Record<string, number>, then: Record<string, number>) =>
    Object.keys(now).filter((k) => WRITE_ROUTE.test(k) && (now[k] ?? 0) !== (then[k] ?? 0));
  return [
    ...changed(boxes.salesforce.stats.snapshot(), before.sf),
    ...changed(boxes.hubspot.stats.snapshot(), before.hs),
  ];
}

function statsNow() {
  return { sf: boxes.salesforce.stats.snapshot(), hs: boxes.hubspot.stats.snapshot() };
}

function entry(summary: ReconcileSummary, system: string, object: string) {
  const e = summary.entries.find((x) => x.system === system && x.object === object);
  if (e === undefined) throw new Error(`no entry for ${system} ${object}`);
  return e;
}

/** Contacts linked in both systems, in canonical id order. */
async function linkedContacts(): Promise<CanonicalRecord[]> {
  const all = await stack.store.listRecords('contact');
  return all
    .filter((r) => r.links.salesforce !== undefined && r.links.hubspot !== undefined)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function canonical(id: string): Promise<CanonicalRecord> {
  const r = (await stack.store.getRecords('contact', [id])).get(id);
  if (r === undefined) throw new Error(`no record ${id}`);
  return r;
}

/** The repairs land: ingest and the writers consume what reconcile queued, then a cycle absorbs echoes. */
async function repair() {
  const c = collect();
  try {
    await stack.drain();
  } finally {
    c.stop();
  }
  await syncCycle(stack);
  return c.summary;
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'fieldsync-reconcile-'));
  boxes = await startSandboxes({ seed: 5, people: PEOPLE });
  // No poll overlap: a change stamped before the cursor stays unseen, as after a cursor moved past it.
  stack = await startEmbedded({
    stateDir,
    credentials: { ...boxes.env, FIELDSYNC_POLL_OVERLAP_SECONDS: '0' },
  });
  // Loaded after the stack has set the function's environment, as a cold start would.
  handler = (await import('../functions/reconcile.ts')).handler;
  for (let i = 0; i < 4 && !(await agreementOf(stack, boxes.env)).agree; i++) await syncCycle(stack);
  await syncCycle(stack); // absorb the echoes of the last writes
});

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  await boxes?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('reconcile', () => {
  it('finds nothing in a settled state, queues nothing and makes no writes', async () => {
    expect((await agreementOf(stack, boxes.env)).agree).toBe(true);
    const before = statsNow();
    const { summary, findings } = await handler({ graceSeconds: 0 });
    expect(findings).toEqual([]);
    expect(summary.totals).toMatchObject({ drifted: 0, missing: 0, unlinked: 0, pending: 0, queued: 0 });
    const contacts = await stack.store.listRecords('contact');
    const sf = entry(summary, 'salesforce', 'contact');
    expect(sf.records).toBe(contacts.filter((r) => r.links.salesforce !== undefined).length);
    expect(sf.checked).toBe(sf.records);
    expect(sf.covered).toBe(1);
    // Salesforce reads 2,000 ids per call: one call per object with records.
    expect(sf.calls).toBe(1);
    expect(await stack.pending()).toBe(0);
    const drained = await repair();
    expect(writesSince(before)).toEqual([]);
    expect(drained.ingested).toBe(0);
    // The run's summary is kept for `fieldsync report`.
    const stored = JSON.parse((await stack.store.getMeta(RECONCILE_SUMMARY_META)) ?? '{}');
    expect(stored.totals).toEqual(summary.totals);
  });

  it('checks a bounded sample within the call budget, and the rotation covers every record', async () => {
    const creds = credentialsFrom(boxes.env);
    const seen: string[][] = [];
    const spy = (inner: Connector): Connector => ({
      system: inner.system,
      poll: (o, c) => inner.poll(o, c),
      modifiedTimes: (o, ids) => inner.modifiedTimes(o, ids),
      read: (o, ids) => {
        seen.at(-1)?.push(...ids);
        return inner.read(o, ids);
      },
      write: (o, ops) => inner.write(o, ops),
      delete: (o, ids) => inner.delete(o, ids),
      describe: (o) => inner.describe(o),
      stats: () => inner.stats(),
    });
    const hubspot = { connector: spy(CONNECTORS.hubspot(creds, DEFAULT_CONFIG)), readBatch: 3 };
    const deps = {
      store: stack.store,
      queue: new SqsQueue(stack.sqs),
      ingestQueueUrl: stack.queues.ingest.url,
      systems: [{ connector: spy(CONNECTORS.salesforce(creds, DEFAULT_CONFIG)), readBatch: 3 }, hubspot],
      model: DEFAULT_CONFIG.model,
      now: Date.now,
    };
    const options = { objects: ['contact' as const], maxCalls: 2, graceMs: 0, dryRun: false };
    const all = (await stack.store.listRecords('contact'))
      .flatMap((r) => (r.links.salesforce === undefined ? [] : [r.links.salesforce]))
      .sort();
    const runs = Math.ceil(all.length / 6);
    for (let i = 0; i < runs; i++) {
      seen.push([]);
      const { summary } = await reconcile(deps, { ...options, systems: ['salesforce'] });
      const sf = entry(summary, 'salesforce', 'contact');
      // Two calls of three records each; the rest waits for the next runs.
      expect(sf.calls).toBeLessThanOrEqual(2);
      expect(sf.checked).toBe(Math.min(6, all.length));
      expect(sf.covered).toBeCloseTo(sf.checked / all.length);
      if (all.length > 6) expect(sf.stopped).toBe('calls');
      expect(summary.totals.queued).toBe(0);
    }
    // Each run continued where the last stopped: together they read every record, none twice early on.
    const read = seen.flat();
    expect(new Set(read.slice(0, all.length)).size).toBe(all.length);
    expect([...new Set(read)].sort()).toEqual(all);

    // A sample size bounds the run too.
    seen.push([]);
    const sampled = entry(
      (await reconcile(deps, { ...options, maxCalls: 100, sample: 4, systems: ['salesforce'] })).summary,
      'salesforce',
      'contact',
    );
    expect(sampled).toMatchObject({ checked: 4, stopped: 'sample' });
    // HubSpot reads associations too (two calls per batch): the budget stops it before it is passed.
    const hs = entry(
      (await reconcile(deps, { ...options, maxCalls: 3, systems: ['hubspot'] })).summary,
      'hubspot',
      'contact',
    );
    expect(hs.calls).toBeLessThanOrEqual(3);
    expect(hs.checked).toBe(3);
    expect(hs.stopped).toBe('calls');

    // A rate budget with nothing left for background work: reconcile stops before its first call.
    const spent = new RateBudget({ now: () => 0 }); // a still clock: nothing refills
    spent.observe('daily', 1000, 0, 86_400_000);
    const limited = entry(
      (
        await reconcile(
          { ...deps, systems: [{ ...hubspot, budget: spent }] },
          { ...options, systems: ['hubspot'] },
        )
      ).summary,
      'hubspot',
      'contact',
    );
    expect(limited).toMatchObject({ checked: 0, calls: 0, stopped: 'rate' });
  });

  it('repairs silent edits in HubSpot by last-writer-wins: the later value spreads, an older one is undone', async () => {
    const [target, , , other] = await linkedContacts();
    if (target === undefined || other === undefined) throw new Error('too few contacts in both systems');
    const sfId = target.links.salesforce ?? '';
    const hsId = target.links.hubspot ?? '';
    // An ordinary edit in Salesforce first, synced to HubSpot (and its echo read back).
    boxes.salesforce.update('Contact', sfId, { FirstName: 'Ada' });
    await syncCycle(stack);
    await syncCycle(stack);
    expect(boxes.hubspot.get('contacts', hsId)?.properties.firstname).toBe('Ada');
    const lastName = other.fields.lastName?.value;
    expect(lastName).toBeTruthy();

    // HubSpot changes a value without a new last-modified time (and without a webhook) on one record,
    // and puts back an old value with an old time on another (a restore from backup).
    boxes.hubspot.silentUpdate('contacts', hsId, { firstname: 'Silentina' });
    boxes.hubspot.silentUpdate(
      'contacts',
      other.links.hubspot ?? '',
      { lastname: 'Oldname' },
      { modifiedAt: Date.now() - 30 * 86_400_000 },
    );
    await syncCycle(stack);
    expect((await canonical(target.id)).fields.firstName?.value).toBe('Ada'); // the pollers cannot see it

    const { summary, findings } = await handler({});
    const hs = entry(summary, 'hubspot', 'contact');
    expect(hs).toMatchObject({ drifted: 2, driftedFields: 2, unseen: 0, queued: 2 });
    expect(hs.fields).toEqual({ firstName: 1, lastName: 1 });
    expect(entry(summary, 'salesforce', 'contact')).toMatchObject({ drifted: 0, queued: 0 });
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'drift',
          canonicalId: target.id,
          externalId: hsId,
          fields: ['firstName'],
        }),
        expect.objectContaining({ kind: 'drift', canonicalId: other.id, fields: ['lastName'] }),
      ]),
    );
    const drift = async (id: string) =>
      (await stack.store.audit(id))
        .filter((r) => r.reason === 'drift')
        .map((r) => [r.field, r.old, r.new, r.source]);
    expect(await drift(target.id)).toEqual([['firstName', 'Ada', 'Silentina', 'hubspot']]);
    expect(await drift(other.id)).toEqual([['lastName', lastName, 'Oldname', 'hubspot']]);

    const repaired = await repair();
    expect(repaired.systems.salesforce?.updated).toBe(1);
    expect(repaired.systems.hubspot?.updated).toBe(1);
    // Unchanged modification time, which is later than the Salesforce edit: HubSpot's value is the
    // later write under last-writer-wins, so it becomes canonical and goes to Salesforce.
    expect((await canonical(target.id)).fields.firstName).toMatchObject({
      value: 'Silentina',
      source: 'hubspot',
    });
    expect(boxes.salesforce.get('Contact', sfId)?.FirstName).toBe('Silentina');
    // Older than what fieldsync last saw there: the canonical value stands and goes back to HubSpot.
    expect((await canonical(other.id)).fields.lastName).toEqual(other.fields.lastName);
    expect(boxes.hubspot.get('contacts', other.links.hubspot ?? '')?.properties.lastname).toBe(lastName);
    expect((await agreementOf(stack, boxes.env)).agree).toBe(true);
    // Repaired for good: the next run finds nothing.
    expect((await handler({ graceSeconds: 0 })).summary.totals).toMatchObject({ drifted: 0, queued: 0 });
  });

  it('restores the canonical value in Salesforce after a silent change with an old timestamp', async () => {
    const [, target] = await linkedContacts();
    if (target === undefined) throw new Error('no second contact in both systems');
    const sfId = target.links.salesforce ?? '';
    const hsId = target.links.hubspot ?? '';
    const lastName = target.fields.lastName?.value;
    expect(lastName).toBeTruthy();
    const month = 30 * 86_400_000;
    // A restore from backup: an old value with an old SystemModstamp, no Outbound Message.
    boxes.salesforce.silentUpdate(
      'Contact',
      sfId,
      { LastName: 'FromBackup' },
      { modifiedAt: Date.now() - month },
    );
    await syncCycle(stack);
    expect(boxes.salesforce.get('Contact', sfId)?.LastName).toBe('FromBackup'); // no poll saw it

    const { summary } = await handler({ systems: ['salesforce'] });
    expect(entry(summary, 'salesforce', 'contact')).toMatchObject({ drifted: 1, unseen: 0, queued: 1 });
    const drift = (await stack.store.audit(target.id)).filter((r) => r.reason === 'drift');
    expect(drift.map((r) => [r.field, r.old, r.new, r.kept])).toEqual([
      ['lastName', lastName, 'FromBackup', lastName],
    ]);

    const repaired = await repair();
    // Older than anything fieldsync knows: the canonical value stands and is written back.
    expect(repaired.systems.salesforce?.updated).toBe(1);
    expect(repaired.systems.hubspot?.updated).toBe(0);
    expect((await canonical(target.id)).fields.lastName).toEqual(target.fields.lastName);
    expect(boxes.salesforce.get('Contact', sfId)?.LastName).toBe(lastName);
    expect(boxes.hubspot.get('contacts', hsId)?.properties.lastname).toBe(lastName);
    const older = (await stack.store.audit(target.id)).filter(
      (r) => r.field === 'lastName' && r.reason === 'older',
    );
    expect(older.map((r) => [r.new, r.kept])).toEqual([['FromBackup', lastName]]);
    expect((await agreementOf(stack, boxes.env)).agree).toBe(true);
  });

  it('brings in an edit the pollers missed (a newer modification time): it wins and spreads', async () => {
    const [, , , , target] = await linkedContacts();
    if (target === undefined) throw new Error('too few contacts in both systems');
    const sfId = target.links.salesforce ?? '';
    // An ordinary edit (new last-modified time) whose webhook was lost, before any poll reads it.
    boxes.hubspot.update('contacts', target.links.hubspot ?? '', { jobtitle: 'Missed Edit' });
    // Within the grace period it is the pollers' business: counted, not queued.
    const fresh = entry((await handler({ objects: ['contact'] })).summary, 'hubspot', 'contact');
    expect(fresh).toMatchObject({ recent: 1, drifted: 0, queued: 0 });
    // Past it (a cursor that moved beyond the change), it is drift, and the read is the repair.
    const late = entry(
      (await handler({ objects: ['contact'], graceSeconds: 0 })).summary,
      'hubspot',
      'contact',
    );
    expect(late).toMatchObject({ drifted: 1, unseen: 1, queued: 1 });
    await stack.drain();
    expect((await canonical(target.id)).fields.title).toMatchObject({
      value: 'Missed Edit',
      source: 'hubspot',
    });
    expect(boxes.salesforce.get('Contact', sfId)?.Title).toBe('Missed Edit');
    await syncCycle(stack);
    expect((await agreementOf(stack, boxes.env)).agree).toBe(true);
  });

  it('re-signals a write that never happened (a lost write signal)', async () => {
    const [, , , , , target] = await linkedContacts();
    if (target === undefined) throw new Error('too few contacts in both systems');
    // The canonical record changed but the writers were never told (the signal went missing).
    await updateRecord(stack.store, 'contact', target.id, (r) => ({
      ...r,
      fields: {
        ...r.fields,
        title: { value: 'Lost Signal', source: 'salesforce', sourceTime: Date.now(), seenAt: Date.now() - 1 },
      },
    }));
    const { summary, findings } = await handler({ objects: ['contact'], graceSeconds: 0 });
    expect(entry(summary, 'salesforce', 'contact')).toMatchObject({ pending: 1, drifted: 0, queued: 1 });
    expect(entry(summary, 'hubspot', 'contact')).toMatchObject({ pending: 1, drifted: 0, queued: 0 });
    expect(findings.map((f) => [f.kind, f.system, f.canonicalId])).toEqual([
      ['pending', 'salesforce', target.id],
      ['pending', 'hubspot', target.id],
    ]);
    await stack.drain();
    expect(boxes.salesforce.get('Contact', target.links.salesforce ?? '')?.Title).toBe('Lost Signal');
    expect(boxes.hubspot.get('contacts', target.links.hubspot ?? '')?.properties.jobtitle).toBe(
      'Lost Signal',
    );
    await syncCycle(stack);
    expect((await handler({ graceSeconds: 0 })).summary.totals).toMatchObject({ pending: 0, queued: 0 });
  });

  it('reports a record deleted without a trace as missing, and leaves the other system alone', async () => {
    const [, , target] = await linkedContacts();
    if (target === undefined) throw new Error('no third contact in both systems');
    const sfId = target.links.salesforce ?? '';
    boxes.salesforce.purge('Contact', sfId);
    await syncCycle(stack); // queryAll does not show a purged record either

    const { summary, findings } = await handler({ objects: ['contact'] });
    expect(entry(summary, 'salesforce', 'contact')).toMatchObject({ missing: 1, queued: 0 });
    expect(entry(summary, 'hubspot', 'contact')).toMatchObject({ missing: 0, drifted: 0 });
    expect(findings).toEqual([
      { kind: 'missing', system: 'salesforce', object: 'contact', canonicalId: target.id, externalId: sfId },
    ]);
    const row = (await stack.store.audit(target.id)).find((r) => r.reason === 'drift');
    expect(row).toMatchObject({ field: '*', old: sfId, new: null, source: 'salesforce' });
    await repair();
    expect((await canonical(target.id)).tombstone).toBeUndefined();
    expect(boxes.hubspot.get('contacts', target.links.hubspot ?? '')?.archived).toBe(false);
  });

  it('runs from the command line on the stored state', async () => {
    // Bad input stops before anything starts, with one line.
    expect(
      await main(['reconcile', '--sample', '0'], { ...process.env, ...boxes.env }, () => undefined),
    ).toBe(2);
    await stack.stop();
    const env = { ...process.env, ...boxes.env, FIELDSYNC_STATE_DIR: stateDir };
    const cli = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');
    const { stdout } = await run(
      process.execPath,
      [cli, 'reconcile', '--system', 'salesforce', '--object', 'contact', '--json'],
      { env },
    );
    const out = JSON.parse(stdout);
    expect(out.totals).toMatchObject({ missing: 1, drifted: 0, queued: 0 });
    expect(out.entries).toHaveLength(1);
    expect(out.entries[0]).toMatchObject({ system: 'salesforce', object: 'contact', calls: 1 });
    expect(out.written).toEqual({
      salesforce: { created: 0, updated: 0, deleted: 0, failed: 0 },
      hubspot: { created: 0, updated: 0, deleted: 0, failed: 0 },
    });
    const text = (
      await run(process.execPath, [cli, 'reconcile', '--dry-run', '--object', 'contact'], { env })
    ).stdout;
    expect(text).toMatch(/dry run/);
    expect(text).toMatch(/missing\s+contact \S+ \(salesforce \S+\): no longer in salesforce/);
  });
});
