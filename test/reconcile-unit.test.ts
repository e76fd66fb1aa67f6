// Reconcile's pure parts: the comparison with the shadow, the rotation, how ingest takes a
// reconciliation read older than the shadow (a property over generated histories), the metrics, and
// the event and command-line parsing.
import { Metrics } from '@aws-lambda-powertools/metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalRecord,
  emptyRecord,
  type FieldValue,
  mergeSnapshot,
  type ObjectDef,
  planWrite,
  recordWritten,
  type SourceSnapshot,
} from '../engine/index.ts';
import { formatReconcile, reconcileEventFrom } from '../local/commands/reconcile.ts';
import { ConfigError } from '../runtime/config.ts';
import { asObserved } from '../runtime/ingest.ts';
import { publishGroups } from '../runtime/metrics.ts';
import {
  compareWithShadow,
  DEFAULT_GRACE_MS,
  DEFAULT_MAX_CALLS,
  type ReconcileEntry,
  type ReconcileSummary,
  reconcileMetrics,
  rotate,
  totalsOf,
} from '../runtime/reconcile.ts';
import { parseReconcileEvent, reconcileDefaults } from '../runtime/reconcile-handler.ts';

const PRIORITY = { salesforce: 2, hubspot: 1 };
const ctx = (def: ObjectDef, now = 1_000_000) => ({ now, priority: PRIORITY, skewMs: 5, def });

const lww: ObjectDef = {
  fields: { email: { kind: 'email' }, title: { kind: 'string' }, phone: { kind: 'phone' } },
  matchKeys: ['email'],
};
const preferHubspot: ObjectDef = {
  fields: { ...lww.fields, title: { kind: 'string', policy: { kind: 'prefer', system: 'hubspot' } } },
  matchKeys: ['email'],
};
const alwaysHubspot: ObjectDef = {
  fields: { ...lww.fields, title: { kind: 'string', policy: { kind: 'always', system: 'hubspot' } } },
  matchKeys: ['email'],
};

function snap(system: string, modifiedAt: number, fields: Record<string, FieldValue>): SourceSnapshot {
  return { system, object: 'contact', externalId: `${system}-1`, modifiedAt, fields };
}

/** A record synced both ways: merged from both systems, the other side written, echoes read back. */
function synced(def: ObjectDef, history: SourceSnapshot[]): CanonicalRecord {
  let record = emptyRecord('contact_1', 'contact');
  for (const s of history) record = mergeSnapshot(record, s, ctx(def)).record;
  for (const system of ['salesforce', 'hubspot']) {
    const plan = planWrite(record, system, def);
    if (plan.op === 'create' || plan.op === 'update')
      record = recordWritten(record, system, plan.fields, `${system}-1`);
  }
  return record;
}

describe('compareWithShadow', () => {
  const record = synced(lww, [
    snap('salesforce', 100, { email: 'a@x.io', title: 'CEO', phone: null }),
    snap('hubspot', 200, { email: 'a@x.io', title: 'CEO' }),
  ]);

  it('reports the fields whose value differs from what fieldsync last saw or wrote there', () => {
    expect(compareWithShadow(record, 'hubspot', lww, { email: 'a@x.io', title: 'CTO' })).toEqual([
      { field: 'title', expected: 'CEO', found: 'CTO' },
    ]);
  });

  it('ignores fields the system does not carry, and a blank where the shadow never held a value', () => {
    expect(compareWithShadow(record, 'hubspot', lww, { title: 'CEO', phone: null })).toEqual([]);
    expect(compareWithShadow(record, 'salesforce', lww, { phone: '+14155550100' })).toEqual([
      { field: 'phone', expected: null, found: '+14155550100' },
    ]);
  });
});

