// The field merge, write planning and echo suppression of the pure engine: properties over records
// reached by arbitrary histories of merges and writes, plus the flows DESIGN.md says must be exact.
import { isDeepStrictEqual } from 'node:util';
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
  planWrite,
  recordWritten,
  type Shadow,
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

function merge(record: CanonicalRecord, s: SourceSnapshot, ctx: Ctx, now = 1_000) {
  return mergeSnapshot(record, s, { ...ctx, now });
}

/** Bring `system` to the canonical values, as the writer does after a successful batch write. */
function write(record: CanonicalRecord, system: System): CanonicalRecord {
  const plan = planWrite(record, system);
  if (plan.op !== 'create' && plan.op !== 'update') return record;
  return recordWritten(
    record,
    system,
    plan.fields,
    plan.op === 'create' ? EXTERNAL_ID[system] : plan.externalId,
  );
}

/** Everything the system holds according to its shadow (blank where it never held anything). */
function fullState(record: CanonicalRecord, system: System): Record<string, FieldValue> {
  const held = record.shadows[system]?.values ?? {};
  return Object.fromEntries(FIELDS.map((f) => [f, held[f] ?? null]));
}

// --- generators ----------------------------------------------------------------------------------------

const valueArb = fc.constantFrom<FieldValue>('a', 'b', 'c', null);
const carriedArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...FIELDS), valueArb), {
    selector: ([f]) => f,
    maxLength: FIELDS.length,
  })
  .map((entries): Record<string, FieldValue> => Object.fromEntries(entries));

const snapshotArb: fc.Arbitrary<SourceSnapshot> = fc
  .record({
    system: fc.constantFrom(...SYSTEMS),
    modifiedAt: fc.integer({ min: 0, max: 20 }),
    fields: carriedArb,
    times: fc.option(
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: FIELDS.length, maxLength: FIELDS.length }),
      {
        nil: undefined,
      },
    ),
  })
  .map(({ system, modifiedAt, fields, times }) =>
    snapshot(
      system,
      modifiedAt,
      fields,
      times === undefined
        ? undefined
        : Object.fromEntries(Object.keys(fields).map((f, k) => [f, times[k] ?? modifiedAt])),
    ),
  );

type Op = { kind: 'merge'; snapshot: SourceSnapshot } | { kind: 'write'; system: System };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: snapshotArb.map((s): Op => ({ kind: 'merge', snapshot: s })) },
  { weight: 1, arbitrary: fc.constantFrom(...SYSTEMS).map((system): Op => ({ kind: 'write', system })) },
);

/** A record reached by an arbitrary history of merges (any order, stale or not) and writes. */
const scenarioArb = fc
  .record({ ctx: ctxArb, ops: fc.array(opArb, { maxLength: 10 }) })
  .map(({ ctx, ops }) => {
    let record = emptyRecord(ID, 'contact');
    ops.forEach((op, i) => {
      record = op.kind === 'merge' ? merge(record, op.snapshot, ctx, i).record : write(record, op.system);
    });
    return { ctx, record };
  });

// --- properties ----------------------------------------------------------------------------------------

