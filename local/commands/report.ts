// fieldsync report [--since 24h|7d|<ISO time>] [--json] [--html [file]]: the audit report of the
// local state (the one the daily report function logs on AWS), as terminal tables, JSON, or a
// self-contained HTML page with charts.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../runtime/config.ts';
import { type AuditReport, buildReport, isEmptyReport } from '../../runtime/report.ts';
import {
  activityCounts,
  driftFieldLabel,
  recordsTable,
  renderReportHtml,
} from '../../runtime/report-html.ts';
import { cliConfig } from '../cli.ts';
import { type Out, plural, table } from './format.ts';
import { stateDirOf, withState } from './state.ts';

export const DEFAULT_HTML_FILE = 'fieldsync-report.html';
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `24h`, `7d`, `90m`, or an ISO date/time (`2026-11-24`, `2026-11-24T10:00:00Z`): the start of the period. */
export function parseSince(text: string, now: number): number {
  const trimmed = text.trim();
  const duration = /^(\d+)\s*([mhd])$/.exec(trimmed);
  if (duration !== null) {
    const amount = Number(duration[1]);
    const unit = duration[2] as keyof typeof UNIT_MS;
    if (amount <= 0) throw new ConfigError(`report: --since '${text}' must be a positive duration`);
    return now - amount * UNIT_MS[unit];
  }
  const at = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed)
    ? Date.parse(trimmed)
    : Number.NaN;
  if (Number.isNaN(at))
    throw new ConfigError(
      `report: --since '${text}': expected a duration such as 24h, 7d or 90m, or an ISO time such as 2026-11-24T10:00:00Z`,
    );
  if (at >= now) throw new ConfigError(`report: --since ${new Date(at).toISOString()} is not in the past`);
  return at;
}

export interface ReportArgs {
  since: string;
  json: boolean;
  /** The HTML file to write, when --html was given. */
  html: string | undefined;
}

/** `--html` takes an optional file: the next argument unless it is another option. */
export function parseReportArgs(args: readonly string[]): ReportArgs {
  const rest: string[] = [];
  let html: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--html') {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        html = next;
        i++;
      } else html = DEFAULT_HTML_FILE;
    } else if (a.startsWith('--html=')) {
      html = a.slice('--html='.length);
      if (html === '') throw new ConfigError('report: --html= needs a file name');
    } else rest.push(a);
  }
  const { values } = parseArgs({
    args: rest,
    options: { since: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  return { since: values.since ?? '24h', json: values.json === true, html };
}

export async function runReport(args: readonly string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const parsed = parseReportArgs(args);
  const now = Date.now();
  const since = parseSince(parsed.since, now);
  const config = await cliConfig(env);
  const dir = stateDirOf(env);
  const report = await withState(dir, {}, (s) =>
    buildReport(s.store, { since, until: now, now, model: config.model }),
  );
  if (parsed.html !== undefined) {
    const path = resolve(parsed.html);
    writeFileSync(path, renderReportHtml(report));
    // With --json, stdout stays one JSON document.
    (parsed.json ? console.error : out)(`wrote ${path}`);
  }
  if (parsed.json) out(JSON.stringify(report, null, 2));
  else if (parsed.html === undefined) formatReport(report, out, dir);
  return 0;
}

function counts(entries: readonly { system: string; count: number }[]): string {
  return entries.map((e) => `${e.system} ${e.count}`).join(', ');
}

export function formatReport(report: AuditReport, out: Out, dir = ''): void {
  const { period, totals } = report;
  out(`fieldsync audit report: ${period.since} to ${period.until} (${period.hours} h)`);
  if (isEmptyReport(report)) {
    out(
      `The state${dir === '' ? '' : ` in ${dir}`} holds no records, errors or audit rows yet: run fieldsync sync --once first.`,
    );
    return;
  }
  out('');
  out('records now');
  for (const l of table(...recordsTable(report))) out(l);
  out('');
  if (totals.auditRows === 0) {
    out('No sync activity in this period.');
  } else {
    out('activity in the period, by the system it happened in');
    for (const l of table(
      [
        'object',
        'system',
        'changes',
        'fields',
        'created',
        'updated',
        'deleted',
        'merges',
        'echoes',
        'conflicts',
        'drift',
        'failed',
      ],
      report.activity.map((a) => [a.object, a.system, ...activityCounts(a)]),
    ))
      out(l);
  }
  out('');
  out(
    `${plural(report.conflicts.total, 'conflict')} (one field edited in two systems within the skew window)`,
  );
  if (report.conflicts.total > 0) {
    for (const l of table(
      ['policy', 'resolution', 'count'],
      report.conflicts.byResolution.map((c) => [
        c.policy,
        c.outcome === 'incoming-won' ? 'later edit won' : 'earlier value kept',
        String(c.count),
      ]),
    ))
      out(l);
    out('  top fields:');
    for (const l of table(
      ['field', 'policy', 'conflicts', 'won', 'kept'],
      report.conflicts.topFields.map((f) => [
        `${f.object}.${f.field}`,
        f.policy,
        String(f.count),
        String(f.won),
        String(f.lost),
      ]),
      '    ',
    ))
      out(l);
  }
  out('');
  const e = report.errors;
  out(
    `${plural(e.parked, 'sync error')} parked (${e.parkedInPeriod} in the period), ${plural(e.writeFailures, 'write failure')} in the period`,
  );
  if (e.byCode.length > 0)
    for (const l of table(
      ['system', 'object', 'code', 'records'],
      e.byCode.map((c) => [c.system, c.object, c.code, String(c.count)]),
    ))
      out(l);
  if (e.byCodeOmitted > 0) out(`  ... and ${e.byCodeOmitted} more codes (--json)`);
  out('');
  out(
    `${plural(report.echoes.total, 'echo', 'echoes')} suppressed${report.echoes.total > 0 ? ` (${counts(report.echoes.bySystem)})` : ''}`,
  );
  out(`${plural(report.drift.total, 'drifting field')} found by reconciliation`);
  if (report.drift.byField.length > 0)
    for (const l of table(
      ['system', 'field', 'findings'],
      report.drift.byField.map((d) => [d.system, driftFieldLabel(d.object, d.field), String(d.count)]),
    ))
      out(l);
  if (report.drift.byFieldOmitted > 0) out(`  ... and ${report.drift.byFieldOmitted} more fields (--json)`);

  const active = report.series.buckets.filter((b) =>
    report.systems.some((s) => (b.changes[s] ?? 0) > 0 || (b.writes[s] ?? 0) > 0),
  );
  if (active.length > 0) {
    const unit = report.series.bucketMinutes < 1440 ? 'hour' : 'day';
    out('');
    out(
      `syncs per ${unit} (UTC; record changes merged from / records written to each system; busy ${unit}s only)`,
    );
    for (const l of table(
      [unit, ...report.systems.map((s) => s)],
      active.map((b) => [
        b.start.slice(0, unit === 'hour' ? 16 : 10).replace('T', ' '),
        ...report.systems.map((s) => `${b.changes[s] ?? 0} / ${b.writes[s] ?? 0}`),
      ]),
    ))
      out(l);
  }
  if (report.cursors.length > 0) {
    out('');
    out('pollers (cursor last advanced)');
    for (const l of table(
      ['system', 'object', 'updated'],
      report.cursors.map((c) => [c.system, c.object, c.updatedAt ?? 'never']),
    ))
      out(l);
  }
}
