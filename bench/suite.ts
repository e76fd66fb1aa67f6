// The bench stages, in order, against one embedded stack and the two sandboxes: backfill, echo and
// quiet cycles, the edit streams (webhooks, then polling only), bursts against the naive writer (on
// loopback, then with a WAN-like latency on every API call), a rate-limited HubSpot portal, the pure
// engine; then each Lambda bundle in fresh processes.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SystemName } from '../connectors/systems.ts';
import { startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import type { SystemSummary } from '../local/summary.ts';
import { DEFAULT_ORGANIZATION_ID } from '../sandboxes/salesforce/outbound.ts';
import { type BundleReport, measureBundles } from './bundles.ts';
import { type BurstReport, burstEdits, burstVsNaive } from './burst.ts';
import { Cycles, writeCallsOf } from './cycle.ts';
import { engineFieldMergesPerSecond } from './engine.ts';
import { type BenchOptions, commandLine } from './options.ts';
import { hubspotBudgetShare } from './rate-budget.ts';
import { type BenchReport, evaluate } from './report.ts';
import { MemoryStages, round, sum } from './stats.ts';
import { contactPairs, editStream, type Sandboxes } from './stream.ts';

const SECRETS = { hubspotClientSecret: 'bench-hubspot-app-secret', outboundSecret: 'bench-outbound-secret' };
/** HubSpot's ten-secondly limit on the sandbox (Professional private app) and the batch sizes. */
const HUBSPOT_PER_10_S = 190;
const BATCH = { salesforce: 200, hubspot: 100 } as const;
const HUBSPOT_WINDOW_MS = 10_000;

function counts(boxes: Sandboxes) {
  return {
    salesforce: {
      Account: boxes.salesforce.list('Account').length,
      Contact: boxes.salesforce.list('Contact').length,
      Opportunity: boxes.salesforce.list('Opportunity').length,
    },
    hubspot: {
      companies: boxes.hubspot.list('companies').length,
      contacts: boxes.hubspot.list('contacts').length,
      deals: boxes.hubspot.list('deals').length,
    },
  };
}

/** The CDK event sources' batching windows along each path a webhook change takes (notices, ingest, writer). */
async function awsBatchingWindows() {
  const { INGEST_BATCHING, NOTICE_BATCHING, WRITE_BATCHING } = await import(
    '../lib/constructs/sync-functions.ts'
  );
  const ms = (b: { maxBatchingWindow?: { toMilliseconds(): number } }) =>
    b.maxBatchingWindow?.toMilliseconds() ?? 0;
  const path = (to: SystemName) => ms(NOTICE_BATCHING) + ms(INGEST_BATCHING) + ms(WRITE_BATCHING[to]);
  return { salesforce_to_hubspot: path('hubspot'), hubspot_to_salesforce: path('salesforce') };
}

function writeFigures(x: SystemSummary, system: SystemName) {
  const written = x.created + x.updated;
  return {
    records_written: written,
    write_calls: x.writeCalls,
    ideal_write_calls: Math.ceil(written / BATCH[system]),
    records_per_write_call: x.writeCalls === 0 ? 0 : round(written / x.writeCalls, 1),
    naive_write_calls: written,
  };
}

export async function runBench(o: BenchOptions, log: (line: string) => void): Promise<BenchReport> {
  const started = performance.now();
  const loadBefore = os.loadavg().map((n) => round(n, 2));
  const memory = new MemoryStages();
  const stateDir = mkdtempSync(join(os.tmpdir(), 'fieldsync-bench-'));
  const deals = Math.round(o.people / 6);
  log(
    `seeding the sandboxes: ${o.people} people, ${Math.round(o.people / 3)} companies, ${deals} deals (seed ${o.seed})`,
  );
  const boxes = await memory.stage('seed', () => startSandboxes({ seed: o.seed, people: o.people, deals }));
  const seeded = counts(boxes);
  const sfRecords = sum(Object.values(seeded.salesforce));
  const hsRecords = sum(Object.values(seeded.hubspot));
  log(`  ${sfRecords} Salesforce records, ${hsRecords} HubSpot records`);
  let stack: EmbeddedStack | undefined;
  let boxesOpen = true;
  try {
    stack = await startEmbedded({
      stateDir,
      credentials: {
        ...boxes.env,
        FIELDSYNC_POLL_OVERLAP_SECONDS: '0',
        HUBSPOT_CLIENT_SECRET: SECRETS.hubspotClientSecret,
        SALESFORCE_ORG_ID: DEFAULT_ORGANIZATION_ID,
        SALESFORCE_OUTBOUND_SECRET: SECRETS.outboundSecret,
      },
    });
    const s = stack;
    const cycles = new Cycles(s);

    log('backfill: every record through poll, ingest and write...');
    const backfill = await memory.stage('backfill', () => cycles.run());
    const stuck = backfill.stuck;
    const after = counts(boxes);
    log(
      `  ${round(backfill.seconds, 1)} s, ${backfill.summary.errors} errors, ${stuck} messages retrying for good`,
    );
    log('echo cycle and quiet cycle...');
    const { echo, quiet } = await memory.stage('echo_and_quiet', async () => ({
      echo: await cycles.run(),
      quiet: await cycles.run(),
    }));

    const pairs = contactPairs(boxes);
    const { webhooks, polling } = await memory.stage('steady_state', async () => {
      log(`stream with webhooks: ${o.webhookSamples} edits at ${o.webhookRatePerS}/s on both sides...`);
      const webhooks = await editStream(boxes, s, pairs, SECRETS, {
        kind: 'webhooks',
        samples: o.webhookSamples,
        ratePerS: o.webhookRatePerS,
        pollIntervalMs: 0,
        seed: o.seed + 1,
      });
      log(`  p50 ${webhooks.p50_ms} ms, p99 ${webhooks.p99_ms} ms, ${webhooks.timeouts} lost`);
      // Catch the pollers' cursors up with the webhook stream's changes before timing polls.
      await cycles.run();
      log(
        `stream with polling only (every ${o.pollIntervalMs} ms): ${o.pollSamples} edits at ${o.pollRatePerS}/s...`,
      );
      const polling = await editStream(boxes, s, pairs, SECRETS, {
        kind: 'polling',
        samples: o.pollSamples,
        ratePerS: o.pollRatePerS,
        pollIntervalMs: o.pollIntervalMs,
        seed: o.seed + 2,
      });
      log(`  p50 ${polling.p50_ms} ms, p99 ${polling.p99_ms} ms, ${polling.timeouts} lost`);
      await cycles.run();
      return { webhooks, polling };
    });

    // 1 % of the contacts on each side, at least 100: both bursts on different contacts.
    const perSide = Math.max(100, Math.round(pairs.length / 100));
    if (pairs.length < 4 * perSide) throw new Error(`bench: only ${pairs.length} contacts in both systems`);
    const bursts: BurstReport[] = [];
    for (const [i, latencyMs] of [0, o.apiLatencyMs].entries()) {
      log(
        `burst: ${perSide} contacts edited on each side, one sync cycle, then the naive writer (${latencyMs} ms added per API call)...`,
      );
      const edits = burstEdits(pairs, perSide, i * Math.floor(pairs.length / 2), `l${latencyMs}`);
      const burst = await memory.stage(i === 0 ? 'burst_and_naive' : 'burst_and_naive_api_latency', () =>
        burstVsNaive(boxes, cycles, edits, latencyMs),
      );
      const naiveSeconds = round(sum(Object.values(burst.naive).map((n) => n.duration_s)), 1);
      log(
        `  ours ${burst.ours.duration_s} s, naive ${naiveSeconds} s; ${burst.arrived}/${edits.length} arrived`,
      );
      bursts.push(burst);
      // HubSpot's limit is a rolling 10 s: the next burst should not pay for this one's naive calls.
      if (i === 0) await sleep(HUBSPOT_WINDOW_MS);
    }

    log(
      'rate budget: a HubSpot portal limited to 40 calls per 10 s, 80 batch writes through the paced connector...',
    );
    const rateBudget = await memory.stage('rate_budget', () => hubspotBudgetShare());
    log('engine alone...');
    const engine = await memory.stage('engine', async () => engineFieldMergesPerSecond());
    memory.stop();
    // maxRSS is in KiB.
    const processMaxRss = Math.round((process.resourceUsage().maxRSS * 1024) / 1e6);

    await stack.stop();
    stack = undefined;
    await boxes.close();
    boxesOpen = false;

    let bundles: BundleReport[] = [];
    if (o.bundles) {
      log(
        'Lambda bundles (esbuild as the CDK construct runs it) and cold imports (median of 3 fresh processes)...',
      );
      bundles = await measureBundles(3);
    }
    const windows = await awsBatchingWindows();

    const sf = backfill.summary.systems.salesforce;
    const hs = backfill.summary.systems.hubspot;
    if (sf === undefined || hs === undefined) throw new Error('bench: the backfill summary lacks a system');
    const sfQueries = sf.calls.query ?? 0;
    // Every company and person once on each side; deals have no match key in the project config, so a
    // deal seeded on both sides is expected twice (each side's copy created on the other).
    const companies = Math.max(1, Math.round(o.people / 3));
    const allDeals = seeded.salesforce.Opportunity + seeded.hubspot.deals;
    const expected = {
      salesforce: { Account: companies, Contact: o.people, Opportunity: allDeals },
      hubspot: { companies, contacts: o.people, deals: allDeals },
    };
    const partial = {
      command: commandLine(o),
      seed: o.seed,
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model.trim() ?? 'unknown',
        node_version: process.version,
        memory_total_gb: round(os.totalmem() / 2 ** 30, 1),
        load_avg_before: loadBefore,
        load_avg_after: os.loadavg().map((n) => round(n, 2)),
      },
      size: {
        people: o.people,
        salesforce_records: sfRecords,
        hubspot_records: hsRecords,
        salesforce_by_object: seeded.salesforce,
        hubspot_by_object: seeded.hubspot,
      },
      backfill: {
        duration_s: round(backfill.seconds, 1),
        records_per_s: Math.round((sfRecords + hsRecords) / backfill.seconds),
        changes_ingested: backfill.summary.ingested,
        errors: backfill.summary.errors,
        stuck_messages: stuck,
        records_after: after,
        expected_records_after: expected,
        salesforce: {
          ...writeFigures(sf, 'salesforce'),
          records_read: sum(Object.values(sf.polled)),
          query_calls: sfQueries,
          ideal_query_calls: Object.values(seeded.salesforce).reduce(
            (n, rows) => n + Math.max(1, Math.ceil(rows / 2000)),
            0,
          ),
          other_read_calls: sum(Object.values(sf.calls)) - sf.writeCalls - sfQueries,
          calls_by_kind: sf.calls,
        },
        hubspot: {
          ...writeFigures(hs, 'hubspot'),
          records_read: sum(Object.values(hs.polled)),
          read_calls: sum(Object.values(hs.calls)) - hs.writeCalls,
          calls_by_kind: hs.calls,
          naive_min_duration_s: Math.round(((hs.created + hs.updated) / HUBSPOT_PER_10_S) * 10),
        },
        dynamodb_requests: sum(Object.values(backfill.dynamo)),
        dynamodb_requests_per_change: round(
          sum(Object.values(backfill.dynamo)) / Math.max(1, backfill.summary.ingested),
          2,
        ),
        dynamodb_by_operation: backfill.dynamo,
      },
      echo_cycle: {
        duration_s: round(echo.seconds, 2),
        write_calls: sum(Object.values(writeCallsOf(echo.summary))),
      },
      quiet_cycle: {
        duration_s: round(quiet.seconds, 2),
        write_calls: sum(Object.values(writeCallsOf(quiet.summary))),
      },
      batched_vs_naive: bursts,
      latency: { webhooks, polling, aws_batching_windows_ms: windows },
      rate_budget_hubspot: rateBudget,
      engine: { field_merges_per_s_one_core: engine },
      memory: { stages: memory.stages, process_max_rss_mb: processMaxRss },
      bundles,
    };
    return {
      ...partial,
      checks: evaluate(partial),
      duration_s: round((performance.now() - started) / 1000, 1),
    };
  } finally {
    memory.stop();
    if (stack !== undefined) await stack.stop();
    if (boxesOpen) await boxes.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}
