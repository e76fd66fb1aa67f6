// One rate budget per system, fed by the vendor's own limit headers and by its "too many requests"
// answers, shared by live sync and backfill: backfill keeps a reserve of every window free for live
// work, live waits only when nothing is left. Connectors pace themselves with it before each API call.
import { RateLimitError } from './errors.ts';
import { CallCounter } from './types.ts';

export type Priority = 'live' | 'backfill';

/** `short`: a rolling window of seconds (HubSpot's ten-secondly limit); `daily`: a daily allocation. */
export type WindowName = 'short' | 'daily';

export const DAY_MS = 86_400_000;
/** A request that never reported back (network failure) stops counting as in flight after this. */
const IN_FLIGHT_TTL_MS = 60_000;
/** Our clock stamps a call when its answer arrives, the vendor when the request arrives: a small margin. */
const EXPIRY_MARGIN_MS = 50;

interface WindowState {
  max: number;
  intervalMs: number;
  /** What the vendor said was left, when it said it. */
  reported: number;
  reportedAt: number;
  /** Calls sent since that report that it may not include. */
  sentSince: number;
}

export interface RateBudgetOptions {
  /** Share of each window kept for live work: backfill waits when less than this is left. Default 0.2. */
  reserve?: number;
  now?: () => number;
}

export interface BudgetSnapshot {
  remaining: number | undefined;
  shareUsed: number;
  windows: Partial<Record<WindowName, { max: number; remaining: number; intervalMs: number }>>;
  limitedForMs: number;
}

export class RateBudget {
  private readonly windows = new Map<WindowName, WindowState>();
  /** Answer times of our own calls, for the exact count of the short rolling window. */
  private readonly done: number[] = [];
  /** Start times of calls sent and not answered yet. */
  private readonly inFlight: number[] = [];
  private limitedUntil = 0;
  private readonly reserve: number;
  private readonly now: () => number;

  constructor(options: RateBudgetOptions = {}) {
    this.reserve = Math.min(0.9, Math.max(0, options.reserve ?? 0.2));
    this.now = options.now ?? Date.now;
  }

  /**
   * The vendor reported `remaining` of `max` calls for a window of `intervalMs`. `othersInFlight`: calls
   * sent and not answered that the report may not include (default: all in flight, for a report read
   * after its request finished).
   */
  observe(
    window: WindowName,
    max: number,
    remaining: number,
    intervalMs: number,
    othersInFlight = this.inFlight.length,
  ): void {
    if (!(max > 0) || !Number.isFinite(remaining) || !(intervalMs > 0)) return;
    this.windows.set(window, {
      max,
      intervalMs,
      reported: Math.max(0, remaining),
      reportedAt: this.now(),
      sentSince: othersInFlight,
    });
  }

  /** HubSpot: `X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds/-Daily/-Daily-Remaining` (reference B7). */
  observeHubSpotHeaders(headers: Readonly<Record<string, string | undefined>>): void {
    // Read inside the request (SDK middleware): that request still counts as in flight, and is in the report.
    const others = Math.max(0, this.inFlight.length - 1);
    const get = (name: string): number => {
      const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
      return Number(key === undefined ? Number.NaN : headers[key]);
    };
    this.observe(
      'short',
      get('x-hubspot-ratelimit-max'),
      get('x-hubspot-ratelimit-remaining'),
      get('x-hubspot-ratelimit-interval-milliseconds'),
      others,
    );
    this.observe(
      'daily',
      get('x-hubspot-ratelimit-daily'),
      get('x-hubspot-ratelimit-daily-remaining'),
      DAY_MS,
      others,
    );
  }

  /** Salesforce: `Sforce-Limit-Info: api-usage=N/M` as jsforce parses it into `conn.limitInfo` (reference A5.8). */
  observeApiUsage(usage: { used: number; limit: number }): void {
    this.observe('daily', usage.limit, usage.limit - usage.used, DAY_MS);
  }

  /** The vendor said no (429, REQUEST_LIMIT_EXCEEDED): nobody calls before `retryAfterMs` has passed. */
  onLimited(retryAfterMs: number): void {
    const until = this.now() + Math.max(0, retryAfterMs);
    if (until > this.limitedUntil) this.limitedUntil = until;
    for (const w of this.windows.values()) {
      if (w.intervalMs <= retryAfterMs * 2) {
        w.reported = 0;
        w.reportedAt = this.now();
        w.sentSince = this.inFlight.length;
      }
    }
  }

  /** A request is about to go out. */
  requestStarted(): void {
    this.prune();
    this.inFlight.push(this.now());
    for (const w of this.windows.values()) w.sentSince++;
  }

  /** A request got its answer (call before `observe` of that answer's headers). */
  requestFinished(): void {
    this.prune();
    this.inFlight.shift();
    this.done.push(this.now());
  }

  /** Calls left now in the tightest window; undefined until the vendor has told us anything. */
  remaining(): number | undefined {
    const at = this.now();
    let min: number | undefined;
    for (const name of this.windows.keys()) {
      const r = this.estimate(name, at);
      if (r !== undefined && (min === undefined || r < min)) min = r;
    }
    return min;
  }

  /** The largest share (0..1) of any window already used. */
  shareUsed(): number {
    const at = this.now();
    let share = 0;
    for (const [name, w] of this.windows) {
      const r = this.estimate(name, at) ?? w.max;
      share = Math.max(share, 1 - r / w.max);
    }
    return share;
  }

