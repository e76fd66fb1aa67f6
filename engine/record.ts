// Canonical records and the field merge: each field is a last-writer-wins register with
// provenance; a per-system source shadow tells which fields a system actually changed.
// Pure: no I/O, no clock (time arrives in the context).
import { fieldNames, MODEL, type ObjectType } from './model.ts';
import type { FieldValue } from './normalize.ts';

export interface FieldState {
  value: FieldValue;
  source: string;
  /** When the source says the value was set (ms epoch). */
  sourceTime: number;
  /** When fieldsync first saw it (ms epoch). */
  seenAt: number;
}

/** What a system holds, as normalized canonical values, and the source time of the last snapshot read. */
export interface Shadow {
  values: Record<string, FieldValue>;
  asOf: number;
}

export interface CanonicalRecord {
  id: string;
  object: ObjectType;
  version: number;
  fields: Record<string, FieldState>;
  /** system -> that system's native id. */
  links: Record<string, string>;
  /** system -> what that system holds. Stored in the record so one conditional write keeps both consistent. */
  shadows: Record<string, Shadow>;
}

/** A record as read from a source system, mapped to canonical field names and normalized values. */
export interface SourceSnapshot {
  system: string;
  object: ObjectType;
  externalId: string;
  /** Record-level modification time in the source (Salesforce SystemModstamp, HubSpot lastmodifieddate). */
  modifiedAt: number;
  /** Canonical values. Reference fields hold canonical ids (resolved before the merge). Absent = not carried. */
  fields: Record<string, FieldValue>;
  /** Per-field source times where the system gives them. */
  fieldTimes?: Record<string, number>;
}

export type ChangeReason = 'edit' | 'conflict-won' | 'conflict-lost' | 'older';

export interface FieldChange {
  field: string;
  old: FieldValue | undefined;
  new: FieldValue;
  source: string;
  sourceTime: number;
  /** Which value the canonical record holds after the merge. */
  kept: FieldValue;
  reason: ChangeReason;
}

export interface MergeContext {
  now: number;
  /** Higher wins a tie on sourceTime. Systems not listed count as 0. */
  priority: Readonly<Record<string, number>>;
  /** Two different values for one field from different systems within this window are a conflict. */
  skewMs: number;
}

export interface MergeResult {
  record: CanonicalRecord;
  /** True when the record (fields or shadow) must be stored. */
  changed: boolean;
  changes: FieldChange[];
  /** Fields whose incoming value equalled the system's shadow (an echo of our own write, or no edit). */
  unchanged: number;
  /** The snapshot was older than the shadow and was ignored entirely. */
  stale: boolean;
}

export function emptyRecord(id: string, object: ObjectType): CanonicalRecord {
  return { id, object, version: 0, fields: {}, links: {}, shadows: {} };
}

/** Total order of candidate values: (sourceTime, priority, system name, value). */
export function compareStates(
  a: FieldState,
  b: FieldState,
  priority: Readonly<Record<string, number>>,
): number {
  if (a.sourceTime !== b.sourceTime) return a.sourceTime - b.sourceTime;
  const pa = priority[a.source] ?? 0;
  const pb = priority[b.source] ?? 0;
  if (pa !== pb) return pa - pb;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  const va = a.value ?? '';
  const vb = b.value ?? '';
  return va === vb ? 0 : va < vb ? -1 : 1;
}

