// Reconcile use case: read what each system holds for canonical records (batch reads, a rotating
// sample bounded by an API-call budget), compare it with what fieldsync last saw or wrote there (the
// shadow) and with the canonical state (no write should be outstanding), report drift (audit rows, a
// summary kept in META, metrics), and queue repairs through the normal pipeline: the values read go to
// the ingest queue as SourceChanges, ingest decides by policy, the writers repair. Nothing here writes
// to a SaaS system.
import type { RateBudget } from '../connectors/budget.ts';
import { ConnectorError, RateLimitError } from '../connectors/errors.ts';
import { isSystemName, type SystemName } from '../connectors/systems.ts';
import { type Connector, chunk, type SourceChange } from '../connectors/types.ts';
import {
  type CanonicalRecord,
  type FieldValue,
  type Model,
  type ObjectDef,
  type ObjectType,
  objectsInDependencyOrder,
  planWrite,
  referenceFields,
} from '../engine/index.ts';
import { auditRow } from './ingest.ts';
import type { IngestMessage } from './messages.ts';
import type { MetricGroup } from './metrics.ts';
import { packMessages, type Queue } from './queue.ts';
import type { AuditRow, Store } from './store.ts';

/** META item holding the last run's summary (JSON of ReconcileSummary), for `fieldsync report`. */
export const RECONCILE_SUMMARY_META = 'reconcile-last';

/** META item holding where the rotation of a system's object continues: the last canonical id checked. */
export function reconcileCursorMeta(system: string, object: ObjectType): string {
  return `reconcile-cursor-${system}-${object}`;
}

/** Records per read call: HubSpot batch read takes 100 ids, Salesforce sObject Collections retrieve 2,000. */
const READ_BATCH: Readonly<Record<SystemName, number>> = { salesforce: 2000, hubspot: 100 };
/** Reconcile is background work: it waits this long at most for the rate budget, then stops. */
const MAX_RATE_WAIT_MS = 2_000;
/** API calls per system per run, unless the caller says otherwise. */
export const DEFAULT_MAX_CALLS = 50;
/** Changes younger than this are left to the pollers and the writers (they are on their way). */
export const DEFAULT_GRACE_MS = 10 * 60_000;

export interface ReconcileSystem {
  connector: Connector;
  /** The account's rate budget: reconcile stops where it would make live work wait. */
  budget?: RateBudget | undefined;
  /** Records per read call; default the connector's batch size (see READ_BATCH). */
  readBatch?: number | undefined;
}

export interface ReconcileDeps {
  store: Store;
  queue: Queue;
  ingestQueueUrl: string;
  /** The systems to compare, each with its connector. */
  systems: readonly ReconcileSystem[];
  model: Model;
  now: () => number;
}

export interface ReconcileOptions {
  /** Only these systems / objects (default all). */
  systems?: readonly string[] | undefined;
  objects?: readonly ObjectType[] | undefined;
  /** At most this many records per system and object (default: all, as far as the call budget goes). */
  sample?: number | undefined;
  /** API calls per system for the whole run, shared fairly by its objects. */
  maxCalls: number;
  /** Changes and outstanding writes younger than this are in flight, not drift. */
  graceMs: number;
  /** Report only: no audit rows, no repairs queued, no rotation cursor or summary stored. */
  dryRun: boolean;
}

export type StopReason = 'sample' | 'calls' | 'rate' | 'error';

