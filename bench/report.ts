// The bench report: its shape (JSON keys carry their units), each figure against its design budget
// (../shared/DESIGN.md "Budgets"), and the terminal tables.

import type { BundleReport } from './bundles.ts';
import type { BurstReport } from './burst.ts';
import type { RateBudgetReport } from './rate-budget.ts';
import type { StageMemory } from './stats.ts';
import type { StreamReport } from './stream.ts';

export interface WriteFigures {
  records_written: number;
  write_calls: number;
  /** One call per `batch_size` records written (creates and updates counted together). */
  ideal_write_calls: number;
  records_per_write_call: number;
  /** A naive writer: one call per record written (computed, not run, for the backfill). */
  naive_write_calls: number;
  /** Every API call of the backfill by the connector's kind (query, search, write:upsert, ...). */
  calls_by_kind: Record<string, number>;
}

export interface BenchReport {
  command: string;
  seed: number;
  machine: {
    cpus: number;
    cpu_model: string;
    node_version: string;
    memory_total_gb: number;
    load_avg_before: number[];
    load_avg_after: number[];
  };
  size: {
    people: number;
    salesforce_records: number;
    hubspot_records: number;
    salesforce_by_object: Record<string, number>;
    hubspot_by_object: Record<string, number>;
  };
  backfill: {
    duration_s: number;
    records_per_s: number;
    changes_ingested: number;
    /** Write failures parked as errors and messages that failed (summary errors). */
    errors: number;
    /** Messages retrying forever when the backfill settled (e.g. a reference that never links). */
    stuck_messages: number;
    /** Records per object in each system after the backfill, and what a correct sync leaves. */
    records_after: { salesforce: Record<string, number>; hubspot: Record<string, number> };
    expected_records_after: { salesforce: Record<string, number>; hubspot: Record<string, number> };
    salesforce: WriteFigures & {
      records_read: number;
      query_calls: number;
      /** One query page per 2,000 rows, at least one query per synced object. */
      ideal_query_calls: number;
      other_read_calls: number;
    };
    hubspot: WriteFigures & {
      records_read: number;
      read_calls: number;
      /** At HubSpot's ten-secondly limit (190), one call per record would take at least this long. */
      naive_min_duration_s: number;
    };
    dynamodb_requests: number;
    dynamodb_requests_per_change: number;
    dynamodb_by_operation: Record<string, number>;
  };
  echo_cycle: { duration_s: number; write_calls: number };
  quiet_cycle: { duration_s: number; write_calls: number };
  /** Bursts of edits on both sides, one sync cycle, against the naive writer for the same records:
   * on loopback, then with a latency added to every API call. */
  batched_vs_naive: BurstReport[];
  latency: {
    webhooks: StreamReport;
    polling: StreamReport;
    /**
     * The SQS batching windows the CDK event sources add on AWS (lib/constructs/sync-functions.ts);
     * with light traffic a message can wait the whole window at each hop. Locally there are none.
     */
    aws_batching_windows_ms: { salesforce_to_hubspot: number; hubspot_to_salesforce: number };
  };
  rate_budget_hubspot: RateBudgetReport;
  engine: { field_merges_per_s_one_core: number };
  memory: { stages: Record<string, StageMemory>; process_max_rss_mb: number };
  bundles: BundleReport[];
  checks: Check[];
  duration_s: number;
}

export interface Check {
  name: string;
  value: string;
  budget: string;
  /** 'info' when the design gives no number to hold it to. */
  result: 'pass' | 'fail' | 'info';
}

const fmt = (n: number) => n.toLocaleString('en-US');
const verdict = (ok: boolean): Check['result'] => (ok ? 'pass' : 'fail');

/**
 * Writes near the ideal: at most 25 % over one call per batch of records, plus one partial call per
 * object and operation (creates and updates of three objects go to different calls).
 */
export function nearIdeal(calls: number, ideal: number): boolean {
  return calls <= Math.ceil(ideal * 1.25) + 6;
}

