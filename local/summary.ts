// Collects what the handlers did (from telemetry) into one run summary, and prints it.
import { SYSTEMS } from '../connectors/systems.ts';
import { onTelemetry, type TelemetryEvent } from '../runtime/telemetry.ts';

export interface SystemSummary {
  polled: Record<string, number>;
  created: number;
  updated: number;
  writeFailures: number;
  /** All API calls, by kind (query, search, write:update, ...). */
  calls: Record<string, number>;
  writeCalls: number;
}

export interface RunSummary {
  systems: Record<string, SystemSummary>;
  ingested: number;
  recordsStored: number;
  conflicts: number;
  ambiguous: number;
  errors: number;
  durationMs: number;
}

function emptySystem(): SystemSummary {
  return { polled: {}, created: 0, updated: 0, writeFailures: 0, calls: {}, writeCalls: 0 };
}

export function emptySummary(): RunSummary {
  return {
    systems: Object.fromEntries(SYSTEMS.map((s) => [s, emptySystem()])),
    ingested: 0,
    recordsStored: 0,
    conflicts: 0,
    ambiguous: 0,
    errors: 0,
    durationMs: 0,
  };
}

export function addCalls(into: SystemSummary, calls: Record<string, number>): void {
  for (const [k, v] of Object.entries(calls)) {
    into.calls[k] = (into.calls[k] ?? 0) + v;
    if (k.startsWith('write:') || k.startsWith('associations:create') || k.startsWith('associations:archive'))
      into.writeCalls += v;
  }
}

export function apply(summary: RunSummary, event: TelemetryEvent): void {
  const sys = (name: string) => {
    const found = summary.systems[name] ?? emptySystem();
    summary.systems[name] = found;
    return found;
  };
  switch (event.kind) {
    case 'poll': {
      const s = sys(event.system);
      for (const [o, n] of Object.entries(event.report.polled)) s.polled[o] = (s.polled[o] ?? 0) + n;
      addCalls(s, event.calls);
      return;
    }
    case 'notices':
      addCalls(sys(event.system), event.calls);
      return;
    case 'ingest':
      summary.ingested += event.report.changes;
      summary.recordsStored += event.report.recordsStored;
      summary.conflicts += event.report.conflicts;
      summary.ambiguous += event.report.ambiguous;
      summary.errors += event.failedMessages;
      return;
    case 'write': {
      const s = sys(event.system);
      s.created += event.report.created;
      s.updated += event.report.updated;
      s.writeFailures += event.report.failed;
      summary.errors += event.report.failed + event.failedMessages;
      addCalls(s, event.calls);
      return;
    }
  }
}

/** Accumulate telemetry into a summary until the returned stop function is called. */
export function collect(summary: RunSummary = emptySummary()): { summary: RunSummary; stop: () => void } {
  const started = Date.now();
  const off = onTelemetry((e) => apply(summary, e));
  return {
    summary,
    stop: () => {
      off();
      summary.durationMs += Date.now() - started;
    },
  };
}

function sum(values: Iterable<number>): number {
  let t = 0;
  for (const v of values) t += v;
  return t;
}

export function formatTable(summary: RunSummary): string {
  const rows: string[][] = [
    ['system', 'polled', 'created', 'updated', 'write calls', 'all API calls', 'failed'],
  ];
  for (const [name, s] of Object.entries(summary.systems)) {
    rows.push([
      name,
      String(sum(Object.values(s.polled))),
      String(s.created),
      String(s.updated),
      String(s.writeCalls),
      String(sum(Object.values(s.calls))),
      String(s.writeFailures),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const [head, ...body] = rows;
  return [
    line(head ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    '',
    `changes ingested ${summary.ingested}, canonical writes ${summary.recordsStored}, conflicts ${summary.conflicts}, ambiguous ${summary.ambiguous}, errors ${summary.errors}, ${(summary.durationMs / 1000).toFixed(1)} s`,
  ].join('\n');
}