export function mergeSnapshot(
  record: CanonicalRecord,
  snapshot: SourceSnapshot,
  ctx: MergeContext,
): MergeResult {
  const system = snapshot.system;
  const shadow = record.shadows[system];
  if (shadow !== undefined && snapshot.modifiedAt < shadow.asOf) {
    return { record, changed: false, changes: [], unchanged: 0, stale: true };
  }
  const fields = { ...record.fields };
  const shadowValues: Record<string, FieldValue> = { ...(shadow?.values ?? {}) };
  const changes: FieldChange[] = [];
  let unchanged = 0;
  let changed = shadow === undefined || snapshot.modifiedAt !== shadow.asOf;

  for (const field of fieldNames(snapshot.object)) {
    if (!Object.hasOwn(snapshot.fields, field)) continue;
    const value = snapshot.fields[field] ?? null;
    const before = shadow?.values[field];
    if (before !== value) changed = true;
    shadowValues[field] = value;
    if (before === value) {
      unchanged++;
      continue;
    }
    // A blank seen for the first time is absence of data, not a user clearing the field.
    if (before === undefined && value === null) continue;

    const candidate: FieldState = {
      value,
      source: system,
      sourceTime: snapshot.fieldTimes?.[field] ?? snapshot.modifiedAt,
      seenAt: ctx.now,
    };
    const current = fields[field];
    if (current === undefined) {
      fields[field] = candidate;
      changes.push({
        field,
        old: undefined,
        new: value,
        source: system,
        sourceTime: candidate.sourceTime,
        kept: value,
        reason: 'edit',
      });
      continue;
    }
    if (current.value === value) {
      // Equal values never conflict; keep the later provenance so the result is order-independent.
      if (compareStates(candidate, current, ctx.priority) > 0) fields[field] = candidate;
      continue;
    }
    const wins = compareStates(candidate, current, ctx.priority) > 0;
    const concurrent =
      current.source !== system && Math.abs(candidate.sourceTime - current.sourceTime) <= ctx.skewMs;
    const kept = wins ? value : current.value;
    if (wins) fields[field] = candidate;
    const reason: ChangeReason = concurrent
      ? wins
        ? 'conflict-won'
        : 'conflict-lost'
      : wins
        ? 'edit'
        : 'older';
    changes.push({
      field,
      old: current.value,
      new: value,
      source: system,
      sourceTime: candidate.sourceTime,
      kept,
      reason,
    });
  }

  const links =
    record.links[system] === snapshot.externalId
      ? record.links
      : { ...record.links, [system]: snapshot.externalId };
  if (links !== record.links) changed = true;
  const next: CanonicalRecord = {
    ...record,
    fields,
    links,
    shadows: {
      ...record.shadows,
      [system]: { values: shadowValues, asOf: Math.max(shadow?.asOf ?? 0, snapshot.modifiedAt) },
    },
  };
  if (changes.some((c) => c.kept === c.new && c.old !== c.new)) changed = true;
  return { record: next, changed, changes, unchanged, stale: false };
}

export type WritePlan =
  | { op: 'none' }
  | { op: 'create'; fields: Record<string, FieldValue> }
  | { op: 'update'; externalId: string; fields: Record<string, FieldValue> };

/** What `system` must be sent so that it holds the canonical values: only fields that differ from its shadow. */
export function planWrite(record: CanonicalRecord, system: string): WritePlan {
  const externalId = record.links[system];
  const shadow = record.shadows[system];
  const out: Record<string, FieldValue> = {};
  for (const field of fieldNames(record.object)) {
    const state = record.fields[field];
    if (state === undefined) continue;
    if (externalId === undefined) {
      if (state.value !== null) out[field] = state.value;
      continue;
    }
    const held = shadow?.values[field] ?? null;
    if (held !== state.value) out[field] = state.value;
  }
  if (externalId === undefined)
    return Object.keys(out).length === 0 ? { op: 'none' } : { op: 'create', fields: out };
  return Object.keys(out).length === 0 ? { op: 'none' } : { op: 'update', externalId, fields: out };
}

/** After a successful write: the system now holds these values (its source time stays as last read). */
export function recordWritten(
  record: CanonicalRecord,
  system: string,
  written: Record<string, FieldValue>,
  externalId: string,
): CanonicalRecord {
  const shadow = record.shadows[system];
  return {
    ...record,
    links: { ...record.links, [system]: externalId },
    shadows: {
      ...record.shadows,
      [system]: { values: { ...(shadow?.values ?? {}), ...written }, asOf: shadow?.asOf ?? 0 },
    },
  };
}

/** Reference fields of an object, e.g. contact.company -> company. */
export function referenceFields(object: ObjectType): { field: string; refObject: ObjectType }[] {
  const out: { field: string; refObject: ObjectType }[] = [];
  for (const [field, def] of Object.entries(MODEL[object].fields)) {
    if (def.refObject !== undefined) out.push({ field, refObject: def.refObject });
  }
  return out;
}
