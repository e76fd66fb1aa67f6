// Salesforce stamps records in whole seconds. A field saved twice within one second, with fieldsync
// reading the record between the saves, gives two reads with the same SystemModstamp and different
// values. The tie used to go by value, so the second save could lose to the first and be written back
// over (the chaos suite's sf-same-second scenario). The later read holds the later save: it wins, and
// an earlier read of the same stamp applied late is stale.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanonicalRecord,
  emptyRecord,
  mergeSnapshot,
  planWrite,
  recordWritten,
  type SourceSnapshot,
} from '../engine/index.ts';

const ctx = { priority: {}, skewMs: 1000 };
const S = Date.parse('2026-11-25T10:00:07.000Z');

function read(title: string, readAt: number, modifiedAt = S): SourceSnapshot {
  return {
    system: 'salesforce',
    object: 'contact',
    externalId: '003A',
    modifiedAt,
    fields: { email: 'a@b.co', title },
    readAt,
  };
}

function linked(): CanonicalRecord {
  let r = emptyRecord('contact_a', 'contact');
  r = mergeSnapshot(r, read('Old', S - 5000, S - 6000), { ...ctx, now: S - 5000 }).record;
  return mergeSnapshot(
    r,
    {
      system: 'hubspot',
      object: 'contact',
      externalId: '51',
      modifiedAt: S - 6000,
      fields: { email: 'a@b.co', title: 'Old' },
    },
    { ...ctx, now: S - 5000 },
  ).record;
}

describe('two saves in one Salesforce second', () => {
  it('the later read wins, whichever value sorts first, and nothing is written back to Salesforce', () => {
    for (const [first, second] of [
      ['Zed', 'Abe'],
      ['Abe', 'Zed'],
    ] as const) {
      let r = linked();
      r = mergeSnapshot(r, read(first, S + 300), { ...ctx, now: S + 300 }).record;
      const res = mergeSnapshot(r, read(second, S + 800), { ...ctx, now: S + 800 });
      expect(res.record.fields.title?.value).toBe(second);
      expect(planWrite(res.record, 'salesforce').op).toBe('none');
      expect(planWrite(res.record, 'hubspot')).toMatchObject({ op: 'update', fields: { title: second } });
    }
  });

  it('an earlier read of the same stamp applied late is stale, in either order the result is the same', () => {
    const early = read('Zed', S + 300);
    const late = read('Abe', S + 800);
    const inOrder = mergeSnapshot(mergeSnapshot(linked(), early, { ...ctx, now: S + 900 }).record, late, {
      ...ctx,
      now: S + 950,
    }).record;
    const lateFirst = mergeSnapshot(linked(), late, { ...ctx, now: S + 900 });
    const stale = mergeSnapshot(lateFirst.record, early, { ...ctx, now: S + 950 });
    expect(stale.stale).toBe(true);
    expect(stale.record.fields.title?.value).toBe('Abe');
    expect(inOrder.fields.title?.value).toBe('Abe');
    expect(stale.record.shadows.salesforce?.values.title).toBe('Abe');
  });

  it('property: any order of reads of one record ends with the last read values, in canonical and shadow', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('A', 'B', 'C', 'D'), fc.integer({ min: 0, max: 2 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.func(fc.integer()),
        (saves, shuffle) => {
          // Reads in the order they were answered: stamps never go back; several may share a second.
          const reads = saves.map(([title, second], i) => ({ title, stamp: second, at: i }));
          for (let i = 1; i < reads.length; i++) {
            const prev = reads[i - 1];
            const cur = reads[i];
            if (prev !== undefined && cur !== undefined) cur.stamp = Math.max(cur.stamp, prev.stamp);
          }
          const snaps = reads.map((x) => read(x.title, S + 100 * x.at, S + 1000 * x.stamp));
          const order = snaps.map((s, i) => ({ s, k: shuffle(i) })).sort((a, b) => a.k - b.k);
          let r = linked();
          for (const { s } of order) r = mergeSnapshot(r, s, { ...ctx, now: S + 10_000 }).record;
          const last = snaps.at(-1)?.fields.title;
          expect(r.shadows.salesforce?.values.title).toBe(last);
          expect(r.fields.title?.value).toBe(last);
        },
      ),
      { seed: 20_261_125, numRuns: 300 },
    );
  });
});

describe('our write in between', () => {
  it('keeps the read time of the shadow, so an earlier read of that stamp stays stale after it', () => {
    const late = mergeSnapshot(linked(), read('Abe', S + 800), { ...ctx, now: S + 900 }).record;
    const written = recordWritten(late, 'salesforce', { firstName: 'Ann' }, '003A', S + 950);
    expect(written.shadows.salesforce?.readAt).toBe(S + 800);
    const res = mergeSnapshot(written, read('Zed', S + 300), { ...ctx, now: S + 1000 });
    expect(res.stale).toBe(true);
  });
});
