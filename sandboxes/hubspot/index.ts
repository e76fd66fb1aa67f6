// HubSpot sandbox: a local server speaking the parts of CRM v3 objects and v4 associations the
// connector uses, faithfully enough for the unmodified @hubspot/api-client. Tests and the demo
// also edit its data directly (as a user in the portal would) or over the `/__sandbox` admin API.
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultSwitch, type SandboxFaults } from '../faults.ts';
import { CallStats, listen } from '../http.ts';
import { seedDataset } from '../seed.ts';
import { SandboxAuth, type SandboxOAuthOptions } from './oauth.ts';
import { type PortalApi, portalApi } from './portal.ts';
import type { PropertySpec } from './properties.ts';
import { type HsObjectType, isObjectType } from './schema.ts';
import { createRequestHandler, type FaultOptions } from './server.ts';
import { HubSpotStore, type MergeMode } from './store.ts';
import { type SandboxWebhooks, type WebhookOptions, WebhookSender } from './webhooks.ts';

export { ASSOCIATION_PAIRS } from './associations-model.ts';
export { HubSpotApiError } from './errors.ts';
export type { SandboxOAuthOptions } from './oauth.ts';
export type { PortalApi } from './portal.ts';
export type { PropertySpec } from './properties.ts';
export {
  DEAL_STAGE_OPTIONS,
  DEFAULT_PIPELINE,
  type HsObjectType,
  LIFECYCLE_STAGES,
  type PropertyOption,
  type PropertyType,
} from './schema.ts';
export type { FaultOptions } from './server.ts';
export type { HsRecord, MergeMode } from './store.ts';
export {
  type HsWebhookEvent,
  SANDBOX_PORTAL_ID,
  type SandboxWebhooks,
  type WebhookFaults,
  type WebhookOptions,
  type WebhookStats,
} from './webhooks.ts';

export interface HubSpotSandboxOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Bearer token accepted; default 'sandbox-hubspot-token'. With `oauth` it is the first access token,
   * which expires like the ones issued later. */
  token?: string;
  /** A public app's OAuth: `POST /oauth/v1/token` refreshes, access tokens last `ttlSeconds`. */
  oauth?: SandboxOAuthOptions;
  /** Passed to seedDataset(); defaults: seed 42, 60 people. */
  seed?: number;
  people?: number;
  companies?: number;
  /** Seeded deals (see seedDataset `deals`); default 0, which keeps older seeds identical. */
  deals?: number;
  /** Give seeded contacts a deterministic `lifecyclestage`; default false (left unset). */
  lifecycleStages?: boolean;
  /** Custom properties the portal starts with, e.g. `{ contacts: [{ name: 'region', type: 'enumeration', options: [...] }] }`. */
  customProperties?: Partial<Record<HsObjectType, readonly PropertySpec[]>>;
  /** Default 'new-id' (HubSpot today); 'keep-primary' is the older merge behaviour. */
  mergeMode?: MergeMode;
  /** Default true. */
  seeded?: boolean;
  /** Clock in ms; default Date.now. */
  now?: () => number;
  /** Requests per rolling 10 s on non-search routes; default 190 (Professional private app). */
  tenSecondlyLimit?: number;
  /** Search requests per rolling second; default 5. */
  searchPerSecond?: number;
  /** Default 1,000,000. */
  dailyLimit?: number;
  /** A change becomes visible to search this long after it happens; default 0. */
  searchLagMs?: number;
  faults?: FaultOptions;
  /** Send webhooks for changes made through the API or the direct API (also settable later). */
  webhooks?: WebhookOptions;
}

export interface HubSpotSandbox extends PortalApi {
  url: string;
  token: string;
  /** API calls by route key, e.g. 'POST /crm/v3/objects/contacts/batch/update'. */
  stats: CallStats;
  webhooks: SandboxWebhooks;
  /** Injected API faults: change them while running (`configure`), count them by kind (`stats`). */
  faults: SandboxFaults<FaultOptions>;
  /**
   * A restart of the host: open connections are dropped, new ones refused for `downMs`, then the server
   * listens on the same port again with its data, limits and tokens kept. Counted as fault 'restart'.
   */
  restart(downMs?: number): Promise<void>;
  /** With `oauth`: every access token issued so far (the initial one too) is expired from now on. */
  expireTokens(): void;
  /** With `oauth`: the refresh token currently accepted (each refresh rotates it). */
  refreshToken(): string | undefined;
  close(): Promise<void>;
}

export const DEFAULT_HUBSPOT_TOKEN = 'sandbox-hubspot-token';

export async function startHubSpotSandbox(options: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  const now = options.now ?? Date.now;
  const token = options.token ?? DEFAULT_HUBSPOT_TOKEN;
  const store = new HubSpotStore({
    now,
    searchLagMs: options.searchLagMs ?? 0,
    ...(options.mergeMode === undefined ? {} : { mergeMode: options.mergeMode }),
  });
  const portal = portalApi(store, now);
  for (const [object, specs] of Object.entries(options.customProperties ?? {}))
    for (const spec of specs ?? []) if (isObjectType(object)) portal.addProperty(object, spec);
  if (options.seeded ?? true) {
    store.seed(
      seedDataset({
        seed: options.seed ?? 42,
        people: options.people ?? 60,
        ...(options.companies === undefined ? {} : { companies: options.companies }),
        ...(options.deals === undefined ? {} : { deals: options.deals }),
        now: now(),
      }),
      { lifecycleStages: options.lifecycleStages === true },
    );
  }
  // After seeding: the seed is the portal's history, not news.
  const webhooks = new WebhookSender(now, options.webhooks);
  store.onChange((change) => webhooks.record(change));
  const stats = new CallStats();
  const auth = new SandboxAuth(token, options.oauth, now);
  const faults = new FaultSwitch(options.faults);
  const server = await listen(
    createRequestHandler({
      store,
      portal,
      stats,
      auth,
      now,
      tenSecondlyLimit: options.tenSecondlyLimit ?? 190,
      searchPerSecond: options.searchPerSecond ?? 5,
      dailyLimit: options.dailyLimit ?? 1_000_000,
      faults,
    }),
    options.port ?? 0,
  );
  const close = async () => {
    await webhooks.close();
    await server.close();
  };
  return {
    ...portal,
    url: server.url,
    token,
    stats,
    webhooks,
    faults,
    restart: async (downMs = 0) => {
      faults.count('restart');
      await server.close();
      await sleep(downMs);
      await server.reopen();
    },
    expireTokens: () => auth.expireTokens(),
    refreshToken: () => auth.currentRefreshToken(),
    close,
  };
}
