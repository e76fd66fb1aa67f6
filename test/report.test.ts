// The audit report from constructed store items: counts per object and system, conflicts by policy
// and resolution, errors, echoes, drift, the hourly series; the store's one projected Scan; the
// report function's log line and EMF metrics; the CLI's argument parsing; the HTML page's text.

import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model, ObjectType } from '../engine/index.ts';
import { formatReport, parseReportArgs, parseSince } from '../local/commands/report.ts';
import { ConfigError } from '../runtime/config.ts';
import {
  type AuditReport,
  buildReport,
  createReportHandler,
  publishReportMetrics,
  REPORT_VERSION,
  ReportError,
  reportMetrics,
  reportPeriodMs,
  summarizeReport,
} from '../runtime/report.ts';
import {
  barChart,
  driftFieldLabel,
  niceScale,
  renderReportHtml,
  reportCharts,
} from '../runtime/report-html.ts';
import { type AuditRow, DynamoStore, ensureTable, type ReportItem } from '../runtime/store.ts';

const T0 = Date.parse('2026-11-24T10:30:00.000Z');
const HOUR = 3_600_000;
const SINCE = T0;
const UNTIL = T0 + 24 * HOUR;

const MODEL: Model = {
  contact: {
    fields: {
      email: { kind: 'email' },
      title: { kind: 'string', policy: { kind: 'prefer', system: 'salesforce' } },
      lastName: { kind: 'string' },
    },
    matchKeys: ['email'],
  },
  company: { fields: { name: { kind: 'string' }, domain: { kind: 'domain' } }, matchKeys: ['domain'] },
};

function row(
  reason: AuditRow['reason'],
  source: string,
  at: number,
  canonicalId = 'contact_1',
  field = '*',
  object: ObjectType = 'contact',
): ReportItem {
  return { kind: 'audit', canonicalId, object, at, field, source, reason };
}

function record(
  id: string,
  linked: string[],
  status: Extract<ReportItem, { kind: 'record' }>['status'] = 'active',
  object: ObjectType = 'contact',
): ReportItem {
  return { kind: 'record', object, id, linked, status };
}

