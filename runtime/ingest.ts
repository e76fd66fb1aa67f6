// Ingest use case: resolve identity, merge source snapshots into canonical records field by
// field, store (conditional on version), audit, and signal the systems that now differ.

import type { SourceChange } from '../connectors/types.ts';
import {
  applyDelete,
  type CanonicalRecord,
  canonicalIdFor,
  type DeleteDecision,
  emptyRecord,
  type FieldValue,
  type MergeContext,
  type Model,
  matchKeysOf,
  mergeRecords,
  mergeSnapshot,
  type ObjectDef,
  type ObjectType,
  objectsInDependencyOrder,
  planWrite,
  policyOf,
  referenceFields,
  type SourceSnapshot,
} from '../engine/index.ts';
import { logDecisions } from './log.ts';
import type { IngestMessage, WriteSignal } from './messages.ts';
import { mapPool } from './pool.ts';
import { packMessages, type Queue } from './queue.ts';
import { type AuditRow, type Store, updateRecord, VersionConflictError } from './store.ts';

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
  /** Records changed by deletes and merges. */
  deleted: number;
  /** Snapshots that were only fieldsync's own writes coming back. */
  echoes: number;
  signals: Record<string, number>;
}

/** How far ahead of our clock a system's modification time may be (clock skew) before it is capped. */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;
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
    deleted: 0,
    echoes: 0,
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
    const all = changes.filter((c) => c.object === object);
    if (all.length === 0 || def === undefined) continue;
    const group = all.filter((c) => c.deleted === undefined);
    const snapshots = await resolveRefs(deps, object, def, group, attempt, deferred);
    const observed = new Set(snapshots.filter((s) => s.change.reconcile === true).map((s) => s.snapshot));
    const holds = new Map<string, string>();
    const ids = await resolveIdentity(deps, object, def, snapshots, report, holds);
    const byRecord = new Map<string, SourceSnapshot[]>();
    for (const [i, snap] of snapshots.entries()) {
      const id = ids[i];
      if (id === undefined) continue;
      byRecord.set(id, [...(byRecord.get(id) ?? []), snap.snapshot]);
    }
    const loaded = await deps.store.getRecords(object, [...byRecord.keys()]);
    // Records are independent: merge and store them concurrently (conditional writes keep each safe).
    const merged = await mapPool([...byRecord], STORE_CONCURRENCY, ([id, snaps]) =>
      mergeAndStore(deps, object, def, id, loaded.get(id), snaps, report, audit, observed, holds.get(id)),
    );
    // Deletes and merges after the updates, so a merge's surviving record is linked first.
    const deletions = all.filter((c) => c.deleted !== undefined);
    const touched =
      deletions.length === 0
        ? []
        : await ingestDeletions(deps, object, def, deletions, attempt, deferred, audit);
    report.deleted += touched.length;
    for (const record of [...merged, ...touched]) {
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
  logDecisions(audit);
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
    // A time in the future (a wrong clock, a bad value) would win every later conflict until that day
    // comes: no source time counts for more than now plus the allowed clock skew.
    const latest = deps.now() + MAX_CLOCK_AHEAD_MS;
    const capped = (t: number) => Math.min(t, latest);
    out.push({
      change,
      snapshot: {
        system: change.system,
        object,
        externalId: change.externalId,
        modifiedAt: capped(change.modifiedAt),
        fields,
        ...(change.fieldTimes === undefined
          ? {}
          : {
              fieldTimes: Object.fromEntries(
                Object.entries(change.fieldTimes).map(([f, t]) => [f, capped(t)]),
              ),
            }),
        ...(change.replaced === true ? { replaced: true as const } : {}),
        ...(change.readAt === undefined ? {} : { readAt: change.readAt }),
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
  holds: Map<string, string>,
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
    // A record made by a merge (HubSpot gives it a new id) continues the records merged into it.
    const merged =
      change.mergedIds === undefined
        ? []
        : [...(await deps.store.getLinks(change.system, object, change.mergedIds)).values()];
    if (merged[0] !== undefined) chosen = merged[0];
    else if (change.fieldsyncId === undefined) {
      for (const key of matchKeysOf(def, snapshot.fields)) {
        const holder = await deps.store.claimKey(object, key.field, key.value, own);
        if (holder === own) continue;
        // A holder already linked to another record of this system means two records share the key:
        // ambiguous, so keep them apart rather than merge two people into one.
        const existing = (await deps.store.getRecords(object, [holder])).get(holder);
        const taken = existing?.links[change.system];
        if (taken !== undefined && taken !== change.externalId) {
          // Held: stored, listed by `fieldsync conflicts`, synced nowhere until `fieldsync link` decides.
          holds.set(own, `${key.field} ${key.value} also matches ${holder} (${change.system} ${taken})`);
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
  logDecisions(audit);
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
  observed: ReadonlySet<SourceSnapshot>,
  hold?: string,
): Promise<CanonicalRecord> {
  let base = existing;
  for (let attempt = 0; ; attempt++) {
    const fresh = emptyRecord(id, object);
    const start =
      base ??
      (hold === undefined ? fresh : { ...fresh, hold: { reason: 'ambiguous' as const, detail: hold } });
    // Deleted, merged away or forgotten: changes to it are not synced back in.
    if (start.tombstone !== undefined) return start;
    let record = start;
    let changed = false;
    const audit: AuditRow[] = [];
    const now = deps.now();
    for (const snap of snaps) {
      const input = observed.has(snap) ? asObserved(record, snap, def) : snap;
      const res = mergeSnapshot(record, input, { ...deps.merge, now, def });
      record = res.record;
      changed ||= res.changed;
      report.unchanged += res.unchanged;
      if (res.echo) report.echoes++;
      if (res.echo)
        audit.push(auditRow(id, object, now, '*', null, null, snap.system, snap.modifiedAt, 'echo'));
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

/**
 * A reconciliation read whose modification time is older than what fieldsync last saw in that system
 * (a restore from backup, a value altered without a new timestamp). A poll's snapshot that old is an
 * old read and is dropped as stale; this one is a fresh read of what the system holds now, and its
 * shadow must learn those values, or the writer would never see that the system differs. The values
 * that differ are no newer edit: they are dated before anything fieldsync knows, so the canonical value
 * stands and is written back. Where the policy makes this system the authority (`always:` it, or
 * `prefer:` it with a value) what it holds now is the value: dated just after what fieldsync knows.
 */
export function asObserved(record: CanonicalRecord, snap: SourceSnapshot, def: ObjectDef): SourceSnapshot {
  const shadow = record.shadows[snap.system];
  if (shadow === undefined || snap.modifiedAt >= shadow.asOf) return snap;
  const fieldTimes: Record<string, number> = { ...snap.fieldTimes };
  for (const [field, value] of Object.entries(snap.fields)) {
    const fieldDef = def.fields[field];
    if (fieldDef === undefined || (shadow.values[field] ?? null) === value) continue;
    const policy = policyOf(fieldDef);
    const authority =
      policy.kind !== 'lastWriterWins' &&
      policy.system === snap.system &&
      (policy.kind === 'always' || value !== null);
    fieldTimes[field] = authority ? Math.max(shadow.asOf, (record.fields[field]?.sourceTime ?? 0) + 1) : 0;
  }
  return { ...snap, modifiedAt: shadow.asOf, fieldTimes };
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

async function ingestDeletions(
  deps: IngestDeps,
  object: ObjectType,
  def: ObjectDef,
  deletions: readonly SourceChange[],
  attempt: number,
  deferred: SourceChange[],
  audit: AuditRow[],
): Promise<CanonicalRecord[]> {
  const touched: CanonicalRecord[] = [];
  for (const system of new Set(deletions.map((d) => d.system))) {
    const ds = deletions.filter((d) => d.system === system);
    const links = await deps.store.getLinks(
      system,
      object,
      ds.map((d) => d.externalId),
    );
    const masters = ds.flatMap((d) => (d.deleted?.mergedInto === undefined ? [] : [d.deleted.mergedInto]));
    const masterLinks =
      masters.length === 0 ? new Map<string, string>() : await deps.store.getLinks(system, object, masters);
    // One at a time: a merge changes two records.
    for (const d of ds) {
      const loserId = links.get(d.externalId);
      const at = d.deleted?.at ?? d.modifiedAt;
      if (loserId === undefined) continue; // never synced: nothing to do
      const into = d.deleted?.mergedInto;
      if (into === undefined) {
        const record = await deleteCanonical(deps, object, def, loserId, system, d.externalId, at, audit);
        if (record !== undefined) touched.push(record);
        continue;
      }
      const winnerId = masterLinks.get(into);
      if (winnerId === undefined) {
        // The surviving record is not linked yet (it arrives in the same poll): look again shortly.
        if (attempt < MAX_REF_ATTEMPTS) deferred.push(d);
        continue;
      }
      if (winnerId === loserId) continue; // the canonical record already continues as the merged record
      touched.push(
        ...(await mergeCanonical(deps, object, def, winnerId, loserId, system, d.externalId, at, audit)),
      );
    }
  }
  return touched;
}

/** Apply the object's delete policy to a record deleted in `system`. */
async function deleteCanonical(
  deps: IngestDeps,
  object: ObjectType,
  def: ObjectDef,
  id: string,
  system: string,
  externalId: string,
  at: number,
  audit: AuditRow[],
): Promise<CanonicalRecord | undefined> {
  // Set inside the change (which may run again after a version conflict).
  const applied: { decision: DeleteDecision } = { decision: 'already' };
  const next = await updateRecord(deps.store, object, id, (current) => {
    // A delete of a native record the canonical record no longer points at (relinked, merged) is not its delete.
    if (current.links[system] !== externalId) return undefined;
    const result = applyDelete(current, system, at, def.deletes ?? 'ignore');
    applied.decision = result.decision;
    return result.decision === 'already' ? undefined : result.record;
  });
  if (next === undefined) return undefined;
  const { decision } = applied;
  const event =
    decision === 'propagate' ? 'deleted' : decision === 'quarantine' ? 'quarantined' : 'delete-ignored';
  audit.push(auditRow(id, object, deps.now(), '*', null, null, system, at, event));
  return next;
}

/** A merge in `system`: the loser's canonical record is merged into the winner's, links repointed. */
async function mergeCanonical(
  deps: IngestDeps,
  object: ObjectType,
  def: ObjectDef,
  winnerId: string,
  loserId: string,
  system: string,
  loserExternalId: string,
  at: number,
  audit: AuditRow[],
): Promise<CanonicalRecord[]> {
  for (let attempt = 0; ; attempt++) {
    const both = await deps.store.getRecords(object, [winnerId, loserId]);
    const winner = both.get(winnerId);
    const loser = both.get(loserId);
    if (winner === undefined || loser === undefined || loser.tombstone !== undefined) return [];
    const out = mergeRecords(winner, loser, def, deps.merge.priority, deps.now());
    // The loser's record in the merging system is gone already; its copies elsewhere are duplicates to archive.
    const { [system]: _gone, ...loserLinks } = out.loser.links;
    const nextWinner = { ...out.winner, version: winner.version + 1 };
    // Configured to keep duplicates: they stay where they are, linked to the tombstone, never written.
    const kept =
      def.duplicates === 'keep' ? Object.fromEntries(Object.keys(loserLinks).map((s) => [s, at])) : {};
    const nextLoser = {
      ...out.loser,
      links: loserLinks,
      gone: { ...out.loser.gone, ...kept, [system]: at },
      version: loser.version + 1,
    };
    try {
      await deps.store.putRecord(nextWinner);
    } catch (err) {
      if (err instanceof VersionConflictError && attempt < MAX_VERSION_RETRIES) continue;
      throw err;
    }
    // The loser is written as merged whatever changed it meanwhile (its values are in the winner now).
    await updateRecord(deps.store, object, loserId, () => nextLoser, loser);
    for (const [s, externalId] of Object.entries(out.winner.links)) {
      if (loser.links[s] === externalId) await deps.store.setLink(s, object, externalId, winnerId);
    }
    await deps.store.setLink(system, object, loserExternalId, winnerId);
    audit.push(
      auditRow(winnerId, object, deps.now(), '*', null, loserId, system, at, 'merged'),
      auditRow(loserId, object, deps.now(), '*', null, winnerId, system, at, 'merged'),
    );
    return [nextWinner, nextLoser];
  }
}
