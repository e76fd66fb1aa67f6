// fieldsync benchmark: initial backfill through the embedded pipeline against the sandboxes,
// API calls against the design's ideal batching, DynamoDB requests per change, a quiet cycle,
// a burst of edits, and the pure engine's merge rate. `npm run bench -- --size 5000 --json`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { emptyRecord, mergeSnapshot, type SourceSnapshot } from '../engine/index.ts';
import { cycle, startSandboxes } from '../local/cli.ts';
import { startEmbedded } from '../local/stack.ts';
import { collect, type RunSummary } from '../local/summary.ts';
import { startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { DEFAULT_ORGANIZATION_ID } from '../sandboxes/salesforce/outbound.ts';

const { values } = parseArgs({
  options: { size: { type: 'string', default: '5000' }, json: { type: 'boolean', default: false } },
  strict: true,
});
const people = Number(values.size);
if (!Number.isInteger(people) || people < 10) {
  console.error('bench: --size must be an integer >= 10 (people across both systems)');
  process.exit(2);
}
const log = (line: string) => {
  if (!values.json) console.error(line);
};

function total(obj: Record<string, number>): number {
  return Object.values(obj).reduce((a, b) => a + b, 0);
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; summary: RunSummary }> {
  const c = collect();
  const start = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - start, summary: c.summary };
  } finally {
    c.stop();
  }
}

function engineMergesPerSecond(): number {
  const snaps: SourceSnapshot[] = [];
  for (let i = 0; i < 2000; i++) {
    snaps.push({
      system: i % 2 === 0 ? 'salesforce' : 'hubspot',
      object: 'contact',
      externalId: `x${i % 2}`,
      modifiedAt: 1_700_000_000_000 + i * 1000,
      fields: {
        email: 'a@b.c',
        firstName: `F${i % 7}`,
        lastName: `L${i % 5}`,
        phone: `+1 ${i % 3}`,
        title: `T${i % 11}`,
        company: null,
      },
    });
  }
  const ctx = { now: 0, priority: { salesforce: 2, hubspot: 1 }, skewMs: 5000 };
  let fieldMerges = 0;
  const start = performance.now();
  while (performance.now() - start < 1000) {
    let rec = emptyRecord('c', 'contact');
    for (const s of snaps) {
      rec = mergeSnapshot(rec, s, ctx).record;
      fieldMerges += 6;
    }
  }
  return Math.round(fieldMerges / ((performance.now() - start) / 1000));
}

const WEBHOOK_SECRET = 'bench-hubspot-app-secret';
const OUTBOUND_SECRET = 'bench-outbound-secret';

function percentiles(values: number[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: Math.round(sorted.at(-1) ?? 0),
  };
}

const stateDir = mkdtempSync(join(tmpdir(), 'fieldsync-bench-'));
log(`seeding sandboxes with ${people} people (${Math.round(people / 3)} companies)...`);
const boxes = await startSandboxes({ seed: 1, people });
const sfRecords = boxes.salesforce.list('Contact').length + boxes.salesforce.list('Account').length;
const hsRecords = boxes.hubspot.list('contacts').length + boxes.hubspot.list('companies').length;
const stack = await startEmbedded({
  stateDir,
  credentials: {
    ...boxes.env,
    FIELDSYNC_POLL_OVERLAP_SECONDS: '0',
    HUBSPOT_CLIENT_SECRET: WEBHOOK_SECRET,
    SALESFORCE_ORG_ID: DEFAULT_ORGANIZATION_ID,
    SALESFORCE_OUTBOUND_SECRET: OUTBOUND_SECRET,
  },
});
const memBefore = process.memoryUsage().rss;

