// The per-system rate budget: unit behaviour on a fake clock, then fed by the sandboxes' real limit
// headers through the real clients (HubSpot SDK middleware, jsforce limitInfo).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { DAY_MS, RateBudget } from '../connectors/budget.ts';
import { RateLimitError } from '../connectors/errors.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';

function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe('RateBudget', () => {
  it('knows nothing until the vendor reports, then follows the headers', () => {
    const c = clock();
    const b = new RateBudget({ now: c.now });
    expect(b.remaining()).toBeUndefined();
    expect(b.waitMs('backfill')).toBe(0);
    b.observeHubSpotHeaders({
      'x-hubspot-ratelimit-max': '100',
      'x-hubspot-ratelimit-remaining': '60',
      'x-hubspot-ratelimit-interval-milliseconds': '10000',
      'x-hubspot-ratelimit-daily': '1000',
      'x-hubspot-ratelimit-daily-remaining': '900',
    });
    expect(b.remaining()).toBe(60);
    expect(b.shareUsed()).toBeCloseTo(0.4);
    expect(b.snapshot().windows.daily).toEqual({ max: 1000, remaining: 900, intervalMs: DAY_MS });
  });

  it('backfill keeps a 20% reserve free; live waits only when nothing is left', () => {
    const c = clock();
    const b = new RateBudget({ now: c.now });
    b.observe('short', 10, 3, 10_000);
    expect(b.waitMs('live')).toBe(0);
    expect(b.waitMs('backfill')).toBe(0);
    b.observe('short', 10, 2, 10_000);
    expect(b.waitMs('live')).toBe(0);
    // 2 left = the reserve: backfill would eat into it.
    expect(b.waitMs('backfill')).toBeGreaterThan(0);
    b.observe('short', 10, 0, 10_000);
    expect(b.waitMs('live')).toBeGreaterThan(0);
    expect(b.waitMs('live')).toBeLessThanOrEqual(10_000);
    // The window refills: later, both may go again.
    c.advance(10_000);
    expect(b.waitMs('live')).toBe(0);
    expect(b.waitMs('backfill')).toBe(0);
  });

  it('counts its own calls in the rolling window exactly, until they age out', () => {
    const c = clock();
    const b = new RateBudget({ now: c.now });
    b.observe('short', 3, 3, 1000);
    for (let i = 0; i < 3; i++) {
      expect(b.waitMs('live')).toBe(0);
      b.requestStarted();
      c.advance(10);
      b.requestFinished();
    }
    expect(b.remaining()).toBe(0);
    const wait = b.waitMs('live');
    // The first call ages out 1000 ms after it was answered (at +10), plus a small margin.
    expect(wait).toBeGreaterThanOrEqual(1000 + 10 - 30);
    expect(wait).toBeLessThanOrEqual(1100);
    c.advance(wait);
    expect(b.waitMs('live')).toBe(0);
  });

  it('after a 429 nobody calls before Retry-After', () => {
    const c = clock();
    const b = new RateBudget({ now: c.now });
    b.onLimited(4000);
    expect(b.waitMs('live')).toBe(4000);
    c.advance(3000);
    expect(b.waitMs('backfill')).toBe(1000);
    c.advance(1000);
    expect(b.waitMs('live')).toBe(0);
  });

  it('reads Salesforce api-usage as a daily allocation', () => {
    const b = new RateBudget({ now: clock().now });
    b.observeApiUsage({ used: 45, limit: 50 });
    expect(b.remaining()).toBe(5);
    expect(b.shareUsed()).toBeCloseTo(0.9);
    expect(b.waitMs('live')).toBe(0);
    // 5 left of 50 is under the 20% reserve: backfill waits (hours: the caller fails it as retryable).
    expect(b.waitMs('backfill')).toBeGreaterThan(60_000);
  });
});

