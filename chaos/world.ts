// One scenario's world: both sandboxes (seeded from the scenario's seed), a state dir, the embedded
// stack, cycles that tolerate the faults a scheduler would (a failed poll is tried at the next
// schedule), the edit stream, and the settle-then-check sequence every scenario ends with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import { SYSTEMS, type SystemName } from '../connectors/systems.ts';
import { type AgreementReport, checkAgreement } from '../local/agreement.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { collect, type RunSummary } from '../local/summary.ts';
import { credentialsFrom } from '../runtime/config.ts';
import type { Store } from '../runtime/store.ts';
import type { CallStats } from '../sandboxes/http.ts';
import {
  type FaultOptions,
  type HubSpotSandbox,
  startHubSpotSandbox,
  type WebhookFaults,
} from '../sandboxes/hubspot/index.ts';
import {
  DEFAULT_ORGANIZATION_ID,
  type SalesforceFaultOptions,
  type SalesforceSandbox,
  startSalesforceSandbox,
} from '../sandboxes/salesforce/index.ts';
import { prng } from '../sandboxes/seed.ts';
import { Editor } from './edits.ts';
import {
  checkLedger,
  dealCounts,
  disagreements,
  findDuplicates,
  type LedgerReport,
  type RecordDated,
} from './invariants.ts';

export const CLIENT_SECRET = 'chaos-hubspot-app-secret';
export const OUTBOUND_SECRET = 'c4a05c4a05ec7e70';

export type Size = 'small' | 'large';

export interface SizeParams {
  people: number;
  deals: number;
  /** User actions per scenario (each is one edit, two racing edits, or a create). */
  actions: number;
  /** The edit stream is spread over this long. */
  streamMs: number;
  /** Settle rounds (deliver, poll, drain, check) before a scenario gives up. */
  settleRounds: number;
  /** Queue drain bound per cycle. */
  drainMs: number;
  /** The slow tail of slow-responses: this long more for one call in seven. */
  slowMs: number;
}

export const SIZES: Readonly<Record<Size, SizeParams>> = {
  small: {
    people: 14,
    deals: 2,
    actions: 14,
    streamMs: 1_500,
    settleRounds: 6,
    drainMs: 60_000,
    slowMs: 1_000,
  },
  large: {
    people: 140,
    deals: 20,
    actions: 140,
    streamMs: 12_000,
    settleRounds: 8,
    drainMs: 240_000,
    slowMs: 2_000,
  },
};

export interface World {
  readonly seed: number;
  readonly size: SizeParams;
  readonly rand: () => number;
  readonly sf: SalesforceSandbox;
  readonly hs: HubSpotSandbox;
  /** SaaS and webhook settings, as env names (what the CLI reads). */
  readonly env: Record<string, string>;
  readonly stateDir: string;
  readonly editor: Editor;
  /** Faults the scenario itself injected (kills, races, restarts...), by kind. */
  readonly injected: Record<string, number>;
  /** Deals per system and name once the initial sync is done (see dealCounts). */
  dealsAfterInitialSync: Map<string, number> | undefined;
  stack: EmbeddedStack | undefined;
  /** Progress lines (stderr), kept for the failure report. */
  log(line: string): void;
  readonly lines: string[];
}

export async function openWorld(seed: number, size: SizeParams): Promise<World> {
  const stateDir = mkdtempSync(join(tmpdir(), `fieldsync-chaos-${seed}-`));
  const common = { seed, people: size.people, deals: size.deals };
  const sf = await startSalesforceSandbox(common);
  const hs = await startHubSpotSandbox(common);
  const rand = prng(seed);
  const lines: string[] = [];
  const started = Date.now();
  return {
    seed,
    size,
    rand,
    sf,
    hs,
    env: {
      SALESFORCE_INSTANCE_URL: sf.url,
      SALESFORCE_ACCESS_TOKEN: sf.token,
      HUBSPOT_BASE_URL: hs.url,
      HUBSPOT_ACCESS_TOKEN: hs.token,
      HUBSPOT_CLIENT_SECRET: CLIENT_SECRET,
      SALESFORCE_ORG_ID: DEFAULT_ORGANIZATION_ID,
      SALESFORCE_OUTBOUND_SECRET: OUTBOUND_SECRET,
    },
    stateDir,
    // The edits draw from their own stream, so the faults' and the edits' dice do not shift each other.
    editor: new Editor({ sf, hs }, prng(seed ^ 0x5eed), seed),
    injected: {},
    dealsAfterInitialSync: undefined,
    stack: undefined,
    lines,
    log(line: string) {
      const stamped = `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`;
      lines.push(stamped);
      if (process.env.FIELDSYNC_CHAOS_VERBOSE === '1') process.stderr.write(`${stamped}\n`);
    },
  };
}