try {
  log('initial backfill...');
  const dynamo0 = stack.dynamoRequests();
  const backfill = await measured(() => cycle(stack));
  const dynamoBackfill = diff(stack.dynamoRequests(), dynamo0);
  const sf = backfill.summary.systems.salesforce;
  const hs = backfill.summary.systems.hubspot;
  if (sf === undefined || hs === undefined) throw new Error('no summary');
  const sfWritten = sf.created + sf.updated;
  const hsWritten = hs.created + hs.updated;

  log('echo cycle and quiet cycle...');
  const echo = await measured(() => cycle(stack));
  const quiet = await measured(() => cycle(stack));

  log('edit burst: 1% of contacts edited on each side...');
  const edits = Math.max(1, Math.round(people / 100));
  const sfContacts = boxes.salesforce.list('Contact').slice(0, edits);
  const hsContacts = boxes.hubspot.list('contacts').slice(-edits);
  for (const c of sfContacts) boxes.salesforce.update('Contact', c.Id, { Title: 'Bench edit' });
  for (const c of hsContacts) boxes.hubspot.update('contacts', c.id, { phone: '+1 415 555 0000' });
  const dynamo1 = stack.dynamoRequests();
  const burst = await measured(() => cycle(stack));
  const dynamoBurst = diff(stack.dynamoRequests(), dynamo1);

  log('latency with webhooks: edits one at a time, alternating sides...');
  const webhookLatency = await measureLatency(20, { webhooks: true, pollEveryMs: 0 });
  log('latency with polling only (a 3 s poll interval)...');
  const pollLatency = await measureLatency(8, { webhooks: false, pollEveryMs: 3000 });

  log(
    'rate budget: a HubSpot portal limited to 40 calls per 10 s, 120 batch writes through the paced connector...',
  );
  const budget = await budgetShare();

  const report = {
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    size: { people, salesforce_records: sfRecords, hubspot_records: hsRecords },
    backfill: {
      duration_s: +(backfill.ms / 1000).toFixed(2),
      records_per_s: Math.round((sfRecords + hsRecords) / (backfill.ms / 1000)),
      salesforce: {
        records_read: total(sf.polled),
        query_calls: sf.calls.query ?? 0,
        // One query page per 2,000 rows, and at least one query per synced object.
        ideal_query_calls: (['Account', 'Contact', 'Opportunity'] as const).reduce(
          (n, o) => n + Math.max(1, Math.ceil(boxes.salesforce.list(o).length / 2000)),
          0,
        ),
        records_written: sfWritten,
        write_calls: sf.writeCalls,
        records_per_write_call: sf.writeCalls === 0 ? 0 : +(sfWritten / sf.writeCalls).toFixed(1),
        ideal_records_per_write_call: 200,
      },
      hubspot: {
        records_read: total(hs.polled),
        read_calls: (hs.calls.search ?? 0) + (hs.calls['associations:read'] ?? 0),
        records_written: hsWritten,
        write_calls: hs.writeCalls,
        records_per_write_call: hs.writeCalls === 0 ? 0 : +(hsWritten / hs.writeCalls).toFixed(1),
        ideal_records_per_write_call: 100,
      },
      dynamodb_requests: total(dynamoBackfill),
      dynamodb_requests_per_change: +(total(dynamoBackfill) / Math.max(1, backfill.summary.ingested)).toFixed(
        2,
      ),
      dynamodb_by_operation: dynamoBackfill,
    },
    echo_cycle: {
      duration_s: +(echo.ms / 1000).toFixed(2),
      write_calls: total(
        Object.fromEntries(Object.entries(echo.summary.systems).map(([k, v]) => [k, v.writeCalls])),
      ),
    },
    quiet_cycle: {
      duration_s: +(quiet.ms / 1000).toFixed(2),
      write_calls: total(
        Object.fromEntries(Object.entries(quiet.summary.systems).map(([k, v]) => [k, v.writeCalls])),
      ),
    },
    edit_burst: {
      edits_per_side: edits,
      duration_s: +(burst.ms / 1000).toFixed(2),
      write_calls: Object.fromEntries(
        Object.entries(burst.summary.systems).map(([k, v]) => [k, v.writeCalls]),
      ),
      dynamodb_requests_per_change: +(total(dynamoBurst) / Math.max(1, burst.summary.ingested)).toFixed(2),
    },
    latency_ms: {
      webhooks: webhookLatency,
      polling_3s_interval: pollLatency,
    },
    rate_budget_hubspot: budget,
    engine: { field_merges_per_s_one_core: engineMergesPerSecond() },
    memory: {
      rss_growth_mb: Math.round((process.memoryUsage().rss - memBefore) / 1e6),
      rss_peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    },
  };

  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    const b = report.backfill;
    console.log(
      `fieldsync bench: ${people} people, ${sfRecords} Salesforce + ${hsRecords} HubSpot records, node ${process.version}, ${report.machine.cpus} cpus`,
    );
    console.log('');
    console.log('metric                                   value      budget');
    console.log(`backfill records/s                       ${String(b.records_per_s).padStart(8)}`);
    console.log(
      `salesforce query calls (ideal)           ${String(b.salesforce.query_calls).padStart(8)}   ${b.salesforce.ideal_query_calls} (2,000 per page)`,
    );
    console.log(
      `salesforce records per write call        ${String(b.salesforce.records_per_write_call).padStart(8)}   200`,
    );
    console.log(
      `hubspot records per write call           ${String(b.hubspot.records_per_write_call).padStart(8)}   100`,
    );
    console.log(
      `dynamodb requests per ingested change    ${String(b.dynamodb_requests_per_change).padStart(8)}   ~2 (one read, one write + audit)`,
    );
    console.log(
      `echo cycle write calls                   ${String(report.echo_cycle.write_calls).padStart(8)}   0`,
    );
    console.log(
      `quiet cycle write calls                  ${String(report.quiet_cycle.write_calls).padStart(8)}   0`,
    );
    console.log(
      `edit burst (${edits}/side) write calls          ${JSON.stringify(report.edit_burst.write_calls)}`,
    );
    console.log(
      `engine field merges/s (1 core)           ${String(report.engine.field_merges_per_s_one_core).padStart(8)}`,
    );
    console.log(`peak RSS MB                              ${String(report.memory.rss_peak_mb).padStart(8)}`);
    const rb = report.rate_budget_hubspot;
    console.log(
      `hubspot budget share used, 40/10 s       ${String(rb.share_used_pct).padStart(7)}%   > 90%, no 429 (429s: ${rb.responses_429})`,
    );
    const l = report.latency_ms;
    console.log(
      `edit -> other system, webhooks (ms)      p50 ${l.webhooks.p50}, p95 ${l.webhooks.p95}, p99 ${l.webhooks.p99}   < 2,000 (AWS)`,
    );
    console.log(
      `edit -> other system, polling 3 s (ms)   p50 ${l.polling_3s_interval.p50}, p95 ${l.polling_3s_interval.p95}, p99 ${l.polling_3s_interval.p99}   < one poll interval`,
    );
  }
} finally {
  await stack.stop();
  await boxes.close();
  rmSync(stateDir, { recursive: true, force: true });
}

