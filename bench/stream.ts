// Steady state as a stream: user edits arrive on both sides over time (Poisson arrivals), the
// queues are pumped continuously as Lambda event sources would, and each edit is timed from the
// user's change to the moment the other system holds the value (its write call has returned).
import type { SystemName } from '../connectors/systems.ts';
import type { startSandboxes } from '../local/cli.ts';
import type { EmbeddedStack } from '../local/stack.ts';
import { collect } from '../local/summary.ts';
import { DEFAULT_ORGANIZATION_ID } from '../sandboxes/salesforce/outbound.ts';
import { prng } from '../sandboxes/seed.ts';
import { exponentialGaps, type Percentiles, percentiles, round, sum } from './stats.ts';

export type Sandboxes = Awaited<ReturnType<typeof startSandboxes>>;

/** A contact present in both systems (after the backfill: every contact). */
export interface ContactPair {
  salesforceId: string;
  hubspotId: string;
}

export function contactPairs(boxes: Sandboxes): ContactPair[] {
  const key = (email: unknown) =>
    String(email ?? '')
      .trim()
      .toLowerCase();
  const hsByEmail = new Map(boxes.hubspot.list('contacts').map((c) => [key(c.properties.email), c.id]));
  return boxes.salesforce.list('Contact').flatMap((c) => {
    const hubspotId = hsByEmail.get(key(c.Email));
    return hubspotId === undefined || key(c.Email) === '' ? [] : [{ salesforceId: c.Id, hubspotId }];
  });
}

/** The contact fields edits touch: plain strings, so the value written is the value typed. */
const FIELDS = [
  { salesforce: 'Title', hubspot: 'jobtitle' },
  { salesforce: 'LastName', hubspot: 'lastname' },
] as const;

export interface Edit {
  /** Where the user typed it; the value must reach the other system. */
  side: SystemName;
  pair: ContactPair;
  field: (typeof FIELDS)[number];
  value: string;
}

/** A user edit through the sandbox's direct API (not an API call, not rate limited). */
export function applyEdit(boxes: Sandboxes, e: Edit): void {
  if (e.side === 'salesforce')
    boxes.salesforce.update('Contact', e.pair.salesforceId, { [e.field.salesforce]: e.value });
  else boxes.hubspot.update('contacts', e.pair.hubspotId, { [e.field.hubspot]: e.value });
}

/** True once the other system holds the edited value. */
export function arrived(boxes: Sandboxes, e: Edit): boolean {
  return e.side === 'salesforce'
    ? boxes.hubspot.get('contacts', e.pair.hubspotId)?.properties[e.field.hubspot] === e.value
    : boxes.salesforce.get('Contact', e.pair.salesforceId)?.[e.field.salesforce] === e.value;
}

export interface StreamSecrets {
  hubspotClientSecret: string;
  outboundSecret: string;
}

export interface StreamMode {
  /** 'webhooks': HubSpot webhooks and Salesforce Outbound Messages on, no polling. 'polling': pollers only. */
  kind: 'webhooks' | 'polling';
  samples: number;
  ratePerS: number;
  /** Polling only: how often the pollers run. */
  pollIntervalMs: number;
  seed: number;
}

export interface StreamReport extends Percentiles {
  edits: number;
  edits_salesforce: number;
  edits_hubspot: number;
  /** Edits whose value had not arrived 30 s (plus one poll interval) after it was made. */
  timeouts: number;
  rate_per_s: number;
  duration_s: number;
  poll_interval_ms?: number;
  /** The same latencies split by direction: an edit in Salesforce arrives in HubSpot, and back. */
  salesforce_to_hubspot: Percentiles;
  hubspot_to_salesforce: Percentiles;
  write_calls: Record<string, number>;
  write_calls_per_edit: number;
  api_calls: Record<string, number>;
  api_calls_per_edit: number;
}

const ARRIVAL_TIMEOUT_MS = 30_000;