const ITEMS: ReportItem[] = [
  record('contact_1', ['salesforce', 'hubspot']),
  record('contact_2', ['salesforce', 'hubspot']),
  record('contact_3', ['hubspot'], 'held'),
  record('contact_4', ['salesforce'], 'deleted'),
  record('contact_5', [], 'merged'),
  record('company_1', ['salesforce', 'hubspot'], 'active', 'company'),
  // One merge of a HubSpot snapshot: two fields, one record change.
  row('edit', 'hubspot', T0 + 5 * 60_000, 'contact_1', 'email'),
  row('edit', 'hubspot', T0 + 5 * 60_000, 'contact_1', 'lastName'),
  // Later, another change of the same record, and one of another record, in the next hour.
  row('edit', 'hubspot', T0 + 65 * 60_000, 'contact_1', 'lastName'),
  row('edit', 'salesforce', T0 + 65 * 60_000, 'contact_2', 'email'),
  row('edit', 'salesforce', T0 + 66 * 60_000, 'company_1', 'name', 'company'),
  // Conflicts: title (prefer:salesforce) twice, lastName (last writer wins) once.
  row('conflict-won', 'salesforce', T0 + 2 * HOUR, 'contact_1', 'title'),
  row('conflict-lost', 'hubspot', T0 + 2 * HOUR, 'contact_2', 'title'),
  row('conflict-won', 'hubspot', T0 + 2 * HOUR, 'contact_2', 'lastName'),
  // What the writers did.
  row('created', 'salesforce', T0 + 5 * 60_000, 'contact_1'),
  row('written', 'hubspot', T0 + 65 * 60_000, 'contact_2'),
  row('written', 'hubspot', T0 + 65 * 60_000, 'contact_1'),
  row('echo', 'salesforce', T0 + 3 * HOUR, 'contact_1'),
  row('echo', 'salesforce', T0 + 3 * HOUR, 'contact_2'),
  row('echo', 'hubspot', T0 + 3 * HOUR, 'contact_1'),
  row('deleted', 'salesforce', T0 + 4 * HOUR, 'contact_4'),
  row('deleted', 'hubspot', T0 + 4 * HOUR, 'contact_4'),
  row('merged', 'hubspot', T0 + 4 * HOUR, 'contact_1'),
  row('merged', 'hubspot', T0 + 4 * HOUR, 'contact_5'),
  row('blocked', 'hubspot', T0 + 4 * HOUR, 'contact_1', 'title'),
  row('ambiguous', 'hubspot', T0 + 4 * HOUR, 'contact_3', 'email'),
  row('write-failed', 'salesforce', T0 + 5 * HOUR, 'contact_3'),
  // Reconciliation's findings.
  row('drift', 'hubspot', T0 + 6 * HOUR, 'contact_1', 'title'),
  row('drift', 'hubspot', T0 + 6 * HOUR, 'contact_2', 'title'),
  row('drift', 'salesforce', T0 + 6 * HOUR, 'company_1', 'name', 'company'),
  // An operator action.
  row('relinked', 'fieldsync', T0 + 7 * HOUR, 'contact_3', 'link'),
  // Outside the period: ignored.
  row('edit', 'hubspot', SINCE - 1, 'contact_1', 'email'),
  row('conflict-won', 'hubspot', UNTIL, 'contact_1', 'email'),
  {
    kind: 'error',
    system: 'salesforce',
    object: 'contact',
    canonicalId: 'contact_3',
    code: 'REQUIRED_FIELD_MISSING',
    at: T0 + 5 * HOUR,
  },
  {
    kind: 'error',
    system: 'salesforce',
    object: 'contact',
    canonicalId: 'contact_9',
    code: 'REQUIRED_FIELD_MISSING',
    at: SINCE - 10 * HOUR,
  },
  {
    kind: 'error',
    system: 'hubspot',
    object: 'company',
    canonicalId: 'company_7',
    code: 'INVALID_DOMAIN',
    at: T0 + HOUR,
  },
  { kind: 'cursor', system: 'hubspot', object: 'contact', updatedAt: T0 + 8 * HOUR },
  { kind: 'cursor', system: 'salesforce', object: 'contact', updatedAt: undefined },
];

const report = summarizeReport(ITEMS, { since: SINCE, until: UNTIL, now: UNTIL, model: MODEL });

function activity(r: AuditReport, object: ObjectType, system: string) {
  const a = r.activity.find((x) => x.object === object && x.system === system);
  if (a === undefined) throw new Error(`no activity for ${object} ${system}`);
  return a;
}

