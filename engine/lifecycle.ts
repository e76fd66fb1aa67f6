// Deletes, quarantine and merges of canonical records. Pure, like the field merge.
import { acceptsFrom, type DeletePolicy, type FieldDef, type ObjectDef, policyOf } from './model.ts';
import { type CanonicalRecord, type FieldState, policyRank, type Shadow } from './record.ts';

export type DeleteDecision = 'propagate' | 'ignore' | 'quarantine' | 'already';

/** A record was deleted in `system`: apply the object's delete policy. */
export function applyDelete(
  record: CanonicalRecord,
  system: string,
  at: number,
  policy: DeletePolicy,
): { record: CanonicalRecord; decision: DeleteDecision } {
  if (record.gone?.[system] !== undefined) return { record, decision: 'already' };
  const { [system]: _shadow, ...shadows } = record.shadows;
  const base: CanonicalRecord = { ...record, shadows, gone: { ...record.gone, [system]: at } };
  if (record.tombstone !== undefined) return { record: base, decision: 'already' };
  switch (policy) {
    case 'ignore':
      // The other systems keep the record; this one is never written again.
      return { record: base, decision: 'ignore' };
    case 'quarantine':
      return {
        record: { ...base, tombstone: { status: 'quarantined', system, at } },
        decision: 'quarantine',
      };
    case 'propagate':
      return { record: { ...base, tombstone: { status: 'deleted', system, at } }, decision: 'propagate' };
  }
}

/** An operator's decision on a quarantined delete. Rejecting brings the record back where it was deleted. */
export function decideQuarantine(record: CanonicalRecord, approve: boolean, at: number): CanonicalRecord {
  const t = record.tombstone;
  if (t?.status !== 'quarantined') return record;
  if (approve) return { ...record, tombstone: { ...t, status: 'deleted', at } };
  const { [t.system]: _gone, ...gone } = record.gone ?? {};
  const { [t.system]: _link, ...links } = record.links;
  // Unlinked there, so the writer creates it again (a new record) in the system that deleted it.
  return { ...record, tombstone: undefined, gone, links };
}

export interface MergeOutcome {
  winner: CanonicalRecord;
  loser: CanonicalRecord;
  /** Native records left over in systems where both were linked: the loser's copies, to archive. */
  duplicates: { system: string; externalId: string }[];
}

/**
 * Merge `loser` into `winner` field by field. The surviving record is what the user chose when they
 * merged (its values stand, as in Salesforce's and HubSpot's own merges); the loser fills the fields
 * it leaves blank, and a loser value that the field's policy ranks higher (prefer/always) wins.
 * Links of systems the winner is not in move over; where both are linked, the loser's record there
 * is a duplicate.
 */
export function mergeRecords(
  winner: CanonicalRecord,
  loser: CanonicalRecord,
  def: ObjectDef,
  _priority: Readonly<Record<string, number>>,
  at: number,
): MergeOutcome {
  const fields: Record<string, FieldState> = { ...winner.fields };
  for (const [field, state] of Object.entries(loser.fields)) {
    const current = fields[field];
    const fieldDef = def.fields[field];
    if (fieldDef === undefined || state.value === null) continue;
    const policy = policyOf(fieldDef);
    if (
      current === undefined ||
      current.value === null ||
      policyRank(state, policy) > policyRank(current, policy)
    )
      fields[field] = state;
  }
  const links = { ...winner.links };
  const shadows: Record<string, Shadow> = { ...winner.shadows };
  const duplicates: { system: string; externalId: string }[] = [];
  const loserLinks: Record<string, string> = {};
  for (const [system, externalId] of Object.entries(loser.links)) {
    if (links[system] === undefined) {
      links[system] = externalId;
      const shadow = loser.shadows[system];
      if (shadow !== undefined) shadows[system] = shadow;
    } else if (links[system] !== externalId) {
      duplicates.push({ system, externalId });
      loserLinks[system] = externalId;
    }
  }
  return {
    winner: { ...winner, fields, links, shadows },
    // The loser keeps only its duplicates, so writing its tombstone archives exactly those.
    loser: {
      ...loser,
      links: loserLinks,
      shadows: {},
      tombstone: { status: 'merged', system: 'fieldsync', at, mergedInto: winner.id },
    },
    duplicates,
  };
}

function valueIn(record: CanonicalRecord, system: string, field: string): FieldState | undefined {
  const shadow = record.shadows[system];
  if (shadow === undefined || !Object.hasOwn(shadow.values, field)) return undefined;
  const value = shadow.values[field] ?? null;
  // A blank in a system is absence of data, never a reason to pick it.
  if (value === null) return undefined;
  const source = shadow.sources?.[field] ?? system;
  return { value, source, sourceTime: shadow.times?.[field] ?? shadow.asOf, seenAt: shadow.asOf };
}

/**
 * The value a field's policy and direction pick from what the systems hold, when that differs from the
 * canonical register (which was merged under the config in force then): `always:S` and `prefer:S`
 * pick S's value; a register set by a system the field no longer accepts from yields to the highest
 * priority system it accepts from. Undefined when the register stands.
 */
export function repick(
  record: CanonicalRecord,
  field: string,
  def: FieldDef,
  priority: Readonly<Record<string, number>>,
  systems: readonly string[],
): FieldState | undefined {
  const current = record.fields[field];
  const policy = policyOf(def);
  if (policy.kind === 'always' || policy.kind === 'prefer') {
    if (!acceptsFrom(def, policy.system)) return undefined;
    const held = valueIn(record, policy.system, field);
    return held !== undefined && held.value !== current?.value ? held : undefined;
  }
  if (current === undefined || acceptsFrom(def, current.source)) return undefined;
  const candidates = systems
    .filter((s) => acceptsFrom(def, s))
    .map((s) => valueIn(record, s, field))
    .filter((s): s is FieldState => s !== undefined)
    .sort((a, b) => (priority[b.source] ?? 0) - (priority[a.source] ?? 0));
  const best = candidates[0];
  return best !== undefined && best.value !== current.value ? best : undefined;
}

/** A record under a changed config: every field its policy or direction now settles differently. */
export function applyPolicies(
  record: CanonicalRecord,
  def: ObjectDef,
  priority: Readonly<Record<string, number>>,
  systems: readonly string[],
): { record: CanonicalRecord; fields: string[] } {
  if (record.tombstone !== undefined) return { record, fields: [] };
  const fields = { ...record.fields };
  const changed: string[] = [];
  for (const [field, fieldDef] of Object.entries(def.fields)) {
    const picked = repick(record, field, fieldDef, priority, systems);
    if (picked === undefined) continue;
    fields[field] = picked;
    changed.push(field);
  }
  return { record: changed.length === 0 ? record : { ...record, fields }, fields: changed };
}
