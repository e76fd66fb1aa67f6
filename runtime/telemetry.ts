// What each invocation did, published to in-process listeners: the local runner's progress display
// and summary listen here; on Lambda the same events become log lines (metrics come with issue 5).
import type { Connector, ConnectorStats } from '../connectors/types.ts';
import type { IngestReport } from './ingest.ts';
import type { PollReport } from './poll.ts';
import type { WriteReport } from './write.ts';

/** What a system-facing function also says about its account: the rate budget left (0-100 %). */
interface BudgetSeen {
  budgetLeftPercent?: number | undefined;
}

export type TelemetryEvent =
  | ({
      kind: 'poll';
      system: string;
      report: PollReport;
      calls: Record<string, number>;
      /** Before this poll caught up, changes could wait this long: since the previous poll started. */
      cursorLagSeconds?: number | undefined;
    } & BudgetSeen)
  | { kind: 'ingest'; report: IngestReport; failedMessages: number }
  | ({
      kind: 'notices';
      system: string;
      notices: number;
      changes: number;
      calls: Record<string, number>;
    } & BudgetSeen)
  | ({
      kind: 'write';
      system: string;
      report: WriteReport;
      calls: Record<string, number>;
      failedMessages: number;
    } & BudgetSeen);

type Listener = (event: TelemetryEvent) => void;
const listeners = new Set<Listener>();

export function onTelemetry(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function emitTelemetry(event: TelemetryEvent): void {
  for (const l of listeners) l(event);
}

/** The share of the connector's rate budget left, in percent; undefined until the vendor has said. */
export function budgetLeftPercent(connector: Connector): number | undefined {
  const budget = connector.budget?.();
  if (budget === undefined || budget.remaining() === undefined) return undefined;
  return Math.round((1 - budget.shareUsed()) * 1000) / 10;
}

/** API calls made between two snapshots of a connector's cumulative stats. */
export function callsSince(before: ConnectorStats, after: ConnectorStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.calls)) {
    const d = v - (before.calls[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
