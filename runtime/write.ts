// Write use case for one target system: coalesce signalled ids, load the latest canonical state,
// send only the fields that differ from the system's shadow, in the connector's batches, then store
// the new shadow and links before the signal is acknowledged.

import type { Connector, SourceChange, WriteOp, WriteOutcome } from '../connectors/types.ts';
import {
  type CanonicalRecord,
  type FieldValue,
  type Model,
  matchKeysOf,
  type ObjectDef,
  type ObjectType,
  objectsInDependencyOrder,
  planWrite,
  recordWritten,
  referenceFields,
} from '../engine/index.ts';
import { auditRow } from './ingest.ts';
import { logDecisions, logSyncError, type SyncErrorContext } from './log.ts';
import type { IngestMessage, WriteSignal } from './messages.ts';
import { mapPool } from './pool.ts';
import { packMessages, type Queue } from './queue.ts';
import { compareWithShadow } from './reconcile.ts';
import { type AuditRow, type Store, updateRecord } from './store.ts';

export interface WriteDeps {
  store: Store;
  queue: Queue;
  connector: Connector;
  /** This system's write queue, for signals that must wait (unlinked references, retryable failures). */
  writeQueueUrl: string;
  /** The synced objects and their fields, policies and directions (from the config). */
  model: Model;
  now: () => number;
  /**
   * When set, updates are checked first: a record the system changed since fieldsync last read it
   * (a change whose webhook was lost or is still on its way) is read, queued here for ingest, and
   * written after that change is merged — never overwritten with an older canonical value.
   */
  ingestQueueUrl?: string | undefined;
}

export interface WriteReport {
  signalled: number;
  created: number;
  updated: number;
  deleted: number;
  /** Updates held back because the system changed the record since fieldsync last read it. */
  heldForUnseen: number;
  /** Records whose update replaced a user's edit made after the check (property history): merged back. */
  replacedEdits: number;
  /** Creates not made because a search found the record already there (linked through ingest instead). */
  foundBeforeCreate: number;
  failed: number;
  retried: number;
  waiting: number;
  /** Per record written: from the latest source edit of the fields written to this write (ms). */
  lagsMs: number[];
}

/** Retries of one signal before a still-failing record is parked as a sync error. */
export const MAX_WRITE_ATTEMPTS = 5;
const STORE_CONCURRENCY = 16;

export function emptyWriteReport(): WriteReport {
  return {
    signalled: 0,
    created: 0,
    updated: 0,
    deleted: 0,
    heldForUnseen: 0,
    replacedEdits: 0,
    foundBeforeCreate: 0,
    failed: 0,
    retried: 0,
    waiting: 0,
    lagsMs: [],
  };
}

