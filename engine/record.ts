// Canonical records and the field merge: each field is a last-writer-wins register with
// provenance; a per-system source shadow tells which fields a system actually changed.
// Pure: no I/O, no clock (time arrives in the context).
import {
  acceptsFrom,
  type FieldDef,
  type ObjectDef,
  type ObjectType,
  type Policy,
  policyOf,
  resolveDef,
  writesTo,
} from './model.ts';
import type { FieldValue } from './normalize.ts';

export interface FieldState {
  value: FieldValue;
  source: string;
  /** When the source says the value was set (ms epoch). */
  sourceTime: number;
  /** When fieldsync first saw it (ms epoch). */
  seenAt: number;
  /** When the read that carried it was answered (our clock): orders two values one system stamped with
   * the same time (Salesforce's whole seconds), the later read holding the later save. */
  readAt?: number | undefined;
}

/** What a system holds, as normalized canonical values, and the source time of the last snapshot read. */
export interface Shadow {
  values: Record<string, FieldValue>;
  asOf: number;
  /** When the latest read stamped `asOf` was answered (our clock); an earlier read of that stamp is stale. */
  readAt?: number | undefined;
  /** field -> when the system itself last changed it (not when we wrote it): a one-way direction
   * into the system leaves its own later edits alone. */
  times?: Record<string, number> | undefined;
  /** field -> whose value the system holds, when it is not the system's own (a value we wrote there). */
  sources?: Record<string, string> | undefined;
  /**
   * Our writes not yet seen back: field -> the value the system held before we wrote, and when we
   * wrote (our clock). A read taken before the write but applied after it still shows that value; it
   * is no edit of the field (see mergeSnapshot).
   */
  unconfirmed?: Record<string, { before: FieldValue; at: number }> | undefined;
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
  /** Deleted, held for approval, merged into another record, or erased. */
  tombstone?: Tombstone | undefined;
  /** system -> when the record was deleted there: it is never recreated in that system. */
  gone?: Record<string, number> | undefined;
  /** Not synced out until an operator decides (e.g. an ambiguous identity match: `fieldsync link`). */
  hold?: { reason: 'ambiguous'; detail: string } | undefined;
}

export type TombstoneStatus = 'deleted' | 'quarantined' | 'merged' | 'forgotten';

export interface Tombstone {
  status: TombstoneStatus;
  /** The system the delete or merge came from (`fieldsync` for operator actions). */
  system: string;
  at: number;
  /** For merges: the canonical record this one was merged into. */
  mergedInto?: string | undefined;
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
  /** When the read was answered (our clock). */
  readAt?: number | undefined;
  /**
   * Values the system held for a moment and that fieldsync's own write then replaced (a user's edit that
   * landed between fieldsync's check of the record and its write, found in the property history). They
   * are merged into the canonical record by their own times; the shadow keeps what the system holds now
   * (what was written), so a winning value is written back there too.
   */
  replaced?: true | undefined;
}

/** Why a field did or did not change: every decision is audited with one of these. */
export const CHANGE_REASONS = [
  'edit',
  'conflict-won',
  'conflict-lost',
  'older',
  'blocked',
  'blank-ignored',
] as const;
export type ChangeReason = (typeof CHANGE_REASONS)[number];

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
  /** The object's definition (fields, policies, directions); the default model's when absent. */
  def?: ObjectDef;
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
  /** A newer version of the record whose every carried field equals the shadow: typically our own write coming back. */
  echo: boolean;
}

export function emptyRecord(id: string, object: ObjectType): CanonicalRecord {
  return { id, object, version: 0, fields: {}, links: {}, shadows: {} };
}

/** `prefer: S` ranks S's non-blank values above everything else; otherwise all rank equal. */
export function policyRank(state: FieldState, policy: Policy | undefined): number {
  return policy?.kind === 'prefer' && state.source === policy.system && state.value !== null ? 1 : 0;
}

