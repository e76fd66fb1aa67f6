// CloudWatch metrics in Embedded Metric Format from what the handlers report.
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { metricsOf, publish } from '../runtime/metrics.ts';
import type { TelemetryEvent } from '../runtime/telemetry.ts';

const write: TelemetryEvent = {
  kind: 'write',
  system: 'hubspot',
  report: {
    signalled: 5,
    created: 2,
    updated: 3,
    deleted: 1,
    heldForUnseen: 1,
    replacedEdits: 1,
    foundBeforeCreate: 0,
    failed: 1,
    retried: 0,
    waiting: 0,
    lagsMs: [1200, 800],
  },
  calls: { 'write:update': 1, 'write:upsert': 1, read: 1 },
  failedMessages: 0,
  budgetLeftPercent: 87.5,
};

function emitted(...events: TelemetryEvent[]): Record<string, unknown>[] {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  };
  try {
    const metrics = new Metrics({ namespace: 'fieldsync-test', serviceName: 'fieldsync' });
    for (const event of events) publish(metrics, event);
  } finally {
    process.stdout.write = original;
  }
  return lines
    .join('')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l): Record<string, unknown> => JSON.parse(l));
}

describe('metrics', () => {
  it('turns a writer report into counts per system', () => {
    expect(metricsOf(write)).toEqual([
      {
        system: 'hubspot',
        values: {
          RecordsCreated: 2,
          RecordsUpdated: 3,
          RecordsDeleted: 1,
          SyncErrors: 1,
          HeldForUnseenChanges: 1,
          ReplacedEditsRecovered: 1,
          ApiCalls: 3,
        },
        measures: {
          ApiBudgetLeftPercent: { unit: 'Percent', values: [87.5] },
          EndToEndLagMs: { unit: 'Milliseconds', values: [1200, 800] },
        },
      },
    ]);
  });

  it('prints EMF with the system as a dimension', () => {
    const [blob] = emitted(write);
    expect(blob).toMatchObject({ system: 'hubspot', RecordsCreated: 2, ApiCalls: 3 });
    const aws = blob?._aws as {
      CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
    };
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('fieldsync-test');
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('system');
    expect(aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toContain('SyncErrors');
  });

  it('publishes measures with their units, several values of one metric as an array', () => {
    const [blob] = emitted(write);
    expect(blob).toMatchObject({ ApiBudgetLeftPercent: 87.5, EndToEndLagMs: [1200, 800] });
    const aws = blob?._aws as { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] };
    const units = Object.fromEntries(aws.CloudWatchMetrics[0]?.Metrics.map((m) => [m.Name, m.Unit]) ?? []);
    expect(units).toMatchObject({
      ApiBudgetLeftPercent: 'Percent',
      EndToEndLagMs: 'Milliseconds',
      ApiCalls: 'Count',
    });
  });

  it('leaves out a budget nobody has reported and reports how far a poll trailed', () => {
    const groups = metricsOf({
      kind: 'poll',
      system: 'salesforce',
      report: { system: 'salesforce', polled: { contact: 3, company: 1 }, pages: 2 },
      calls: { query: 2 },
      cursorLagSeconds: 61.5,
    });
    expect(groups).toEqual([
      {
        system: 'salesforce',
        values: { RecordsPolled: 4, ApiCalls: 2 },
        measures: { CursorLagSeconds: { unit: 'Seconds', values: [61.5] } },
      },
    ]);
  });

  it('reports ingest counts without a system dimension, even after a writer report', () => {
    const [, blob] = emitted(write, {
      kind: 'ingest',
      report: {
        changes: 10,
        recordsStored: 7,
        created: 2,
        unchanged: 30,
        conflicts: 1,
        ambiguous: 0,
        deferred: 0,
        deleted: 0,
        echoes: 4,
        signals: {},
      },
      failedMessages: 0,
    });
    expect(blob).toMatchObject({
      ChangesIngested: 10,
      CanonicalWrites: 7,
      Conflicts: 1,
      EchoesSuppressed: 4,
    });
    expect(blob).not.toHaveProperty('system');
  });
});
