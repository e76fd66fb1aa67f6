// Deletes, quarantine and merges of canonical records. Pure, like the field merge.
import { type DeletePolicy, type ObjectDef, policyOf } from './model.ts';
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