export async function writeSignals(deps: WriteDeps, signals: readonly WriteSignal[]): Promise<WriteReport> {
  const system = deps.connector.system;
  const report = emptyWriteReport();
  const attempt = Math.max(0, ...signals.map((s) => s.attempt));
  for (const object of objectsInDependencyOrder(deps.model)) {
    const def = deps.model[object];
    const ids = [...new Set(signals.filter((s) => s.object === object).flatMap((s) => s.ids))];
    if (ids.length === 0 || def === undefined) continue;
    report.signalled += ids.length;
    const records = await deps.store.getRecords(object, ids);
    const again = new Map<string, number>();
    const ops: WriteOp[] = [];
    const planned = new Map<string, Record<string, FieldValue>>();

    const refs = referenceFields(def);
    const referenced = new Map<string, CanonicalRecord>();
    for (const { refObject } of refs) {
      const wanted = [...records.values()].flatMap((r) =>
        refs.flatMap(({ field }) =>
          [r.fields[field]?.value, r.shadows[system]?.values[field]].filter(
            (v): v is string => typeof v === 'string',
          ),
        ),
      );
      for (const [id, rec] of await deps.store.getRecords(refObject, wanted)) referenced.set(id, rec);
    }
    const nativeOf = (canonical: FieldValue | undefined): string | null | undefined =>
      canonical === null || canonical === undefined ? null : referenced.get(canonical)?.links[system];

    const deletes: { canonicalId: string; externalId: string }[] = [];
    for (const record of records.values()) {
      const plan = planWrite(record, system, def);
      if (plan.op === 'none') continue;
      if (plan.op === 'delete') {
        deletes.push({ canonicalId: record.id, externalId: plan.externalId });
        continue;
      }
      const fields: Record<string, FieldValue> = {};
      const opRefs: Record<string, string | null> = {};
      const previousRefs: Record<string, string | null> = {};
      const written: Record<string, FieldValue> = {};
      for (const [field, value] of Object.entries(plan.fields)) {
        if (!refs.some((r) => r.field === field)) {
          fields[field] = value;
          written[field] = value;
          continue;
        }
        const native = nativeOf(value);
        if (native === undefined) {
          // The referenced record is not in this system yet: write the rest now, this field later.
          again.set(record.id, 1);
          continue;
        }
        opRefs[field] = native;
        previousRefs[field] = nativeOf(record.shadows[system]?.values[field]) ?? null;
        written[field] = value;
      }
      if (Object.keys(written).length === 0) continue;
      planned.set(record.id, written);
      ops.push({
        canonicalId: record.id,
        ...(plan.op === 'update'
          ? {
              externalId: plan.externalId,
              asOf: record.shadows[system]?.asOf ?? 0,
              previous: Object.fromEntries(
                Object.keys(fields).map((f) => [f, record.shadows[system]?.values[f] ?? null]),
              ),
            }
          : {}),
        fields,
        refs: opRefs,
        previousRefs,
      });
    }

    const checked = await checkUnseenChanges(deps, object, def, records, ops, again, report);
    const open = await systemReadOnce(deps);
    const toWrite = open
      ? await findBeforeCreate(deps, object, def, records, checked, again, report)
      : holdCreates(checked, again);
    const outcomes = toWrite.length === 0 ? [] : await deps.connector.write(object, toWrite);
    const deleted = deletes.length === 0 ? [] : await deps.connector.delete(object, deletes);
    const audit: AuditRow[] = [];
    const replaced: SourceChange[] = [];
    await mapPool(outcomes, STORE_CONCURRENCY, async (outcome) => {
      const planFields = planned.get(outcome.canonicalId) ?? {};
      if (!outcome.ok) {
        const context = {
          recordId: records.get(outcome.canonicalId)?.links[system],
          fields: Object.keys(planFields),
        };
        return handleFailure(deps, object, outcome, attempt, again, report, audit, context);
      }
      // Fields the system would not take stay unwritten in its shadow (and are audited as blocked).
      const written = Object.fromEntries(
        Object.entries(planFields).filter(([f]) => !outcome.skipped?.includes(f)),
      );
      for (const f of outcome.skipped ?? []) {
        audit.push(
          auditRow(
            outcome.canonicalId,
            object,
            deps.now(),
            f,
            null,
            planFields[f] ?? null,
            system,
            deps.now(),
            'blocked',
          ),
        );
      }
      const loaded = records.get(outcome.canonicalId);
      await storeWritten(deps, object, loaded, outcome.canonicalId, written, outcome.externalId);
      // The link is stored before the signal is acknowledged, so a retry never creates twice.
      if (loaded?.links[system] !== outcome.externalId) {
        await deps.store.putLink(system, object, outcome.externalId, outcome.canonicalId);
      }
      if (outcome.created) report.created++;
      else report.updated++;
      if (outcome.replaced !== undefined) {
        // A user's edit our write overwrote (set between the check and the write): merged by its own time.
        replaced.push({
          system,
          object,
          externalId: outcome.externalId,
          modifiedAt: Math.max(...Object.values(outcome.replaced.times)),
          fields: outcome.replaced.fields,
          refs: {},
          fieldTimes: outcome.replaced.times,
          replaced: true,
        });
      }
      // What fieldsync did in the system, beside why (the field decisions): the audit report counts these.
      audit.push(
        auditRow(
          outcome.canonicalId,
          object,
          deps.now(),
          '*',
          null,
          outcome.externalId,
          system,
          deps.now(),
          outcome.created ? 'created' : 'written',
        ),
      );
      const edited = Object.keys(written).map((f) => loaded?.fields[f]?.sourceTime ?? 0);
      if (edited.length > 0) report.lagsMs.push(Math.max(0, deps.now() - Math.max(...edited)));
    });
    await mapPool(deleted, STORE_CONCURRENCY, async (outcome) => {
      if (!outcome.ok) {
        const context = { recordId: records.get(outcome.canonicalId)?.links[system], fields: [] };
        return handleFailure(deps, object, outcome, attempt, again, report, audit, context);
      }
      await storeGone(deps, object, records.get(outcome.canonicalId), outcome.canonicalId);
      audit.push(
        auditRow(outcome.canonicalId, object, deps.now(), '*', null, null, system, deps.now(), 'deleted'),
      );
      report.deleted++;
    });
    if (replaced.length > 0 && deps.ingestQueueUrl !== undefined) {
      report.replacedEdits += replaced.length;
      await queueForIngest(deps, replaced);
    }
    // A record written now is no longer refused: its parked error (if any) goes from `fieldsync errors`.
    const ok = outcomes.filter((o) => o.ok).map((o) => o.canonicalId);
    await deps.store.clearErrorsOf(system, object, ok);
    await deps.store.appendAudit(audit);
    logDecisions(audit);
    if (again.size > 0) {
      report.waiting += again.size;
      const delay = Math.max(
        ...[...again.values()].map((ms) => Math.ceil(ms / 1000)),
        Math.min(60, 2 ** attempt),
      );
      await deps.queue.send(
        deps.writeQueueUrl,
        packMessages(
          [...again.keys()],
          (part): WriteSignal => ({ v: 1, object, ids: part, attempt: attempt + 1 }),
          500,
        ),
        delay,
      );
    }
  }
  return report;
}

