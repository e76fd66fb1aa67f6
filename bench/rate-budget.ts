// Share of a HubSpot ten-second budget a batch-write load uses through the paced connector.
import { DEFAULT_CONFIG } from '../config/default.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { round, sum } from './stats.ts';

export interface RateBudgetReport {
  limit_per_10s: number;
  calls: number;
  duration_s: number;
  /** Sustained rate after the first window's burst, against the rate the limit allows. */
  share_used_pct: number;
  calls_per_s: number;
  /** Requests the portal answered beyond the connector's own calls: the SDK's retries after a 429. */
  responses_429: number;
}

/** `writes` batch writes against a portal limited to `limit` calls per rolling 10 s (its own sandbox). */
export async function hubspotBudgetShare(limit = 40, writes = 80): Promise<RateBudgetReport> {
  const portal = await startHubSpotSandbox({ seed: 2, people: 1200, tenSecondlyLimit: limit });
  try {
    const connector = new HubSpotConnector(
      { accessToken: portal.token, baseUrl: portal.url, overlapMs: 0 },
      DEFAULT_CONFIG.systems.hubspot,
    );
    const contacts = portal.list('contacts');
    const rounds = Math.ceil(writes / Math.ceil(contacts.length / 100));
    portal.stats.reset();
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      const ops = contacts.map((c, i) => ({
        canonicalId: `b${i}`,
        externalId: c.id,
        fields: { title: `Round ${r}` },
        refs: {},
        previousRefs: {},
      }));
      await connector.write('contact', ops);
    }
    const seconds = (performance.now() - start) / 1000;
    const calls = sum(Object.values(connector.stats().calls));
    return {
      limit_per_10s: limit,
      calls,
      duration_s: round(seconds, 1),
      share_used_pct:
        seconds > 10 ? Math.round((100 * (calls - limit)) / ((limit * (seconds - 10)) / 10)) : 0,
      calls_per_s: round(calls / seconds, 2),
      responses_429: portal.stats.total - calls,
    };
  } finally {
    await portal.close();
  }
}