describe('buildReport on constructed audit rows', () => {
  it('is typed and versioned, with the period and the systems (configured first, then other sources)', () => {
    expect(report).toMatchObject({
      kind: 'fieldsync.audit-report',
      version: REPORT_VERSION,
      generatedAt: '2026-11-25T10:30:00.000Z',
      period: { since: '2026-11-24T10:30:00.000Z', until: '2026-11-25T10:30:00.000Z', hours: 24 },
      systems: ['salesforce', 'hubspot', 'fieldsync'],
      objects: ['company', 'contact'],
    });
  });

  it('counts canonical records by status, and live records linked per system', () => {
    expect(report.records).toEqual([
      {
        object: 'company',
        canonical: 1,
        active: 1,
        held: 0,
        deleted: 0,
        quarantined: 0,
        merged: 0,
        forgotten: 0,
        linked: { salesforce: 1, hubspot: 1, fieldsync: 0 },
      },
      {
        object: 'contact',
        canonical: 5,
        active: 2,
        held: 1,
        deleted: 1,
        quarantined: 0,
        merged: 1,
        forgotten: 0,
        // contact_3 (held) counts; the deleted and merged ones do not.
        linked: { salesforce: 2, hubspot: 3, fieldsync: 0 },
      },
    ]);
    expect(report.totals.canonical).toBe(6);
    expect(report.totals.linked).toBe(7);
  });

  it('counts record changes once per merge, field changes per field, and what the writers did', () => {
    expect(activity(report, 'contact', 'hubspot')).toMatchObject({
      changes: 3, // contact_1 twice (two merges), contact_2 once (its lastName conflict won)
      fieldChanges: 4,
      updated: 2,
      created: 0,
      deleted: 1,
      merges: 1,
      echoes: 1,
      conflicts: 2,
      drift: 2,
    });
    expect(activity(report, 'contact', 'salesforce')).toMatchObject({
      changes: 2,
      fieldChanges: 2,
      created: 1,
      deleted: 1,
      echoes: 2,
      conflicts: 1,
      writeFailures: 1,
    });
    expect(activity(report, 'contact', 'hubspot').events).toMatchObject({
      edit: 3,
      'conflict-lost': 1,
      'conflict-won': 1,
      blocked: 1,
      ambiguous: 1,
      merged: 2,
    });
    expect(activity(report, 'contact', 'fieldsync').events).toEqual({ relinked: 1 });
    expect(report.totals).toMatchObject({
      changes: 6,
      fieldChanges: 7,
      created: 1,
      updated: 2,
      deleted: 2,
      merges: 1,
      echoes: 3,
      conflicts: 3,
      drift: 3,
      writeFailures: 1,
      ambiguous: 1,
      errorsParked: 3,
      auditRows: 25,
    });
  });

  it('resolves conflicts by the field policy and by which value was kept, with the top fields', () => {
    expect(report.conflicts.total).toBe(3);
    expect(report.conflicts.byResolution).toEqual([
      { policy: 'lastWriterWins', outcome: 'incoming-won', count: 1 },
      { policy: 'prefer:salesforce', outcome: 'existing-kept', count: 1 },
      { policy: 'prefer:salesforce', outcome: 'incoming-won', count: 1 },
    ]);
    expect(report.conflicts.bySystem).toEqual([
      { system: 'salesforce', won: 1, lost: 0 },
      { system: 'hubspot', won: 1, lost: 1 },
    ]);
    expect(report.conflicts.topFields).toEqual([
      { object: 'contact', field: 'title', policy: 'prefer:salesforce', count: 2, won: 1, lost: 1 },
      { object: 'contact', field: 'lastName', policy: 'lastWriterWins', count: 1, won: 1, lost: 0 },
    ]);
  });

  it('a field the config no longer maps is reported as such, not guessed', () => {
    const r = summarizeReport([row('conflict-won', 'hubspot', T0, 'contact_1', 'fax')], {
      since: SINCE,
      until: UNTIL,
      model: MODEL,
    });
    expect(r.conflicts.byResolution).toEqual([{ policy: 'unmapped', outcome: 'incoming-won', count: 1 }]);
  });

  it('lists parked errors by system, object and vendor code, and write failures in the period', () => {
    expect(report.errors).toEqual({
      parked: 3,
      parkedInPeriod: 2,
      writeFailures: 1,
      bySystem: [
        { system: 'salesforce', parked: 2, writeFailures: 1 },
        { system: 'hubspot', parked: 1, writeFailures: 0 },
      ],
      byCode: [
        { system: 'salesforce', object: 'contact', code: 'REQUIRED_FIELD_MISSING', count: 2 },
        { system: 'hubspot', object: 'company', code: 'INVALID_DOMAIN', count: 1 },
      ],
      byCodeOmitted: 0,
    });
  });

  it('counts drift per system, object and field, and echoes per system', () => {
    expect(report.drift).toEqual({
      total: 3,
      bySystem: [
        { system: 'salesforce', count: 1 },
        { system: 'hubspot', count: 2 },
      ],
      byField: [
        { system: 'hubspot', object: 'contact', field: 'title', count: 2 },
        { system: 'salesforce', object: 'company', field: 'name', count: 1 },
      ],
      byFieldOmitted: 0,
    });
    expect(report.echoes).toEqual({
      total: 3,
      bySystem: [
        { system: 'salesforce', count: 2 },
        { system: 'hubspot', count: 1 },
      ],
    });
  });

  it('buckets syncs per hour on whole UTC hours across the period', () => {
    const { bucketMinutes, buckets } = report.series;
    expect(bucketMinutes).toBe(60);
    // 10:30 to 10:30 the next day touches 25 whole hours.
    expect(buckets).toHaveLength(25);
    expect(buckets[0]?.start).toBe('2026-11-24T10:00:00.000Z');
    expect(buckets.at(-1)?.start).toBe('2026-11-25T10:00:00.000Z');
    expect(buckets[0]).toEqual({
      start: '2026-11-24T10:00:00.000Z',
      changes: { salesforce: 0, hubspot: 1, fieldsync: 0 },
      writes: { salesforce: 1, hubspot: 0, fieldsync: 0 },
    });
    expect(buckets[1]).toEqual({
      start: '2026-11-24T11:00:00.000Z',
      changes: { salesforce: 2, hubspot: 1, fieldsync: 0 },
      writes: { salesforce: 0, hubspot: 2, fieldsync: 0 },
    });
    expect(buckets[2]?.changes).toEqual({ salesforce: 1, hubspot: 1, fieldsync: 0 });
    const changes = buckets.reduce((n, b) => n + Object.values(b.changes).reduce((m, v) => m + v, 0), 0);
    expect(changes).toBe(report.totals.changes);
  });

  it('uses day buckets beyond a week, and refuses an empty or inverted period', () => {
    const month = summarizeReport([], { since: UNTIL - 30 * 24 * HOUR, until: UNTIL });
    expect(month.series.bucketMinutes).toBe(1440);
    expect(month.series.buckets).toHaveLength(31);
    expect(summarizeReport([], { since: UNTIL - 7 * 24 * HOUR, until: UNTIL }).series.bucketMinutes).toBe(60);
    expect(() => summarizeReport([], { since: UNTIL, until: UNTIL })).toThrow(ReportError);
    expect(() => summarizeReport([], { since: UNTIL + 1, until: UNTIL })).toThrow(/not before/);
  });

  it('an empty state gives zero counts, every configured object, and empty lists', () => {
    const empty = summarizeReport([], { since: SINCE, until: UNTIL, model: MODEL });
    expect(empty.systems).toEqual(['salesforce', 'hubspot']);
    expect(empty.objects).toEqual(['company', 'contact']);
    expect(empty.activity).toEqual([]);
    expect(Object.values(empty.totals).every((v) => v === 0)).toBe(true);
    expect(empty.series.buckets.every((b) => Object.values(b.changes).every((v) => v === 0))).toBe(true);
  });
});

