// CloudWatch metrics in Embedded Metric Format (Powertools Metrics): what each invocation did, by
// system. On Lambda the runtime ships the EMF lines from stdout to CloudWatch; nothing runs locally.
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { onTelemetry, type TelemetryEvent } from './telemetry.ts';

type Counts = Readonly<Record<string, number>>;

/** The metrics a telemetry event stands for: name -> value, per system dimension ('' for none). */
export function metricsOf(event: TelemetryEvent): { system: string; values: Counts }[] {
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
        },
      ];
    case 'notices':
      return [
        { system: event.system, values: { NoticesReceived: event.notices, ApiCalls: total(event.calls) } },
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
            ApiCalls: total(event.calls),
          },
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
  for (const { system, values } of metricsOf(event)) {
    // One EMF blob per group: its metrics share the `system` dimension (cleared by the flush).
    if (system !== '') metrics.addDimension('system', system);
    for (const [name, value] of Object.entries(values)) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.publishStoredMetrics();
  }
}
