// Convergence of the field merge under the delivery disorder standard queues produce (interleaving
// across systems, duplicates, batching), and the exact limits of its order independence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalRecord,
  compareStates,
  emptyRecord,
  type FieldState,
  type FieldValue,
  fieldNames,
  type MergeContext,
  mergeSnapshot,
  type SourceSnapshot,
} from '../engine/index.ts';

const SYSTEMS = ['salesforce', 'hubspot'] as const;
type System = (typeof SYSTEMS)[number];
const FIELDS = fieldNames('contact');
const EXTERNAL_ID: Record<System, string> = { salesforce: '0035g00000AbCdE', hubspot: '5101' };
const ID = 'co_0123456789abcdef01234567';

type Ctx = Omit<MergeContext, 'now'>;

const ctxArb: fc.Arbitrary<Ctx> = fc.record({
  priority: fc.record(
    { salesforce: fc.integer({ min: 0, max: 2 }), hubspot: fc.integer({ min: 0, max: 2 }) },
    { requiredKeys: [] },
  ),
  skewMs: fc.integer({ min: 0, max: 5 }),
});

function snapshot(
  system: System,
  modifiedAt: number,
  fields: Record<string, FieldValue>,
  fieldTimes?: Record<string, number>,
): SourceSnapshot {
  const base = { system, object: 'contact' as const, externalId: EXTERNAL_ID[system], modifiedAt, fields };
  return fieldTimes === undefined ? base : { ...base, fieldTimes };
}

/** What must converge: each field's value and provenance (seenAt is when fieldsync saw it, so it may differ). */
function view(record: CanonicalRecord): Record<string, Omit<FieldState, 'seenAt'>> {
  return Object.fromEntries(
    Object.entries(record.fields).map(([f, s]) => [
      f,
      { value: s.value, source: s.source, sourceTime: s.sourceTime },
    ]),
  );
}

function mergeAll(snapshots: readonly SourceSnapshot[], ctx: Ctx): CanonicalRecord {
  let record = emptyRecord(ID, 'contact');
  snapshots.forEach((s, i) => {
    record = mergeSnapshot(record, s, { ...ctx, now: 10_000 + i }).record;
  });
  return record;
}

interface Delivery {
  snapshot: SourceSnapshot;
  /** The batch ends after this delivery. */
  cut: boolean;
}

/**
 * Ingest as the queue consumer does: a batch loads the stored record, merges its snapshots, and stores
 * the result only if some merge reported `changed` (a stored copy is a structured clone, as a DynamoDB
 * round trip is). So a wrong `changed === false` would lose state here.
 */
function ingest(deliveries: readonly Delivery[], ctx: Ctx): CanonicalRecord {
  let stored = emptyRecord(ID, 'contact');
  let working = structuredClone(stored);
  let dirty = false;
  deliveries.forEach((d, i) => {
    const result = mergeSnapshot(working, d.snapshot, { ...ctx, now: 10_000 + i });
    working = result.record;
    dirty ||= result.changed;
    if (d.cut || i === deliveries.length - 1) {
      if (dirty) stored = structuredClone(working);
      working = structuredClone(stored);
      dirty = false;
    }
  });
  return stored;
}

// --- histories with record-level times (Salesforce-style, optionally with per-field times) -------------

const valueArb = fc.constantFrom<FieldValue>('a', 'b', 'c', null);
const carriedArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...FIELDS), valueArb), {
    selector: ([f]) => f,
    maxLength: FIELDS.length,
  })
  .map((entries): Record<string, FieldValue> => Object.fromEntries(entries));

/** One system's snapshots in its own order; `minStep` 1 = strictly increasing modifiedAt, 0 = weakly. */
function historyArb(system: System, minStep: 0 | 1, withFieldTimes: boolean): fc.Arbitrary<SourceSnapshot[]> {
  const lagsArb = withFieldTimes
    ? fc.option(fc.array(fc.nat(3), { minLength: FIELDS.length, maxLength: FIELDS.length }), {
        nil: undefined,
      })
    : fc.constant(undefined);
  const draftArb = fc.record({
    step: fc.integer({ min: minStep, max: 3 }),
    fields: carriedArb,
    lags: lagsArb,
  });
  return fc.tuple(fc.nat(4), fc.array(draftArb, { maxLength: 5 })).map(([start, drafts]) => {
    let t = start;
    return drafts.map((d, i) => {
      if (i > 0) t += d.step;
      const at = t;
      const lags = d.lags;
      const fieldTimes =
        lags === undefined
          ? undefined
          : Object.fromEntries(Object.keys(d.fields).map((f, k) => [f, at - (lags[k] ?? 0)]));
      return snapshot(system, at, d.fields, fieldTimes);
    });
  });
}

