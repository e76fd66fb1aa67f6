// The webhook function: verify, parse, drop duplicate events, queue notices for the system's poller,
// answer fast. No SaaS client in this bundle: verification and parsing are pure modules.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import {
  eventKey,
  toNotices as hubspotNotices,
  MAX_WEBHOOK_BODY_BYTES,
  parseHubSpotEvents,
  verifyHubSpotSignature,
} from '../connectors/hubspot/webhook.ts';
import {
  ACK_XML,
  nackFault,
  parseOutboundMessage,
  toNotices as salesforceNotices,
  verifyOutbound,
} from '../connectors/salesforce/outbound.ts';
import type { ChangeNotice } from '../connectors/types.ts';
import type { NoticeMessage } from './messages.ts';
import { mapPool } from './pool.ts';
import { packMessages, type Queue } from './queue.ts';
import type { Store } from './store.ts';

export interface WebhookSettings {
  /** The public base URL HubSpot calls (signatures cover the full URL), e.g. https://api.example.com.
   * Unset: https://<the domain the request came to> (the API's own domain, default stage). */
  publicBaseUrl?: string | undefined;
  hubspotClientSecret?: string | undefined;
  /** Also accept HubSpot's older v1/v2 signatures. */
  hubspotAllowV1V2?: boolean | undefined;
  salesforceOrgId?: string | undefined;
  salesforceSecret?: string | undefined;
}

export interface WebhookDeps {
  store: Store;
  queue: Queue;
  noticeQueues: Readonly<Record<string, string>>;
  settings: WebhookSettings;
  now: () => number;
}

export interface WebhookOutcome {
  status: number;
  accepted: number;
  duplicates: number;
}

const json = (status: number, body: unknown): APIGatewayProxyResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const xml = (status: number, body: string): APIGatewayProxyResultV2 => ({
  statusCode: status,
  headers: { 'content-type': 'text/xml; charset=utf-8' },
  body,
});

function rawBodyOf(event: APIGatewayProxyEventV2): string {
  const body = event.body ?? '';
  return event.isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
}

function headersOf(event: APIGatewayProxyEventV2): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/** Drop notices whose delivery key was seen before (a conditional put per key, kept for a few days). */
async function fresh(
  deps: WebhookDeps,
  notices: readonly { key: string; notice: ChangeNotice }[],
): Promise<{ key: string; notice: ChangeNotice }[]> {
  const seen = await mapPool(notices, 16, (n) => deps.store.claimEvent(n.notice.system, n.key, deps.now()));
  return notices.filter((_, i) => seen[i] === true);
}

async function enqueue(
  deps: WebhookDeps,
  system: string,
  notices: readonly { key: string; notice: ChangeNotice }[],
): Promise<number> {
  const url = deps.noticeQueues[system];
  if (url === undefined) throw new Error(`no notice queue for ${system}`);
  const unique = await fresh(deps, notices);
  if (unique.length === 0) return 0;
  try {
    await deps.queue.send(
      url,
      packMessages(
        unique.map((u) => u.notice),
        (part): NoticeMessage => ({ v: 1, notices: part }),
      ),
    );
  } catch (err) {
    // Not queued: give the keys back, so the vendor's retry of this delivery (it gets a 5xx) is not
    // dropped as a duplicate. A release that fails too leaves the next poll to pick the change up.
    await mapPool(unique, 16, (u) => deps.store.releaseEvent(u.notice.system, u.key)).catch(() => undefined);
    throw err;
  }
  return unique.length;
}

export function createWebhookRoute(deps: WebhookDeps) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
    const method = event.requestContext?.http?.method ?? 'POST';
    const path = event.rawPath;
    if (method !== 'POST') return json(405, { message: 'POST only' });
    const raw = rawBodyOf(event);
    if (Buffer.byteLength(raw) > MAX_WEBHOOK_BODY_BYTES) return json(413, { message: 'body too large' });

    if (path === '/webhooks/hubspot') {
      const secret = deps.settings.hubspotClientSecret;
      if (secret === undefined || secret === '')
        return json(503, { message: 'HubSpot webhooks are not configured' });
      const query =
        event.rawQueryString === undefined || event.rawQueryString === '' ? '' : `?${event.rawQueryString}`;
      const base = deps.settings.publicBaseUrl ?? `https://${event.requestContext?.domainName ?? ''}`;
      const url = `${base.replace(/\/+$/, '')}${path}${query}`;
      const verdict = verifyHubSpotSignature(
        { method, url, rawBody: raw, headers: headersOf(event) },
        secret,
        deps.now(),
        { allowV1V2: deps.settings.hubspotAllowV1V2 === true },
      );
      // A bad or missing signature has no side effect.
      if (!verdict.ok) return json(401, { message: 'invalid signature' });
      const parsed = parseHubSpotEvents(raw);
      if ('error' in parsed) return json(400, { message: parsed.error });
      // Deduped on the whole event (eventKey): `eventId` alone "is not guaranteed to be unique" (Webhooks
      // API), and distinct events sharing one would be dropped as duplicates.
      const notices = parsed.events.flatMap((e) =>
        hubspotNotices([e]).map((notice) => ({ key: eventKey(e), notice })),
      );
      const accepted = await enqueue(deps, 'hubspot', notices);
      return json(200, { accepted });
    }

    const sf = /^\/webhooks\/salesforce\/([^/]+)$/.exec(path);
    if (sf !== null) {
      const orgId = deps.settings.salesforceOrgId;
      const secret = deps.settings.salesforceSecret;
      if (orgId === undefined || secret === undefined)
        return xml(503, nackFault('Salesforce outbound messages are not configured'));
      const parsed = parseOutboundMessage(raw);
      if ('error' in parsed) return xml(400, nackFault(parsed.error));
      const verdict = verifyOutbound(parsed, { organizationId: orgId, secret }, sf[1] ?? '');
      if (!verdict.ok) return xml(401, nackFault('not accepted'));
      // The notification Id is the same on every redelivery and unique otherwise.
      await enqueue(
        deps,
        'salesforce',
        salesforceNotices(parsed).map((notice) => ({ key: notice.eventId, notice })),
      );
      // The acknowledgement: without it Salesforce retries the message for up to 24 hours.
      return xml(200, ACK_XML);
    }
    return json(404, { message: 'no such webhook' });
  };
}