describe('rotate', () => {
  const ids = ['a', 'b', 'c', 'd'].map((id) => ({ id }));
  it('continues after the cursor and wraps around', () => {
    expect(rotate(ids, undefined).map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(rotate(ids, 'b').map((r) => r.id)).toEqual(['c', 'd', 'a', 'b']);
    expect(rotate(ids, 'bb').map((r) => r.id)).toEqual(['c', 'd', 'a', 'b']);
    expect(rotate(ids, 'd').map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('asObserved: a reconciliation read older than the shadow', () => {
  const value = fc.constantFrom<FieldValue>(null, 'a', 'b', 'c');
  const history = fc.array(
    fc.tuple(fc.constantFrom('salesforce', 'hubspot'), fc.integer({ min: 1, max: 50 }), value),
    { minLength: 1, maxLength: 6 },
  );

  it('teaches the shadow what the system holds; the canonical value stands and the writer plans the repair', () => {
    fc.assert(
      fc.property(history, value, fc.integer({ min: 1, max: 99 }), (steps, found, age) => {
        let t = 100;
        const snaps = steps.map(([system, dt, v]) => {
          t += dt * 10;
          return snap(system, t, { email: 'a@x.io', title: v });
        });
        const record = synced(lww, snaps);
        const shadow = record.shadows.hubspot;
        if (shadow === undefined) return;
        const read = snap('hubspot', shadow.asOf - age, { email: 'a@x.io', title: found });
        // Ingest without it drops the read as stale: the drift would never be repaired.
        expect(mergeSnapshot(record, read, ctx(lww, t + 1)).stale).toBe(true);
        const after = mergeSnapshot(record, asObserved(record, read, lww), ctx(lww, t + 1)).record;
        expect(after.shadows.hubspot?.values.title).toBe(found);
        const before = record.fields.title;
        if (before === undefined) {
          // Nothing to restore: a value fieldsync never had is taken in (a blank is no data).
          expect(after.fields.title?.value).toBe(found ?? undefined);
          return;
        }
        expect(after.fields.title).toEqual(before);
        const plan = planWrite(after, 'hubspot', lww);
        if (found === before.value) expect(plan.op).toBe('none');
        else expect(plan).toEqual({ op: 'update', externalId: 'hubspot-1', fields: { title: before.value } });
      }),
      { seed: 5, numRuns: 300 },
    );
  });

  it('takes what the system holds where the policy makes it the authority (prefer:, always:)', () => {
    for (const def of [preferHubspot, alwaysHubspot]) {
      const record = synced(def, [
        snap('hubspot', 100, { email: 'a@x.io', title: 'Lead' }),
        snap('salesforce', 200, { email: 'a@x.io', title: 'Boss' }),
      ]);
      expect(record.fields.title?.value).toBe('Lead');
      const read = snap('hubspot', 50, { title: 'Restored' });
      const after = mergeSnapshot(record, asObserved(record, read, def), ctx(def)).record;
      expect(after.fields.title).toMatchObject({ value: 'Restored', source: 'hubspot' });
      expect(planWrite(after, 'salesforce', def)).toMatchObject({ fields: { title: 'Restored' } });
      expect(planWrite(after, 'hubspot', def).op).toBe('none');
    }
    // A blank in the preferred system is no authority: the canonical value goes back.
    const record = synced(preferHubspot, [snap('hubspot', 100, { email: 'a@x.io', title: 'Lead' })]);
    const blank = snap('hubspot', 50, { title: null });
    const after = mergeSnapshot(record, asObserved(record, blank, preferHubspot), ctx(preferHubspot)).record;
    expect(planWrite(after, 'hubspot', preferHubspot)).toMatchObject({ fields: { title: 'Lead' } });
  });

  it('leaves a read that is not older than the shadow to the ordinary merge', () => {
    const record = synced(lww, [snap('hubspot', 100, { email: 'a@x.io', title: 'x' })]);
    const read = snap('hubspot', 100, { title: 'y' });
    expect(asObserved(record, read, lww)).toBe(read);
    expect(asObserved(emptyRecord('contact_2', 'contact'), read, lww)).toBe(read);
  });
});

function entry(over: Partial<ReconcileEntry>): ReconcileEntry {
  return {
    system: 'hubspot',
    object: 'contact',
    records: 10,
    checked: 10,
    covered: 1,
    drifted: 0,
    driftedFields: 0,
    fields: {},
    unseen: 0,
    recent: 0,
    missing: 0,
    unlinked: 0,
    pending: 0,
    queued: 0,
    calls: 1,
    ...over,
  };
}

const summary: ReconcileSummary = (() => {
  const entries = [
    entry({ drifted: 2, driftedFields: 3, fields: { title: 2, phone: 1 }, queued: 2, calls: 2 }),
    entry({ object: 'company', missing: 1, calls: 1 }),
    entry({
      system: 'salesforce',
      records: 40,
      checked: 10,
      covered: 0.25,
      unlinked: 1,
      queued: 1,
      stopped: 'calls',
    }),
  ];
  return {
    v: 1,
    startedAt: Date.UTC(2026, 10, 24),
    finishedAt: Date.UTC(2026, 10, 24) + 1000,
    dryRun: false,
    maxCalls: 3,
    sample: null,
    entries,
    totals: totalsOf(entries),
  };
})();

describe('summary, metrics and output', () => {
  it('adds up the entries', () => {
    expect(summary.totals).toEqual({
      checked: 30,
      drifted: 2,
      driftedFields: 3,
      missing: 1,
      unlinked: 1,
      pending: 0,
      queued: 3,
      calls: 4,
    });
  });

  it('publishes DriftFound and RepairsQueued per system', () => {
    expect(reconcileMetrics(summary)).toEqual([
      { system: 'hubspot', values: { DriftFound: 3, RepairsQueued: 2, RecordsReconciled: 20, ApiCalls: 3 } },
      {
        system: 'salesforce',
        values: { DriftFound: 1, RepairsQueued: 1, RecordsReconciled: 10, ApiCalls: 1 },
      },
    ]);
  });

  it('prints them as EMF blobs with the system as a dimension', () => {
    const lines: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    try {
      publishGroups(
        new Metrics({ namespace: 'fieldsync-test', serviceName: 'fieldsync' }),
        reconcileMetrics(summary),
      );
    } finally {
      process.stdout.write = original;
    }
    const blobs = lines
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l): Record<string, unknown> => JSON.parse(l));
    expect(blobs).toHaveLength(2);
    expect(blobs[0]).toMatchObject({ system: 'hubspot', DriftFound: 3, RepairsQueued: 2 });
    expect(blobs[1]).toMatchObject({ system: 'salesforce', DriftFound: 1, RepairsQueued: 1 });
    const aws = blobs[0]?._aws as {
      CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[];
    };
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('system');
    expect(aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual(
      expect.arrayContaining(['DriftFound', 'RepairsQueued']),
    );
  });

  it('prints a table and the findings, with ids and field names only', () => {
    const lines = formatReconcile({
      summary,
      findings: [
        {
          kind: 'drift',
          system: 'hubspot',
          object: 'contact',
          canonicalId: 'contact_1',
          externalId: '501',
          fields: ['title', 'phone'],
          unseen: false,
        },
        { kind: 'unlinked', system: 'salesforce', object: 'contact', canonicalId: 'contact_2' },
      ],
    });
    expect(lines[0]).toBe('reconcile 2026-11-24T00:00:00.000Z: 30 records checked with 4 API calls');
    expect(lines[1]).toMatch(/^ {2}system\s+object\s+records\s+checked\s+covered\s+drifted/);
    expect(lines.find((l) => l.includes('salesforce  contact'))).toMatch(/25%.*\bcalls$/);
    expect(lines.slice(-2)).toEqual([
      '  drift    contact contact_1 (hubspot 501): title, phone',
      '  unlinked contact contact_2: never created in salesforce',
    ]);
  });
});

describe('options', () => {
  it('reads defaults from the environment and refuses bad values with the variable name', () => {
    expect(reconcileDefaults({})).toEqual({
      maxCalls: DEFAULT_MAX_CALLS,
      sample: undefined,
      graceMs: DEFAULT_GRACE_MS,
    });
    expect(
      reconcileDefaults({
        FIELDSYNC_RECONCILE_MAX_CALLS: '7',
        FIELDSYNC_RECONCILE_SAMPLE: '500',
        FIELDSYNC_RECONCILE_GRACE_SECONDS: '0',
      }),
    ).toEqual({ maxCalls: 7, sample: 500, graceMs: 0 });
    expect(() => reconcileDefaults({ FIELDSYNC_RECONCILE_MAX_CALLS: '0' })).toThrow(
      /FIELDSYNC_RECONCILE_MAX_CALLS must be a whole number >= 1/,
    );
  });

  it('takes a schedule input, ignoring the scheduler event around it', () => {
    expect(parseReconcileEvent(undefined)).toEqual({});
    expect(parseReconcileEvent({ source: 'aws.scheduler', detail: {} })).toEqual({});
    expect(parseReconcileEvent({ sample: 100, objects: ['contact'], dryRun: true })).toEqual({
      sample: 100,
      objects: ['contact'],
      dryRun: true,
    });
    expect(() => parseReconcileEvent({ objects: ['lead'] })).toThrow(ConfigError);
    expect(() => parseReconcileEvent({ maxCalls: 0 })).toThrow(/maxCalls/);
  });

  it('turns the command line into that event', () => {
    expect(
      reconcileEventFrom([
        '--system',
        'hubspot',
        '--object',
        'contact',
        '--object',
        'company',
        '--sample',
        '50',
        '--max-calls',
        '5',
        '--grace-seconds',
        '0',
        '--dry-run',
        '--json',
      ]),
    ).toEqual({
      event: {
        systems: ['hubspot'],
        objects: ['contact', 'company'],
        sample: 50,
        maxCalls: 5,
        graceSeconds: 0,
        dryRun: true,
      },
      json: true,
    });
    expect(reconcileEventFrom([])).toEqual({ event: {}, json: false });
    expect(() => reconcileEventFrom(['--object', 'lead'])).toThrow(/--object must be/);
    expect(() => reconcileEventFrom(['--max-calls', 'x'])).toThrow(/--max-calls must be a whole number/);
  });
});
