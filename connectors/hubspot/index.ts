// HubSpot connector through @hubspot/api-client: incremental polling through CRM search on the
// last-modified property, batch writes of 100, creates as upserts on a unique property, v4 associations.
import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/objects/index.js';
import { z } from 'zod';
import type { SystemObject, SystemView } from '../../config/index.ts';
import type { ObjectType } from '../../engine/index.ts';
import { PacedCounter, type RateBudget, sharedBudget, sleep } from '../budget.ts';
import {
  AuthError,
  BadResponseError,
  ConnectorError,
  isNetworkError,
  parseResponse,
  RateLimitError,
} from '../errors.ts';
import {
  type Connector,
  type Cursor,
  chunk,
  deleteOps,
  failAll,
  type NativeField,
  type PollPage,
  type ReadOptions,
  type ReplacedValues,
  type SourceChange,
  type WriteOp,
  type WriteOutcome,
} from '../types.ts';
import {
  FIELDSYNC_ID_PROPERTY,
  type HubSpotObject,
  lastChanged,
  MERGED_IDS_PROPERTY,
  mergedIdsOf,
  modifiedAtOf,
  modifiedProperty,
  objectView,
  type PropertyVersion,
  readProperties,
  replacedValues,
  type SearchFilter,
  SYSTEM,
  searchFilters,
  toChange,
  toProperties,
} from './mapping.ts';

/** What a refresh hands to `onTokenRefreshed`, to persist. */
export interface HubSpotTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ms since the epoch, from `expires_in`). */
  expiresAt: number;
}

export interface HubSpotConfig {
  /** A private-app token (never expires), or an OAuth access token; may be '' with a refresh token. */
  accessToken: string;
  baseUrl?: string;
  /** A public app's OAuth (reference B3): access tokens last 30 minutes and are refreshed before they
   * expire (a 401 is not a reliable signal). `clientId` and `clientSecret` are then required. */
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** When `accessToken` expires (ms since the epoch); unknown: refresh before the first call. */
  accessTokenExpiresAt?: number;
  /** Called with each refreshed token pair, to persist it (Secrets Manager on AWS, the state dir locally). */
  onTokenRefreshed?: (tokens: HubSpotTokens) => void | Promise<void>;
  /** Clock for token expiry; default Date.now. */
  now?: () => number;
  /** Re-read this much before the cursor: search is eventually consistent ("it may take a few moments
   * for newly created or updated objects to appear"). */
  overlapMs?: number;
  /** The rate budget to pace against; default: one per account (base URL + token) in this process. */
  budget?: RateBudget;
}

/** Batch endpoints take at most 100 inputs (CRM objects API, batch read/create/update/upsert). */
export const BATCH_LIMIT = 100;
/** Batch reads that ask for property history take at most 50 inputs. */
const HISTORY_BATCH_LIMIT = 50;
/** Search: at most 200 per page, and paging past 10,000 results answers 400 (CRM search guide):
 * polls page by key (modified time, id), never by offset. */
const SEARCH_PAGE = 200;
/** Search allows about 5 requests per second per account; pace ourselves below it. */
const SEARCH_SPACING_MS = 220;
/** Refresh this long before the access token's expiry. */
const TOKEN_MARGIN_MS = 60_000;

const tokenResponseSchema = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().optional(),
  expiresIn: z.number(),
});

const cursorSchema = z.object({ ts: z.number(), id: z.string(), archivedAt: z.number().optional() });
const archivedPageSchema = z.object({
  results: z.array(z.object({ id: z.string(), archivedAt: z.union([z.date(), z.string()]).optional() })),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});
const hubspotObjectSchema = z.object({
  id: z.string(),
  properties: z.record(z.string(), z.string().nullable().optional()),
  updatedAt: z.union([z.date(), z.string()]).optional(),
});
const searchResponseSchema = z.object({
  results: z.array(hubspotObjectSchema),
  paging: z.object({ next: z.object({ after: z.string() }).optional() }).optional(),
});
const batchErrorSchema = z.object({
  category: z.string().optional(),
  message: z.string().optional(),
  context: z.record(z.string(), z.array(z.string())).optional(),
});
const batchResponseSchema = z.object({
  results: z.array(hubspotObjectSchema),
  errors: z.array(batchErrorSchema).optional(),
});
const historyResponseSchema = z.object({
  results: z.array(
    z.object({
      id: z.string(),
      propertiesWithHistory: z
        .record(
          z.string(),
          z.array(
            z.object({
              value: z.string().nullable().optional(),
              timestamp: z.union([z.date(), z.string()]),
              sourceType: z.string().optional(),
              sourceId: z.string().optional(),
            }),
          ),
        )
        .optional(),
    }),
  ),
});
const associationReadSchema = z.object({
  results: z.array(
    z.object({
      _from: z.object({ id: z.string() }),
      to: z.array(
        z.object({
          toObjectId: z.union([z.string(), z.number()]),
          associationTypes: z.array(z.object({ typeId: z.number().optional() })).optional(),
        }),
      ),
    }),
  ),
});

