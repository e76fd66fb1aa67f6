// Deletes, quarantine and merges of canonical records (engine/lifecycle.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyDelete,
  type CanonicalRecord,
  decideQuarantine,
  type FieldState,
  mergeRecords,
  type ObjectDef,
  type Policy,
  planWrite,
  policyRank,
} from '../engine/index.ts';

const FIELDS = ['email', 'title', 'phone'] as const;
const stateArb = fc.record({
  value: fc.constantFrom<string | null>(null, 'a', 'b', 'c'),
  source: fc.constantFrom('salesforce', 'hubspot'),
  sourceTime: fc.integer({ min: 0, max: 20 }),
  seenAt: fc.constant(0),
});
const fieldsArb = fc.dictionary(fc.constantFrom(...FIELDS), stateArb) as fc.Arbitrary<
  Record<string, FieldState>
>;
const policyArb = fc.constantFrom<Policy | undefined>(
  undefined,
  { kind: 'prefer', system: 'salesforce' },
  { kind: 'always', system: 'hubspot' },
);

function record(
  id: string,
  fields: Record<string, FieldState>,
  links: Record<string, string>,
): CanonicalRecord {
  return { id, object: 'contact', version: 1, fields, links, shadows: {} };
}

function defWith(policy: Policy | undefined): ObjectDef {
  return {
    fields: Object.fromEntries(
      FIELDS.map((f) => [f, { kind: 'string' as const, ...(policy ? { policy } : {}) }]),
    ),
    matchKeys: [],
  };
}

describe('mergeRecords', () => {
  it('loses no value the policy says should win, and no value where the winner had none', () => {
    fc.assert(
      fc.property(fieldsArb, fieldsArb, policyArb, (wf, lf, policy) => {
        const def = defWith(policy);
        const { winner } = mergeRecords(
          record('w', wf, { salesforce: 's1' }),
          record('l', lf, { hubspot: 'h2' }),
          def,
          {},
          1,
        );
        for (const field of FIELDS) {
          const w = wf[field];
          const l = lf[field];
          const got = winner.fields[field];
          if (l !== undefined && l.value !== null && (w === undefined || w.value === null))
            expect(got).toEqual(l);
          if (
            l !== undefined &&
            w !== undefined &&
            policyRank(l, policy) > policyRank(w, policy) &&
            l.value !== null
          )
            expect(got).toEqual(l);
          if (
            w !== undefined &&
            w.value !== null &&
            (l === undefined || policyRank(l, policy) <= policyRank(w, policy))
          )
            expect(got).toEqual(w);
          // Nothing invented: every value comes from one of the two.
          if (got !== undefined) expect([w, l]).toContainEqual(got);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('moves links the winner lacks, marks the loser merged, and leaves duplicates to archive', () => {
    const w = record('w', {}, { salesforce: 's1' });
    const l = record('l', {}, { salesforce: 's2', hubspot: 'h2' });
    const out = mergeRecords(
      w,
      { ...l, shadows: { hubspot: { values: { email: 'x' }, asOf: 5 } } },
      defWith(undefined),
      {},
      9,
    );
    expect(out.winner.links).toEqual({ salesforce: 's1', hubspot: 'h2' });
    expect(out.winner.shadows.hubspot).toEqual({ values: { email: 'x' }, asOf: 5 });
    expect(out.duplicates).toEqual([{ system: 'salesforce', externalId: 's2' }]);
    expect(out.loser.tombstone).toEqual({ status: 'merged', system: 'fieldsync', at: 9, mergedInto: 'w' });
    expect(planWrite(out.loser, 'salesforce', defWith(undefined))).toEqual({
      op: 'delete',
      externalId: 's2',
    });
    expect(planWrite(out.loser, 'hubspot', defWith(undefined))).toEqual({ op: 'none' });
  });
});

describe('deletes and quarantine', () => {
  const base = record(
    'r',
    { email: { value: 'a', source: 'salesforce', sourceTime: 1, seenAt: 1 } },
    { salesforce: 's', hubspot: 'h' },
  );

  it('propagate deletes everywhere else; the deleting system is gone and never written', () => {
    const { record: r, decision } = applyDelete(base, 'hubspot', 10, 'propagate');
    expect(decision).toBe('propagate');
    expect(planWrite(r, 'salesforce', defWith(undefined))).toEqual({ op: 'delete', externalId: 's' });
    expect(planWrite(r, 'hubspot', defWith(undefined))).toEqual({ op: 'none' });
    expect(applyDelete(r, 'hubspot', 11, 'propagate').decision).toBe('already');
  });

  it('ignore keeps the record elsewhere and writes nothing to the deleting system', () => {
    const { record: r, decision } = applyDelete(base, 'hubspot', 10, 'ignore');
    expect(decision).toBe('ignore');
    expect(r.tombstone).toBeUndefined();
    expect(
      planWrite(
        { ...r, fields: { email: { value: 'b', source: 'salesforce', sourceTime: 2, seenAt: 2 } } },
        'hubspot',
        defWith(undefined),
      ),
    ).toEqual({ op: 'none' });
  });

  it('quarantine holds the delete; approve propagates it, reject recreates the record where it was deleted', () => {
    const { record: held } = applyDelete(base, 'hubspot', 10, 'quarantine');
    expect(planWrite(held, 'salesforce', defWith(undefined))).toEqual({ op: 'none' });
    const approved = decideQuarantine(held, true, 20);
    expect(approved.tombstone?.status).toBe('deleted');
    expect(planWrite(approved, 'salesforce', defWith(undefined))).toEqual({ op: 'delete', externalId: 's' });
    const rejected = decideQuarantine(held, false, 20);
    expect(rejected.tombstone).toBeUndefined();
    expect(rejected.links.hubspot).toBeUndefined();
    expect(planWrite(rejected, 'hubspot', defWith(undefined))).toEqual({
      op: 'create',
      fields: { email: 'a' },
    });
  });
});
