// The pure engine alone: field merges per second on one core (no I/O, one thread).
import { emptyRecord, mergeSnapshot, type SourceSnapshot } from '../engine/index.ts';
import { median } from './stats.ts';

const FIELDS_PER_SNAPSHOT = 6;

function snapshots(): SourceSnapshot[] {
  const snaps: SourceSnapshot[] = [];
  for (let i = 0; i < 2000; i++) {
    snaps.push({
      system: i % 2 === 0 ? 'salesforce' : 'hubspot',
      object: 'contact',
      externalId: `x${i % 2}`,
      modifiedAt: 1_700_000_000_000 + i * 1000,
      fields: {
        email: 'a@b.c',
        firstName: `F${i % 7}`,
        lastName: `L${i % 5}`,
        phone: `+1 ${i % 3}`,
        title: `T${i % 11}`,
        company: null,
      },
    });
  }
  return snaps;
}

/** Median over `rounds` one-second rounds of alternating snapshots from both systems merged into one record. */
export function engineFieldMergesPerSecond(rounds = 3, roundMs = 1000): number {
  const snaps = snapshots();
  const ctx = { now: 0, priority: { salesforce: 2, hubspot: 1 }, skewMs: 5000 };
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let fieldMerges = 0;
    const start = performance.now();
    while (performance.now() - start < roundMs) {
      let rec = emptyRecord('c', 'contact');
      for (const s of snaps) {
        rec = mergeSnapshot(rec, s, ctx).record;
        fieldMerges += FIELDS_PER_SNAPSHOT;
      }
    }
    rates.push(fieldMerges / ((performance.now() - start) / 1000));
  }
  return Math.round(median(rates));
}
