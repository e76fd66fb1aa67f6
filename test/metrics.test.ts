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
    failed: 1,
    retried: 0,
    waiting: 0,
  },
  calls: { 'write:update': 1, 'write:upsert': 1, read: 1 },
  failedMessages: 0,
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
          ApiCalls: 3,
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
        signals: {},
      },
      failedMessages: 0,
    });
    expect(blob).toMatchObject({ ChangesIngested: 10, CanonicalWrites: 7, Conflicts: 1 });
    expect(blob).not.toHaveProperty('system');
  });
});