export async function closeWorld(world: World): Promise<void> {
  await world.stack?.stop().catch(() => undefined);
  await world.sf.close();
  await world.hs.close();
  rmSync(world.stateDir, { recursive: true, force: true });
}

/** What the chaos starts from: the deals each system holds after the initial sync. */
export function initialSyncDone(world: World): void {
  world.dealsAfterInitialSync = dealCounts(world);
}

export function count(world: World, kind: string, n = 1): void {
  world.injected[kind] = (world.injected[kind] ?? 0) + n;
}

/** The embedded stack in this process, on the world's state dir (once per process). */
export async function startStack(world: World): Promise<EmbeddedStack> {
  world.stack ??= await startEmbedded({ stateDir: world.stateDir, credentials: world.env });
  return world.stack;
}

function requireStack(world: World): EmbeddedStack {
  if (world.stack === undefined) throw new Error('the embedded stack is not started');
  return world.stack;
}

export function apiFaults(
  world: World,
  sf: SalesforceFaultOptions | undefined,
  hs: FaultOptions | undefined,
): void {
  world.sf.faults.configure(sf);
  world.hs.faults.configure(hs);
}

/** Webhooks and Outbound Messages to the stack's endpoint, with these delivery faults (none: clean). */
export function webhooks(world: World, faults: WebhookFaults = {}): void {
  const stack = requireStack(world);
  world.hs.webhooks.configure({
    targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
    clientSecret: CLIENT_SECRET,
    batchMs: 10,
    retry: { attempts: 4, baseMs: 20 },
    faults: { ...faults, seed: world.seed },
  });
  world.sf.outbound.configure({
    endpointUrl: `${stack.webhookUrl}/webhooks/salesforce/${OUTBOUND_SECRET}`,
    organizationId: DEFAULT_ORGANIZATION_ID,
    batchMs: 10,
    retry: { attempts: 4, baseMs: 20 },
    faults: { ...faults, seed: world.seed + 1 },
  });
}

export async function flushWebhooks(world: World): Promise<void> {
  await world.hs.webhooks.flush();
  await world.sf.outbound.flush().catch(() => undefined);
}

/** The event EventBridge Scheduler sends a poller. */
export const SCHEDULED = { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} };

/**
 * One cycle as the scheduler and the queue pollers would run it: webhooks delivered, each system polled
 * (a poll that fails after the clients' retries is tried at the next cycle, as the next schedule
 * would), the queues drained. `drain` replaces the stack's drain (the racing workers).
 */