describe('HubSpot budget from X-HubSpot-RateLimit-* headers', () => {
  let sandbox: HubSpotSandbox;
  beforeAll(async () => {
    sandbox = await startHubSpotSandbox({ tenSecondlyLimit: 10, dailyLimit: 5000, seed: 3, people: 5 });
  });
  afterAll(() => sandbox.close());

  it('follows the headers of successful answers', async () => {
    const budget = new RateBudget();
    const c = new HubSpotConnector(
      { accessToken: sandbox.token, baseUrl: sandbox.url, overlapMs: 0, budget },
      DEFAULT_CONFIG.systems.hubspot,
    );
    expect(c.budget()).toBe(budget);
    await c.describe('contact');
    const snap = budget.snapshot();
    expect(snap.windows.short?.max).toBe(10);
    expect(snap.windows.daily?.max).toBe(5000);
    expect(snap.windows.daily?.remaining).toBe(5000 - sandbox.stats.total);
    expect(budget.remaining()).toBeLessThanOrEqual(9);
  });

  it('a paced connector making 30 calls under a limit of 10 per 10 s gets no 429', async () => {
    // Let the previous test's calls age out of the rolling window.
    await new Promise((r) => setTimeout(r, 10_100));
    sandbox.stats.reset();
    const budget = new RateBudget();
    const c = new HubSpotConnector(
      { accessToken: sandbox.token, baseUrl: sandbox.url, overlapMs: 0, budget },
      DEFAULT_CONFIG.systems.hubspot,
    );
    const limited: number[] = [];
    const onLimited = budget.onLimited.bind(budget);
    budget.onLimited = (ms) => {
      limited.push(ms);
      onLimited(ms);
    };
    const started = Date.now();
    for (let i = 0; i < 30; i++) await c.describe(i % 2 === 0 ? 'contact' : 'company');
    const took = Date.now() - started;
    expect(limited).toEqual([]);
    // No SDK retry either: the sandbox saw exactly the 30 calls we made (a 429 would be retried).
    expect(sandbox.stats.total).toBe(30);
    expect(c.stats().calls.describe).toBe(30);
    // 10 per rolling 10 s: the 21st call cannot go before ~20 s.
    expect(took).toBeGreaterThanOrEqual(19_000);
    // ... and not much later: the pacing uses the whole window.
    expect(took).toBeLessThan(27_000);
  }, 90_000);
});

describe('Salesforce budget from Sforce-Limit-Info', () => {
  let sandbox: SalesforceSandbox;
  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ dailyLimit: 50, seed: 3, people: 5 });
  });
  afterAll(() => sandbox.close());

  it('follows api-usage; backfill stops at the reserve, live goes on to the end, then fails retryable without a call', async () => {
    const budget = new RateBudget();
    const c = new SalesforceConnector(
      { instanceUrl: sandbox.url, accessToken: sandbox.token, overlapMs: 0, budget },
      DEFAULT_CONFIG.systems.salesforce,
    );
    expect(c.budget()).toBe(budget);
    await c.describe('contact');
    expect(c.apiUsage()).toEqual({ used: 1, limit: 50 });
    expect(budget.remaining()).toBe(49);

    // Use the allocation down to the reserve (20% of 50 = 10 left).
    while ((budget.remaining() ?? 0) > 10) await c.describe('contact');
    expect(budget.remaining()).toBe(10);
    // A poll from no cursor is backfill: it fails at once as retryable, and makes no call.
    const before = sandbox.stats.total;
    const backfill = async () => {
      for await (const _page of c.poll('contact', undefined)) {
        /* drain */
      }
    };
    await expect(backfill()).rejects.toSatisfy(
      (e: unknown) => e instanceof RateLimitError && e.retryable && e.code === 'RATE_BUDGET',
    );
    expect(sandbox.stats.total).toBe(before);

    // Live work (writes, incremental polls) may use what is left.
    while ((budget.remaining() ?? 0) > 0) await c.describe('contact');
    expect(c.apiUsage()).toEqual({ used: 50, limit: 50 });
    expect(budget.shareUsed()).toBe(1);
    await expect(c.describe('contact')).rejects.toSatisfy(
      (e: unknown) => e instanceof RateLimitError && e.retryable && (e.retryAfterMs ?? 0) > 60_000,
    );
    expect(sandbox.stats.total).toBe(50);
  });

  it('a REQUEST_LIMIT_EXCEEDED answer stops every caller until its retry time', async () => {
    // A fresh budget knows nothing, so the call goes out and meets the exhausted org.
    const budget = new RateBudget();
    const c = new SalesforceConnector(
      { instanceUrl: sandbox.url, accessToken: sandbox.token, overlapMs: 0, budget },
      DEFAULT_CONFIG.systems.salesforce,
    );
    await expect(c.describe('contact')).rejects.toSatisfy(
      (e: unknown) => e instanceof RateLimitError && e.code === 'REQUEST_LIMIT_EXCEEDED',
    );
    expect(budget.waitMs('live')).toBeGreaterThan(60_000);
  });
});
