// One measured sync cycle of the embedded stack: every poller, then every queue until empty.
import type { EmbeddedStack } from '../local/stack.ts';
import { collect, type RunSummary } from '../local/summary.ts';
import { sum } from './stats.ts';

/** A backfill of 40,000+ records on a loaded machine takes minutes; an hour means something is stuck. */
const DRAIN_TIMEOUT_MS = 3_600_000;

export interface CycleResult {
  seconds: number;
  summary: RunSummary;
  /** DynamoDB requests during the cycle, by operation. */
  dynamo: Record<string, number>;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

export async function measuredCycle(stack: EmbeddedStack): Promise<CycleResult> {
  const run = collect();
  const dynamo0 = stack.dynamoRequests();
  const start = performance.now();
  try {
    await stack.pollAll();
    await stack.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
  } finally {
    run.stop();
  }
  return {
    seconds: (performance.now() - start) / 1000,
    summary: run.summary,
    dynamo: diff(stack.dynamoRequests(), dynamo0),
  };
}

export const writeCallsOf = (s: RunSummary): Record<string, number> =>
  Object.fromEntries(Object.entries(s.systems).map(([k, v]) => [k, v.writeCalls]));

export const apiCallsOf = (s: RunSummary): Record<string, number> =>
  Object.fromEntries(Object.entries(s.systems).map(([k, v]) => [k, sum(Object.values(v.calls))]));