/** Each figure next to its budget (DESIGN.md "Budgets"), pass or fail. */
export function evaluate(r: Omit<BenchReport, 'checks' | 'duration_s'>): Check[] {
  const b = r.backfill;
  const checks: Check[] = [];
  const writes = (system: 'salesforce' | 'hubspot', per: number) => {
    const w = b[system];
    checks.push({
      name: `backfill ${system} write calls`,
      value: `${fmt(w.write_calls)} (${w.records_per_write_call} records/call)`,
      budget: `~1 per ${per} records: ${fmt(w.ideal_write_calls)}`,
      result: verdict(nearIdeal(w.write_calls, w.ideal_write_calls)),
    });
  };
  writes('hubspot', 100);
  writes('salesforce', 200);
  checks.push({
    name: 'backfill salesforce query calls',
    value: fmt(b.salesforce.query_calls),
    budget: `~1 per 2,000 records: ${fmt(b.salesforce.ideal_query_calls)}`,
    result: verdict(b.salesforce.query_calls <= Math.ceil(b.salesforce.ideal_query_calls * 1.25)),
  });
  const dupes = (['salesforce', 'hubspot'] as const).flatMap((system) =>
    Object.entries(b.expected_records_after[system]).flatMap(([object, want]) => {
      const got = b.records_after[system][object] ?? 0;
      return got === want ? [] : [`${system} ${object} ${fmt(got)}/${fmt(want)}`];
    }),
  );
  checks.push({
    name: 'backfill: every record once on each side',
    value: dupes.length === 0 ? 'all counts as expected' : dupes.join(', '),
    budget: 'no duplicates, nothing missing',
    result: verdict(dupes.length === 0),
  });
  checks.push({
    name: 'backfill: errors, messages retrying for good',
    value: `${fmt(b.errors)}, ${fmt(b.stuck_messages)}`,
    budget: '0, 0',
    result: verdict(b.errors === 0 && b.stuck_messages === 0),
  });
  checks.push({
    name: 'backfill throughput',
    value: `${fmt(b.records_per_s)} records/s`,
    budget: 'none set',
    result: 'info',
  });
  checks.push({
    name: 'dynamodb requests per change (burst)',
    value: String(r.batched_vs_naive[0]?.ours.dynamodb_requests_per_change ?? 0),
    budget: '~1 read + 1 write + audit rows',
    result: 'info',
  });
  checks.push({
    name: 'echo and quiet cycles: write calls',
    value: `${r.echo_cycle.write_calls} and ${r.quiet_cycle.write_calls}`,
    budget: '0',
    result: verdict(r.echo_cycle.write_calls === 0 && r.quiet_cycle.write_calls === 0),
  });
  for (const nv of r.batched_vs_naive) {
    const ours = sumValues(nv.ours.write_calls);
    const naive = sumValues(Object.fromEntries(Object.entries(nv.naive).map(([k, v]) => [k, v.records])));
    const naiveSeconds = sumValues(
      Object.fromEntries(Object.entries(nv.naive).map(([k, v]) => [k, v.duration_s])),
    );
    checks.push({
      name: `burst of ${nv.edits_per_side}/side${nv.api_latency_ms > 0 ? ` (+${nv.api_latency_ms} ms per API call)` : ''}: write calls, ours vs naive`,
      value: `${fmt(ours)} vs ${fmt(naive)} (${nv.write_call_ratio.total}x); ${nv.ours.duration_s} s vs ${Math.round(naiveSeconds * 10) / 10} s`,
      budget: `~1 per 100 (HubSpot) / 200 (Salesforce) records: ${nv.ours.ideal_write_calls}`,
      result: verdict(ours <= 2 * nv.ours.ideal_write_calls && nv.arrived === 2 * nv.edits_per_side),
    });
  }
  const wh = r.latency.webhooks;
  checks.push({
    name: `edit -> other system's write, webhooks (p99 of ${wh.samples})`,
    value: `${fmt(wh.p99_ms)} ms (p50 ${fmt(wh.p50_ms)}, p95 ${fmt(wh.p95_ms)}), ${wh.timeouts} lost`,
    budget: '< 2,000 ms',
    result: verdict(wh.p99_ms < 2000 && wh.timeouts === 0 && wh.samples > 0),
  });
  const windows = r.latency.aws_batching_windows_ms;
  const worst = Math.max(windows.salesforce_to_hubspot, windows.hubspot_to_salesforce);
  checks.push({
    name: 'same on AWS, estimate: p99 + SQS batching windows',
    value: `up to ${fmt(wh.p99_ms + worst)} ms (windows ${fmt(windows.salesforce_to_hubspot)} / ${fmt(windows.hubspot_to_salesforce)} ms)`,
    budget: '< 2,000 ms',
    result: verdict(wh.p99_ms + worst < 2000),
  });
  const pl = r.latency.polling;
  const interval = pl.poll_interval_ms ?? 0;
  checks.push({
    name: `edit -> other system's write, polling every ${fmt(interval)} ms (p99 of ${pl.samples})`,
    value: `${fmt(pl.p99_ms)} ms (p50 ${fmt(pl.p50_ms)}, p95 ${fmt(pl.p95_ms)}), ${pl.timeouts} lost`,
    budget: `one interval + 2 s: <= ${fmt(interval + 2000)} ms`,
    result: verdict(pl.p99_ms <= interval + 2000 && pl.timeouts === 0 && pl.samples > 0),
  });
  const rb = r.rate_budget_hubspot;
  checks.push({
    name: `hubspot rate limit (${rb.limit_per_10s}/10 s), paced batch writes`,
    value: `${rb.share_used_pct}% of the budget used, ${rb.responses_429} 429s`,
    budget: 'respect the limit: no 429',
    result: verdict(rb.responses_429 === 0),
  });
  checks.push({
    name: 'engine field merges/s (one core)',
    value: fmt(r.engine.field_merges_per_s_one_core),
    budget: 'none set',
    result: 'info',
  });
  const webhook = r.bundles.find((x) => x.function === 'webhook');
  const writers = r.bundles.filter((x) => x.function.startsWith('write-') && x.error === undefined);
  if (webhook !== undefined && writers.length > 0) {
    const smallest = Math.min(...writers.map((x) => x.bytes));
    checks.push({
      name: 'webhook bundle',
      value: `${fmt(Math.round(webhook.bytes / 1000))} kB, ${webhook.saas_clients.length === 0 ? 'no SaaS client' : webhook.saas_clients.join(', ')}, ${Math.round((100 * webhook.bytes) / smallest)}% of the smallest writer`,
      budget: 'small: no SaaS client, <= 50% of a writer',
      result: verdict(
        webhook.error === undefined && webhook.saas_clients.length === 0 && webhook.bytes <= smallest / 2,
      ),
    });
  }
  for (const x of r.bundles.filter((x) => x.error !== undefined))
    checks.push({
      name: `bundle ${x.function}`,
      value: x.error ?? '',
      budget: 'builds and imports',
      result: 'fail',
    });
  return checks;
}

