// The chaos scenarios. Each one: a seeded world, an initial sync, a bounded chaos phase with user
// edits streaming in on both sides while the sync runs under its faults, then faults healed and the
// invariants checked (see invariants.ts and settleAndCheck).
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import { checkAgreement } from '../local/agreement.ts';
import { credentialsFrom } from '../runtime/config.ts';
import { initialRun, killAndRestart } from './kill.ts';
import { racingConsumers, racingDrain } from './race.ts';
import {
  apiFaults,
  count,
  cycle,
  initialSyncDone,
  SCHEDULED,
  settleAndCheck,
  startStack,
  streamEdits,
  type Verdict,
  type World,
  webhooks,
} from './world.ts';

export interface Scenario {
  name: string;
  /** What it does, one line. */
  title: string;
  /** A product bug this scenario shows and that is not fixed yet: it runs only when named. */
  knownIssue?: string;
  run(world: World): Promise<Verdict>;
}

/** Sync from scratch until both sides agree (no faults yet), so the chaos starts from a synced state. */
async function initialSync(world: World): Promise<void> {
  const stack = await startStack(world);
  for (let i = 0; i < 4; i++) {
    await cycle(world);
    const creds = credentialsFrom(world.env);
    const report = await checkAgreement(
      stack.store,
      {
        salesforce: CONNECTORS.salesforce(creds, DEFAULT_CONFIG),
        hubspot: CONNECTORS.hubspot(creds, DEFAULT_CONFIG),
      },
      DEFAULT_CONFIG.model,
    );
    if (report.agree) {
      world.log(`initial sync agreed after ${i + 1} cycle(s)`);
      initialSyncDone(world);
      return;
    }
  }
  world.log('initial sync did not reach agreement; the chaos phase starts anyway');
  initialSyncDone(world);
}

/** Sync cycles for as long as the edit stream runs, and one more after it. */
async function cyclesWhile(
  world: World,
  streaming: () => boolean,
  options: Parameters<typeof cycle>[1] | ((i: number) => Parameters<typeof cycle>[1]) = {},
): Promise<void> {
  let i = 0;
  for (; streaming(); i++) await cycle(world, typeof options === 'function' ? options(i) : options);
  await cycle(world, typeof options === 'function' ? options(-1) : options);
  world.log(`chaos phase: ${i + 1} cycle(s), ${world.editor.ledger.length} edits so far`);
}

const rateLimits: Scenario = {
  name: 'rate-limits',
  title: 'random 429s (Retry-After) and 5xx from both sandboxes while edits stream in on both sides',
  async run(world) {
    await initialSync(world);
    apiFaults(
      world,
      // Salesforce answers overload with 503 SERVER_UNAVAILABLE (its REST API has no 429).
      { seed: world.seed, rate5xx: 0.08 },
      // The secondly 429 (the SDK retries it after 1 s x attempt) with Retry-After, and 500s.
      { seed: world.seed + 1, rate429: 0.06, rate5xx: 0.06, fault429: 'secondly', retryAfterSeconds: 1 },
    );
    await streamEdits(world, (streaming) => cyclesWhile(world, streaming));
    return settleAndCheck(world, { webhooks: false });
  },
};

const slowResponses: Scenario = {
  name: 'slow-responses',
  title:
    'latency on every call and a slow tail (one call in seven) while edits stream in and race the writes',
  async run(world) {
    await initialSync(world);
    // Neither client has a request timeout (jsforce waits up to 30 min, the HubSpot SDK forever): the slow
    // tail holds batches open while users keep editing the very records being written.
    apiFaults(
      world,
      { seed: world.seed, latencyMs: 15, slowRate: 0.15, slowMs: world.size.slowMs },
      { seed: world.seed + 1, latencyMs: 40, slowRate: 0.15, slowMs: world.size.slowMs },
    );
    await streamEdits(world, (streaming) => cyclesWhile(world, streaming));
    return settleAndCheck(world, { webhooks: false });
  },
};

const webhookChaos: Scenario = {
  name: 'webhooks',
  title: 'HubSpot webhooks and Salesforce Outbound Messages duplicated, reordered, delayed and dropped',
  async run(world) {
    await initialSync(world);
    webhooks(world, { duplicateRate: 0.3, reorder: true, delayMs: 30, dropRate: 0.2 });
    // Mostly push: deliveries and their notices drive the sync; a poll every third cycle is the safety net.
    await streamEdits(world, (streaming) =>
      cyclesWhile(world, streaming, (i) => ({ poll: i >= 0 && i % 3 === 2 })),
    );
    const stats = { hs: world.hs.webhooks.stats, sf: world.sf.outbound.stats };
    world.injected['webhook events duplicated'] = stats.hs.duplicated;
    world.injected['webhook events dropped'] = stats.hs.dropped;
    world.injected['webhook batches sent shuffled and delayed'] = stats.hs.sent;
    world.injected['outbound notifications duplicated'] = stats.sf.duplicated;
    world.injected['outbound notifications dropped'] = stats.sf.dropped;
    world.injected['outbound messages sent shuffled and delayed'] = stats.sf.requests;
    return settleAndCheck(world, { webhooks: true });
  },
};

