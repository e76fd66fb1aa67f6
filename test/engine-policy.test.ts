// Field policies and directions from the config: prefer, always, to:<system>, none — proven over
// generated histories, in any interleaving of the systems' (ordered) snapshots.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalRecord,
  type Direction,
  emptyRecord,
  type FieldValue,
  mergeSnapshot,
  type ObjectDef,
  type Policy,
  planWrite,
  recordWritten,
  type SourceSnapshot,
  type WritePlan,
} from '../engine/index.ts';

const SYSTEMS = ['salesforce', 'hubspot'] as const;
const PRIORITY = { salesforce: 2, hubspot: 1 };

function defWith(policy: Policy | undefined, direction: Direction | undefined): ObjectDef {
  return {
    fields: {
      title: { kind: 'string', ...(policy ? { policy } : {}), ...(direction ? { direction } : {}) },
      email: { kind: 'email' },
    },
    matchKeys: ['email'],
  };
}

const valueArb = fc.constantFrom<FieldValue>(null, 'a', 'b', 'c');

/** A history per system: strictly increasing times, each snapshot carrying `title`. */
const historyArb = (system: string) =>
  fc
    .array(fc.tuple(fc.integer({ min: 1, max: 5 }), valueArb), { minLength: 1, maxLength: 5 })
    .map((steps) => {
      let t = 0;
      return steps.map(([dt, value]): SourceSnapshot => {
        t += dt;
        return {
          system,
          object: 'contact',
          externalId: `${system}-1`,
          modifiedAt: t * 10 + (system === 'hubspot' ? 1 : 0),
          fields: { title: value },
        };
      });
    });

/** Any interleaving that keeps each system's own order. */
function interleave(a: SourceSnapshot[], b: SourceSnapshot[], picks: boolean[]): SourceSnapshot[] {
  const out: SourceSnapshot[] = [];
  let i = 0;
  let j = 0;
  for (const pick of picks) {
    if (pick && i < a.length) out.push(a[i++] as SourceSnapshot);
    else if (j < b.length) out.push(b[j++] as SourceSnapshot);
  }
  while (i < a.length) out.push(a[i++] as SourceSnapshot);
  while (j < b.length) out.push(b[j++] as SourceSnapshot);
  return out;
}

function writesTitle(plan: WritePlan): boolean {
  return (plan.op === 'create' || plan.op === 'update') && Object.hasOwn(plan.fields, 'title');
}

function run(def: ObjectDef, snaps: SourceSnapshot[]): CanonicalRecord {
  let r = emptyRecord('contact_x', 'contact');
  for (const s of snaps) r = mergeSnapshot(r, s, { now: 0, priority: PRIORITY, skewMs: 0, def }).record;
  return r;
}

const policyArb = fc.constantFrom<Policy | undefined>(
  undefined,
  { kind: 'prefer', system: 'salesforce' },
  { kind: 'prefer', system: 'hubspot' },
  { kind: 'always', system: 'salesforce' },
  { kind: 'always', system: 'hubspot' },
);
const directionArb = fc.constantFrom<Direction | undefined>(
  undefined,
  { kind: 'to', system: 'salesforce' },
  { kind: 'to', system: 'hubspot' },
  { kind: 'none' },
);

