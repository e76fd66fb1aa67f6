// Ingest use case: resolve identity, merge source snapshots into canonical records field by
// field, store (conditional on version), audit, and signal the systems that now differ.
import type { SourceChange } from '../connectors/types.ts';
import {
  type CanonicalRecord,
  canonicalIdFor,
  emptyRecord,
  type FieldValue,
  type MergeContext,
  type Model,
  matchKeysOf,
  mergeSnapshot,
  type ObjectDef,
  type ObjectType,
  objectsInDependencyOrder,
  planWrite,
  referenceFields,
  type SourceSnapshot,
} from '../engine/index.ts';
import type { IngestMessage, WriteSignal } from './messages.ts';
import { mapPool } from './pool.ts';
import { packMessages, type Queue } from './queue.ts';
import { type AuditRow, type Store, VersionConflictError } from './store.ts';

export interface IngestDeps {
  store: Store;
  queue: Queue;
  /** Every synced system, and its write queue. */
  writeQueues: Readonly<Record<string, string>>;
  ingestQueueUrl: string;
  /** The synced objects and their fields, policies and directions (from the config). */
  model: Model;
  merge: Omit<MergeContext, 'now' | 'def'>;
  now: () => number;
}

export interface IngestReport {
  changes: number;
  recordsStored: number;
  created: number;
  unchanged: number;
  conflicts: number;
  ambiguous: number;
  deferred: number;
  signals: Record<string, number>;
}

/** How often a change whose reference is not linked yet is retried before it is ingested without it. */
export const MAX_REF_ATTEMPTS = 5;
const MAX_VERSION_RETRIES = 8;
/** Concurrent record merges per ingest batch. */
const STORE_CONCURRENCY = 16;

export function emptyIngestReport(): IngestReport {
  return {
    changes: 0,
    recordsStored: 0,
    created: 0,
    unchanged: 0,
    conflicts: 0,
    ambiguous: 0,
    deferred: 0,
    signals: {},
  };
}

export async function ingestChanges(
  deps: IngestDeps,
  changes: readonly SourceChange[],
  attempt = 0,
): Promise<IngestReport> {
  const report = emptyIngestReport();
  report.changes = changes.length;
  const deferred: SourceChange[] = [];
  const toSignal = new Map<string, Map<ObjectType, Set<string>>>();
  const audit: AuditRow[] = [];

  for (const object of objectsInDependencyOrder(deps.model)) {
    const def = deps.model[object];
    const group = changes.filter((c) => c.object === object);
    if (group.length === 0 || def === undefined) continue;
    const snapshots = await resolveRefs(deps, object, def, group, attempt, deferred);
    const ids = await resolveIdentity(deps, object, def, snapshots, report);
    const byRecord = new Map<string, SourceSnapshot[]>();
    for (const [i, snap] of snapshots.entries()) {
      const id = ids[i];
      if (id === undefined) continue;
      byRecord.set(id, [...(byRecord.get(id) ?? []), snap.snapshot]);
    }
    const loaded = await deps.store.getRecords(object, [...byRecord.keys()]);
    // Records are independent: merge and store them concurrently (conditional writes keep each safe).
    const merged = await mapPool([...byRecord], STORE_CONCURRENCY, ([id, snaps]) =>
      mergeAndStore(deps, object, def, id, loaded.get(id), snaps, report, audit),
    );
    for (const record of merged) {
      const id = record.id;
      for (const system of Object.keys(deps.writeQueues)) {
        if (planWrite(record, system, def).op === 'none') continue;
        const perObject = toSignal.get(system) ?? new Map<ObjectType, Set<string>>();
        perObject.set(object, (perObject.get(object) ?? new Set<string>()).add(id));
        toSignal.set(system, perObject);
      }
    }
  }

  await deps.store.appendAudit(audit);
  for (const [system, perObject] of toSignal) {
    const url = deps.writeQueues[system];
    if (url === undefined) continue;
    const bodies: string[] = [];
    for (const [object, ids] of perObject) {
      bodies.push(
        ...packMessages([...ids], (part): WriteSignal => ({ v: 1, object, ids: part, attempt: 0 }), 500),
      );
      report.signals[system] = (report.signals[system] ?? 0) + ids.size;
    }
    await deps.queue.send(url, bodies);
  }
  if (deferred.length > 0) {
    report.deferred = deferred.length;
    const bodies = packMessages(
      deferred,
      (part): IngestMessage => ({ v: 1, changes: part, attempt: attempt + 1 }),
    );
    // The referenced record is usually ingested within the same cycle; look again shortly.
    await deps.queue.send(deps.ingestQueueUrl, bodies, Math.min(60, 2 ** attempt));
  }
  return report;
}

interface ResolvedSnapshot {
  change: SourceChange;
  snapshot: SourceSnapshot;
}

