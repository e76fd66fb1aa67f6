// The sandbox's request pipeline: route → count → auth → rate limits → faults → handler, with
// HubSpot's error bodies and rate-limit headers (reference B5–B7).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FaultSwitch } from '../faults.ts';
import { BodyTooLargeError, type CallStats, readBody, sendJson, WindowLimiter } from '../http.ts';
import { adminRoute } from './admin.ts';
import { associationRoutes } from './associations.ts';
import { HubSpotApiError, validationError } from './errors.ts';
import type { SandboxAuth } from './oauth.ts';
import { objectRoutes } from './objects.ts';
import type { PortalApi } from './portal.ts';
import { propertyRoutes } from './properties.ts';
import { type Reply, type Route, TYPE_PARAMS } from './routes.ts';
import { objectTypeFrom } from './schema.ts';
import type { HubSpotStore } from './store.ts';

export const JSON_TYPE = 'application/json;charset=utf-8';

export interface FaultOptions {
  seed?: number;
  /** Share of API calls answered with a 500. */
  rate5xx?: number;
  /** Share of API calls answered with a 429 (the route's usual policy). */
  rate429?: number;
  /**
   * Which 429 the `rate429` fault sends: 'route' (default) the route's usual one, TEN_SECONDLY_ROLLING
   * outside search (the SDK then waits 10 s × attempt); 'secondly' the secondly-limit message
   * everywhere (the SDK waits 1 s × attempt), to keep long fault runs fast.
   */
  fault429?: 'route' | 'secondly';
  /** Each API call is delayed by a seeded random 0..latencyMs. */
  latencyMs?: number;
  /** The long tail: this share of API calls waits `slowMs` more (counted as 'slow'). */
  slowRate?: number;
  slowMs?: number;
  /** Injected 429s carry `Retry-After: <seconds>` (as the ten-secondly limit's do); default none. */
  retryAfterSeconds?: number;
}

export interface ServerConfig {
  store: HubSpotStore;
  portal: PortalApi;
  stats: CallStats;
  /** Which bearer tokens are accepted, and the OAuth token endpoint. */
  auth: SandboxAuth;
  now: () => number;
  tenSecondlyLimit: number;
  searchPerSecond: number;
  dailyLimit: number;
  /** Injected faults; the options can change while the server runs. */
  faults: FaultSwitch<FaultOptions>;
}

/** Daily quota; resets at midnight UTC (HubSpot resets at midnight in the portal's time zone). */
class DailyQuota {
  private day = Number.NaN;
  private used = 0;
  readonly max: number;
  private readonly now: () => number;
  constructor(max: number, now: () => number) {
    this.max = max;
    this.now = now;
  }
  /** Remaining calls after this one, or -1 when the quota is spent. */
  take(): number {
    const day = Math.floor(this.now() / 86_400_000);
    if (day !== this.day) {
      this.day = day;
      this.used = 0;
    }
    if (this.used >= this.max) return -1;
    this.used++;
    return this.max - this.used;
  }
  remaining(): number {
    return Math.max(0, this.max - this.used);
  }
}

interface Matched {
  route: Route;
  params: Map<string, string>;
  /** Stats key, e.g. `POST /crm/v3/objects/contacts/batch/update`. */
  key: string;
}

const ROUTES: readonly Route[] = [...objectRoutes, ...associationRoutes, ...propertyRoutes];

function match(method: string, segments: readonly string[]): Matched | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const parts = route.pattern.split('/').filter((p) => p.length > 0);
    if (parts.length !== segments.length) continue;
    const params = new Map<string, string>();
    const key: string[] = [];
    let ok = true;
    parts.forEach((part, i) => {
      const actual = segments[i] ?? '';
      if (!part.startsWith(':')) {
        ok &&= part === actual;
        key.push(part);
        return;
      }
      const name = part.slice(1);
      params.set(name, actual);
      key.push(TYPE_PARAMS.has(name) ? (objectTypeFrom(actual) ?? actual) : `{${name}}`);
    });
    if (ok) return { route, params, key: `${method} /${key.join('/')}` };
  }
  return undefined;
}

/** HubSpot's error body (reference B6.5). */
function apiErrorReply(error: HubSpotApiError): Reply {
  const body = {
    status: 'error',
    message: error.message,
    correlationId: randomUUID(),
    category: error.category,
    ...(error.details.length > 0 ? { errors: error.details } : {}),
    ...(error.context === undefined ? {} : { context: error.context }),
  };
  return { status: error.status, body };
}

function toApiError(error: unknown): HubSpotApiError {
  if (error instanceof HubSpotApiError) return error;
  if (error instanceof BodyTooLargeError) return new HubSpotApiError(413, 'VALIDATION_ERROR', error.message);
  return new HubSpotApiError(500, 'INTERNAL_ERROR', error instanceof Error ? error.message : String(error));
}

function rateLimitReply(policy: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY'): Reply {
  const message =
    policy === 'SECONDLY'
      ? 'You have reached your secondly limit.'
      : policy === 'DAILY'
        ? 'You have reached your daily limit.'
        : 'You have reached your ten_secondly_rolling limit.';
  return {
    status: 429,
    body: {
      status: 'error',
      message,
      errorType: 'RATE_LIMIT',
      correlationId: randomUUID(),
      policyName: policy,
    },
  };
}