/** What one run found for one system and object. Counts only: ids are in the audit, values nowhere. */
export interface ReconcileEntry {
  system: string;
  object: ObjectType;
  /** Canonical records linked in the system: the population the rotation samples. */
  records: number;
  checked: number;
  /** checked / records (1 when there is nothing to check). */
  covered: number;
  /** Records holding a value other than what fieldsync last saw or wrote there. */
  drifted: number;
  driftedFields: number;
  /** Drifted field name -> records. */
  fields: Record<string, number>;
  /** Of the drifted: changed there after fieldsync's last read (an edit the pollers missed). */
  unseen: number;
  /** Changed there within the grace period: left to the pollers, not counted as drift. */
  recent: number;
  /** Linked, but the system no longer has the record (deleted or purged without fieldsync hearing). */
  missing: number;
  /** Canonical records that belong in this system but were never created there (of all records). */
  unlinked: number;
  /** Records whose write to this system is outstanding past the grace period (of all records). */
  pending: number;
  /** SourceChanges sent to the ingest queue from this system's reads. */
  queued: number;
  /** API calls made. */
  calls: number;
  /** Why fewer than all records were checked. */
  stopped?: StopReason | undefined;
  /** The error that stopped it: name and vendor code, never a message (they quote values). */
  error?: string | undefined;
}

export interface ReconcileTotals {
  checked: number;
  drifted: number;
  driftedFields: number;
  missing: number;
  unlinked: number;
  pending: number;
  queued: number;
  calls: number;
}

/** The run's summary; stored as JSON in META `reconcile-last` (unless a dry run). */
export interface ReconcileSummary {
  v: 1;
  startedAt: number;
  finishedAt: number;
  dryRun: boolean;
  maxCalls: number;
  sample: number | null;
  entries: ReconcileEntry[];
  totals: ReconcileTotals;
}

/** One record's finding, for logs and the CLI: ids and field names, never values. */
export interface ReconcileFinding {
  kind: 'drift' | 'missing' | 'unlinked' | 'pending';
  system: string;
  object: ObjectType;
  canonicalId: string;
  /** The record's id in the system (absent for unlinked). */
  externalId?: string | undefined;
  /** Drifted fields. */
  fields?: string[] | undefined;
  /** The system changed the record after fieldsync's last read (an edit the pollers missed). */
  unseen?: boolean | undefined;
}

export interface ReconcileResult {
  summary: ReconcileSummary;
  findings: ReconcileFinding[];
}

/** One drifted field of one record: what fieldsync last saw or wrote there, and what is there now. */
export interface FieldDrift {
  field: string;
  expected: FieldValue;
  found: FieldValue;
}

/**
 * Fields whose value in the system differs from its shadow. `found` carries canonical field names and
 * normalized values, references already as canonical ids (`unlinked:<native id>` for a record fieldsync
 * does not know). A field the system does not carry is not compared; a blank where the shadow has
 * never held the field is no drift (a blank seen first is absence of data, as in the merge).
 */
export function compareWithShadow(
  record: CanonicalRecord,
  system: string,
  def: ObjectDef,
  found: Readonly<Record<string, FieldValue>>,
): FieldDrift[] {
  const shadow = record.shadows[system]?.values ?? {};
  const out: FieldDrift[] = [];
  for (const field of Object.keys(def.fields)) {
    if (!Object.hasOwn(found, field)) continue;
    const value = found[field] ?? null;
    const expected = shadow[field] ?? null;
    if (value !== expected) out.push({ field, expected, found: value });
  }
  return out;
}

/** When fieldsync last took in a value of the record (a merge), the latest of its fields' seenAt. */
function lastSeen(record: CanonicalRecord): number {
  return Math.max(0, ...Object.values(record.fields).map((f) => f.seenAt));
}

/** `rotation` after `cursor` first, then from the start: repeated runs cover every record in turn. */
export function rotate<T extends { id: string }>(sorted: readonly T[], cursor: string | undefined): T[] {
  if (cursor === undefined) return [...sorted];
  const start = sorted.findIndex((r) => r.id > cursor);
  return start <= 0 ? [...sorted] : [...sorted.slice(start), ...sorted.slice(0, start)];
}

function emptyEntry(system: string, object: ObjectType): ReconcileEntry {
  return {
    system,
    object,
    records: 0,
    checked: 0,
    covered: 1,
    drifted: 0,
    driftedFields: 0,
    fields: {},
    unseen: 0,
    recent: 0,
    missing: 0,
    unlinked: 0,
    pending: 0,
    queued: 0,
    calls: 0,
  };
}

