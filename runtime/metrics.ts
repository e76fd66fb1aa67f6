// CloudWatch metrics in Embedded Metric Format (Powertools Metrics): what each invocation did, by
// system. On Lambda the runtime ships the EMF lines from stdout to CloudWatch; nothing runs locally.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { onTelemetry, type TelemetryEvent } from './telemetry.ts';

type Counts = Readonly<Record<string, number>>;

/** A metric that is not a count: its unit and one or more values (EMF keeps up to 100 per blob). */
export interface Measure {
  unit: 'Percent' | 'Seconds' | 'Milliseconds';
  values: number[];
}

/** The metrics of one EMF blob: counts and measures, per system dimension ('' for none). */
export interface MetricGroup {
  system: string;
  values: Counts;
  measures?: Record<string, Measure>;
}

/** Measures present in an event, without the undefined ones (a budget the vendor has not reported yet). */
function measures(entries: Record<string, Measure | undefined>): { measures?: Record<string, Measure> } {
  const present = Object.entries(entries).filter(
    (e): e is [string, Measure] => e[1] !== undefined && e[1].values.length > 0,
  );
  return present.length === 0 ? {} : { measures: Object.fromEntries(present) };
}

function one(unit: Measure['unit'], value: number | undefined): Measure | undefined {
  return value === undefined ? undefined : { unit, values: [value] };
}

/** The metrics a telemetry event stands for: name -> value, per system dimension ('' for none). */
export function metricsOf(event: TelemetryEvent): MetricGroup[] {
  const total = (calls: Counts) => Object.values(calls).reduce((a, b) => a + b, 0);
  switch (event.kind) {
    case 'poll':
      return [
        {
          system: event.system,
          values: {
            RecordsPolled: Object.values(event.report.polled).reduce((a, b) => a + b, 0),
            ApiCalls: total(event.calls),
          },
          ...measures({
            ApiBudgetLeftPercent: one('Percent', event.budgetLeftPercent),
            CursorLagSeconds: one('Seconds', event.cursorLagSeconds),
          }),
        },
      ];
    case 'notices':
      return [
        {
          system: event.system,
          values: { NoticesReceived: event.notices, ApiCalls: total(event.calls) },
          ...measures({ ApiBudgetLeftPercent: one('Percent', event.budgetLeftPercent) }),
        },
      ];
    case 'ingest':
      return [
        {
          system: '',
          values: {
            ChangesIngested: event.report.changes,
            CanonicalWrites: event.report.recordsStored,
            Conflicts: event.report.conflicts,
            AmbiguousMatches: event.report.ambiguous,
            DeletesAndMerges: event.report.deleted,
            EchoesSuppressed: event.report.echoes,
            FailedMessages: event.failedMessages,
          },
        },
      ];
    case 'write':
      return [
        {
          system: event.system,
          values: {
            RecordsCreated: event.report.created,
            RecordsUpdated: event.report.updated,
            RecordsDeleted: event.report.deleted,
            SyncErrors: event.report.failed + event.failedMessages,
            HeldForUnseenChanges: event.report.heldForUnseen,
            ReplacedEditsRecovered: event.report.replacedEdits,
            ApiCalls: total(event.calls),
          },
          ...measures({
            ApiBudgetLeftPercent: one('Percent', event.budgetLeftPercent),
            // EMF takes at most 100 values of a metric per blob: the latest 100 of a big batch.
            EndToEndLagMs: { unit: 'Milliseconds', values: event.report.lagsMs.slice(-100) },
          }),
        },
      ];
  }
}

let enabled = false;

/** On Lambda, publish every telemetry event as EMF metrics (once per process). */
export function publishMetricsOnLambda(
  env: Readonly<Record<string, string | undefined>> = process.env,
): void {
  if (enabled || env.AWS_LAMBDA_FUNCTION_NAME === undefined) return;
  enabled = true;
  const metrics = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'fieldsync',
    serviceName: 'fieldsync',
  });
  onTelemetry((event) => publish(metrics, event));
}

export function publish(metrics: Metrics, event: TelemetryEvent): void {
  publishGroups(metrics, metricsOf(event));
}

/** Publish metric groups (also the scheduled jobs' summaries), one EMF blob each. */
export function publishGroups(metrics: Metrics, groups: readonly MetricGroup[]): void {
  for (const { system, values, measures: extra } of groups) {
    // One EMF blob per group: its metrics share the `system` dimension (cleared by the flush).
    if (system !== '') metrics.addDimension('system', system);
    for (const [name, value] of Object.entries(values)) metrics.addMetric(name, MetricUnit.Count, value);
    for (const [name, m] of Object.entries(extra ?? {}))
      for (const v of m.values) metrics.addMetric(name, MetricUnit[m.unit], v);
    metrics.publishStoredMetrics();
  }
}