/** Source changes the writer found (read-before-write, search before create, values a write replaced). */
async function queueForIngest(deps: WriteDeps, changes: readonly SourceChange[]): Promise<void> {
  if (deps.ingestQueueUrl === undefined || changes.length === 0) return;
  await deps.queue.send(
    deps.ingestQueueUrl,
    packMessages(changes, (part): IngestMessage => ({ v: 1, changes: part, attempt: 0 })),
  );
}

/** Written by the poller when a system's first full read is complete (ms epoch). */
export function initialReadMeta(system: string): string {
  return `initial-read-${system}`;
}
/**
 * After the first full read, how long SQS's approximate counts may lag behind (on AWS about a minute;
 * the embedded stack's queues count exactly: 0 there).
 */
function initialReadSettleMs(): number {
  const ms = Number(process.env.FIELDSYNC_INITIAL_READ_SETTLE_MS ?? 60_000);
  return Number.isFinite(ms) && ms >= 0 ? ms : 60_000;
}
const readOnce = new Set<string>();

/**
 * Creates in a system wait until everything that system held at the start has been read and merged:
 * its first full poll is complete and the ingest queue has drained. Otherwise, in a backfill, a person
 * read from one system would be created in the other before that system's own copy of them was merged
 * (a duplicate, or a create refused as a conflict). Known once, then remembered per process.
 */
async function systemReadOnce(deps: WriteDeps): Promise<boolean> {
  const system = deps.connector.system;
  if (readOnce.has(system)) return true;
  // Decided once for good (a busy ingest queue later on must not hold creates back again).
  const open = `creates-open-${system}`;
  if ((await deps.store.getMeta(open)) !== undefined) {
    readOnce.add(system);
    return true;
  }
  const at = Number(await deps.store.getMeta(initialReadMeta(system)));
  if (!(at > 0) || deps.now() - at < initialReadSettleMs()) return false;
  const url = deps.ingestQueueUrl;
  const backlog = url === undefined || deps.queue.backlog === undefined ? 0 : await deps.queue.backlog(url);
  if (backlog > 0) return false;
  await deps.store.putMeta(open, String(deps.now()));
  readOnce.add(system);
  return true;
}

/**
 * Search before create: a record a user made in this system after its last read (the same new person
 * entered on both sides at once) is found by its match key, queued for ingest, which links it, and the
 * create waits for that. Found records already linked to another canonical record are a different
 * record sharing the key: the create goes ahead (as identity resolution would keep them apart).
 */