/** Total order of candidate values: (policy rank, sourceTime, priority, system name, read time, value). */
export function compareStates(
  a: FieldState,
  b: FieldState,
  priority: Readonly<Record<string, number>>,
  policy?: Policy,
): number {
  const ra = policyRank(a, policy);
  const rb = policyRank(b, policy);
  if (ra !== rb) return ra - rb;
  if (a.sourceTime !== b.sourceTime) return a.sourceTime - b.sourceTime;
  const pa = priority[a.source] ?? 0;
  const pb = priority[b.source] ?? 0;
  if (pa !== pb) return pa - pb;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  // One system, one stamp, two values: two saves within its clock's resolution; the later read saw the later.
  const ta = a.readAt ?? 0;
  const tb = b.readAt ?? 0;
  if (ta !== tb) return ta - tb;
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
  const def = ctx.def ?? resolveDef(snapshot.object);
  if (snapshot.replaced === true) return mergeReplaced(record, snapshot, def, ctx);
  const shadow = record.shadows[system];
  if (shadow !== undefined && isStale(snapshot, shadow)) {
    return { record, changed: false, changes: [], unchanged: 0, stale: true, echo: false };
  }
  const fields = { ...record.fields };
  const shadowValues: Record<string, FieldValue> = { ...(shadow?.values ?? {}) };
  const shadowTimes: Record<string, number> = { ...(shadow?.times ?? {}) };
  const shadowSources: Record<string, string> = { ...(shadow?.sources ?? {}) };
  const unconfirmed: NonNullable<Shadow['unconfirmed']> = { ...(shadow?.unconfirmed ?? {}) };
  const changes: FieldChange[] = [];
  let unchanged = 0;
  let differs = 0;
  let changed = shadow === undefined || snapshot.modifiedAt !== shadow.asOf;

  for (const [field, fieldDef] of Object.entries(def.fields)) {
    if (!Object.hasOwn(snapshot.fields, field)) continue;
    const value = snapshot.fields[field] ?? null;
    const before = shadow?.values[field];
    const written = unconfirmed[field];
    if (written !== undefined) {
      // Our write of this field is not confirmed yet. Its own value confirms it. The value from before
      // the write, in a snapshot not clearly later than the write, is a read from before it (applied
      // late): no edit, and the shadow keeps what we wrote. Anything else is the system's own change.
      if (value === before) delete unconfirmed[field];
      else if (value === written.before && snapshot.modifiedAt <= written.at + ctx.skewMs) {
        unchanged++;
        continue;
      } else delete unconfirmed[field];
    }
    if (before !== value) changed = true;
    shadowValues[field] = value;
    if (before === value) {
      unchanged++;
      continue;
    }
    differs++;
    const sourceTime = snapshot.fieldTimes?.[field] ?? snapshot.modifiedAt;
    shadowTimes[field] = sourceTime;
    delete shadowSources[field];
    const audit = (reason: ChangeReason, kept: FieldValue, old: FieldValue | undefined) =>
      changes.push({ field, old, new: value, source: system, sourceTime, kept, reason });
    // A blank seen for the first time is absence of data, not a user clearing the field.
    if (before === undefined && value === null) {
      const held = fields[field];
      if (held !== undefined) audit('blank-ignored', held.value, held.value);
      continue;
    }
    if (!acceptsFrom(fieldDef, system)) {
      const held = fields[field]?.value;
      audit('blocked', held ?? null, held);
      continue;
    }
    mergeField(
      fields,
      field,
      fieldDef,
      candidateOf(value, system, sourceTime, ctx.now, snapshot),
      ctx,
      audit,
    );
  }
  const nextShadows = {
    ...record.shadows,
    [system]: {
      values: shadowValues,
      asOf: Math.max(shadow?.asOf ?? 0, snapshot.modifiedAt),
      ...readAtAfter(shadow, snapshot),
      ...(Object.keys(shadowTimes).length > 0 ? { times: shadowTimes } : {}),
      ...(Object.keys(shadowSources).length > 0 ? { sources: shadowSources } : {}),
      ...(Object.keys(unconfirmed).length > 0 ? { unconfirmed } : {}),
    },
  };
  if (Object.keys(unconfirmed).length !== Object.keys(shadow?.unconfirmed ?? {}).length) changed = true;
  resolvePrefer(fields, def, nextShadows, ctx.now);

  const links =
    record.links[system] === snapshot.externalId
      ? record.links
      : { ...record.links, [system]: snapshot.externalId };
  if (links !== record.links) changed = true;
  const next: CanonicalRecord = {
    ...record,
    fields,
    links,
    shadows: nextShadows,
  };
  const echo = shadow !== undefined && snapshot.modifiedAt > shadow.asOf && differs === 0;
  return { record: next, changed, changes, unchanged, stale: false, echo };
}

/** A read older than what the shadow holds: an older stamp, or the same stamp read earlier. */
function isStale(snapshot: SourceSnapshot, shadow: Shadow): boolean {
  if (snapshot.modifiedAt !== shadow.asOf) return snapshot.modifiedAt < shadow.asOf;
  return snapshot.readAt !== undefined && shadow.readAt !== undefined && snapshot.readAt < shadow.readAt;
}