describe('the store: one projected Scan, no field values', () => {
  let server: ReturnType<typeof dynalite>;
  let client: DynamoDBClient;
  let store: DynamoStore;
  const PII = 'jane.doe@example.com';

  beforeAll(async () => {
    server = dynalite({ createTableMs: 0 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await ensureTable(client, 'fieldsync-report');
    store = new DynamoStore('fieldsync-report', client);
    await store.putRecord({
      id: 'contact_1',
      object: 'contact',
      version: 1,
      fields: { email: { value: PII, source: 'hubspot', sourceTime: T0, seenAt: T0 } },
      links: { hubspot: '501', salesforce: '003A' },
      shadows: { hubspot: { values: { email: PII }, asOf: T0 } },
    });
    await store.putError({
      system: 'salesforce',
      object: 'contact',
      canonicalId: 'contact_1',
      code: 'INVALID_EMAIL_ADDRESS',
      message: `invalid email: ${PII}`,
      at: T0 + HOUR,
    });
    await store.putCursor('hubspot', 'contact', { after: T0 });
    const audit = (at: number, reason: AuditRow['reason']): AuditRow => ({
      canonicalId: 'contact_1',
      object: 'contact',
      at,
      field: 'email',
      old: 'old.address@example.com',
      new: PII,
      kept: PII,
      source: 'hubspot',
      sourceTime: at,
      reason,
    });
    await store.appendAudit([
      audit(T0 + HOUR, 'edit'),
      audit(T0 + 2 * HOUR, 'conflict-won'),
      audit(SINCE - 1, 'edit'),
      audit(UNTIL, 'edit'),
    ]);
    await store.putMeta('config', 'fingerprint');
  });

  afterAll(async () => {
    client?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('reads records, errors, cursors and the period audit rows in one Scan, without values or messages', async () => {
    const items: ReportItem[] = [];
    const before = store.requests.Scan ?? 0;
    await store.scanReport({ since: SINCE, until: UNTIL }, (i) => items.push(i));
    expect((store.requests.Scan ?? 0) - before).toBe(1);
    expect(items.map((i) => i.kind).sort()).toEqual(['audit', 'audit', 'cursor', 'error', 'record']);
    expect(JSON.stringify(items)).not.toContain('example.com');
    expect(items.find((i) => i.kind === 'record')).toEqual({
      kind: 'record',
      object: 'contact',
      id: 'contact_1',
      linked: ['hubspot', 'salesforce'],
      status: 'active',
    });
    expect(items.find((i) => i.kind === 'cursor')).toMatchObject({ system: 'hubspot', object: 'contact' });
  });

  it('buildReport over the store holds counts, ids and names only', async () => {
    const r = await buildReport(store, { since: SINCE, until: UNTIL, now: UNTIL });
    expect(r.totals).toMatchObject({ canonical: 1, changes: 2, conflicts: 1, errorsParked: 1, auditRows: 2 });
    expect(r.errors.byCode).toEqual([
      { system: 'salesforce', object: 'contact', code: 'INVALID_EMAIL_ADDRESS', count: 1 },
    ]);
    expect(JSON.stringify(r)).not.toContain('example.com');
  });

  it('the report function logs one `audit report` line and publishes EMF metrics per system', async () => {
    const lines: { message: string; extra: Record<string, unknown> }[] = [];
    const emitted = await captureStdout(async () => {
      const handler = createReportHandler({
        store,
        model: MODEL,
        now: () => UNTIL,
        logger: { info: (message, extra) => lines.push({ message, extra }) },
        metrics: new Metrics({ namespace: 'fieldsync-test', serviceName: 'fieldsync' }),
      });
      const r = await handler({ source: 'aws.scheduler' });
      expect(r.period).toMatchObject({ since: '2026-11-24T10:30:00.000Z', hours: 24 });
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.message).toBe('audit report');
    const logged = lines[0]?.extra.report as AuditReport;
    expect(logged.totals).toMatchObject({ changes: 2, conflicts: 1, errorsParked: 1 });
    expect(JSON.stringify(lines)).not.toContain('example.com');

    const blobs = emitted.map((l): Record<string, unknown> => JSON.parse(l));
    const total = blobs.find((b) => b.system === undefined);
    expect(total).toMatchObject({ ReportConflicts: 1, ReportErrors: 1, ReportDrift: 0, ReportChanges: 2 });
    const hubspot = blobs.find((b) => b.system === 'hubspot');
    expect(hubspot).toMatchObject({ ReportChanges: 2, ReportConflicts: 1, ReportLinkedRecords: 1 });
    const salesforce = blobs.find((b) => b.system === 'salesforce');
    expect(salesforce).toMatchObject({ ReportErrors: 1, ReportLinkedRecords: 1 });
    const aws = hubspot?._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0]?.Namespace).toBe('fieldsync-test');
    expect(aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('system');
  });
});

async function captureStdout(fn: () => Promise<void>): Promise<string[]> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  try {
    await fn();
  } finally {
    process.stdout.write = original;
  }
  return chunks
    .join('')
    .split('\n')
    .filter((l) => l.trim().startsWith('{'));
}

describe('report metrics', () => {
  it('totals without a dimension, then one group per system with activity, links or errors', () => {
    const groups = reportMetrics(report);
    expect(groups.map((g) => g.system)).toEqual(['', 'salesforce', 'hubspot', 'fieldsync']);
    expect(groups[0]?.values).toMatchObject({
      ReportConflicts: 3,
      ReportErrors: 3,
      ReportDrift: 3,
      ReportEchoes: 3,
    });
    expect(groups[1]?.values).toMatchObject({
      ReportLinkedRecords: 3,
      ReportRecordsCreated: 1,
      ReportWriteFailures: 1,
      ReportErrors: 2,
      ReportDrift: 1,
    });
    expect(groups[2]?.values).toMatchObject({ ReportRecordsUpdated: 2, ReportMerges: 1, ReportDrift: 2 });
  });

  it('publishes one EMF blob per group', async () => {
    const lines = await captureStdout(async () => {
      publishReportMetrics(new Metrics({ namespace: 'fieldsync-test', serviceName: 'fieldsync' }), report);
    });
    expect(lines).toHaveLength(reportMetrics(report).length);
  });
});

describe('the report function period', () => {
  it('REPORT_PERIOD_HOURS, default 24, a positive number of hours within the audit TTL', () => {
    expect(reportPeriodMs({})).toBe(24 * HOUR);
    expect(reportPeriodMs({ REPORT_PERIOD_HOURS: '6' })).toBe(6 * HOUR);
    expect(reportPeriodMs({ REPORT_PERIOD_HOURS: '0.5' })).toBe(HOUR / 2);
    for (const bad of ['0', '-1', 'day', '9601'])
      expect(() => reportPeriodMs({ REPORT_PERIOD_HOURS: bad })).toThrow(/REPORT_PERIOD_HOURS must be/);
  });
});

describe('fieldsync report arguments', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('--since takes a duration or an ISO time in the past', () => {
    expect(parseSince('24h', now)).toBe(now - 24 * HOUR);
    expect(parseSince('7d', now)).toBe(now - 7 * 24 * HOUR);
    expect(parseSince('90m', now)).toBe(now - 90 * 60_000);
    expect(parseSince('2026-11-24', now)).toBe(Date.parse('2026-11-24T00:00:00Z'));
    expect(parseSince('2026-11-24T10:00:00Z', now)).toBe(Date.parse('2026-11-24T10:00:00Z'));
    expect(() => parseSince('yesterday', now)).toThrow(ConfigError);
    expect(() => parseSince('0h', now)).toThrow(/positive/);
    expect(() => parseSince('2026-13-45', now)).toThrow(/expected a duration/);
    expect(() => parseSince('2027-01-01', now)).toThrow(/not in the past/);
  });

  it('--html takes an optional file name', () => {
    expect(parseReportArgs([])).toEqual({ since: '24h', json: false, html: undefined });
    expect(parseReportArgs(['--html'])).toEqual({ since: '24h', json: false, html: 'fieldsync-report.html' });
    expect(parseReportArgs(['--html', 'out.html', '--since', '7d'])).toEqual({
      since: '7d',
      json: false,
      html: 'out.html',
    });
    expect(parseReportArgs(['--html', '--json'])).toEqual({
      since: '24h',
      json: true,
      html: 'fieldsync-report.html',
    });
    expect(parseReportArgs(['--html=a.html'])).toMatchObject({ html: 'a.html' });
    expect(() => parseReportArgs(['--bogus'])).toThrow();
  });
});

describe('fieldsync report in the terminal', () => {
  it('prints records, activity, conflicts, errors by code, drift with readable field names, busy hours', () => {
    const withMissing = summarizeReport(
      [
        ...ITEMS,
        row('drift', 'salesforce', T0 + HOUR, 'contact_2', '*'),
        row('drift', 'hubspot', T0 + HOUR, 'contact_4', 'link'),
      ],
      { since: SINCE, until: UNTIL, now: UNTIL, model: MODEL },
    );
    const lines: string[] = [];
    formatReport(withMissing, (l) => lines.push(l));
    expect(lines[0]).toBe(
      'fieldsync audit report: 2026-11-24T10:30:00.000Z to 2026-11-25T10:30:00.000Z (24 h)',
    );
    expect(lines).toContain('records now');
    expect(lines.find((l) => l.startsWith('  contact  '))).toMatch(
      /^ {2}contact +5 +2 +1 +1 +0 +1 +0 +2 +3 +0$/,
    );
    expect(lines).toContain('3 conflicts (one field edited in two systems within the skew window)');
    expect(lines.some((l) => /^ {2}prefer:salesforce +earlier value kept +1$/.test(l))).toBe(true);
    expect(lines).toContain('3 sync errors parked (2 in the period), 1 write failure in the period');
    expect(lines.some((l) => /^ {2}salesforce +contact +REQUIRED_FIELD_MISSING +2$/.test(l))).toBe(true);
    expect(lines).toContain('5 drifting fields found by reconciliation');
    expect(lines.some((l) => /^ {2}salesforce +contact \(record missing\) +1$/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}hubspot +contact \(not linked\) +1$/.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}2026-11-24 11:00 +2 \/ 0 +1 \/ 2 +0 \/ 0$/.test(l))).toBe(true);
    expect(driftFieldLabel('company', 'name')).toBe('company.name');
  });

  it('says so for an empty state', () => {
    const lines: string[] = [];
    formatReport(summarizeReport([], { since: SINCE, until: UNTIL }), (l) => lines.push(l), '/tmp/state');
    expect(lines).toEqual([
      'fieldsync audit report: 2026-11-24T10:30:00.000Z to 2026-11-25T10:30:00.000Z (24 h)',
      'The state in /tmp/state holds no records, errors or audit rows yet: run fieldsync sync --once first.',
    ]);
  });
});