function totalCalls(connector: Connector): number {
  return Object.values(connector.stats().calls).reduce((a, b) => a + b, 0);
}

/** Name and vendor code of an error, for the summary and the logs (vendor messages may quote values). */
function errorCode(err: unknown): string {
  if (err instanceof ConnectorError) return `${err.name}: ${err.code}`;
  return err instanceof Error ? err.name : 'Error';
}

export class ReconcileOptionsError extends Error {
  override name = 'ReconcileOptionsError';
}

export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileResult> {
  const startedAt = deps.now();
  const known = deps.systems.map((s) => s.connector.system);
  for (const s of options.systems ?? [])
    if (!known.includes(s))
      throw new ReconcileOptionsError(`unknown system '${s}' (one of: ${known.join(', ')})`);
  const declared = objectsInDependencyOrder(deps.model);
  for (const o of options.objects ?? [])
    if (!declared.includes(o))
      throw new ReconcileOptionsError(`the config does not sync ${o} (one of: ${declared.join(', ')})`);
  if (!(options.maxCalls >= 1)) throw new ReconcileOptionsError('maxCalls must be at least 1');
  if (options.sample !== undefined && !(options.sample >= 1))
    throw new ReconcileOptionsError('sample must be at least 1');

  const systems = deps.systems.filter(
    (s) => options.systems === undefined || options.systems.includes(s.connector.system),
  );
  const objects = declared.filter((o) => options.objects === undefined || options.objects.includes(o));
  const parked = new Set(
    (await deps.store.listErrors()).map((e) => `${e.system}#${e.object}#${e.canonicalId}`),
  );
  const callsBefore = new Map(systems.map((s) => [s.connector.system, totalCalls(s.connector)]));
  const entries: ReconcileEntry[] = [];
  const audit: AuditRow[] = [];
  const findings: ReconcileFinding[] = [];

  for (const [index, object] of objects.entries()) {
    const def = deps.model[object];
    if (def === undefined) continue;
    const now = deps.now();
    const settledBefore = now - options.graceMs;
    const records = (await deps.store.listRecords(object)).filter(
      (r) => r.tombstone === undefined && r.hold === undefined,
    );
    records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Unsettled records: a write that should have happened long ago did not (its signal was lost).
    // Any read of them, from any system they are in, re-signals the writers through ingest.
    const unsettled = new Set<string>();
    const perSystem = new Map<string, ReconcileEntry>();
    for (const { connector } of systems) {
      const system = connector.system;
      const entry = emptyEntry(system, object);
      perSystem.set(system, entry);
      for (const r of records) {
        if (r.gone?.[system] !== undefined || lastSeen(r) >= settledBefore) continue;
        if (parked.has(`${system}#${object}#${r.id}`)) continue; // listed by `fieldsync errors`
        const plan = planWrite(r, system, def);
        if (plan.op === 'none') continue;
        unsettled.add(r.id);
        if (plan.op === 'create') {
          entry.unlinked++;
          audit.push(auditRow(r.id, object, now, 'link', null, null, system, now, 'drift'));
          findings.push({ kind: 'unlinked', system, object, canonicalId: r.id });
        } else {
          entry.pending++;
          findings.push({ kind: 'pending', system, object, canonicalId: r.id, externalId: r.links[system] });
        }
      }
    }
    const queuedIds = new Set<string>();
    for (const sys of systems) {
      const entry = perSystem.get(sys.connector.system) ?? emptyEntry(sys.connector.system, object);
      const spent = totalCalls(sys.connector) - (callsBefore.get(sys.connector.system) ?? 0);
      // The system's call budget, shared fairly by the objects still to check (unused shares carry on).
      const allowance = Math.ceil((options.maxCalls - spent) / (objects.length - index));
      await checkSystem(deps, sys, object, def, records, entry, {
        options,
        allowance,
        now,
        unsettled,
        queuedIds,
        audit,
        findings,
      });
      entries.push(entry);
    }
    // Per object, so a run cut short (a Lambda timeout) keeps the findings it queued repairs for.
    if (!options.dryRun) await deps.store.appendAudit(audit.splice(0));
  }

  const summary: ReconcileSummary = {
    v: 1,
    startedAt,
    finishedAt: deps.now(),
    dryRun: options.dryRun,
    maxCalls: options.maxCalls,
    sample: options.sample ?? null,
    entries,
    totals: totalsOf(entries),
  };
  if (!options.dryRun) await deps.store.putMeta(RECONCILE_SUMMARY_META, JSON.stringify(summary));
  return { summary, findings };
}