/**
 * Edit a synced contact in one sandbox and time until the other sandbox holds the value (its write
 * call has returned). The queues are pumped continuously, as Lambda event sources would; with
 * `pollEveryMs` the pollers also run on that interval.
 */
async function measureLatency(count: number, mode: { webhooks: boolean; pollEveryMs: number }) {
  if (mode.webhooks) {
    boxes.hubspot.webhooks.configure({
      targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
      clientSecret: WEBHOOK_SECRET,
      batchMs: 20,
    });
    boxes.salesforce.outbound.configure({
      endpointUrl: `${stack.webhookUrl}/webhooks/salesforce/${OUTBOUND_SECRET}`,
      organizationId: DEFAULT_ORGANIZATION_ID,
      batchMs: 20,
    });
  } else {
    boxes.hubspot.webhooks.configure(undefined);
    await boxes.salesforce.outbound.flush();
    boxes.salesforce.outbound.configure({
      endpointUrl: 'http://127.0.0.1:9/off',
      retry: { attempts: 1, baseMs: 1 },
    });
  }
  let running = true;
  let nextPoll = mode.pollEveryMs > 0 ? Date.now() + mode.pollEveryMs : Number.POSITIVE_INFINITY;
  const pump = (async () => {
    while (running) {
      if (Date.now() >= nextPoll) {
        nextPoll = Date.now() + mode.pollEveryMs;
        await stack.pollAll();
      }
      if ((await stack.pumpOnce()) === 0) await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const hsByEmail = new Map(
    boxes.hubspot.list('contacts').map((c) => [
      String(c.properties.email ?? '')
        .trim()
        .toLowerCase(),
      c,
    ]),
  );
  const pairs = boxes.salesforce.list('Contact').flatMap((c) => {
    const twin = hsByEmail.get(
      String(c.Email ?? '')
        .trim()
        .toLowerCase(),
    );
    return twin === undefined ? [] : [{ sf: c, hs: twin }];
  });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const pair = pairs[(i * 7) % pairs.length];
      if (pair === undefined) break;
      const value = `Latency ${mode.webhooks ? 'w' : 'p'}${i} ${Date.now()}`;
      // Start off a poll boundary, as a user edit would be.
      if (!mode.webhooks)
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * mode.pollEveryMs)));
      const t0 = performance.now();
      if (i % 2 === 0) boxes.hubspot.update('contacts', pair.hs.id, { jobtitle: value });
      else boxes.salesforce.update('Contact', pair.sf.Id, { Title: value });
      const arrived = () =>
        i % 2 === 0
          ? boxes.salesforce.get('Contact', pair.sf.Id)?.Title === value
          : boxes.hubspot.get('contacts', pair.hs.id)?.properties.jobtitle === value;
      const deadline = t0 + 30_000;
      while (!arrived() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      latencies.push(performance.now() - t0);
      // Let the echo of this write settle before the next edit.
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    running = false;
    await pump;
  }
  return percentiles(latencies);
}