async function findBeforeCreate(
  deps: WriteDeps,
  object: ObjectType,
  def: ObjectDef,
  records: ReadonlyMap<string, CanonicalRecord>,
  ops: readonly WriteOp[],
  again: Map<string, number>,
  report: WriteReport,
): Promise<WriteOp[]> {
  const creates = ops.filter((op) => op.externalId === undefined);
  const find = deps.connector.findByKey?.bind(deps.connector);
  if (find === undefined || creates.length === 0 || deps.ingestQueueUrl === undefined) return [...ops];
  const keysOf = new Map<string, { field: string; value: string }[]>();
  for (const op of creates) {
    const record = records.get(op.canonicalId);
    const values = Object.fromEntries(Object.entries(record?.fields ?? {}).map(([f, s]) => [f, s.value]));
    keysOf.set(op.canonicalId, matchKeysOf(def, values));
  }
  const found: SourceChange[] = [];
  for (const field of def.matchKeys) {
    const values = [
      ...new Set(
        [...keysOf.values()].flatMap((ks) => ks.filter((k) => k.field === field).map((k) => k.value)),
      ),
    ];
    if (values.length > 0) found.push(...(await find(object, field, values)));
  }
  if (found.length === 0) return [...ops];
  const linked = await deps.store.getLinks(
    deps.connector.system,
    object,
    found.map((c) => c.externalId),
  );
  const unknown = found.filter((c) => !linked.has(c.externalId));
  if (unknown.length === 0) return [...ops];
  const taken = new Set(
    unknown.flatMap((c) => matchKeysOf(def, c.fields).map((k) => `${k.field}\u0000${k.value}`)),
  );
  const held = creates.filter((op) =>
    (keysOf.get(op.canonicalId) ?? []).some((k) => taken.has(`${k.field}\u0000${k.value}`)),
  );
  await queueForIngest(deps, unknown);
  for (const op of held) again.set(op.canonicalId, 1000);
  report.foundBeforeCreate += held.length;
  const skip = new Set(held.map((op) => op.canonicalId));
  return ops.filter((op) => !skip.has(op.canonicalId));
}

/** Keeps the updates; the creates wait (signalled again shortly). */
function holdCreates(ops: readonly WriteOp[], again: Map<string, number>): WriteOp[] {
  for (const op of ops) if (op.externalId === undefined) again.set(op.canonicalId, 2_000);
  return ops.filter((op) => op.externalId !== undefined);
}

async function handleFailure(
  deps: WriteDeps,
  object: ObjectType,
  outcome: Extract<WriteOutcome, { ok: false }>,
  attempt: number,
  again: Map<string, number>,
  report: WriteReport,
  audit: AuditRow[],
  context: SyncErrorContext,
): Promise<void> {
  const system = deps.connector.system;
  if (outcome.retryable && attempt + 1 < MAX_WRITE_ATTEMPTS) {
    report.retried++;
    again.set(outcome.canonicalId, outcome.retryAfterMs ?? 1000);
    return;
  }
  // Not retryable (or out of retries): park it with the vendor's message; one bad record never fails the batch.
  report.failed++;
  const error = {
    system,
    object,
    canonicalId: outcome.canonicalId,
    code: outcome.code,
    message: outcome.message,
    at: deps.now(),
  };
  await deps.store.putError(error);
  logSyncError(error, context);
  audit.push(
    auditRow(
      outcome.canonicalId,
      object,
      deps.now(),
      '*',
      null,
      null,
      system,
      deps.now(),
      'write-failed',
      `${outcome.code}: ${outcome.message}`,
    ),
  );
}

async function storeWritten(
  deps: WriteDeps,
  object: ObjectType,
  loaded: CanonicalRecord | undefined,
  id: string,
  written: Record<string, FieldValue>,
  externalId: string,
): Promise<void> {
  const system = deps.connector.system;
  await updateRecord(
    deps.store,
    object,
    id,
    (current) => recordWritten(current, system, written, externalId, deps.now()),
    loaded,
  );
}

/** After a delete in the target: the record is gone there and is never written there again. */
async function storeGone(
  deps: WriteDeps,
  object: ObjectType,
  loaded: CanonicalRecord | undefined,
  id: string,
): Promise<void> {
  const system = deps.connector.system;
  await updateRecord(
    deps.store,
    object,
    id,
    (current) => {
      const { [system]: _shadow, ...shadows } = current.shadows;
      return { ...current, shadows, gone: { ...current.gone, [system]: deps.now() } };
    },
    loaded,
  );
}