const propertiesSchema = z.object({
  results: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      hasUniqueValue: z.boolean().optional(),
      options: z.array(z.object({ value: z.string() })).optional(),
    }),
  ),
});

/** What the SDK middleware sees of every response (success or error): status and headers. */
const responseContextSchema = z.object({
  httpStatusCode: z.number(),
  headers: z.record(z.string(), z.string()),
});
/** Poll calls that are backfill while a poll starts from no cursor. */
const POLL_KINDS: ReadonlySet<string> = new Set(['search', 'archived']);

const exceptionSchema = z.object({
  code: z.number(),
  body: z.unknown().optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

function bodyField(body: unknown, key: string): string | undefined {
  if (typeof body === 'object' && body !== null && key in body) {
    const v: unknown = Reflect.get(body, key);
    return typeof v === 'string' ? v : undefined;
  }
  return undefined;
}

/** Translate an SDK ApiException (or network failure) into a typed connector error. */
export function translateError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  // The SDK parses every body as JSON: a cut-off body or an HTML page fails there.
  if (err instanceof SyntaxError)
    return new BadResponseError(SYSTEM, `the answer is not JSON (${err.message})`, err);
  const parsed = exceptionSchema.safeParse(err);
  if (!parsed.success) {
    const message = err instanceof Error ? err.message : String(err);
    return new ConnectorError(SYSTEM, isNetworkError(err) ? 'NETWORK' : 'UNKNOWN', message, {
      retryable: isNetworkError(err),
      cause: err,
    });
  }
  const { code, body, headers } = parsed.data;
  const category = bodyField(body, 'category') ?? bodyField(body, 'errorType') ?? `HTTP_${code}`;
  const message = bodyField(body, 'message') ?? `HTTP ${code}`;
  if (code === 401) return new AuthError(SYSTEM, category, message, { retryable: false, cause: err });
  if (code === 429) {
    const retryAfter = Number(headers?.['retry-after']);
    const policy = bodyField(body, 'policyName');
    const retryAfterMs =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? retryAfter * 1000
        : policy === 'DAILY'
          ? 3_600_000
          : policy === 'SECONDLY' || /secondly limit/i.test(message)
            ? 1_000
            : 10_000;
    return new RateLimitError(SYSTEM, policy ?? 'RATE_LIMIT', message, {
      retryable: true,
      retryAfterMs,
      cause: err,
    });
  }
  // 423 Locked: high-volume writes lock records for about 2 s.
  if (code >= 500 || code === 423)
    return new ConnectorError(SYSTEM, category, message, { retryable: true, retryAfterMs: 2000, cause: err });
  return new ConnectorError(SYSTEM, category, message, { retryable: false, cause: err });
}

/**
 * OAuth refresh (reference B3 "OAuth"): before a call, when the access token's expiry (from
 * `expires_in`, less a margin) has passed or is unknown, trade the refresh token for a new pair.
 * Concurrent calls share one refresh. The SDK never refreshes by itself.
 */
class OAuthRefresh {
  private refreshToken: string;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private expiresAt: number | undefined;
  private readonly now: () => number;
  private readonly onRefreshed: HubSpotConfig['onTokenRefreshed'];
  private readonly client: () => Client;
  private inFlight: Promise<void> | undefined;

  constructor(config: HubSpotConfig, client: () => Client) {
    if (
      config.refreshToken === undefined ||
      config.clientId === undefined ||
      config.clientSecret === undefined
    )
      throw new ConnectorError(
        SYSTEM,
        'OAUTH_CONFIG',
        'a HubSpot refresh token needs the app client id and client secret',
        { retryable: false },
      );
    this.refreshToken = config.refreshToken;
    this.clientId = config.clientId;
    this.clientSecret = config.clientSecret;
    this.expiresAt = config.accessToken === '' ? undefined : config.accessTokenExpiresAt;
    this.now = config.now ?? Date.now;
    this.onRefreshed = config.onTokenRefreshed;
    this.client = client;
  }

  ensureFresh(): Promise<void> {
    if (this.expiresAt !== undefined && this.now() < this.expiresAt - TOKEN_MARGIN_MS)
      return Promise.resolve();
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async refresh(): Promise<void> {
    const client = this.client();
    let raw: unknown;
    try {
      raw = await client.oauth.tokensApi.create(
        'refresh_token',
        undefined,
        undefined,
        this.clientId,
        this.clientSecret,
        this.refreshToken,
      );
    } catch (err) {
      throw refreshError(err);
    }
    const parsed = tokenResponseSchema.safeParse(raw);
    if (!parsed.success)
      throw new AuthError(
        SYSTEM,
        'BAD_TOKEN_RESPONSE',
        'the HubSpot token endpoint answered without an access token',
        {
          retryable: true,
        },
      );
    const { accessToken, expiresIn } = parsed.data;
    // HubSpot may answer with the same refresh token; keep whichever it returned.
    this.refreshToken = parsed.data.refreshToken ?? this.refreshToken;
    this.expiresAt = this.now() + expiresIn * 1000;
    // Re-inits the client's API groups and re-applies its decorators to the SDK's process-wide
    // singleton: harmless, every connector's Client uses the same retry settings.
    client.setAccessToken(accessToken);
    const onRefreshed = this.onRefreshed;
    if (onRefreshed === undefined) return;
    const tokens: HubSpotTokens = { accessToken, refreshToken: this.refreshToken, expiresAt: this.expiresAt };
    // Persisting is best effort: this client already holds the new token for this process.
    Promise.resolve()
      .then(() => onRefreshed(tokens))
      .catch((err: unknown) =>
        console.error(
          `hubspot: could not persist the refreshed tokens: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
  }
}

/** A failed refresh: a refused refresh token or app credentials is an AuthError that names the setting. */
function refreshError(err: unknown): ConnectorError {
  const parsed = exceptionSchema.safeParse(err);
  if (!parsed.success) return translateError(err);
  const { code, body } = parsed.data;
  if (code >= 500 || code === 429) return translateError(err);
  const status = bodyField(body, 'status') ?? bodyField(body, 'category') ?? `HTTP_${code}`;
  const detail = bodyField(body, 'message') ?? `HTTP ${code}`;
  const setting =
    status === 'BAD_CLIENT_ID'
      ? 'HUBSPOT_CLIENT_ID'
      : status === 'BAD_CLIENT_SECRET'
        ? 'HUBSPOT_CLIENT_SECRET'
        : 'HUBSPOT_REFRESH_TOKEN';
  return new AuthError(
    SYSTEM,
    status,
    `HubSpot refused the token refresh (${status}: ${detail}); check ${setting}`,
    {
      retryable: false,
      cause: err,
    },
  );
}

/** Attempts of one read, search or association call on a retryable failure (429, 5xx, network). */
const MAX_CALL_ATTEMPTS = 3;

/**
 * Refreshes the OAuth token before calls, and retries what may be retried here. The SDK's own retry
 * is off (numberOfApiCallRetries 0): it would also retry writes, waiting up to 10 s on a 429 after
 * the writer's read-before-write had checked the record, and overwrite a user edit made meanwhile
 * (the chaos suite's rate-limits scenario, seed 5012). A failed write goes back to the writer's queue
 * instead, whose next attempt checks again. Every attempt counts as an API call.
 */
class RefreshingCounter extends PacedCounter {
  private readonly oauth: OAuthRefresh | undefined;
  constructor(oauth: OAuthRefresh | undefined, ...args: ConstructorParameters<typeof PacedCounter>) {
    super(...args);
    this.oauth = oauth;
  }
  override async call<T>(kind: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.oauth?.ensureFresh();
      try {
        return await super.call(kind, fn);
      } catch (err) {
        const again =
          err instanceof ConnectorError &&
          err.retryable &&
          err.code !== 'RATE_BUDGET' &&
          !kind.startsWith('write') &&
          attempt < MAX_CALL_ATTEMPTS;
        if (!again) throw err;
        // A 429 already holds the budget back until its Retry-After (PacedCounter waits for it).
        if (!(err instanceof RateLimitError)) await sleep(Math.min(err.retryAfterMs ?? 200, 2000) * attempt);
      }
    }
  }
}

export class HubSpotConnector implements Connector {
  readonly system = SYSTEM;
  private readonly client: Client;
  private readonly counter: PacedCounter;
  private readonly rateBudget: RateBudget;
  /** The current poll started from no cursor: its calls are backfill and leave a reserve for live work. */
  private backfilling = false;
  private readonly overlapMs: number;
  private lastSearchAt = 0;
  private readonly view: SystemView;

  /** `view`: what the config syncs in HubSpot (objects, properties, associations, filters). */
  constructor(config: HubSpotConfig, view: SystemView) {
    this.view = view;
    const basePath = (config.baseUrl ?? 'https://api.hubapi.com').replace(/\/+$/, '');
    // The account, not the (rotating) access token, keys the budget of an OAuth install.
    const account = config.refreshToken ?? config.accessToken;
    const budget = config.budget ?? sharedBudget(`${SYSTEM} ${basePath} ${account}`);
    this.rateBudget = budget;
    const oauth = config.refreshToken === undefined ? undefined : new OAuthRefresh(config, () => this.client);
    this.counter = new RefreshingCounter(oauth, translateError, {
      system: SYSTEM,
      budget,
      priority: (kind) => (this.backfilling && POLL_KINDS.has(kind) ? 'backfill' : 'live'),
      // Search has its own per-second limit (paced in search()) and is outside the ten-secondly window.
      counts: (kind) => kind !== 'search',
    });
    // No SDK retries (RetryDecorator): RefreshingCounter retries reads, and failed writes go back to the
    // writer. Keep every Client in a process on the same settings: the SDK's decorators are a singleton.
    this.client = new Client({
      accessToken: config.accessToken,
      basePath,
      numberOfApiCallRetries: 0,
      // Every response, success or ApiException, SDK retries included, passes here: the limit headers
      // (X-HubSpot-RateLimit-*, reference B7) feed the budget.
      middleware: [
        {
          pre: (ctx: unknown) => ctx,
          post: (ctx: unknown) => {
            const res = responseContextSchema.safeParse(ctx);
            if (res.success) budget.observeHubSpotHeaders(res.data.headers);
            return ctx;
          },
        },
      ],
    });
    this.overlapMs = config.overlapMs ?? 60_000;
  }

  stats() {
    return this.counter.stats();
  }

  /** The account's rate budget (ten-secondly and daily windows), shared with other connectors of it here. */
  budget(): RateBudget {
    return this.rateBudget;
  }

  async *poll(object: ObjectType, cursor: Cursor | undefined): AsyncGenerator<PollPage> {
    const o = objectView(this.view, object);
    const parsed =
      cursor === undefined || Object.keys(cursor).length === 0 ? undefined : cursorSchema.safeParse(cursor);
    this.backfilling = parsed === undefined;
    if (parsed !== undefined && !parsed.success)
      throw new ConnectorError(
        SYSTEM,
        'BAD_CURSOR',
        `stored cursor is malformed: ${JSON.stringify(cursor)}`,
        {
          retryable: false,
        },
      );
    const current: { ts: number; id: string; archivedAt: number } = {
      ts: parsed?.data.ts ?? 0,
      id: parsed?.data.id ?? '',
      archivedAt: parsed?.data.archivedAt ?? 0,
    };
    // Keyset paging on (modified time, id): every page is a fresh search for what sorts after the last
    // record read. Offset paging over the live index skips a record whenever one already read is edited
    // (it moves to the end and the rest shift up a place), and would run into the 10,000-result cap.
    // Without an overlap the cursor is exact: it is the first key.
    let key: SearchKey =
      parsed === undefined
        ? { ts: 0 }
        : this.overlapMs === 0 && parsed.data.id !== ''
          ? { ts: parsed.data.ts, id: parsed.data.id }
          : { ts: Math.max(0, parsed.data.ts - this.overlapMs) };
    for (;;) {
      const res = await this.search(object, key);
      const records = res.results;
      const refs = await this.readRefs(
        object,
        records.map((r) => r.id),
      );
      const changes = records.map((r) => toChange(object, o, r, refs.get(r.id) ?? {}, this.view));
      this.counter.recordsRead += changes.length;
      const lastChange = changes.at(-1);
      if (lastChange !== undefined)
        Object.assign(current, { ts: lastChange.modifiedAt, id: lastChange.externalId });
      if (changes.length > 0) yield { changes, cursor: { ...current } };
      const last = records.at(-1);
      if (last === undefined || res.paging?.next?.after === undefined) break;
      key = { ts: modifiedAtOf(o, last), id: last.id };
    }
    // Search never returns archived records: deletes (and merge losers) come from the archived list.
    const deletions = await this.readArchived(object, current.archivedAt);
    const lastArchived = deletions.at(-1)?.deleted?.at;
    if (lastArchived !== undefined) current.archivedAt = lastArchived;
    yield { changes: deletions, cursor: { ...current } };
  }

  /**
   * Records archived after `since`, oldest first. A merged record's id now resolves to the record it
   * was merged into, whose `hs_merged_object_ids` names it: that is a merge, not a delete.
   * The archived list has no time filter, so this pages through every archived record (CRM objects
   * API, `archived=true`); webhooks (deletion and merge events) make this cheaper later.
   */
  private async readArchived(object: ObjectType, since: number): Promise<SourceChange[]> {
    const o = objectView(this.view, object);
    const archived: { id: string; at: number }[] = [];
    let after: string | undefined;
    do {
      const res = await this.counter.call('archived', () =>
        this.client.crm.objects.basicApi.getPage(
          o.native,
          100,
          after,
          [FIELDSYNC_ID_PROPERTY],
          undefined,
          undefined,
          true,
        ),
      );
      const page = parseResponse(SYSTEM, `${o.native} archived list`, archivedPageSchema, res);
      for (const r of page.results) {
        const at =
          r.archivedAt instanceof Date ? r.archivedAt.getTime() : Date.parse(String(r.archivedAt ?? ''));
        if (!Number.isNaN(at) && at > since) archived.push({ id: r.id, at });
      }
      after = page.paging?.next?.after;
    } while (after !== undefined);
    if (archived.length === 0) return [];
    const mergedInto = new Map<string, string>();
    for (const part of chunk(
      archived.map((a) => a.id),
      BATCH_LIMIT,
    )) {
      const res = await this.counter.call('read', () =>
        this.client.crm.objects.batchApi.read(o.native, {
          inputs: part.map((id) => ({ id })),
          properties: [MERGED_IDS_PROPERTY],
          propertiesWithHistory: [],
        }),
      );
      for (const r of parseResponse(SYSTEM, `${o.native} batch read`, batchResponseSchema, res).results) {
        for (const id of mergedIdsOf(r)) if (part.includes(id) && id !== r.id) mergedInto.set(id, r.id);
      }
    }
    return archived
      .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id))
      .map((a) => {
        const into = mergedInto.get(a.id);
        return {
          system: SYSTEM,
          object,
          externalId: a.id,
          modifiedAt: a.at,
          fields: {},
          refs: {},
          deleted: { at: a.at, ...(into !== undefined ? { mergedInto: into } : {}) },
        };
      });
  }

  /** Search has its own limit of about 5 requests per second: one search at a time, spaced. */
  private async paceSearch(): Promise<void> {
    const wait = this.lastSearchAt + SEARCH_SPACING_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.lastSearchAt = Date.now();
  }

  /** Property history of `props` for at most 50 records (HubSpot's cap with history): id -> history. */
  private async readHistory(
    o: SystemObject,
    ids: readonly string[],
    props: readonly string[],
  ): Promise<Map<string, Record<string, PropertyVersion[]>>> {
    const raw = await this.counter.call('read:history', () =>
      this.client.crm.objects.batchApi.read(o.native, {
        inputs: ids.map((id) => ({ id })),
        properties: [modifiedProperty(o.native)],
        propertiesWithHistory: [...props],
      }),
    );
    const res = parseResponse(SYSTEM, `${o.native} history read`, historyResponseSchema, raw);
    return new Map(res.results.map((r) => [r.id, r.propertiesWithHistory ?? {}]));
  }

  async findByKey(object: ObjectType, field: string, values: readonly string[]): Promise<SourceChange[]> {
    const o = objectView(this.view, object);
    const f = o.fields.find((x) => x.name === field);
    if (f === undefined || values.length === 0) return [];
    const wanted = new Set(values);
    const view = searchFilters(o.filters).map((x) => ({ ...x, operator: OPERATORS[x.operator] }));
    const found: HubSpotObject[] = [];
    // Search's IN takes at most 100 values; string values are compared lowercased (as normalized).
    for (const part of chunk([...wanted], BATCH_LIMIT)) {
      let after: string | undefined;
      do {
        await this.paceSearch();
        const res = await this.counter.call('search:match', () =>
          this.client.crm.objects.searchApi.doSearch(o.native, {
            filterGroups: [
              {
                filters: [{ propertyName: f.native, operator: FilterOperatorEnum.In, values: part }, ...view],
              },
            ],
            properties: readProperties(o),
            limit: SEARCH_PAGE,
            ...(after === undefined ? {} : { after }),
          }),
        );
        const page = parseResponse(SYSTEM, `${o.native} match search`, searchResponseSchema, res);
        found.push(...page.results);
        after = page.paging?.next?.after;
      } while (after !== undefined);
    }
    const changes = found.map((r) => toChange(object, o, r, {}, this.view));
    const matching = changes.filter((c) => {
      const key = c.fields[field];
      return typeof key === 'string' && wanted.has(key);
    });
    const refs = await this.readRefs(
      object,
      matching.map((c) => c.externalId),
    );
    this.counter.recordsRead += matching.length;
    return matching.map((c) => ({ ...c, refs: refs.get(c.externalId) ?? {} }));
  }

  async withFieldTimes(object: ObjectType, changes: readonly SourceChange[]): Promise<SourceChange[]> {
    const o = objectView(this.view, object);
    const props = o.fields.map((f) => f.native);
    const times = new Map<string, Record<string, number>>();
    const live = changes.filter((c) => c.deleted === undefined);
    for (const part of chunk(live, HISTORY_BATCH_LIMIT)) {
      const history = await this.readHistory(
        o,
        part.map((c) => c.externalId),
        props,
      );
      for (const [id, h] of history) times.set(id, lastChanged(o, h));
    }
    return changes.map((c) => {
      const found = times.get(c.externalId);
      if (found === undefined || Object.keys(found).length === 0) return c;
      // Never later than the record's own time (the search answer and the history read are two reads).
      const capped = Object.fromEntries(
        Object.entries(found)
          .filter(([field]) => Object.hasOwn(c.fields, field))
          .map(([field, at]) => [field, Math.min(at, c.modifiedAt)]),
      );
      return { ...c, fieldTimes: capped };
    });
  }

  /** One page of what sorts after `key` (from `key.ts` on, inclusive, when it has no id). */
  private async search(object: ObjectType, key: SearchKey) {
    const o = objectView(this.view, object);
    const modified = modifiedProperty(o.native);
    const view = searchFilters(o.filters).map((f) => ({ ...f, operator: OPERATORS[f.operator] }));
    const at = (operator: FilterOperatorEnum) => ({
      propertyName: modified,
      operator,
      value: String(key.ts),
    });
    // (modified > ts) OR (modified = ts AND id > key.id): two filter groups, each with the view's filters.
    const filterGroups =
      key.id === undefined
        ? [{ filters: [at(FilterOperatorEnum.Gte), ...view] }]
        : [
            { filters: [at(FilterOperatorEnum.Gt), ...view] },
            {
              filters: [
                at(FilterOperatorEnum.Eq),
                { propertyName: 'hs_object_id', operator: FilterOperatorEnum.Gt, value: key.id },
                ...view,
              ],
            },
          ];
    await this.paceSearch();
    // CRM search: POST /crm/v3/objects/{type}/search, ascending by last-modified, ties by id (ascending).
    const res = await this.counter.call('search', () =>
      this.client.crm.objects.searchApi.doSearch(o.native, {
        filterGroups,
        sorts: [modified],
        properties: readProperties(o),
        limit: SEARCH_PAGE,
      }),
    );
    return parseResponse(SYSTEM, `${o.native} search`, searchResponseSchema, res);
  }

  /** Reference fields from v4 associations: one batch read per 100 records. */
  private async readRefs(
    object: ObjectType,
    ids: readonly string[],
  ): Promise<Map<string, Record<string, string | null>>> {
    const out = new Map<string, Record<string, string | null>>();
    const o = objectView(this.view, object);
    const assoc = associationsOf(o);
    if (ids.length === 0) return out;
    const from = o.native;
    for (const [field, toType] of Object.entries(assoc)) {
      for (const id of ids) out.set(id, { ...(out.get(id) ?? {}), [field]: null });
      for (const part of chunk(ids, BATCH_LIMIT)) {
        // Associations v4: POST /crm/v4/associations/{from}/{to}/batch/read
        const res = await this.counter.call('associations:read', () =>
          this.client.crm.associations.v4.batchApi.getPage(from, toType, {
            inputs: part.map((id) => ({ id })),
          }),
        );
        for (const row of parseResponse(SYSTEM, `${from} associations`, associationReadSchema, res).results) {
          // Prefer the primary association (type 1) when there are several.
          const sorted = [...row.to].sort(
            (a, b) =>
              primaryRank(a) - primaryRank(b) || String(a.toObjectId).localeCompare(String(b.toObjectId)),
          );
          const first = sorted[0];
          out.set(row._from.id, {
            ...(out.get(row._from.id) ?? {}),
            [field]: first === undefined ? null : String(first.toObjectId),
          });
        }
      }
    }
    return out;
  }

  async modifiedTimes(object: ObjectType, ids: readonly string[]): Promise<Map<string, number>> {
    const o = objectView(this.view, object);
    const out = new Map<string, number>();
    for (const part of chunk(ids, BATCH_LIMIT)) {
      // Batch read of the last-modified property only: 100 ids per call.
      const res = await this.counter.call('read', () =>
        this.client.crm.objects.batchApi.read(o.native, {
          inputs: part.map((id) => ({ id })),
          properties: [modifiedProperty(o.native)],
          propertiesWithHistory: [],
        }),
      );
      for (const r of parseResponse(SYSTEM, `${o.native} batch read`, batchResponseSchema, res).results)
        out.set(r.id, modifiedAtOf(o, r));
    }
    return out;
  }

  async read(object: ObjectType, ids: readonly string[], options: ReadOptions = {}): Promise<SourceChange[]> {
    const o = objectView(this.view, object);
    const records: HubSpotObject[] = [];
    for (const part of chunk(ids, BATCH_LIMIT)) {
      const res = await this.counter.call('read', () =>
        this.client.crm.objects.batchApi.read(o.native, {
          inputs: part.map((id) => ({ id })),
          properties: readProperties(o),
          propertiesWithHistory: [],
        }),
      );
      records.push(...parseResponse(SYSTEM, `${o.native} batch read`, batchResponseSchema, res).results);
    }
    const refs =
      options.refs === false
        ? new Map<string, Record<string, string | null>>()
        : await this.readRefs(
            object,
            records.map((r) => r.id),
          );
    this.counter.recordsRead += records.length;
    return records.map((r) => toChange(object, o, r, refs.get(r.id) ?? {}, this.view));
  }

  async delete(
    object: ObjectType,
    ids: readonly { canonicalId: string; externalId: string }[],
  ): Promise<WriteOutcome[]> {
    const o = objectView(this.view, object);
    const outcomes: WriteOutcome[] = [];
    for (const part of chunk(ids, BATCH_LIMIT)) {
      const ops = deleteOps(part);
      try {
        // Batch archive: POST /crm/v3/objects/{type}/batch/archive (204, also for ids already archived).
        await this.counter.call('delete', () =>
          this.client.crm.objects.batchApi.archive(o.native, {
            inputs: part.map((p) => ({ id: p.externalId })),
          }),
        );
        outcomes.push(
          ...part.map(
            (p): WriteOutcome => ({
              canonicalId: p.canonicalId,
              ok: true,
              externalId: p.externalId,
              created: false,
            }),
          ),
        );
      } catch (err) {
        outcomes.push(...failAll(ops, translateError(err)));
      }
    }
    return outcomes;
  }

  async describe(object: ObjectType): Promise<NativeField[]> {
    const o = objectView(this.view, object);
    // Properties API: GET /crm/v3/properties/{objectType}
    const res = await this.counter.call('describe', () =>
      this.client.crm.properties.coreApi.getAll(o.native),
    );
    return parseResponse(SYSTEM, `${o.native} properties`, propertiesSchema, res).results.map((p) => ({
      name: p.name,
      type: p.type,
      ...(p.options !== undefined && p.options.length > 0 ? { options: p.options.map((v) => v.value) } : {}),
      unique: p.hasUniqueValue === true,
    }));
  }

  async write(object: ObjectType, ops: readonly WriteOp[]): Promise<WriteOutcome[]> {
    const o = objectView(this.view, object);
    const outcomes: WriteOutcome[] = [];
    for (const part of chunk(
      ops.filter((op) => op.externalId !== undefined),
      BATCH_LIMIT,
    )) {
      const inputs = part.map((op) => ({ id: op.externalId ?? '', properties: toProperties(o, op) }));
      const withProps = inputs.filter((i) => Object.keys(i.properties).length > 0);
      const done = new Map<string, WriteOutcome>();
      const sentAt = Date.now();
      if (withProps.length > 0) {
        // Batch update: POST /crm/v3/objects/{type}/batch/update (200, or 207 with per-record errors).
        const res = await this.batch('write:update', () =>
          this.client.crm.objects.batchApi.update(o.native, { inputs: withProps }),
        );
        for (const o of this.outcomes(
          part.filter((op) => withProps.some((i) => i.id === op.externalId)),
          res,
          (op) => op.externalId ?? '',
          (r) => r.id,
        )) {
          done.set(o.canonicalId, o);
        }
      }
      const written = part.filter(
        (op) =>
          op.asOf !== undefined && done.get(op.canonicalId)?.ok === true && Object.keys(op.fields).length > 0,
      );
      const replaced = await this.replaced(object, written, sentAt);
      for (const op of part) {
        const outcome = done.get(op.canonicalId) ?? {
          canonicalId: op.canonicalId,
          ok: true,
          externalId: op.externalId ?? '',
          created: false,
        };
        const found = replaced.get(op.canonicalId);
        outcomes.push(outcome.ok && found !== undefined ? { ...outcome, replaced: found } : outcome);
      }
    }
    for (const part of chunk(
      ops.filter((op) => op.externalId === undefined),
      BATCH_LIMIT,
    )) {
      const inputs = part.map((op) => ({
        id: op.canonicalId,
        idProperty: FIELDSYNC_ID_PROPERTY,
        properties: { ...toProperties(o, op), [FIELDSYNC_ID_PROPERTY]: op.canonicalId },
      }));
      // Batch upsert on a unique property: a retried create updates what the first attempt made.
      const res = await this.batch('write:upsert', () =>
        this.client.crm.objects.batchApi.upsert(o.native, { inputs }),
      );
      outcomes.push(
        ...this.outcomes(
          part,
          res,
          (op) => op.canonicalId,
          (r) => r.properties[FIELDSYNC_ID_PROPERTY] ?? undefined,
          true,
        ),
      );
    }
    await this.writeAssociations(object, ops, outcomes);
    this.counter.recordsWritten += outcomes.filter((o) => o.ok).length;
    return outcomes;
  }

  /**
   * Neither API can make an update conditional, so a user's edit can land between read-before-write's
   * check and the write, and be overwritten unseen. The written properties' history shows it: one batch
   * read per 50 updated records (HubSpot's cap for reads with history). Best effort: a failed read
   * leaves the write as it was, and says so in the log.
   */
  private async replaced(
    object: ObjectType,
    ops: readonly WriteOp[],
    sentAt: number,
  ): Promise<Map<string, ReplacedValues>> {
    const o = objectView(this.view, object);
    const out = new Map<string, ReplacedValues>();
    for (const part of chunk(ops, HISTORY_BATCH_LIMIT)) {
      const props = [...new Set(part.flatMap((op) => Object.keys(toProperties(o, op))))];
      let byId: Map<string, Record<string, PropertyVersion[]>>;
      try {
        byId = await this.readHistory(
          o,
          part.map((op) => op.externalId ?? ''),
          props,
        );
      } catch (err) {
        // The write stands; what it may have replaced stays unknown. Said, never silent.
        console.warn(
          `hubspot: ${o.native} history read after an update failed (${part.length} records): ${
            err instanceof Error ? err.message : String(err)
          }`,
        );
        continue;
      }
      for (const op of part) {
        const found = replacedValues(o, op, byId.get(op.externalId ?? '') ?? {}, this.view, sentAt);
        if (found !== undefined) out.set(op.canonicalId, found);
      }
    }
    return out;
  }

  /** Associations for reference fields: archive the old pair, create the new default association. */
  private async writeAssociations(
    object: ObjectType,
    ops: readonly WriteOp[],
    outcomes: WriteOutcome[],
  ): Promise<void> {
    const o = objectView(this.view, object);
    const assoc = associationsOf(o);
    const from = o.native;
    const byId = new Map(outcomes.map((o, i) => [o.canonicalId, i]));
    for (const [field, toType] of Object.entries(assoc)) {
      const creates: { op: WriteOp; fromId: string; toId: string }[] = [];
      const archives: { op: WriteOp; fromId: string; toId: string }[] = [];
      for (const op of ops) {
        if (!Object.hasOwn(op.refs, field)) continue;
        const i = byId.get(op.canonicalId);
        const outcome = i === undefined ? undefined : outcomes[i];
        if (outcome === undefined || !outcome.ok) continue;
        const next = op.refs[field] ?? null;
        const prev = op.previousRefs[field] ?? null;
        if (prev !== null && prev !== next) archives.push({ op, fromId: outcome.externalId, toId: prev });
        if (next !== null && next !== prev) creates.push({ op, fromId: outcome.externalId, toId: next });
      }
      const fail = (op: WriteOp, e: ConnectorError) => {
        const i = byId.get(op.canonicalId);
        if (i !== undefined)
          outcomes[i] = {
            canonicalId: op.canonicalId,
            ok: false,
            retryable: e.retryable,
            code: e.code,
            message: e.message,
          };
      };
      for (const part of chunk(archives, BATCH_LIMIT)) {
        try {
          // Associations v4: POST /crm/v4/associations/{from}/{to}/batch/archive (204)
          await this.counter.call('associations:archive', () =>
            this.client.crm.associations.v4.batchApi.archive(from, toType, {
              inputs: part.map((a) => ({ _from: { id: a.fromId }, to: [{ id: a.toId }] })),
            }),
          );
        } catch (err) {
          for (const a of part) fail(a.op, translateError(err));
        }
      }
      for (const part of chunk(creates, BATCH_LIMIT)) {
        try {
          // Associations v4: POST /crm/v4/associations/{from}/{to}/batch/associate/default
          await this.counter.call('associations:create', () =>
            this.client.crm.associations.v4.batchApi.createDefault(from, toType, {
              inputs: part.map((a) => ({ _from: { id: a.fromId }, to: { id: a.toId } })),
            }),
          );
        } catch (err) {
          for (const a of part) fail(a.op, translateError(err));
        }
      }
    }
  }

  private async batch(kind: string, fn: () => Promise<unknown>) {
    try {
      return parseResponse(SYSTEM, kind, batchResponseSchema, await this.counter.call(kind, fn));
    } catch (err) {
      return translateError(err);
    }
  }

  /** Pair batch results (200 or 207) with ops by key; an op with no result failed. */
  private outcomes(
    ops: readonly WriteOp[],
    res: z.infer<typeof batchResponseSchema> | ConnectorError,
    opKey: (op: WriteOp) => string,
    resultKey: (r: HubSpotObject) => string | undefined,
    creating = false,
  ): WriteOutcome[] {
    if (res instanceof ConnectorError) return failAll(ops, res);
    const results = new Map<string, HubSpotObject>();
    for (const r of res.results) {
      const key = resultKey(r);
      if (key !== undefined) results.set(key, r);
    }
    return ops.map((op): WriteOutcome => {
      const r = results.get(opKey(op));
      if (r !== undefined)
        return { canonicalId: op.canonicalId, ok: true, externalId: r.id, created: creating };
      const err =
        res.errors?.find((e) => Object.values(e.context ?? {}).some((ids) => ids.includes(opKey(op)))) ??
        res.errors?.[0];
      return {
        canonicalId: op.canonicalId,
        ok: false,
        retryable: false,
        code: err?.category ?? 'UNKNOWN',
        message: err?.message ?? 'record missing from batch result',
      };
    });
  }
}

/** Where a search page starts: after (ts, id), or from ts on when there is no id. */
interface SearchKey {
  ts: number;
  id?: string;
}

const OPERATORS: Record<SearchFilter['operator'], FilterOperatorEnum> = {
  EQ: FilterOperatorEnum.Eq,
  NEQ: FilterOperatorEnum.Neq,
  IN: FilterOperatorEnum.In,
  NOT_IN: FilterOperatorEnum.NotIn,
  HAS_PROPERTY: FilterOperatorEnum.HasProperty,
  GTE: FilterOperatorEnum.Gte,
};

/** Reference fields carried as v4 associations: canonical field -> associated object type. */
function associationsOf(o: SystemObject): Record<string, string> {
  return Object.fromEntries(o.refs.map((r) => [r.name, r.native]));
}

function primaryRank(to: { associationTypes?: { typeId?: number | undefined }[] | undefined }): number {
  return to.associationTypes?.some((t) => t.typeId === 1) === true ? 0 : 1;
}