/** The shadow's read time after merging this snapshot (that of the latest read of the newest stamp). */
function readAtAfter(shadow: Shadow | undefined, snapshot: SourceSnapshot): { readAt?: number } {
  const previous = shadow?.readAt;
  const next =
    shadow === undefined || snapshot.modifiedAt > shadow.asOf
      ? snapshot.readAt
      : snapshot.modifiedAt === shadow.asOf
        ? Math.max(previous ?? 0, snapshot.readAt ?? 0) || undefined
        : previous;
  return next === undefined ? {} : { readAt: next };
}

function candidateOf(
  value: FieldValue,
  source: string,
  sourceTime: number,
  now: number,
  snapshot: SourceSnapshot,
): FieldState {
  return {
    value,
    source,
    sourceTime,
    seenAt: now,
    ...(snapshot.readAt === undefined ? {} : { readAt: snapshot.readAt }),
  };
}

/** Replaced values (see SourceSnapshot.replaced): each field is one more candidate for its register. */
function mergeReplaced(
  record: CanonicalRecord,
  snapshot: SourceSnapshot,
  def: ObjectDef,
  ctx: MergeContext,
): MergeResult {
  const system = snapshot.system;
  const fields = { ...record.fields };
  const changes: FieldChange[] = [];
  for (const [field, fieldDef] of Object.entries(def.fields)) {
    if (!Object.hasOwn(snapshot.fields, field)) continue;
    const value = snapshot.fields[field] ?? null;
    const sourceTime = snapshot.fieldTimes?.[field] ?? snapshot.modifiedAt;
    const audit = (reason: ChangeReason, kept: FieldValue, old: FieldValue | undefined) =>
      changes.push({ field, old, new: value, source: system, sourceTime, kept, reason });
    if (!acceptsFrom(fieldDef, system)) {
      const held = fields[field]?.value;
      audit('blocked', held ?? null, held);
      continue;
    }
    mergeField(fields, field, fieldDef, { value, source: system, sourceTime, seenAt: ctx.now }, ctx, audit);
  }
  resolvePrefer(fields, def, record.shadows, ctx.now);
  const changed = Object.entries(fields).some(([f, state]) => record.fields[f] !== state);
  return {
    record: changed ? { ...record, fields } : record,
    changed,
    changes,
    unchanged: 0,
    stale: false,
    echo: false,
  };
}

/** Merge one candidate value into a field register (the last-writer-wins rule, ranked by policy). */
function mergeField(
  fields: Record<string, FieldState>,
  field: string,
  def: FieldDef,
  candidate: FieldState,
  ctx: MergeContext,
  audit: (reason: ChangeReason, kept: FieldValue, old: FieldValue | undefined) => void,
): void {
  const policy = policyOf(def);
  const current = fields[field];
  if (current === undefined) {
    fields[field] = candidate;
    audit('edit', candidate.value, undefined);
    return;
  }
  const wins = compareStates(candidate, current, ctx.priority, policy) > 0;
  if (current.value === candidate.value) {
    // Equal values never conflict; keep the greater provenance so the result is order-independent.
    if (wins) fields[field] = candidate;
    return;
  }
  const concurrent =
    current.source !== candidate.source && Math.abs(candidate.sourceTime - current.sourceTime) <= ctx.skewMs;
  if (wins) fields[field] = candidate;
  const kept = wins ? candidate.value : current.value;
  audit(
    concurrent ? (wins ? 'conflict-won' : 'conflict-lost') : wins ? 'edit' : 'older',
    kept,
    current.value,
  );
}

/**
 * `prefer: S` settles a field from what each system holds now (the shadows): S's value unless it is
 * blank, else the latest value another system holds, else blank. A function of the shadows, so it does
 * not depend on the order changes arrived in, and S clearing the field never brings its old value back.
 */
function resolvePrefer(
  fields: Record<string, FieldState>,
  def: ObjectDef,
  shadows: Record<string, Shadow>,
  now: number,
): void {
  for (const [field, fieldDef] of Object.entries(def.fields)) {
    const policy = policyOf(fieldDef);
    if (policy.kind !== 'prefer') continue;
    const entries: { holder: string; state: FieldState }[] = [];
    for (const [holder, shadow] of Object.entries(shadows)) {
      const value = shadow.values[field];
      const source = shadow.sources?.[field] ?? holder;
      if (value === undefined || !acceptsFrom(fieldDef, source)) continue;
      entries.push({
        holder,
        state: { value, source, sourceTime: shadow.times?.[field] ?? shadow.asOf, seenAt: now },
      });
    }
    // A copy of a system's value held elsewhere is outdated once that system itself holds something newer.
    const own = new Map(entries.filter((e) => e.holder === e.state.source).map((e) => [e.holder, e.state]));
    const held = entries
      .filter(
        (e) =>
          e.holder === e.state.source || (own.get(e.state.source)?.sourceTime ?? -1) <= e.state.sourceTime,
      )
      .map((e) => e.state);
    if (held.length === 0) continue;
    const order = (a: FieldState, b: FieldState) =>
      b.sourceTime - a.sourceTime || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0);
    const preferred = held.filter((h) => h.source === policy.system && h.value !== null).sort(order)[0];
    const others = held.filter((h) => h.value !== null).sort(order)[0];
    const blank = held.filter((h) => h.source === policy.system).sort(order)[0] ?? [...held].sort(order)[0];
    const pick = preferred ?? others ?? blank;
    const current = fields[field];
    if (pick === undefined) continue;
    if (
      current === undefined ||
      current.value !== pick.value ||
      current.source !== pick.source ||
      current.sourceTime !== pick.sourceTime
    ) {
      fields[field] = { ...pick, seenAt: current?.value === pick.value ? current.seenAt : now };
    }
  }
}