interface CheckContext {
  options: ReconcileOptions;
  /** API calls this system may spend on this object. */
  allowance: number;
  now: number;
  unsettled: ReadonlySet<string>;
  /** Records already queued from another system's read in this run. */
  queuedIds: Set<string>;
  audit: AuditRow[];
  findings: ReconcileFinding[];
}

/** Check one system's records of one object, from its rotation cursor on, within the allowance. */
async function checkSystem(
  deps: ReconcileDeps,
  sys: ReconcileSystem,
  object: ObjectType,
  def: ObjectDef,
  records: readonly CanonicalRecord[],
  entry: ReconcileEntry,
  ctx: CheckContext,
): Promise<void> {
  const { connector } = sys;
  const system = connector.system;
  const { options } = ctx;
  const linked = records.filter((r) => r.links[system] !== undefined && r.gone?.[system] === undefined);
  entry.records = linked.length;
  const cursorName = reconcileCursorMeta(system, object);
  const order = rotate(linked, await deps.store.getMeta(cursorName));
  const wanted = order.slice(0, options.sample ?? order.length);
  const batch = Math.max(1, sys.readBatch ?? (isSystemName(system) ? READ_BATCH[system] : 100));
  const start = totalCalls(connector);
  // The cost of one read call's worth of records (HubSpot adds association reads): measured as we go.
  let perBatch = 1;
  let last: string | undefined;
  for (const part of chunk(wanted, batch)) {
    const used = totalCalls(connector) - start;
    if (used + perBatch > ctx.allowance) {
      entry.stopped = 'calls';
      break;
    }
    if (sys.budget !== undefined) {
      const wait = sys.budget.waitMs('backfill');
      if (wait > MAX_RATE_WAIT_MS) {
        entry.stopped = 'rate';
        break;
      }
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    let changes: SourceChange[];
    try {
      changes = await connector.read(
        object,
        part.map((r) => r.links[system] ?? ''),
      );
    } catch (err) {
      entry.stopped = err instanceof RateLimitError ? 'rate' : 'error';
      entry.error = errorCode(err);
      break;
    }
    perBatch = Math.max(1, totalCalls(connector) - start - used);
    const toQueue = await compareBatch(deps, system, object, def, part, changes, entry, ctx);
    if (toQueue.length > 0 && !options.dryRun) {
      await deps.queue.send(
        deps.ingestQueueUrl,
        packMessages(toQueue, (p): IngestMessage => ({ v: 1, changes: p, attempt: 0 })),
      );
    }
    entry.checked += part.length;
    last = part.at(-1)?.id;
  }
  if (entry.stopped === undefined && wanted.length < linked.length) entry.stopped = 'sample';
  entry.calls = totalCalls(connector) - start;
  entry.covered = linked.length === 0 ? 1 : entry.checked / linked.length;
  if (last !== undefined && !options.dryRun) await deps.store.putMeta(cursorName, last);
}

/** Compare one read batch with the canonical records; returns the changes to queue for ingest. */
async function compareBatch(
  deps: ReconcileDeps,
  system: string,
  object: ObjectType,
  def: ObjectDef,
  part: readonly CanonicalRecord[],
  changes: readonly SourceChange[],
  entry: ReconcileEntry,
  ctx: CheckContext,
): Promise<SourceChange[]> {
  const byId = new Map(changes.filter((c) => c.deleted === undefined).map((c) => [c.externalId, c]));
  // References arrive as native ids; the shadow holds canonical ids.
  const refs = referenceFields(def);
  const refLinks = new Map<string, Map<string, string>>();
  for (const { field, refObject } of refs) {
    const natives = changes.flatMap((c) => {
      const v = c.refs[field];
      return typeof v === 'string' ? [v] : [];
    });
    if (natives.length > 0) refLinks.set(field, await deps.store.getLinks(system, refObject, natives));
  }
  const out: SourceChange[] = [];
  for (const record of part) {
    const externalId = record.links[system] ?? '';
    const change = byId.get(externalId);
    if (change === undefined) {
      // Reported, not acted on: a delete propagated from a read that could be wrong (a permission or
      // sharing change hides records from the integration user) would remove data everywhere.
      entry.missing++;
      ctx.audit.push(auditRow(record.id, object, ctx.now, '*', externalId, null, system, ctx.now, 'drift'));
      ctx.findings.push({ kind: 'missing', system, object, canonicalId: record.id, externalId });
      continue;
    }
    const found: Record<string, FieldValue> = { ...change.fields };
    for (const { field } of refs) {
      if (!Object.hasOwn(change.refs, field)) continue;
      const native = change.refs[field] ?? null;
      found[field] = native === null ? null : (refLinks.get(field)?.get(native) ?? `unlinked:${native}`);
    }
    const drift = compareWithShadow(record, system, def, found);
    const asOf = record.shadows[system]?.asOf ?? 0;
    const unseen = change.modifiedAt > asOf;
    let queue = ctx.unsettled.has(record.id);
    if (drift.length > 0 && unseen && change.modifiedAt >= ctx.now - ctx.options.graceMs) {
      // A fresh edit there: the pollers (or webhooks) bring it in anyway.
      entry.recent++;
    } else if (drift.length > 0) {
      queue = true;
      entry.drifted++;
      entry.driftedFields += drift.length;
      if (unseen) entry.unseen++;
      ctx.findings.push({
        kind: 'drift',
        system,
        object,
        canonicalId: record.id,
        externalId,
        fields: drift.map((d) => d.field),
        unseen,
      });
      for (const d of drift) {
        entry.fields[d.field] = (entry.fields[d.field] ?? 0) + 1;
        ctx.audit.push(
          auditRow(
            record.id,
            object,
            ctx.now,
            d.field,
            d.expected,
            d.found,
            system,
            change.modifiedAt,
            'drift',
            record.fields[d.field]?.value ?? null,
          ),
        );
      }
    }
    if (queue && !ctx.queuedIds.has(record.id)) {
      ctx.queuedIds.add(record.id);
      entry.queued++;
      out.push({ ...change, reconcile: true });
    }
  }
  return out;
}

export function totalsOf(entries: readonly ReconcileEntry[]): ReconcileTotals {
  const t: ReconcileTotals = {
    checked: 0,
    drifted: 0,
    driftedFields: 0,
    missing: 0,
    unlinked: 0,
    pending: 0,
    queued: 0,
    calls: 0,
  };
  for (const e of entries) for (const k of Object.keys(t) as (keyof ReconcileTotals)[]) t[k] += e[k];
  return t;
}

/**
 * EMF metrics of a run, per system (the dimension every fieldsync metric uses): DriftFound (drifted,
 * missing and unlinked records), RepairsQueued, RecordsReconciled, and ApiCalls (reconcile's calls
 * count against the same vendor budget as the sync's).
 */
export function reconcileMetrics(summary: ReconcileSummary): MetricGroup[] {
  const bySystem = new Map<string, ReconcileEntry[]>();
  for (const e of summary.entries) bySystem.set(e.system, [...(bySystem.get(e.system) ?? []), e]);
  return [...bySystem].map(([system, list]) => {
    const t = totalsOf(list);
    return {
      system,
      values: {
        DriftFound: t.drifted + t.missing + t.unlinked,
        RepairsQueued: t.queued,
        RecordsReconciled: t.checked,
        ApiCalls: t.calls,
      },
    };
  });
}