const killRunner: Scenario = {
  name: 'kill-runner',
  title: '`fieldsync sync --once` SIGKILLed mid-batch and restarted on the same state, then left to finish',
  async run(world) {
    const kills = world.size.people > 50 ? 6 : 3;
    // The runner is a child process; this process holds the sandboxes and makes the user edits.
    const initial = await initialRun(world);
    let problems = initial.problems;
    await streamEdits(
      world,
      async (streaming) => {
        problems = [...problems, ...(await killAndRestart(world, kills, initial.calls, streaming))];
      },
      { overMs: world.size.streamMs * 3 },
    );
    // The stack opens the same state dir here only now: no child is running.
    await startStack(world);
    const verdict = await settleAndCheck(world, { webhooks: false });
    return {
      ...verdict,
      passed: verdict.passed && problems.length === 0,
      failures: [...problems, ...verdict.failures],
    };
  },
};

const racingWorkers: Scenario = {
  name: 'racing-workers',
  title:
    'two ingest (and write) workers consuming the same queues at once, duplicates to both, same records edited on both sides',
  async run(world) {
    await initialSync(world);
    const stack = await startStack(world);
    const consumers = racingConsumers(world, stack);
    webhooks(world);
    await streamEdits(world, (streaming) =>
      cyclesWhile(world, streaming, { drain: () => racingDrain(world, stack, consumers) }),
    );
    return settleAndCheck(world, { webhooks: true });
  },
};

const sandboxRestart: Scenario = {
  name: 'sandbox-restart',
  title:
    'a sandbox restarting (connections dropped, then refused, same port and data) while a sync is in flight',
  async run(world) {
    await initialSync(world);
    webhooks(world);
    const restarts = world.size.people > 50 ? 8 : 3;
    await streamEdits(world, async (streaming) => {
      let restarting = true;
      const restarter = (async () => {
        for (let i = 0; i < restarts; i++) {
          await sleep(100 + Math.floor(world.rand() * (world.size.streamMs / restarts)));
          const box = world.rand() < 0.5 ? world.sf : world.hs;
          await box.restart(100 + Math.floor(world.rand() * 500));
        }
      })().finally(() => {
        restarting = false;
      });
      await cyclesWhile(world, () => streaming() || restarting);
      await restarter;
    });
    return settleAndCheck(world, { webhooks: true });
  },
};

const createRace: Scenario = {
  name: 'create-race',
  title:
    'the same new person created in both systems at once while syncs run (half of them between the two polls of a cycle)',
  async run(world) {
    await initialSync(world);
    webhooks(world);
    let probes = Math.ceil(world.size.actions / 4);
    const betweenPolls = () => {
      if (probes-- <= 0) return;
      world.editor.perform('create-both');
      count(world, 'same new person created in both systems at once');
    };
    await streamEdits(
      world,
      (streaming) => cyclesWhile(world, () => streaming() || probes > 0, { betweenPolls }),
      { act: () => world.editor.act({ 'create-both': 1, update: 1 }) },
    );
    return settleAndCheck(world, { webhooks: true });
  },
};

const firstLink: Scenario = {
  name: 'first-link',
  title:
    'different fields of the same people edited on both sides just before fieldsync links them (the first sync)',
  async run(world) {
    // Salesforce first, HubSpot a moment later (different fields), as users would before the first sync.
    for (let i = 0; i < Math.ceil(world.size.actions / 2); i++) {
      world.editor.perform('race-other-fields');
      count(world, 'pair edited on both sides before its first sync');
    }
    await initialSync(world);
    // Checked as the design has it: HubSpot values dated by their own property timestamps.
    return settleAndCheck(world, { webhooks: false, recordDated: new Set(['salesforce']) });
  },
};

const sfSameSecond: Scenario = {
  name: 'sf-same-second',
  title: 'a Salesforce field saved twice within one second, fieldsync reading the record between the saves',
  async run(world) {
    await initialSync(world);
    const stack = await startStack(world);
    const probes = Math.max(2, Math.ceil(world.size.actions / 7));
    for (let landed = 0, attempt = 0; landed < probes && attempt < probes * 4; attempt++) {
      // Early in a second, so both saves and the read between them fit in it.
      await sleep(1_020 - (Date.now() % 1_000));
      const target = world.editor.pair('contact');
      if (target === undefined) break;
      const kind = 'saved-twice-in-one-second';
      const first = world.editor.update(
        'salesforce',
        'contact',
        target,
        'title',
        kind,
        world.editor.value('title', 'Z '),
      );
      await stack.pollers.salesforce(SCHEDULED);
      await stack.drain({ timeoutMs: world.size.drainMs });
      const second = world.editor.update(
        'salesforce',
        'contact',
        target,
        'title',
        kind,
        world.editor.value('title', 'A '),
      );
      // Each double save is the fault; one whose saves share a stamp is the case that matters.
      count(world, 'field saved twice, read in between');
      if (second.sourceTime === first.sourceTime) {
        landed++;
        count(world, 'of them within one Salesforce second');
      }
    }
    return settleAndCheck(world, { webhooks: false });
  },
};

/** The scenarios of the suite (CI runs them all at the small size). */
export const SCENARIOS: readonly Scenario[] = [
  rateLimits,
  slowResponses,
  webhookChaos,
  killRunner,
  racingWorkers,
  sandboxRestart,
  createRace,
  firstLink,
  sfSameSecond,
];

/** Scenarios that show a known product bug, run only when named (`--scenario X`); none at present. */
export const KNOWN_ISSUES: readonly Scenario[] = [];

export function scenarioNamed(name: string): Scenario {
  const all = [...SCENARIOS, ...KNOWN_ISSUES];
  const found = all.find((s) => s.name === name);
  if (found === undefined)
    throw new Error(`unknown scenario '${name}' (one of: ${all.map((s) => s.name).join(', ')})`);
  return found;
}