/** Reference fields arrive as native ids; the canonical record holds canonical ids. */
async function resolveRefs(
  deps: IngestDeps,
  object: ObjectType,
  def: ObjectDef,
  group: readonly SourceChange[],
  attempt: number,
  deferred: SourceChange[],
): Promise<ResolvedSnapshot[]> {
  const refs = referenceFields(def);
  const resolved = new Map<string, Map<string, string>>();
  for (const { refObject } of refs) {
    for (const system of new Set(group.map((c) => c.system))) {
      const wanted = group
        .filter((c) => c.system === system)
        .flatMap((c) => Object.values(c.refs).filter((v): v is string => v !== null));
      if (wanted.length > 0)
        resolved.set(`${system}#${refObject}`, await deps.store.getLinks(system, refObject, wanted));
    }
  }
  const out: ResolvedSnapshot[] = [];
  for (const change of group) {
    const fields: Record<string, FieldValue> = { ...change.fields };
    let missing = false;
    for (const { field, refObject } of refs) {
      if (!Object.hasOwn(change.refs, field)) continue;
      const native = change.refs[field] ?? null;
      if (native === null) {
        fields[field] = null;
        continue;
      }
      const canonical = resolved.get(`${change.system}#${refObject}`)?.get(native);
      if (canonical !== undefined) fields[field] = canonical;
      else missing = true;
    }
    if (missing && attempt < MAX_REF_ATTEMPTS) {
      deferred.push(change);
      continue;
    }
    // After the retries the change goes in without the unresolved reference (the field stays as it was).
    out.push({
      change,
      snapshot: {
        system: change.system,
        object,
        externalId: change.externalId,
        modifiedAt: change.modifiedAt,
        fields,
      },
    });
  }
  return out;
}

/** Canonical id per snapshot: by link, else the id fieldsync stamped on it, else by match key, else a new one. */
async function resolveIdentity(
  deps: IngestDeps,
  object: ObjectType,
  def: ObjectDef,
  snapshots: readonly ResolvedSnapshot[],
  report: IngestReport,
): Promise<(string | undefined)[]> {
  const linksBySystem = new Map<string, Map<string, string>>();
  for (const system of new Set(snapshots.map((s) => s.change.system))) {
    const ids = snapshots.filter((s) => s.change.system === system).map((s) => s.change.externalId);
    linksBySystem.set(system, await deps.store.getLinks(system, object, ids));
  }
  const audit: AuditRow[] = [];
  const out = await mapPool(snapshots, STORE_CONCURRENCY, async ({ change, snapshot }) => {
    const linked = linksBySystem.get(change.system)?.get(change.externalId);
    if (linked !== undefined) return linked;
    const own = canonicalIdFor(change.system, object, change.externalId);
    let chosen = change.fieldsyncId ?? own;
    if (change.fieldsyncId === undefined) {
      for (const key of matchKeysOf(def, snapshot.fields)) {
        const holder = await deps.store.claimKey(object, key.field, key.value, own);
        if (holder === own) continue;
        // A holder already linked to another record of this system means two records share the key:
        // ambiguous, so keep them apart rather than merge two people into one.
        const existing = (await deps.store.getRecords(object, [holder])).get(holder);
        const taken = existing?.links[change.system];
        if (taken !== undefined && taken !== change.externalId) {
          report.ambiguous++;
          audit.push(
            auditRow(
              own,
              object,
              deps.now(),
              key.field,
              null,
              key.value,
              change.system,
              change.modifiedAt,
              'ambiguous',
            ),
          );
          continue;
        }
        chosen = holder;
        break;
      }
    }
    const id = await deps.store.putLink(change.system, object, change.externalId, chosen);
    linksBySystem.get(change.system)?.set(change.externalId, id);
    if (id !== own)
      audit.push(
        auditRow(
          id,
          object,
          deps.now(),
          'link',
          null,
          change.externalId,
          change.system,
          change.modifiedAt,
          'linked',
        ),
      );
    return id;
  });
  await deps.store.appendAudit(audit);
  return out;
}

async function mergeAndStore(
  deps: IngestDeps,
  object: ObjectType,
  def: ObjectDef,
  id: string,
  existing: CanonicalRecord | undefined,
  snaps: readonly SourceSnapshot[],
  report: IngestReport,
  auditOut: AuditRow[],
): Promise<CanonicalRecord> {
  let base = existing;
  for (let attempt = 0; ; attempt++) {
    const start = base ?? emptyRecord(id, object);
    let record = start;
    let changed = false;
    const audit: AuditRow[] = [];
    const now = deps.now();
    for (const snap of snaps) {
      const res = mergeSnapshot(record, snap, { ...deps.merge, now, def });
      record = res.record;
      changed ||= res.changed;
      report.unchanged += res.unchanged;
      for (const c of res.changes) {
        if (c.reason === 'conflict-won' || c.reason === 'conflict-lost') report.conflicts++;
        audit.push(
          auditRow(id, object, now, c.field, c.old ?? null, c.new, c.source, c.sourceTime, c.reason, c.kept),
        );
      }
    }
    if (!changed) return start;
    const next = { ...record, version: start.version + 1 };
    try {
      await deps.store.putRecord(next);
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= MAX_VERSION_RETRIES) throw err;
      base = (await deps.store.getRecords(object, [id])).get(id);
      continue;
    }
    report.recordsStored++;
    if (start.version === 0) report.created++;
    auditOut.push(...audit);
    return next;
  }
}

export function auditRow(
  canonicalId: string,
  object: ObjectType,
  at: number,
  field: string,
  old: string | null,
  value: string | null,
  source: string,
  sourceTime: number,
  reason: AuditRow['reason'],
  kept: string | null = value,
): AuditRow {
  return { canonicalId, object, at, field, old, new: value, kept, source, sourceTime, reason };
}
