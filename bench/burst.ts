// A burst of edits on both sides synced in one cycle, then the same records written by the naive
// writer (one API call per record): calls, seconds and records/s side by side.
import { SYSTEMS } from '../connectors/systems.ts';
import { apiCallsOf, type CycleResult, type Cycles, writeCallsOf } from './cycle.ts';
import { type NaiveSystemReport, type NaiveWrite, naiveWrites } from './naive.ts';
import { round, sum } from './stats.ts';
import { applyEdit, arrived, type ContactPair, type Edit, type Sandboxes } from './stream.ts';

const BATCH = { salesforce: 200, hubspot: 100 } as const;

export interface BurstReport {
  /** Added to every API call of both sandboxes (0: loopback only). */
  api_latency_ms: number;
  edits_per_side: number;
  arrived: number;
  ours: {
    /** From the edits to the last value arriving in the other system. */
    duration_s: number;
    cycle_s: number;
    records_per_s: number;
    write_calls: Record<string, number>;
    /** One call per 100 (HubSpot) or 200 (Salesforce) edited records. */
    ideal_write_calls: number;
    api_calls: Record<string, number>;
    dynamodb_requests_per_change: number;
  };
  naive: Record<string, NaiveSystemReport>;
  /** Naive write calls over ours, per system and in total. */
  write_call_ratio: Record<string, number>;
  /** Naive seconds (its writes only) over ours (edits to the last arrival: poll, ingest and write). */
  duration_ratio: number;
}

/** Edits on distinct contacts: `perSide` in Salesforce and as many others in HubSpot, from `offset`. */
export function burstEdits(
  pairs: readonly ContactPair[],
  perSide: number,
  offset: number,
  tag: string,
): Edit[] {
  const stride = Math.max(1, Math.floor(pairs.length / (2 * perSide)));
  const field = { salesforce: 'Title', hubspot: 'jobtitle' } as const;
  const edits: Edit[] = [];
  for (let i = 0; i < perSide; i++) {
    const sf = pairs[(2 * i * stride + offset) % pairs.length];
    const hs = pairs[((2 * i + 1) * stride + offset) % pairs.length];
    if (sf === undefined || hs === undefined) throw new Error('bench: no contact pairs for the burst');
    edits.push({ side: 'salesforce', pair: sf, field, value: `Burst ${tag} s${i}` });
    edits.push({ side: 'hubspot', pair: hs, field, value: `Burst ${tag} h${i}` });
  }
  return edits;
}

export async function burstVsNaive(
  boxes: Sandboxes,
  cycles: Cycles,
  edits: readonly Edit[],
  apiLatencyMs: number,
): Promise<BurstReport> {
  const slow = apiLatencyMs > 0 ? { slowRate: 1, slowMs: apiLatencyMs } : undefined;
  boxes.salesforce.faults.configure(slow);
  boxes.hubspot.faults.configure(slow);
  let ours: CycleResult;
  let naive: Record<string, NaiveSystemReport>;
  let landed: number;
  let seconds: number;
  try {
    for (const e of edits) applyEdit(boxes, e);
    // Timed from the edits to the last value arriving in the other system (as the naive writer is
    // timed to its last write), not to the end of the cycle's bookkeeping.
    const start = performance.now();
    let lastArrival: number | undefined;
    let cycling = true;
    const watch = (async () => {
      const waiting = new Set(edits);
      while (cycling && waiting.size > 0) {
        for (const e of waiting)
          if (arrived(boxes, e)) {
            waiting.delete(e);
            lastArrival = performance.now();
          }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (waiting.size === 0 && lastArrival === undefined) lastArrival = performance.now();
    })();
    try {
      ours = await cycles.run();
    } finally {
      cycling = false;
      await watch;
    }
    landed = edits.filter((e) => arrived(boxes, e)).length;
    seconds = ((landed === edits.length ? lastArrival : undefined) ?? start + ours.seconds * 1000) - start;
    seconds /= 1000;
    naive = await naiveWrites(
      boxes,
      edits.map(
        (e): NaiveWrite =>
          e.side === 'salesforce'
            ? { target: 'hubspot', id: e.pair.hubspotId, fields: { [e.field.hubspot]: e.value } }
            : { target: 'salesforce', id: e.pair.salesforceId, fields: { [e.field.salesforce]: e.value } },
      ),
    );
  } finally {
    boxes.salesforce.faults.configure(undefined);
    boxes.hubspot.faults.configure(undefined);
  }
  // The naive writes come back as changes: absorb them (echoes, no writes).
  await cycles.run();
  const perSide = edits.length / 2;
  const oursWrites = writeCallsOf(ours.summary);
  const naiveCalls = Object.fromEntries(SYSTEMS.map((k) => [k, naive[k]?.records ?? 0]));
  const ratio = (a: number, b: number) => (b === 0 ? 0 : round(a / b, 1));
  return {
    api_latency_ms: apiLatencyMs,
    edits_per_side: perSide,
    arrived: landed,
    ours: {
      duration_s: round(seconds, 2),
      /** The whole cycle, settled: pollers, ingest, writes and their bookkeeping. */
      cycle_s: round(ours.seconds, 2),
      records_per_s: Math.round(edits.length / seconds),
      write_calls: oursWrites,
      ideal_write_calls: Math.ceil(perSide / BATCH.salesforce) + Math.ceil(perSide / BATCH.hubspot),
      api_calls: apiCallsOf(ours.summary),
      dynamodb_requests_per_change: round(
        sum(Object.values(ours.dynamo)) / Math.max(1, ours.summary.ingested),
        2,
      ),
    },
    naive,
    write_call_ratio: {
      ...Object.fromEntries(SYSTEMS.map((k) => [k, ratio(naiveCalls[k] ?? 0, oursWrites[k] ?? 0)])),
      total: ratio(sum(Object.values(naiveCalls)), sum(Object.values(oursWrites))),
    },
    duration_ratio: ratio(sum(Object.values(naive).map((n) => n.duration_s)), seconds),
  };
}