function send(res: ServerResponse, reply: Reply, headers: Record<string, string> = {}): void {
  sendJson(res, reply.status, reply.body, headers, JSON_TYPE);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw validationError(`Invalid input JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function createRequestHandler(
  config: ServerConfig,
): (req: IncomingMessage, res: ServerResponse) => void {
  const tenSecondly = new WindowLimiter(config.tenSecondlyLimit, 10_000, config.now);
  const secondly = new WindowLimiter(config.searchPerSecond, 1_000, config.now);
  const daily = new DailyQuota(config.dailyLimit, config.now);

  const limitHeaders = (remaining: number): Record<string, string> => ({
    'X-HubSpot-RateLimit-Max': String(tenSecondly.max),
    'X-HubSpot-RateLimit-Remaining': String(Math.max(0, remaining)),
    'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
    'X-HubSpot-RateLimit-Daily': String(daily.max),
    'X-HubSpot-RateLimit-Daily-Remaining': String(daily.remaining()),
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    let segments: string[];
    try {
      segments = url.pathname
        .split('/')
        .filter((s) => s.length > 0)
        .map((s) => decodeURIComponent(s));
    } catch {
      send(res, apiErrorReply(validationError(`Malformed path: ${url.pathname}`)));
      return;
    }
    const raw = method === 'GET' || method === 'DELETE' ? '' : await readBody(req);

    if (segments[0] === '__sandbox') {
      const reply = adminRoute(
        config.portal,
        () => config.stats.snapshot(),
        method,
        segments.slice(1),
        parseJson(raw),
      );
      send(
        res,
        reply ??
          apiErrorReply(
            new HubSpotApiError(404, 'OBJECT_NOT_FOUND', `No admin route ${method} ${url.pathname}`),
          ),
      );
      return;
    }

    // OAuth (reference B3): the token endpoint needs no bearer token and is outside the API limits.
    if (method === 'POST' && url.pathname.replace(/\/+$/, '') === '/oauth/v1/token') {
      config.stats.count('POST /oauth/v1/token');
      send(res, config.auth.token(raw));
      return;
    }

    const matched = match(method, segments);
    if (matched === undefined) {
      send(
        res,
        apiErrorReply(new HubSpotApiError(404, 'OBJECT_NOT_FOUND', `No route for ${method} ${url.pathname}`)),
      );
      return;
    }
    config.stats.count(matched.key);

    const auth = config.auth.check(req.headers.authorization);
    if (auth !== 'ok') {
      const message =
        auth === 'expired'
          ? 'The OAuth token used to make this call expired. Refresh the access token.'
          : 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview';
      const category = auth === 'expired' ? 'EXPIRED_AUTHENTICATION' : 'INVALID_AUTHENTICATION';
      send(res, apiErrorReply(new HubSpotApiError(401, category, message)));
      return;
    }

    // Rate limits (reference B7): search has its own per-second limit and sends no headers.
    const search = matched.route.search === true;
    let headers: Record<string, string> = {};
    if (daily.take() < 0) {
      send(res, rateLimitReply('DAILY'), search ? {} : limitHeaders(0));
      return;
    }
    if (search) {
      if (secondly.take() < 0) {
        send(res, rateLimitReply('SECONDLY'));
        return;
      }
    } else {
      const remaining = tenSecondly.take();
      if (remaining < 0) {
        const retryAfter = String(Math.max(1, Math.ceil(tenSecondly.retryAfterMs() / 1000)));
        send(res, rateLimitReply('TEN_SECONDLY_ROLLING'), { ...limitHeaders(0), 'Retry-After': retryAfter });
        return;
      }
      headers = limitHeaders(remaining);
    }

    const faults = config.faults.options;
    if (faults !== undefined) {
      const dice = config.faults;
      if ((faults.latencyMs ?? 0) > 0) await sleep(Math.floor(dice.rand() * (faults.latencyMs ?? 0)));
      await dice.slowTail(faults.slowRate, faults.slowMs);
      const roll = dice.rand();
      if (roll < (faults.rate5xx ?? 0)) {
        dice.count('5xx');
        send(
          res,
          apiErrorReply(new HubSpotApiError(500, 'INTERNAL_ERROR', 'internal error (sandbox fault)')),
          headers,
        );
        return;
      }
      if (roll < (faults.rate5xx ?? 0) + (faults.rate429 ?? 0)) {
        dice.count('429');
        const secondly = search || faults.fault429 === 'secondly';
        const retryAfter =
          faults.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(faults.retryAfterSeconds) };
        send(res, rateLimitReply(secondly ? 'SECONDLY' : 'TEN_SECONDLY_ROLLING'), {
          ...headers,
          ...retryAfter,
        });
        return;
      }
    }

    const host = req.headers.host ?? 'sandbox.invalid';
    let reply: Reply;
    try {
      // API writes show up in webhooks as changeSource INTEGRATION; direct and admin edits as CRM_UI.
      reply = config.store.withSource('INTEGRATION', () =>
        matched.route.handler({
          params: matched.params,
          query: url.searchParams,
          body: parseJson(raw),
          store: config.store,
          now: config.now,
          baseUrl: `http://${host}`,
        }),
      );
    } catch (error) {
      reply = apiErrorReply(toApiError(error));
    }
    send(res, reply, headers);
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      send(res, apiErrorReply(toApiError(error)));
    });
  };
}