describe('mergeSnapshot', () => {
  it('is idempotent: merging the same snapshot again changes nothing and says so', () => {
    fc.assert(
      fc.property(scenarioArb, snapshotArb, ({ ctx, record }, s) => {
        const once = merge(record, s, ctx, 100);
        const twice = merge(once.record, s, ctx, 101);
        expect(twice.record).toEqual(once.record);
        expect(twice.changed).toBe(false);
        expect(twice.changes.filter((c) => c.reason !== 'blank-ignored')).toEqual([]);
      }),
      { numRuns: 4000 },
    );
  });

  it('is pure, and `changed` says exactly whether the record differs; stale means older than the shadow', () => {
    fc.assert(
      fc.property(scenarioArb, snapshotArb, ({ ctx, record }, s) => {
        const recordBefore = structuredClone(record);
        const snapshotBefore = structuredClone(s);
        const result = merge(record, s, ctx);
        expect(record).toEqual(recordBefore);
        expect(s).toEqual(snapshotBefore);
        expect(result.changed).toBe(!isDeepStrictEqual(result.record, record));
        const asOf = record.shadows[s.system]?.asOf;
        expect(result.stale).toBe(asOf !== undefined && s.modifiedAt < asOf);
        if (result.stale) {
          expect(result.record).toBe(record);
        } else {
          expect(result.record.links[s.system]).toBe(s.externalId);
          expect(result.record.shadows[s.system]).toMatchObject({
            values: { ...(record.shadows[s.system]?.values ?? {}), ...s.fields },
            asOf: Math.max(asOf ?? 0, s.modifiedAt),
          });
          // The system's own change times: set for every field whose value it changed.
          const held = record.shadows[s.system]?.values ?? {};
          for (const [field, value] of Object.entries(s.fields)) {
            if (held[field] !== value)
              expect(result.record.shadows[s.system]?.times?.[field]).toBe(
                s.fieldTimes?.[field] ?? s.modifiedAt,
              );
          }
          expect(result.record.version).toBe(record.version);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('merges each field as a last-writer-wins register over what differs from the shadow', () => {
    fc.assert(
      fc.property(scenarioArb, snapshotArb, ({ ctx, record }, s) => {
        const result = merge(record, s, ctx, 777);
        if (result.stale) return;
        const held = record.shadows[s.system]?.values ?? {};
        let unchanged = 0;
        for (const field of FIELDS) {
          const prev = record.fields[field];
          const next = result.record.fields[field];
          // Blank-on-first-sight decisions are audited but change nothing.
          const fieldChanges = result.changes.filter(
            (c) => c.field === field && c.reason !== 'blank-ignored',
          );
          if (!Object.hasOwn(s.fields, field)) {
            expect(next).toEqual(prev);
            expect(fieldChanges).toEqual([]);
            continue;
          }
          const value = s.fields[field] ?? null;
          if (held[field] === value) unchanged++;
          // Equal to the shadow: no edit (an echo). Blank on first sight: absence of data, not a clear.
          if (held[field] === value || (held[field] === undefined && value === null)) {
            expect(next).toEqual(prev);
            expect(fieldChanges).toEqual([]);
            continue;
          }
          const candidate: FieldState = {
            value,
            source: s.system,
            sourceTime: s.fieldTimes?.[field] ?? s.modifiedAt,
            seenAt: 777,
          };
          const wins = prev === undefined || compareStates(candidate, prev, ctx.priority) > 0;
          expect(next).toEqual(wins ? candidate : prev);
          if (prev !== undefined && prev.value === value) {
            // Equal values never conflict, and are no change.
            expect(fieldChanges).toEqual([]);
            continue;
          }
          const concurrent =
            prev !== undefined &&
            prev.source !== s.system &&
            Math.abs(candidate.sourceTime - prev.sourceTime) <= ctx.skewMs;
          expect(fieldChanges).toEqual([
            {
              field,
              old: prev?.value,
              new: value,
              source: s.system,
              sourceTime: candidate.sourceTime,
              kept: wins ? value : prev?.value,
              reason: concurrent ? (wins ? 'conflict-won' : 'conflict-lost') : wins ? 'edit' : 'older',
            },
          ]);
        }
        expect(result.unchanged).toBe(unchanged);
      }),
      { numRuns: 4000 },
    );
  });
});

describe('echo suppression', () => {
  it('the echo of a write merges as no change, and nothing is left to write to that system', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.constantFrom(...SYSTEMS),
        fc.nat(5),
        fc.boolean(),
        ({ ctx, record }, system, delay, wholeRecord) => {
          const plan = planWrite(record, system);
          fc.pre(plan.op === 'create' || plan.op === 'update');
          const externalId = plan.op === 'create' ? EXTERNAL_ID[system] : plan.externalId;
          const written = recordWritten(record, system, plan.fields, externalId);
          expect(written.fields).toEqual(record.fields);
          expect(planWrite(written, system)).toEqual({ op: 'none' });

          const asOf = written.shadows[system]?.asOf ?? 0;
          const echoFields = wholeRecord ? fullState(written, system) : plan.fields;
          const echo = merge(written, snapshot(system, asOf + delay, echoFields), ctx);
          expect(echo.stale).toBe(false);
          expect(echo.changes.filter((c) => c.reason !== 'blank-ignored')).toEqual([]);
          expect(echo.record.fields).toEqual(written.fields);
          if (!wholeRecord) expect(echo.unchanged).toBe(Object.keys(plan.fields).length);
          expect(planWrite(echo.record, system)).toEqual({ op: 'none' });
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a quiet system costs zero writes: after one round of writes and echoes, nothing is planned again', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(5), ({ ctx, record: start }, delay) => {
        // Round 1: bring every system to the canonical values.
        let record = start;
        for (const system of SYSTEMS) record = write(record, system);
        // Round 2: every linked system reports what it now holds.
        const echoes = SYSTEMS.flatMap((system) => {
          const shadow = record.shadows[system];
          return shadow === undefined
            ? []
            : [snapshot(system, shadow.asOf + delay, fullState(record, system))];
        });
        for (const echo of echoes) {
          const result = merge(record, echo, ctx, 2_000);
          expect(result.changes.filter((c) => c.reason !== 'blank-ignored')).toEqual([]);
          expect(result.record.fields).toEqual(record.fields);
          record = result.record;
        }
        for (const system of SYSTEMS) expect(planWrite(record, system)).toEqual({ op: 'none' });
        // Round 3: the same reads again: no stored change, nothing to write.
        for (const echo of echoes) {
          const result = merge(record, echo, ctx, 3_000);
          expect(result.changed).toBe(false);
          record = result.record;
        }
        for (const system of SYSTEMS) expect(planWrite(record, system)).toEqual({ op: 'none' });
      }),
      { numRuns: 3000 },
    );
  });
});

// --- two systems editing after a common synced state -------------------------------------------------

const T0 = 100;

/** Salesforce created the contact at T0, fieldsync created it in HubSpot, HubSpot echoed it. */
function syncedRecord(base: Record<string, FieldValue>, ctx: Ctx): CanonicalRecord {
  let record = merge(emptyRecord(ID, 'contact'), snapshot('salesforce', T0, base), ctx).record;
  record = write(record, 'hubspot');
  const hsTimes = Object.fromEntries(FIELDS.map((f) => [f, T0]));
  record = merge(record, snapshot('hubspot', T0, base, hsTimes), ctx).record;
  expect(planWrite(record, 'salesforce')).toEqual({ op: 'none' });
  expect(planWrite(record, 'hubspot')).toEqual({ op: 'none' });
  return record;
}

const editsArb = fc.record({
  ctx: fc.record({
    priority: fc.record(
      { salesforce: fc.integer({ min: 0, max: 2 }), hubspot: fc.integer({ min: 0, max: 2 }) },
      { requiredKeys: [] },
    ),
    skewMs: fc.integer({ min: 0, max: 40 }),
  }),
  base: fc
    .array(fc.constantFrom('a', 'b', 'c'), { minLength: FIELDS.length, maxLength: FIELDS.length })
    .map((vs) => Object.fromEntries(FIELDS.map((f, i) => [f, vs[i] ?? 'a']))),
  sf: fc.record({
    field: fc.constantFrom(...FIELDS),
    value: fc.constantFrom('x', 'y'),
    at: fc.integer({ min: 200, max: 260 }),
  }),
  hs: fc.record({
    field: fc.constantFrom(...FIELDS),
    value: fc.constantFrom('x', 'y'),
    at: fc.integer({ min: 200, max: 260 }),
    perFieldTimes: fc.boolean(),
  }),
});
type Edits = typeof editsArb extends fc.Arbitrary<infer T> ? T : never;

/** Both systems send their whole record: Salesforce with one record time, HubSpot optionally per field. */
function editSnapshots({ base, sf, hs }: Edits): { sfEdit: SourceSnapshot; hsEdit: SourceSnapshot } {
  const hsTimes = Object.fromEntries(FIELDS.map((f) => [f, f === hs.field ? hs.at : T0]));
  return {
    sfEdit: snapshot('salesforce', sf.at, { ...base, [sf.field]: sf.value }),
    hsEdit: snapshot(
      'hubspot',
      hs.at,
      { ...base, [hs.field]: hs.value },
      hs.perFieldTimes ? hsTimes : undefined,
    ),
  };
}

function mergeBoth(e: Edits, sfFirst: boolean) {
  const { sfEdit, hsEdit } = editSnapshots(e);
  const [first, second] = sfFirst ? [sfEdit, hsEdit] : [hsEdit, sfEdit];
  const a = merge(syncedRecord(e.base, e.ctx), first, e.ctx, 1);
  const b = merge(a.record, second, e.ctx, 2);
  return { first: a, second: b, record: b.record };
}

describe('last writer wins per field', () => {
  it('edits to different fields in the two systems both survive, whatever the record times', () => {
    fc.assert(
      fc.property(editsArb, fc.boolean(), (e, sfFirst) => {
        fc.pre(e.sf.field !== e.hs.field);
        const { record } = mergeBoth(e, sfFirst);
        for (const field of FIELDS) {
          const state = record.fields[field];
          if (field === e.sf.field)
            expect(state).toMatchObject({ value: e.sf.value, source: 'salesforce', sourceTime: e.sf.at });
          else if (field === e.hs.field)
            expect(state).toMatchObject({ value: e.hs.value, source: 'hubspot', sourceTime: e.hs.at });
          else expect(state).toMatchObject({ value: e.base[field], sourceTime: T0 });
        }
        // Each system is sent exactly the other system's edit.
        expect(planWrite(record, 'salesforce')).toEqual({
          op: 'update',
          externalId: EXTERNAL_ID.salesforce,
          fields: { [e.hs.field]: e.hs.value },
        });
        expect(planWrite(record, 'hubspot')).toEqual({
          op: 'update',
          externalId: EXTERNAL_ID.hubspot,
          fields: { [e.sf.field]: e.sf.value },
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('the same field edited in both: later time wins, then higher priority, then system name; in either order', () => {
    fc.assert(
      fc.property(editsArb, (e) => {
        fc.pre(e.sf.value !== e.hs.value);
        const edits = { ...e, hs: { ...e.hs, field: e.sf.field } };
        const field = e.sf.field;
        const sfPriority = e.ctx.priority.salesforce ?? 0;
        const hsPriority = e.ctx.priority.hubspot ?? 0;
        const sfWins =
          e.sf.at !== e.hs.at
            ? e.sf.at > e.hs.at
            : sfPriority !== hsPriority
              ? sfPriority > hsPriority
              : 'salesforce' > 'hubspot';
        const winner = sfWins
          ? { value: e.sf.value, source: 'salesforce', sourceTime: e.sf.at }
          : { value: e.hs.value, source: 'hubspot', sourceTime: e.hs.at };
        const concurrent = Math.abs(e.sf.at - e.hs.at) <= e.ctx.skewMs;
        for (const sfFirst of [true, false]) {
          const { first, second, record } = mergeBoth(edits, sfFirst);
          expect(record.fields[field]).toMatchObject(winner);
          expect(first.changes.map((c) => c.reason)).toEqual(['edit']);
          const secondWins = sfFirst !== sfWins;
          expect(second.changes).toHaveLength(1);
          expect(second.changes[0]).toMatchObject({
            field,
            kept: winner.value,
            reason: concurrent
              ? secondWins
                ? 'conflict-won'
                : 'conflict-lost'
              : secondWins
                ? 'edit'
                : 'older',
          });
          // The loser's system is sent the winner; the winner's system is sent nothing.
          const loser: System = sfWins ? 'hubspot' : 'salesforce';
          expect(planWrite(record, loser)).toMatchObject({ op: 'update', fields: { [field]: winner.value } });
          expect(planWrite(record, sfWins ? 'salesforce' : 'hubspot')).toEqual({ op: 'none' });
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the same value set in both systems is never a conflict and needs no write', () => {
    fc.assert(
      fc.property(editsArb, fc.boolean(), (e, sfFirst) => {
        const edits = { ...e, hs: { ...e.hs, field: e.sf.field, value: e.sf.value } };
        const { first, second, record } = mergeBoth(edits, sfFirst);
        expect(first.changes.map((c) => c.reason)).toEqual(['edit']);
        expect(second.changes.filter((c) => c.reason !== 'blank-ignored')).toEqual([]);
        expect(record.fields[e.sf.field]?.value).toBe(e.sf.value);
        expect(planWrite(record, 'salesforce')).toEqual({ op: 'none' });
        expect(planWrite(record, 'hubspot')).toEqual({ op: 'none' });
      }),
      { numRuns: 2000 },
    );
  });

  it('a later Salesforce record time does not clobber an earlier HubSpot edit of another field', () => {
    const ctx: Ctx = { priority: {}, skewMs: 0 };
    const base = { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', title: 'Analyst' };
    let record = syncedRecord(base, ctx);
    record = merge(record, snapshot('hubspot', 200, { ...base, title: 'CTO' }, { title: 200 }), ctx).record;
    // Salesforce still holds the old title; its record time is later because of another edit.
    const result = merge(record, snapshot('salesforce', 300, { ...base, lastName: 'King' }), ctx);
    expect(result.record.fields.title).toMatchObject({ value: 'CTO', source: 'hubspot', sourceTime: 200 });
    expect(result.record.fields.lastName).toMatchObject({
      value: 'King',
      source: 'salesforce',
      sourceTime: 300,
    });
    expect(result.unchanged).toBe(3);
  });
});

describe('blanks', () => {
  const ctx: Ctx = { priority: {}, skewMs: 0 };
  const sfWithTitle = () =>
    merge(emptyRecord(ID, 'contact'), snapshot('salesforce', 100, { title: 'CTO' }), ctx).record;

  it('a blank from a system that never held the field does not erase the canonical value', () => {
    const result = merge(sfWithTitle(), snapshot('hubspot', 500, { title: null }, { title: 500 }), ctx);
    expect(result.record.fields.title).toMatchObject({ value: 'CTO', source: 'salesforce', sourceTime: 100 });
    expect(result.changes.filter((c) => c.reason !== 'blank-ignored')).toEqual([]);
    // HubSpot is now known to hold a blank, so it is sent the value.
    expect(planWrite(result.record, 'hubspot')).toEqual({
      op: 'update',
      externalId: EXTERNAL_ID.hubspot,
      fields: { title: 'CTO' },
    });
  });

  it('a blank after a value in the same system clears the field when it is newest', () => {
    let record = sfWithTitle();
    record = write(record, 'hubspot');
    const result = merge(record, snapshot('salesforce', 200, { title: null }), ctx);
    expect(result.record.fields.title).toMatchObject({ value: null, source: 'salesforce', sourceTime: 200 });
    expect(result.changes).toMatchObject([
      { field: 'title', old: 'CTO', new: null, kept: null, reason: 'edit' },
    ]);
    expect(planWrite(result.record, 'hubspot')).toEqual({
      op: 'update',
      externalId: EXTERNAL_ID.hubspot,
      fields: { title: null },
    });
  });

  it('a blank after a value we wrote to that system also clears', () => {
    const record = write(sfWithTitle(), 'hubspot');
    const result = merge(record, snapshot('hubspot', 300, { title: null }, { title: 300 }), ctx);
    expect(result.record.fields.title).toMatchObject({ value: null, source: 'hubspot' });
    expect(planWrite(result.record, 'salesforce')).toMatchObject({ op: 'update', fields: { title: null } });
  });

  it('a clear older than the other system’s edit loses', () => {
    let record = sfWithTitle();
    record = merge(record, snapshot('hubspot', 300, { title: 'VP' }, { title: 300 }), ctx).record;
    const result = merge(record, snapshot('salesforce', 200, { title: null }), ctx);
    expect(result.record.fields.title).toMatchObject({ value: 'VP', source: 'hubspot' });
    expect(result.changes).toMatchObject([{ field: 'title', new: null, kept: 'VP', reason: 'older' }]);
  });
});

// --- planWrite over arbitrary records ------------------------------------------------------------------

const stateArb: fc.Arbitrary<FieldState> = fc.record({
  value: valueArb,
  source: fc.constantFrom(...SYSTEMS),
  sourceTime: fc.nat(20),
  seenAt: fc.nat(20),
});
const shadowArb: fc.Arbitrary<Shadow> = fc.record({ values: carriedArb, asOf: fc.nat(20) });
const recordArb: fc.Arbitrary<CanonicalRecord> = fc
  .record({
    fields: fc
      .uniqueArray(fc.tuple(fc.constantFrom(...FIELDS), stateArb), {
        selector: ([f]) => f,
        maxLength: FIELDS.length,
      })
      .map((entries): Record<string, FieldState> => Object.fromEntries(entries)),
    linked: fc.subarray([...SYSTEMS]),
    shadowed: fc.subarray([...SYSTEMS]),
    shadows: fc.tuple(shadowArb, shadowArb),
    version: fc.nat(9),
  })
  .map(({ fields, linked, shadowed, shadows, version }) => ({
    id: ID,
    object: 'contact' as const,
    version,
    fields,
    links: Object.fromEntries(linked.map((s) => [s, EXTERNAL_ID[s]])),
    // A shadow exists only for a linked system (merges and writes set both).
    shadows: Object.fromEntries(
      shadowed.filter((s) => linked.includes(s)).map((s, i) => [s, shadows[i] ?? { values: {}, asOf: 0 }]),
    ),
  }));

describe('planWrite', () => {
  it('creates with every non-blank canonical value when unlinked; otherwise sends only what differs', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          recordArb,
          scenarioArb.map((s) => s.record),
        ),
        fc.constantFrom(...SYSTEMS),
        (record, system) => {
          const plan = planWrite(record, system);
          const externalId = record.links[system];
          const held = record.shadows[system]?.values ?? {};
          const canonical = Object.entries(record.fields);
          const expected = Object.fromEntries(
            externalId === undefined
              ? canonical.filter(([, s]) => s.value !== null).map(([f, s]) => [f, s.value])
              : canonical.filter(([f, s]) => s.value !== (held[f] ?? null)).map(([f, s]) => [f, s.value]),
          );
          if (Object.keys(expected).length === 0) expect(plan).toEqual({ op: 'none' });
          else if (externalId === undefined) expect(plan).toEqual({ op: 'create', fields: expected });
          else expect(plan).toEqual({ op: 'update', externalId, fields: expected });

          if (plan.op === 'update')
            for (const [field, value] of Object.entries(plan.fields))
              expect(value).not.toBe(held[field] ?? null);
          if (plan.op === 'create' || plan.op === 'update') {
            const after = recordWritten(record, system, plan.fields, externalId ?? EXTERNAL_ID[system]);
            expect(after.fields).toEqual(record.fields);
            expect(after.shadows[system]?.asOf).toBe(record.shadows[system]?.asOf ?? 0);
            expect(planWrite(after, system)).toEqual({ op: 'none' });
          }
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('examples: create skips blanks, update sends a clear, an unlinked empty record needs nothing', () => {
    const record: CanonicalRecord = {
      ...emptyRecord(ID, 'contact'),
      fields: {
        email: { value: 'ada@example.com', source: 'salesforce', sourceTime: 1, seenAt: 1 },
        title: { value: null, source: 'salesforce', sourceTime: 2, seenAt: 2 },
      },
    };
    expect(planWrite(record, 'hubspot')).toEqual({ op: 'create', fields: { email: 'ada@example.com' } });
    const linked = recordWritten(record, 'hubspot', { email: 'ada@example.com', title: 'CTO' }, '77');
    expect(planWrite(linked, 'hubspot')).toEqual({ op: 'update', externalId: '77', fields: { title: null } });
    expect(planWrite(emptyRecord(ID, 'contact'), 'hubspot')).toEqual({ op: 'none' });
  });
});

// --- compareStates ---------------------------------------------------------------------------------------

const anyStateArb: fc.Arbitrary<FieldState> = fc.record({
  value: fc.constantFrom<FieldValue>('a', 'b', null),
  source: fc.constantFrom('salesforce', 'hubspot', 'zendesk'),
  sourceTime: fc.integer({ min: 0, max: 3 }),
  seenAt: fc.nat(3),
});
const priorityArb = fc.dictionary(
  fc.constantFrom('salesforce', 'hubspot', 'zendesk'),
  fc.integer({ min: -2, max: 2 }),
);

describe('compareStates', () => {
  it('is a total order on (sourceTime, priority, system, value), blind to seenAt', () => {
    fc.assert(
      fc.property(
        priorityArb,
        anyStateArb,
        anyStateArb,
        anyStateArb,
        fc.nat(3),
        (priority, a, b, c, seenAt) => {
          const cmp = (x: FieldState, y: FieldState) => Math.sign(compareStates(x, y, priority));
          expect(cmp(a, a)).toBe(0);
          expect(cmp(a, { ...a, seenAt })).toBe(0);
          expect(cmp(a, b)).toBe(0 - cmp(b, a));
          const same = a.sourceTime === b.sourceTime && a.source === b.source && a.value === b.value;
          expect(cmp(a, b) === 0).toBe(same);
          if (cmp(a, b) <= 0 && cmp(b, c) <= 0) expect(cmp(a, c)).toBeLessThanOrEqual(0);
          if (cmp(a, b) < 0 && cmp(b, c) <= 0) expect(cmp(a, c)).toBe(-1);
          if (a.sourceTime !== b.sourceTime) expect(cmp(a, b)).toBe(Math.sign(a.sourceTime - b.sourceTime));
          else {
            const pa = priority[a.source] ?? 0;
            const pb = priority[b.source] ?? 0;
            if (pa !== pb) expect(cmp(a, b)).toBe(Math.sign(pa - pb));
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('sorting by it gives one order whatever the input order', () => {
    fc.assert(
      fc.property(
        priorityArb,
        fc.array(anyStateArb, { maxLength: 8 }),
        fc.nat(),
        (priority, states, seed) => {
          const rotated = states
            .map((_, i) => states[(i + seed) % states.length])
            .filter((s) => s !== undefined);
          const key = (xs: FieldState[]) =>
            [...xs]
              .sort((x, y) => compareStates(x, y, priority))
              .map((s) => [s.sourceTime, s.source, s.value]);
          expect(key(rotated)).toEqual(key([...states].reverse()));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