/**
 * Read-before-write for updates: one light read (modification times) per batch. Records the system
 * changed after the last snapshot fieldsync merged are read in full and queued for ingest, and their
 * write waits (re-signalled) until that change is merged: last-writer-wins then decides with both
 * edits known, instead of an older canonical value overwriting a newer edit made in the target.
 *
 * A system whose modification times are coarse (Salesforce stamps whole seconds) gives a change made in
 * the same second as the last snapshot that snapshot's very time, so `time > asOf` cannot see it. Such
 * a connector is read in full instead (for Salesforce the same one call per 2,000 ids as the light
 * read), and a record stamped as of its snapshot whose values differ from the shadow is unseen too.
 */
async function checkUnseenChanges(
  deps: WriteDeps,
  object: ObjectType,
  def: ObjectDef,
  records: ReadonlyMap<string, CanonicalRecord>,
  ops: readonly WriteOp[],
  again: Map<string, number>,
  report: WriteReport,
): Promise<WriteOp[]> {
  const system = deps.connector.system;
  const updates = ops.filter((op) => op.externalId !== undefined);
  if (deps.ingestQueueUrl === undefined || updates.length === 0) return [...ops];
  const ids = updates.map((op) => op.externalId ?? '');
  const coarse = (deps.connector.modifiedTimeResolutionMs ?? 1) > 1;
  const read = coarse ? await deps.connector.read(object, ids) : undefined;
  const times =
    read === undefined
      ? await deps.connector.modifiedTimes(object, ids)
      : new Map(read.map((c) => [c.externalId, c.modifiedAt]));
  const sameTime = new Map<string, CanonicalRecord>();
  const unseen = new Set<string>();
  for (const op of updates) {
    const at = times.get(op.externalId ?? '');
    const record = records.get(op.canonicalId);
    const asOf = record?.shadows[system]?.asOf ?? 0;
    if (at !== undefined && at > asOf) unseen.add(op.externalId ?? '');
    else if (read !== undefined && at === asOf && record !== undefined)
      sameTime.set(op.externalId ?? '', record);
  }
  if (read !== undefined && sameTime.size > 0)
    for (const id of await changedSinceSnapshot(deps, def, read, sameTime)) unseen.add(id);
  if (unseen.size === 0) return [...ops];
  const changes =
    read === undefined
      ? await deps.connector.read(object, [...unseen])
      : read.filter((c) => unseen.has(c.externalId));
  await queueForIngest(deps, changes);
  const held = ops.filter((op) => op.externalId !== undefined && unseen.has(op.externalId));
  for (const op of held) again.set(op.canonicalId, 1000);
  report.heldForUnseen += held.length;
  return ops.filter((op) => op.externalId === undefined || !unseen.has(op.externalId));
}

/** Of records read as of their snapshot's time, those whose values differ from the shadow (references
 * compared as canonical ids). */
async function changedSinceSnapshot(
  deps: WriteDeps,
  def: ObjectDef,
  read: readonly SourceChange[],
  records: ReadonlyMap<string, CanonicalRecord>,
): Promise<string[]> {
  const system = deps.connector.system;
  const changes = read.filter((c) => records.has(c.externalId));
  const found = new Map(
    changes.map((c): [string, Record<string, FieldValue>] => [c.externalId, { ...c.fields }]),
  );
  for (const { field, refObject } of referenceFields(def)) {
    const natives = changes.flatMap((c) => (typeof c.refs[field] === 'string' ? [c.refs[field]] : []));
    const links =
      natives.length === 0
        ? new Map<string, string>()
        : await deps.store.getLinks(system, refObject, natives);
    for (const c of changes) {
      if (!Object.hasOwn(c.refs, field)) continue;
      const native = c.refs[field] ?? null;
      const canonical = native === null ? null : links.get(native);
      const values = found.get(c.externalId);
      // A reference to a record fieldsync does not know cannot be compared (and must not hold the write).
      if (values !== undefined && canonical !== undefined) values[field] = canonical;
    }
  }
  return changes.flatMap((c) => {
    const record = records.get(c.externalId);
    const values = found.get(c.externalId);
    if (record === undefined || values === undefined) return [];
    return compareWithShadow(record, system, def, values).length > 0 ? [c.externalId] : [];
  });
}