/** Turns the push channels on (webhook mode) or off (polling mode) for the embedded stack. */
async function configurePush(
  boxes: Sandboxes,
  stack: EmbeddedStack,
  secrets: StreamSecrets,
  on: boolean,
): Promise<void> {
  if (on) {
    boxes.hubspot.webhooks.configure({
      targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
      clientSecret: secrets.hubspotClientSecret,
      batchMs: 20,
    });
    boxes.salesforce.outbound.configure({
      endpointUrl: `${stack.webhookUrl}/webhooks/salesforce/${secrets.outboundSecret}`,
      organizationId: DEFAULT_ORGANIZATION_ID,
      batchMs: 20,
    });
  } else {
    boxes.hubspot.webhooks.configure(undefined);
    await boxes.salesforce.outbound.flush();
    // Nothing listens on port 9: messages fail once and are dropped, as if no Outbound Message were set up.
    boxes.salesforce.outbound.configure({
      endpointUrl: 'http://127.0.0.1:9/off',
      retry: { attempts: 1, baseMs: 1 },
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Runs one stream of `mode.samples` edits and returns the latency percentiles and the API calls it
 * cost. Bounded in time: each edit gives up after 30 s (plus a poll interval).
 */
export async function editStream(
  boxes: Sandboxes,
  stack: EmbeddedStack,
  pairs: readonly ContactPair[],
  secrets: StreamSecrets,
  mode: StreamMode,
): Promise<StreamReport> {
  if (pairs.length < 2)
    throw new Error('bench: the stream needs at least two contacts present in both systems');
  const polling = mode.kind === 'polling';
  await configurePush(boxes, stack, secrets, !polling);
  const rand = prng(mode.seed);
  const gap = exponentialGaps(rand, mode.ratePerS);
  const run = collect();
  let running = true;
  let nextPoll = polling ? performance.now() + mode.pollIntervalMs : Number.POSITIVE_INFINITY;
  // The event sources: queues pumped as fast as messages come; the pollers on their schedule.
  const pump = (async () => {
    while (running) {
      if (performance.now() >= nextPoll) {
        nextPoll += mode.pollIntervalMs;
        await stack.pollAll();
      }
      if ((await stack.pumpOnce()) === 0) await sleep(5);
    }
  })();
  const pending = new Map<number, { edit: Edit; t0: number; deadline: number }>();
  const latencies: Record<SystemName, number[]> = { salesforce: [], hubspot: [] };
  let timeouts = 0;
  const watch = (async () => {
    while (running || pending.size > 0) {
      const now = performance.now();
      for (const [i, p] of pending) {
        if (arrived(boxes, p.edit)) {
          latencies[p.edit.side].push(now - p.t0);
          pending.delete(i);
        } else if (now > p.deadline) {
          timeouts++;
          pending.delete(i);
        }
      }
      if (!running && pending.size === 0) break;
      await sleep(2);
    }
  })();
  const inFlight = () => new Set([...pending.values()].map((p) => p.edit.pair));
  const perSide: Record<SystemName, number> = { salesforce: 0, hubspot: 0 };
  const started = performance.now();
  let at = started;
  try {
    for (let i = 0; i < mode.samples; i++) {
      at += gap();
      await sleep(at - performance.now());
      // Never two edits in flight on one contact: each sample times one change, not a race.
      const busy = inFlight();
      let pair = pairs[Math.floor(rand() * pairs.length)];
      for (let tries = 0; pair !== undefined && busy.has(pair) && tries < 20; tries++)
        pair = pairs[Math.floor(rand() * pairs.length)];
      if (pair === undefined || busy.has(pair)) continue;
      const side: SystemName = rand() < 0.5 ? 'salesforce' : 'hubspot';
      const field = FIELDS[rand() < 0.5 ? 0 : 1] ?? FIELDS[0];
      const edit: Edit = { side, pair, field, value: `Stream ${mode.kind[0]}${i} ${side.slice(0, 2)}` };
      const t0 = performance.now();
      applyEdit(boxes, edit);
      perSide[side]++;
      pending.set(i, { edit, t0, deadline: t0 + ARRIVAL_TIMEOUT_MS + (polling ? mode.pollIntervalMs : 0) });
    }
    // Let the last edits arrive (each bounded by its deadline).
    while (pending.size > 0) await sleep(10);
  } finally {
    running = false;
    await Promise.all([pump, watch]);
    run.stop();
  }
  const duration = (performance.now() - started) / 1000;
  const edits = perSide.salesforce + perSide.hubspot;
  const writeCalls = Object.fromEntries(
    Object.entries(run.summary.systems).map(([s, v]) => [s, v.writeCalls]),
  );
  const apiCalls = Object.fromEntries(
    Object.entries(run.summary.systems).map(([s, v]) => [s, sum(Object.values(v.calls))]),
  );
  return {
    ...percentiles([...latencies.salesforce, ...latencies.hubspot]),
    edits,
    edits_salesforce: perSide.salesforce,
    edits_hubspot: perSide.hubspot,
    timeouts,
    rate_per_s: mode.ratePerS,
    duration_s: round(duration, 1),
    ...(polling ? { poll_interval_ms: mode.pollIntervalMs } : {}),
    salesforce_to_hubspot: percentiles(latencies.salesforce),
    hubspot_to_salesforce: percentiles(latencies.hubspot),
    write_calls: writeCalls,
    write_calls_per_edit: round(sum(Object.values(writeCalls)) / Math.max(1, edits), 2),
    api_calls: apiCalls,
    api_calls_per_edit: round(sum(Object.values(apiCalls)) / Math.max(1, edits), 2),
  };
}