describe('policies and directions', () => {
  it('converge: the result is the same for any interleaving of the systems', () => {
    fc.assert(
      fc.property(
        policyArb,
        directionArb,
        historyArb('salesforce'),
        historyArb('hubspot'),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (p, d, sf, hs, picks) => {
          const def = defWith(p, d);
          const reference = run(def, [...sf, ...hs]).fields.title;
          expect(run(def, interleave(sf, hs, picks)).fields.title).toEqual(reference);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('always:<system> — the canonical value is that system’s latest non-first-blank value, and only others are written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SYSTEMS),
        historyArb('salesforce'),
        historyArb('hubspot'),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (owner, sf, hs, picks) => {
          const def = defWith({ kind: 'always', system: owner }, undefined);
          const record = run(def, interleave(sf, hs, picks));
          const state = record.fields.title;
          if (state !== undefined) expect(state.source).toBe(owner);
          const own = (owner === 'salesforce' ? sf : hs).map((s) => s.fields.title ?? null);
          const firstValue = own.findIndex((v) => v !== null);
          const expected = firstValue < 0 ? undefined : own.at(-1);
          expect(state?.value).toEqual(expected);
          // Never written back to its owner.
          expect(
            writesTitle(planWrite({ ...record, links: { salesforce: 's', hubspot: 'h' } }, owner, def)),
          ).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('prefer:<system> — a non-blank value from that system beats any other, whatever the times', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SYSTEMS),
        historyArb('salesforce'),
        historyArb('hubspot'),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (preferred, sf, hs, picks) => {
          const def = defWith({ kind: 'prefer', system: preferred }, undefined);
          const record = run(def, interleave(sf, hs, picks));
          const mine = (preferred === 'salesforce' ? sf : hs).map((s) => s.fields.title ?? null);
          const latestMine = mine.at(-1) ?? null;
          if (latestMine !== null) {
            expect(record.fields.title).toMatchObject({ value: latestMine, source: preferred });
          } else {
            // Blank in the preferred system: the other system's current value, if it has one, else blank.
            const other = (preferred === 'salesforce' ? hs : sf).map((s) => s.fields.title ?? null);
            const otherNow = other.at(-1) ?? null;
            expect(record.fields.title?.value ?? null).toBe(otherNow);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('to:<system> — changes from that system are blocked (and audited), and only that system is written', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SYSTEMS),
        historyArb('salesforce'),
        historyArb('hubspot'),
        (target, sf, hs) => {
          const def = defWith(undefined, { kind: 'to', system: target });
          const source = target === 'salesforce' ? 'hubspot' : 'salesforce';
          let record = emptyRecord('contact_x', 'contact');
          const blocked: string[] = [];
          for (const s of [...sf, ...hs]) {
            const res = mergeSnapshot(record, s, { now: 0, priority: PRIORITY, skewMs: 0, def });
            record = res.record;
            for (const c of res.changes) if (c.reason === 'blocked') blocked.push(c.source);
          }
          if (record.fields.title !== undefined) expect(record.fields.title.source).toBe(source);
          expect(blocked.every((s) => s === target)).toBe(true);
          const linked = { ...record, links: { salesforce: 's', hubspot: 'h' } };
          expect(writesTitle(planWrite(linked, source, def))).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('none — the field is never set and never written', () => {
    fc.assert(
      fc.property(historyArb('salesforce'), historyArb('hubspot'), (sf, hs) => {
        const def = defWith(undefined, { kind: 'none' });
        const record = run(def, [...sf, ...hs]);
        expect(record.fields.title).toBeUndefined();
        for (const s of SYSTEMS) {
          const plan = planWrite(
            {
              ...record,
              fields: {
                ...record.fields,
                title: { value: 'x', source: 'salesforce', sourceTime: 1, seenAt: 1 },
              },
            },
            s,
            def,
          );
          expect(writesTitle(plan)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('echo suppression holds under every policy: a written value read back changes nothing', () => {
    fc.assert(
      fc.property(
        policyArb,
        directionArb,
        historyArb('salesforce'),
        historyArb('hubspot'),
        (p, d, sf, hs) => {
          const def = defWith(p, d);
          let record = run(def, [...sf, ...hs]);
          for (const system of SYSTEMS) {
            const plan = planWrite(record, system, def);
            if (plan.op !== 'create' && plan.op !== 'update') continue;
            record = recordWritten(record, system, plan.fields, `${system}-1`);
            const asOf = record.shadows[system]?.asOf ?? 0;
            const echo = mergeSnapshot(
              record,
              {
                system,
                object: 'contact',
                externalId: `${system}-1`,
                modifiedAt: asOf + 1,
                fields: record.shadows[system]?.values ?? {},
              },
              { now: 0, priority: PRIORITY, skewMs: 0, def },
            );
            expect(echo.changes.filter((c) => c.reason !== 'blank-ignored')).toEqual([]);
            expect(echo.record.fields).toEqual(record.fields);
            record = echo.record;
          }
          for (const system of SYSTEMS) expect(planWrite(record, system, def).op).toBe('none');
        },
      ),
      { numRuns: 2000 },
    );
  });
});