const stepArb = fc.record({ dup: fc.nat(3).map((n) => n === 0), pick: fc.nat(), cut: fc.boolean() });
type Step = { dup: boolean; pick: number; cut: boolean };

/**
 * A delivery sequence: each system's snapshots in their own order, interleaved as `steps` pick, with
 * duplicates of already-delivered snapshots (those `mayRedeliver` allows) inserted where `steps` say.
 */
function deliveries(
  histories: readonly (readonly SourceSnapshot[])[],
  steps: readonly Step[],
  mayRedeliver: (s: SourceSnapshot, lastOfSystem: SourceSnapshot | undefined) => boolean,
): Delivery[] {
  const queues = histories.map((h) => [...h]);
  const delivered: SourceSnapshot[] = [];
  const last = new Map<string, SourceSnapshot>();
  const out: Delivery[] = [];
  for (const step of steps) {
    if (step.dup) {
      const options = delivered.filter((s) => mayRedeliver(s, last.get(s.system)));
      const again = options[step.pick % Math.max(1, options.length)];
      if (again !== undefined) out.push({ snapshot: again, cut: step.cut });
      continue;
    }
    const open = queues.filter((q) => q.length > 0);
    const next = open[step.pick % Math.max(1, open.length)]?.shift();
    if (next === undefined) continue;
    delivered.push(next);
    last.set(next.system, next);
    out.push({ snapshot: next, cut: step.cut });
  }
  for (const q of queues) for (const s of q) out.push({ snapshot: s, cut: false });
  return out;
}