  /** How long a call of this priority should wait before it goes out (0: now). */
  waitMs(priority: Priority): number {
    this.prune();
    const at = this.now();
    let wait = Math.max(0, this.limitedUntil - at);
    for (const [name, w] of this.windows) {
      // Live may take the last call; backfill leaves the reserve untouched.
      const floor = priority === 'live' ? 0 : Math.ceil(this.reserve * w.max);
      const need = floor + 1;
      const reportedLeft = this.reportedEstimate(w, at);
      if (reportedLeft < need) {
        // The window refills at about max per interval (exact for a fixed window, a fair guess for a rolling one).
        wait = Math.max(wait, Math.ceil(((need - reportedLeft) * w.intervalMs) / w.max));
      }
      if (name === 'short') {
        // Our own calls in the rolling window are known exactly: wait until enough of them age out.
        const ownInWindow = this.ownCalls(w.intervalMs, at);
        const excess = ownInWindow.length + this.inFlight.length - (w.max - need);
        if (excess > 0) {
          const expiring = ownInWindow[excess - 1];
          wait = Math.max(
            wait,
            expiring === undefined ? w.intervalMs : expiring + w.intervalMs + EXPIRY_MARGIN_MS - at,
          );
        }
      }
    }
    return Math.max(0, Math.ceil(wait));
  }

  snapshot(): BudgetSnapshot {
    const at = this.now();
    const windows: BudgetSnapshot['windows'] = {};
    for (const [name, w] of this.windows)
      windows[name] = { max: w.max, remaining: this.estimate(name, at) ?? w.max, intervalMs: w.intervalMs };
    return {
      remaining: this.remaining(),
      shareUsed: this.shareUsed(),
      windows,
      limitedForMs: Math.max(0, this.limitedUntil - at),
    };
  }

  private estimate(name: WindowName, at: number): number | undefined {
    const w = this.windows.get(name);
    if (w === undefined) return undefined;
    let r = this.reportedEstimate(w, at);
    if (name === 'short')
      r = Math.min(r, w.max - this.ownCalls(w.intervalMs, at).length - this.inFlight.length);
    return Math.max(0, Math.floor(r));
  }

  private reportedEstimate(w: WindowState, at: number): number {
    const refill = ((at - w.reportedAt) * w.max) / w.intervalMs;
    return Math.min(w.max, w.reported - w.sentSince + refill);
  }

  private ownCalls(intervalMs: number, at: number): number[] {
    return this.done.filter((t) => t > at - intervalMs - EXPIRY_MARGIN_MS);
  }

  private prune(): void {
    const at = this.now();
    const short = this.windows.get('short')?.intervalMs ?? 10_000;
    while ((this.done[0] ?? at) <= at - short - EXPIRY_MARGIN_MS) this.done.shift();
    while ((this.inFlight[0] ?? at) <= at - IN_FLIGHT_TTL_MS) this.inFlight.shift();
  }
}

const shared = new Map<string, RateBudget>();

/** One budget per system account in a process: the poller and the writer of one system share it. */
export function sharedBudget(key: string, options: RateBudgetOptions = {}): RateBudget {
  let budget = shared.get(key);
  if (budget === undefined) {
    budget = new RateBudget(options);
    shared.set(key, budget);
  }
  return budget;
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, ms));
}

export interface PacingOptions {
  system: string;
  budget: RateBudget;
  /** The priority of a call of this kind (poll kinds are backfill while a poll starts from no cursor). */
  priority: (kind: string) => Priority;
  /** Whether a call of this kind uses the budget's windows (HubSpot search does not); default all. */
  counts?: (kind: string) => boolean;
  /** After each call: read the limit the client saw (Salesforce `conn.limitInfo`). */
  afterCall?: () => void;
  /** A longer wait is not slept here: the call fails as retryable (re-queued, or the next poll). Default 30 s. */
  maxSleepMs?: number;
}

/** A CallCounter that waits for the budget before each call and tells it about 429s. */
export class PacedCounter extends CallCounter {
  private readonly pacing: PacingOptions;
  constructor(translate: (err: unknown) => Error, pacing: PacingOptions) {
    super(translate);
    this.pacing = pacing;
  }

  override async call<T>(kind: string, fn: () => Promise<T>): Promise<T> {
    const { budget, system } = this.pacing;
    const wait = budget.waitMs(this.pacing.priority(kind));
    const maxSleep = this.pacing.maxSleepMs ?? 30_000;
    if (wait > maxSleep)
      throw new RateLimitError(system, 'RATE_BUDGET', `rate budget exhausted; next call in ${wait} ms`, {
        retryable: true,
        retryAfterMs: wait,
      });
    await sleep(wait);
    const report = this.pacing.counts?.(kind) ?? true;
    if (report) budget.requestStarted();
    try {
      return await super.call(kind, fn);
    } catch (err) {
      // The vendor's own refusal (429 / REQUEST_LIMIT_EXCEEDED), not our budget's.
      if (err instanceof RateLimitError && err.code !== 'RATE_BUDGET')
        budget.onLimited(err.retryAfterMs ?? 10_000);
      throw err;
    } finally {
      if (report) budget.requestFinished();
      this.pacing.afterCall?.();
    }
  }
}