export async function cycle(
  world: World,
  options: { poll?: boolean; drain?: () => Promise<void>; betweenPolls?: () => void } = {},
): Promise<RunSummary> {
  const stack = requireStack(world);
  const run = collect();
  try {
    await flushWebhooks(world);
    if (options.poll ?? true)
      for (const [i, system] of SYSTEMS.entries()) {
        if (i > 0) options.betweenPolls?.();
        try {
          await stack.pollers[system](SCHEDULED);
        } catch (err) {
          count(world, `${system} poll failed (tried next cycle)`);
          world.log(`poll ${system} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    await (options.drain ?? (() => stack.drain({ timeoutMs: world.size.drainMs })))();
  } finally {
    run.stop();
  }
  return run.summary;
}

/**
 * The user actions of a scenario, spread at seeded random moments over `overMs`, made while `during`
 * runs sync cycles: edits land between (and inside) the sync's API calls.
 */
export async function streamEdits(
  world: World,
  during: (streaming: () => boolean) => Promise<void>,
  options: { actions?: number; overMs?: number; act?: () => void } = {},
): Promise<void> {
  const overMs = options.overMs ?? world.size.streamMs;
  const act = options.act ?? (() => world.editor.act());
  const offsets = Array.from({ length: options.actions ?? world.size.actions }, () =>
    Math.floor(world.rand() * overMs),
  ).sort((a, b) => a - b);
  let done = false;
  const stream = (async () => {
    const start = Date.now();
    for (const at of offsets) {
      const wait = start + at - Date.now();
      if (wait > 0) await sleep(wait);
      act();
    }
    done = true;
  })();
  await during(() => !done);
  await stream;
}

export interface Verdict {
  passed: boolean;
  failures: string[];
  rounds: number;
  ledger: LedgerReport;
  agreement: AgreementReport | undefined;
  quietWrites: Record<string, number>;
}

function connectors(world: World) {
  const creds = credentialsFrom(world.env);
  return {
    salesforce: CONNECTORS.salesforce(creds, DEFAULT_CONFIG),
    hubspot: CONNECTORS.hubspot(creds, DEFAULT_CONFIG),
  };
}

/** Calls to the sandboxes' write routes (creates, updates, deletes, associations), by system. */
export function sandboxWriteCalls(world: World): Record<SystemName, number> {
  const writes = (stats: CallStats, reads: RegExp) =>
    Object.entries(stats.snapshot())
      .filter(([route]) => /^(POST|PATCH|PUT|DELETE) /.test(route) && !reads.test(route))
      .reduce((n, [, v]) => n + v, 0);
  return {
    salesforce: writes(world.sf.stats, /^POST composite\/sobjects\/:type$/),
    hubspot: writes(world.hs.stats, /\/search$|\/batch\/read$|oauth/),
  };
}

async function queueDepths(stack: EmbeddedStack): Promise<string[]> {
  const out: string[] = [];
  const refs = [
    stack.queues.ingest,
    ...SYSTEMS.map((s) => stack.queues[s]),
    ...SYSTEMS.map((s) => stack.noticeQueues[s]),
  ];
  for (const q of refs) {
    const res = await stack.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const n = Number(res.Attributes?.ApproximateNumberOfMessages ?? 0);
    if (n > 0) out.push(`${n} message(s) in ${q.name}-dlq`);
  }
  return out;
}

/**
 * After the chaos: faults healed, rounds (deliver, poll, drain) until both systems agree with the
 * canonical state and every edit is accounted for, or the bound; then the duplicate check and one
 * quiet cycle, which must make no write call.
 */
export async function settleAndCheck(
  world: World,
  options: { webhooks: boolean; recordDated?: RecordDated },
): Promise<Verdict> {
  const stack = requireStack(world);
  apiFaults(world, undefined, undefined);
  if (options.webhooks) webhooks(world);
  const store: Store = stack.store;
  let agreement: AgreementReport | undefined;
  let ledger: LedgerReport = await checkLedger(world, store, []);
  let rounds = 0;
  for (; rounds < world.size.settleRounds; ) {
    rounds++;
    await cycle(world);
    agreement = await checkAgreement(store, connectors(world), DEFAULT_CONFIG.model);
    ledger = await checkLedger(world, store, world.editor.ledger, options.recordDated);
    world.log(
      `settle round ${rounds}: agree ${agreement.agree}, edits ${ledger.checked}, lost ${ledger.outcomes.lost}`,
    );
    if (agreement.agree && ledger.outcomes.lost === 0) break;
  }
  const failures: string[] = [];
  if (agreement !== undefined && !agreement.agree)
    failures.push(...disagreements(agreement).map((m) => `(a) disagreement: ${m}`));
  failures.push(...ledger.lost.map((m) => `(b) lost edit: ${m}`));
  if (world.dealsAfterInitialSync === undefined)
    throw new Error('the scenario recorded no state after its initial sync');
  failures.push(
    ...(await findDuplicates(world, store, world.dealsAfterInitialSync)).map((m) => `(c) duplicate: ${m}`),
  );

  const before = sandboxWriteCalls(world);
  const quiet = await cycle(world);
  const after = sandboxWriteCalls(world);
  const quietWrites: Record<string, number> = {};
  for (const system of SYSTEMS) {
    const counted = quiet.systems[system]?.writeCalls ?? 0;
    const served = after[system] - before[system];
    quietWrites[system] = Math.max(counted, served);
    if (counted > 0 || served > 0)
      failures.push(
        `(d) the quiet cycle wrote to ${system}: ${counted} write call(s) counted by the connector, ${served} served by the sandbox`,
      );
  }
  failures.push(...(await queueDepths(stack)).map((m) => `dead letters: ${m}`));
  const errors = await store.listErrors();
  failures.push(
    ...errors.map(
      (e) => `parked sync error: ${e.system} ${e.object} ${e.canonicalId} ${e.code}: ${e.message}`,
    ),
  );
  return { passed: failures.length === 0, failures, rounds, ledger, agreement, quietWrites };
}