describe('convergence with record-level times (each system delivered in its own order)', () => {
  // Record-level timestamps make delivery order *within* one system matter: a snapshot older than the
  // system's shadow is stale and ignored, and a field equal to the shadow is no edit. So these
  // properties keep each system's own order and vary everything else.

  it('any interleaving, duplicates of delivered snapshots anywhere, any batching: same fields, shadows, links', () => {
    fc.assert(
      fc.property(
        ctxArb,
        historyArb('salesforce', 1, true),
        historyArb('hubspot', 1, true),
        fc.array(stepArb, { maxLength: 30 }),
        (ctx, sf, hs, steps) => {
          const reference = mergeAll([...sf, ...hs], ctx);
          const actual = ingest(
            deliveries([sf, hs], steps, () => true),
            ctx,
          );
          expect(view(actual)).toEqual(view(reference));
          expect(actual.shadows).toEqual(reference.shadows);
          expect(actual.links).toEqual(reference.links);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('with equal modifiedAt allowed: converges when a redelivery is stale or repeats the latest', () => {
    // Two different snapshots at the same modifiedAt cannot be told apart by time; redelivering the
    // earlier one after the later is indistinguishable from a real edit back (see the limits below).
    fc.assert(
      fc.property(
        ctxArb,
        historyArb('salesforce', 0, true),
        historyArb('hubspot', 0, true),
        fc.array(stepArb, { maxLength: 30 }),
        (ctx, sf, hs, steps) => {
          const reference = mergeAll([...sf, ...hs], ctx);
          const order = deliveries(
            [sf, hs],
            steps,
            (s, last) => last !== undefined && (s === last || s.modifiedAt < last.modifiedAt),
          );
          const actual = ingest(order, ctx);
          expect(view(actual)).toEqual(view(reference));
          expect(actual.shadows).toEqual(reference.shadows);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('one system alone: the canonical record holds what its latest snapshots say', () => {
    fc.assert(
      fc.property(
        ctxArb,
        fc.constantFrom(...SYSTEMS).chain((system) => historyArb(system, 1, false)),
        (ctx, history) => {
          const system = history[0]?.system ?? 'salesforce';
          const record = mergeAll(history, ctx);
          const held = record.shadows[system]?.values ?? {};
          for (const field of FIELDS) {
            const state = record.fields[field];
            // A field only ever blank in this system was never data: no state, or the system's blank.
            expect(state?.value ?? null).toBe(held[field] ?? null);
            if (state !== undefined) expect(state.source).toBe(system);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

// --- histories with per-field times (HubSpot-style) --------------------------------------------------

const POOL = ['a', 'b', 'c', 'd', 'e'] as const;
const MAX_SNAPSHOTS = 4;

/**
 * How one field evolves in one system. Once carried it stays carried; it may start blank; each new
 * value gets a strictly later field time and is never one the field held before in this system.
 */
const fieldPlanArb = fc.record({
  from: fc.nat(MAX_SNAPSHOTS),
  blankFirst: fc.boolean(),
  advance: fc.array(fc.boolean(), { minLength: MAX_SNAPSHOTS, maxLength: MAX_SNAPSHOTS }),
  values: fc.shuffledSubarray([...POOL], { minLength: POOL.length, maxLength: POOL.length }),
  gaps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: POOL.length, maxLength: POOL.length }),
});
const timedPlanArb = fc.record({
  n: fc.integer({ min: 1, max: MAX_SNAPSHOTS }),
  start: fc.nat(4),
  fields: fc.array(fieldPlanArb, { minLength: FIELDS.length, maxLength: FIELDS.length }),
  lags: fc.array(fc.nat(2), { minLength: MAX_SNAPSHOTS, maxLength: MAX_SNAPSHOTS }),
});
type TimedPlan = typeof timedPlanArb extends fc.Arbitrary<infer T> ? T : never;

function timedHistory(system: System, plan: TimedPlan): SourceSnapshot[] {
  const out: SourceSnapshot[] = [];
  let modifiedAt = 0;
  for (let i = 0; i < plan.n; i++) {
    const fields: Record<string, FieldValue> = {};
    const fieldTimes: Record<string, number> = {};
    FIELDS.forEach((field, k) => {
      const p = plan.fields[k];
      if (p === undefined || i < p.from) return;
      const epoch = p.advance.slice(p.from + 1, i + 1).filter(Boolean).length;
      fields[field] = p.blankFirst
        ? epoch === 0
          ? null
          : (p.values[epoch - 1] ?? null)
        : (p.values[epoch] ?? null);
      fieldTimes[field] = plan.start + p.gaps.slice(0, epoch + 1).reduce((a, b) => a + b, 0);
    });
    modifiedAt = Math.max(modifiedAt, ...Object.values(fieldTimes)) + (plan.lags[i] ?? 0);
    out.push(snapshot(system, modifiedAt, fields, fieldTimes));
  }
  return out;
}

const shuffleArb = fc.record({
  keys: fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
  dups: fc.array(fc.nat(), { maxLength: 2 * MAX_SNAPSHOTS }),
});

/** Every snapshot at least once, some twice or more, in any order. */
function shuffled(
  all: readonly SourceSnapshot[],
  order: { keys: number[]; dups: number[] },
): SourceSnapshot[] {
  const again = order.dups.flatMap((d) => {
    const s = all[d % all.length];
    return s === undefined ? [] : [s];
  });
  return [...all, ...again]
    .map((s, i) => ({ s, i, key: order.keys[i % order.keys.length] ?? 0 }))
    .sort((x, y) => x.key - y.key || x.i - y.i)
    .map((x) => x.s);
}

describe('order independence with per-field times', () => {
  // Full order independence (any permutation of any per-field-timed histories converges) does not
  // hold, because of the stale rule, the blank-on-first-sight rule and the shadow rule; the
  // counterexamples are below. What holds: any permutation, with duplicates, converges when within each system the
  // carried fields never shrink, a field is never blanked after holding a value, and a new value
  // always comes with a later field time and is never a value that field held earlier.

  it('any permutation with duplicates gives the true last-writer-wins result of the reference order', () => {
    fc.assert(
      fc.property(ctxArb, timedPlanArb, timedPlanArb, shuffleArb, (ctx, sfPlan, hsPlan, order) => {
        const sf = timedHistory('salesforce', sfPlan);
        const hs = timedHistory('hubspot', hsPlan);
        const reference = mergeAll([...sf, ...hs], ctx);
        const actual = mergeAll(shuffled([...sf, ...hs], order), ctx);
        expect(view(actual)).toEqual(view(reference));

        // And that result is the per-field maximum of each system's latest value (blanks excepted).
        for (const field of FIELDS) {
          const latest: FieldState[] = [];
          for (const history of [sf, hs]) {
            const last = history[history.length - 1];
            const value = last?.fields[field];
            const time = last?.fieldTimes?.[field];
            if (last !== undefined && typeof value === 'string' && time !== undefined)
              latest.push({ value, source: last.system, sourceTime: time, seenAt: 0 });
          }
          const winner = latest.reduce<FieldState | undefined>(
            (best, s) => (best === undefined || compareStates(s, best, ctx.priority) > 0 ? s : best),
            undefined,
          );
          expect(view(actual)[field]).toEqual(
            winner === undefined
              ? undefined
              : { value: winner.value, source: winner.source, sourceTime: winner.sourceTime },
          );
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('limits of order independence (documented counterexamples)', () => {
  const ctx: MergeContext = { now: 0, priority: {}, skewMs: 0 };
  const values = (r: CanonicalRecord) =>
    Object.fromEntries(Object.entries(r.fields).map(([f, s]) => [f, s.value]));

  it('redelivering an earlier snapshot with the same modifiedAt reads as an edit back', () => {
    const s1 = snapshot('salesforce', 1, { title: 'z' });
    const s2 = snapshot('salesforce', 2, { title: 'z' });
    const s3 = snapshot('salesforce', 2, { title: 'a' });
    expect(values(mergeAll([s1, s2, s3], ctx))).toEqual({ title: 'a' });
    const before = mergeAll([s1, s2, s3], ctx);
    const redelivered = mergeSnapshot(before, s2, ctx);
    expect(redelivered.stale).toBe(false);
    expect(values(redelivered.record)).toEqual({ title: 'z' });
    // The record still agrees with what it believes the system holds.
    expect(redelivered.record.shadows.salesforce?.values.title).toBe('z');
  });

  it('a reordered older snapshot is stale, so a field only it carried is not taken', () => {
    const s1 = snapshot('hubspot', 1, { firstName: 'Ada' }, { firstName: 1 });
    const s2 = snapshot('hubspot', 2, { lastName: 'Lovelace' }, { lastName: 2 });
    expect(values(mergeAll([s1, s2], ctx))).toEqual({ firstName: 'Ada', lastName: 'Lovelace' });
    const late = mergeSnapshot(mergeAll([s2], ctx), s1, ctx);
    expect(late.stale).toBe(true);
    expect(values(late.record)).toEqual({ lastName: 'Lovelace' });
  });

  it('a blank that arrives first is no data, so a reordered clear loses to the other system', () => {
    const hs1 = snapshot('hubspot', 10, { title: 'x' }, { title: 10 });
    const hs2 = snapshot('hubspot', 30, { title: null }, { title: 30 });
    const sf = snapshot('salesforce', 20, { title: 'y' });
    expect(values(mergeAll([hs1, hs2, sf], ctx))).toEqual({ title: null });
    expect(values(mergeAll([hs2, hs1, sf], ctx))).toEqual({ title: 'y' });
  });

  it('a value set again after a missed intermediate equals the shadow and is no edit', () => {
    // Equal to the shadow is how an echo of our own write is recognised, so this cannot count as an
    // edit; the same happens when a poll never sees the intermediate value at all.
    const x1 = snapshot('hubspot', 10, { title: 'x' }, { title: 10 });
    const y2 = snapshot('hubspot', 20, { title: 'y' }, { title: 20 });
    const x3 = snapshot('hubspot', 30, { title: 'x' }, { title: 30 });
    const z = snapshot('salesforce', 25, { title: 'z' });
    expect(values(mergeAll([x1, y2, x3, z], ctx))).toEqual({ title: 'x' });
    expect(values(mergeAll([x1, x3, y2, z], ctx))).toEqual({ title: 'z' });
    expect(values(mergeAll([x1, x3, z], ctx))).toEqual({ title: 'z' });
  });
});