export type WritePlan =
  | { op: 'none' }
  | { op: 'delete'; externalId: string }
  | { op: 'create'; fields: Record<string, FieldValue> }
  | { op: 'update'; externalId: string; fields: Record<string, FieldValue> };

/** What `system` must be sent so that it holds the canonical values: only fields that flow to it and
 * differ from its shadow. */
export function planWrite(
  record: CanonicalRecord,
  system: string,
  def: ObjectDef = resolveDef(record.object),
): WritePlan {
  const externalId = record.links[system];
  if (record.gone?.[system] !== undefined || record.hold !== undefined) return { op: 'none' };
  if (record.tombstone !== undefined) {
    // A quarantined delete waits for an operator; every other tombstone removes the record everywhere.
    return record.tombstone.status === 'quarantined' || externalId === undefined
      ? { op: 'none' }
      : { op: 'delete', externalId };
  }
  const shadow = record.shadows[system];
  const out: Record<string, FieldValue> = {};
  for (const [field, fieldDef] of Object.entries(def.fields)) {
    const state = record.fields[field];
    if (state === undefined || !writesTo(fieldDef, system)) continue;
    if (externalId === undefined) {
      if (state.value !== null) out[field] = state.value;
      continue;
    }
    const held = shadow?.values[field] ?? null;
    if (held === state.value) continue;
    // One-way into this system: its own later edit of the field stays (only newer values flow in).
    const direction = fieldDef.direction;
    const ownEdit = shadow?.sources?.[field] === undefined ? shadow?.times?.[field] : undefined;
    if (
      direction?.kind === 'to' &&
      direction.system === system &&
      ownEdit !== undefined &&
      ownEdit >= state.sourceTime
    )
      continue;
    out[field] = state.value;
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
  /** When the write returned (our clock); without it the write is taken as confirmed. */
  writtenAt?: number,
): CanonicalRecord {
  const shadow = record.shadows[system];
  const times: Record<string, number> = { ...(shadow?.times ?? {}) };
  const sources: Record<string, string> = { ...(shadow?.sources ?? {}) };
  const unconfirmed: NonNullable<Shadow['unconfirmed']> = { ...(shadow?.unconfirmed ?? {}) };
  for (const [field, value] of Object.entries(written)) {
    const held = shadow?.values[field];
    // Only an update of a value the system was seen holding can be contradicted by a late read.
    if (writtenAt !== undefined && held !== undefined && held !== value)
      unconfirmed[field] = { before: unconfirmed[field]?.before ?? held, at: writtenAt };
    else delete unconfirmed[field];
  }
  for (const field of Object.keys(written)) {
    // The system now holds the canonical value, with the canonical value's provenance.
    const state = record.fields[field];
    if (state === undefined) continue;
    times[field] = state.sourceTime;
    if (state.source === system) delete sources[field];
    else sources[field] = state.source;
  }
  return {
    ...record,
    links: { ...record.links, [system]: externalId },
    shadows: {
      ...record.shadows,
      [system]: {
        values: { ...(shadow?.values ?? {}), ...written },
        asOf: shadow?.asOf ?? 0,
        ...(shadow?.readAt === undefined ? {} : { readAt: shadow.readAt }),
        ...(Object.keys(times).length > 0 ? { times } : {}),
        ...(Object.keys(sources).length > 0 ? { sources } : {}),
        ...(Object.keys(unconfirmed).length > 0 ? { unconfirmed } : {}),
      },
    },
  };
}

/** Reference fields of an object, e.g. contact.company -> company. */
export function referenceFields(def: ObjectDef | ObjectType): { field: string; refObject: ObjectType }[] {
  const out: { field: string; refObject: ObjectType }[] = [];
  for (const [field, f] of Object.entries(resolveDef(def).fields)) {
    if (f.refObject !== undefined) out.push({ field, refObject: f.refObject });
  }
  return out;
}
