// One measured sync cycle of the embedded stack: every poller, then every queue until it settles.
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { EmbeddedStack } from '../local/stack.ts';
import { collect, type RunSummary } from '../local/summary.ts';
import { onTelemetry } from '../runtime/telemetry.ts';
import { sum } from './stats.ts';

/** A backfill of 40,000+ records on a loaded machine takes minutes; an hour means something is stuck. */
const DRAIN_TIMEOUT_MS = 3_600_000;
/**
 * A write waiting for a reference is retried with a delay of up to 60 s (runtime/write.ts). When only
 * such delayed messages are left and nothing has been ingested or written for longer than that
 * retry, they are waiting for something that will not come: the cycle ends and counts them.
 */
const QUIET_MS = 75_000;

export interface CycleResult {
  seconds: number;
  summary: RunSummary;
  /** DynamoDB requests during the cycle, by operation. */
  dynamo: Record<string, number>;
  /** Delayed messages still retrying when the cycle settled (0 when every queue emptied). `seconds`
   * then runs to the cycle's last ingest or write, not to the end of the wait. */
  stuck: number;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** Messages ready or being handled, and messages delayed, over every queue a consumer reads. */
async function depth(stack: EmbeddedStack): Promise<{ active: number; delayed: number }> {
  const queues = [
    stack.queues.ingest,
    stack.queues.salesforce,
    stack.queues.hubspot,
    ...Object.values(stack.noticeQueues),
  ];
  let active = 0;
  let delayed = 0;
  for (const q of queues) {
    const res = await stack.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: q.url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = res.Attributes ?? {};
    active +=
      Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    delayed += Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
  }
  return { active, delayed };
}

/**
 * Pumps until every queue is empty, or only delayed messages are left and either they are no more
 * than `stuckBefore` (the ones already stuck when the cycle began) or nothing has progressed for
 * QUIET_MS. Unlike `stack.drain()`, a record waiting forever does not hang the bench for an hour.
 */
async function settle(stack: EmbeddedStack, stuckBefore: number): Promise<{ stuck: number; at: number }> {
  let lastProgress = performance.now();
  const off = onTelemetry((e) => {
    // Canonical writes, not changes read: a record retrying for good re-reads (and re-ingests) itself.
    if (e.kind === 'ingest' && e.report.recordsStored > 0) lastProgress = performance.now();
    if (e.kind === 'write' && e.report.created + e.report.updated + e.report.deleted + e.report.failed > 0)
      lastProgress = performance.now();
  });
  const deadline = performance.now() + DRAIN_TIMEOUT_MS;
  try {
    while (performance.now() < deadline) {
      if ((await stack.pumpOnce()) > 0) continue;
      const { active, delayed } = await depth(stack);
      if (active === 0 && delayed <= stuckBefore) return { stuck: delayed, at: performance.now() };
      // Given up on: the cycle's work ended with its last progress, not with the wait.
      if (active === 0 && performance.now() - lastProgress > QUIET_MS)
        return { stuck: delayed, at: lastProgress };
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    off();
  }
  throw new Error(`bench: the queues did not settle within ${DRAIN_TIMEOUT_MS / 1000} s`);
}

/**
 * Runs measured cycles and carries the count of messages retrying for good from one to the next, so
 * a later cycle ends as soon as only those are left instead of waiting QUIET_MS again.
 */
export class Cycles {
  stuck = 0;
  private readonly stack: EmbeddedStack;
  constructor(stack: EmbeddedStack) {
    this.stack = stack;
  }

  async run(): Promise<CycleResult> {
    const result = await measuredCycle(this.stack, this.stuck);
    // Retries of several stuck records can share one message, so the count shrinks and grows: keep
    // the largest seen, lest a later cycle wait QUIET_MS for records it did not touch.
    this.stuck = Math.max(this.stuck, result.stuck);
    return result;
  }
}

export async function measuredCycle(stack: EmbeddedStack, stuckBefore = 0): Promise<CycleResult> {
  const run = collect();
  const dynamo0 = stack.dynamoRequests();
  const start = performance.now();
  let settled: { stuck: number; at: number };
  try {
    await stack.pollAll();
    settled = await settle(stack, stuckBefore);
  } finally {
    run.stop();
  }
  return {
    seconds: (settled.at - start) / 1000,
    summary: run.summary,
    dynamo: diff(stack.dynamoRequests(), dynamo0),
    stuck: settled.stuck,
  };
}

export const writeCallsOf = (s: RunSummary): Record<string, number> =>
  Object.fromEntries(Object.entries(s.systems).map(([k, v]) => [k, v.writeCalls]));

export const apiCallsOf = (s: RunSummary): Record<string, number> =>
  Object.fromEntries(Object.entries(s.systems).map(([k, v]) => [k, sum(Object.values(v.calls))]));