describe('the HTML page', () => {
  it('is self-contained, escapes names, and draws one bar per non-zero value', () => {
    const hostile = summarizeReport(
      [
        ...ITEMS,
        {
          kind: 'error',
          system: 'hubspot',
          object: 'contact',
          canonicalId: 'contact_1',
          code: '<script>alert(1)</script>',
          at: T0,
        },
      ],
      { since: SINCE, until: UNTIL, now: UNTIL, model: MODEL },
    );
    const html = renderReportHtml(hostile);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain(`default-src 'none'`);
    // No URL but the SVG namespace.
    expect(new Set(html.match(/https?:\/\/[^"\s)]+/g))).toEqual(new Set(['http://www.w3.org/2000/svg']));
    for (const chart of reportCharts(hostile)) {
      const svg = barChart(chart);
      const bars = svg.match(/<rect class="bar"/g) ?? [];
      const nonZero = chart.series.flatMap((s) => s.values).filter((v) => v > 0).length;
      expect(bars.length, chart.id).toBe(nonZero);
      expect(svg).toContain(`<title id="${chart.id}-title">`);
    }
  });

  it('charts with no data say so', () => {
    const html = renderReportHtml(
      summarizeReport([record('contact_1', ['hubspot'])], { since: SINCE, until: UNTIL }),
    );
    expect(html).toContain('No syncs in this period');
    expect(html).toContain('No conflicts in this period');
    expect(html).toContain('No sync errors');
    expect(html).toContain('No drift found in this period');
    expect(html).toContain('No sync activity in this period.');
    expect(html).not.toContain('class="bar"');
  });

  it('scales to 1, 2 or 5 times a power of ten', () => {
    expect(niceScale(0)).toEqual({ top: 1, ticks: [0, 1] });
    expect(niceScale(3)).toEqual({ top: 5, ticks: [0, 1, 2, 3, 4, 5] });
    expect(niceScale(17).top).toBe(20);
    expect(niceScale(17).ticks).toEqual([0, 4, 8, 12, 16, 20]);
    expect(niceScale(101).top).toBe(200);
  });
});