function sumValues(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

function table(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const [head, ...body] = rows;
  return [line(head ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
}

/** The terminal report: the run, the budget checks, then stages, bundles and the naive comparison. */
export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`fieldsync bench: ${r.command}`);
  out.push(
    `data: ${fmt(r.size.people)} people, ${fmt(r.size.salesforce_records)} Salesforce and ${fmt(r.size.hubspot_records)} HubSpot records (seed ${r.seed})`,
  );
  out.push(
    `machine: ${m.cpus} cpus (${m.cpu_model}), ${m.memory_total_gb} GB, node ${m.node_version}; load ${m.load_avg_before.join(' ')} before, ${m.load_avg_after.join(' ')} after; ${r.duration_s} s`,
  );
  out.push('');
  out.push(
    ...table([
      ['check', 'value', 'budget', 'result'],
      ...r.checks.map((c) => [c.name, c.value, c.budget, c.result]),
    ]),
  );
  out.push('');
  const b = r.backfill;
  out.push(
    ...table(
      [
        ['backfill', 'salesforce', 'hubspot'],
        ['records read', fmt(b.salesforce.records_read), fmt(b.hubspot.records_read)],
        [
          'read calls',
          `${fmt(b.salesforce.query_calls)} query + ${fmt(b.salesforce.other_read_calls)} other`,
          fmt(b.hubspot.read_calls),
        ],
        ['records written', fmt(b.salesforce.records_written), fmt(b.hubspot.records_written)],
        [
          'write calls (ideal)',
          `${fmt(b.salesforce.write_calls)} (${fmt(b.salesforce.ideal_write_calls)})`,
          `${fmt(b.hubspot.write_calls)} (${fmt(b.hubspot.ideal_write_calls)})`,
        ],
        [
          'naive write calls',
          fmt(b.salesforce.naive_write_calls),
          `${fmt(b.hubspot.naive_write_calls)} (>= ${fmt(b.hubspot.naive_min_duration_s)} s at 190/10 s)`,
        ],
      ],
      new Set([1, 2]),
    ),
  );
  out.push(
    `${b.duration_s} s, ${fmt(b.records_per_s)} records/s, ${fmt(b.changes_ingested)} changes ingested, ${fmt(b.dynamodb_requests)} DynamoDB requests (${b.dynamodb_requests_per_change} per change), ${b.errors} errors`,
  );
  const kinds = (calls: Record<string, number>) =>
    Object.entries(calls)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
  out.push(`salesforce calls: ${kinds(b.salesforce.calls_by_kind)}`);
  out.push(`hubspot calls: ${kinds(b.hubspot.calls_by_kind)}`);
  out.push('');
  for (const nv of r.batched_vs_naive) {
    const latency = nv.api_latency_ms > 0 ? `, +${nv.api_latency_ms} ms per API call` : ', loopback';
    const rows = [[`burst${latency}`, 'write calls', 'all API calls', 'seconds', 'records/s']];
    rows.push([
      `ours (${nv.edits_per_side}/side, edits to last arrival)`,
      fmt(sumValues(nv.ours.write_calls)),
      fmt(sumValues(nv.ours.api_calls)),
      String(nv.ours.duration_s),
      fmt(nv.ours.records_per_s),
    ]);
    for (const [system, n] of Object.entries(nv.naive))
      rows.push([
        `naive, into ${system}`,
        fmt(n.records),
        fmt(n.calls),
        String(n.duration_s),
        fmt(n.records_per_s),
      ]);
    out.push(...table(rows, new Set([1, 2, 3, 4])));
    out.push(
      `naive/ours: ${nv.write_call_ratio.total}x the write calls (${Object.entries(nv.write_call_ratio)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => `${k} ${v}x`)
        .join(', ')}), ${nv.duration_ratio}x the time`,
    );
    out.push('');
  }
  const streams = [
    [
      'stream',
      'edits',
      'rate/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'lost',
      'write calls/edit',
      'API calls/edit',
    ],
  ];
  for (const [name, s] of Object.entries({ webhooks: r.latency.webhooks, polling: r.latency.polling })) {
    const label = name === 'polling' ? `polling every ${s.poll_interval_ms} ms` : name;
    streams.push([
      label,
      String(s.samples),
      String(s.rate_per_s),
      fmt(s.p50_ms),
      fmt(s.p95_ms),
      fmt(s.p99_ms),
      fmt(s.max_ms),
      String(s.timeouts),
      String(s.write_calls_per_edit),
      String(s.api_calls_per_edit),
    ]);
    for (const [dir, p] of [
      ['  salesforce -> hubspot', s.salesforce_to_hubspot],
      ['  hubspot -> salesforce', s.hubspot_to_salesforce],
    ] as const)
      streams.push([
        dir,
        String(p.samples),
        '',
        fmt(p.p50_ms),
        fmt(p.p95_ms),
        fmt(p.p99_ms),
        fmt(p.max_ms),
        '',
        '',
        '',
      ]);
  }
  out.push(...table(streams, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9])));
  out.push('');
  out.push(
    ...table(
      [
        ['stage', 'seconds', 'peak RSS MB', 'peak heap MB'],
        ...Object.entries(r.memory.stages).map(([k, v]) => [
          k,
          String(v.duration_s),
          fmt(v.rss_peak_mb),
          fmt(v.heap_used_peak_mb),
        ]),
      ],
      new Set([1, 2, 3]),
    ),
  );
  out.push(`process max RSS ${fmt(r.memory.process_max_rss_mb)} MB`);
  if (r.bundles.length > 0) {
    out.push('');
    out.push(
      ...table(
        [
          ['function', 'bundle kB', 'gzip kB', 'cold import ms', 'SaaS clients', 'largest packages'],
          ...r.bundles.map((x) => [
            x.function,
            fmt(Math.round(x.bytes / 1000)),
            fmt(Math.round(x.gzip_bytes / 1000)),
            x.error === undefined ? fmt(x.cold_import_ms) : 'error',
            x.saas_clients.join(', ') || '-',
            x.top_packages
              .slice(0, 3)
              .map((p) => `${p.package} ${Math.round(p.bytes / 1000)}`)
              .join(', '),
          ]),
        ],
        new Set([1, 2, 3]),
      ),
    );
  }
  return out.join('\n');
}