/**
 * Share of a HubSpot ten-second budget a batch-write load uses through the paced connector, and the
 * 429s it met (requests the portal saw beyond the connector's own calls are the SDK's retries).
 */
async function budgetShare() {
  const limit = 40;
  const portal = await startHubSpotSandbox({ seed: 2, people: 1200, tenSecondlyLimit: limit });
  try {
    const connector = new HubSpotConnector(
      { accessToken: portal.token, baseUrl: portal.url, overlapMs: 0 },
      DEFAULT_CONFIG.systems.hubspot,
    );
    const contacts = portal.list('contacts');
    const rounds = Math.ceil(120 / Math.ceil(contacts.length / 100));
    portal.stats.reset();
    const start = performance.now();
    for (let round = 0; round < rounds; round++) {
      const ops = contacts.map((c, i) => ({
        canonicalId: `b${i}`,
        externalId: c.id,
        fields: { title: `Round ${round}` },
        refs: {},
        previousRefs: {},
      }));
      await connector.write('contact', ops);
    }
    const seconds = (performance.now() - start) / 1000;
    const calls = Object.values(connector.stats().calls).reduce((a, b) => a + b, 0);
    return {
      limit_per_10s: limit,
      calls,
      duration_s: +seconds.toFixed(1),
      // Sustained rate after the first window's burst, against the rate the limit allows.
      share_used_pct:
        seconds > 10 ? Math.round((100 * (calls - limit)) / ((limit * (seconds - 10)) / 10)) : 0,
      calls_per_s: +(calls / seconds).toFixed(2),
      responses_429: portal.stats.total - calls,
    };
  } finally {
    await portal.close();
  }
}
