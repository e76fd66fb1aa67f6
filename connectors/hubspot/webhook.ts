// HubSpot webhook requests: signature verification (v3, optionally v1/v2) and payload parsing into
// connector-neutral change notices. Pure and small on purpose: the webhook Lambda bundles it, so
// it imports node:crypto, zod and types only (no SaaS client). Reference: HubSpot "Webhooks API"
// and "Validating requests" pages (saas-apis.md B8).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** Larger bodies are refused before parsing: 100 events are far below this. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** "Up to 100 events" per request (Webhooks API, Limits). */
export const MAX_WEBHOOK_EVENTS = 100;
/** v3: "reject the request if the timestamp is older than 5 minutes"; we also refuse the future. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60 * 1000;

export interface WebhookRequest {
  method: string;
  /** The full public URL HubSpot called, scheme, host, path and query, as configured (not from Host). */
  url: string;
  /** The raw body as received (base64-decoded if API Gateway encoded it), never re-serialized JSON. */
  rawBody: string;
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>;
}

export type SignatureVersion = 'v3' | 'v2' | 'v1';
export type SignatureVerdict = { ok: true; version: SignatureVersion } | { ok: false; reason: string };

// Validating requests (v3): these escapes are decoded in the URI before signing; others (e.g. %20) stay.
const V3_DECODED: Readonly<Record<string, string>> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** The URI as v3 signs it: one pass, so `%253A` stays `%253A`. */
export function v3SignedUri(url: string): string {
  return url.replace(/%[0-9A-Fa-f]{2}/g, (code) => V3_DECODED[code.toUpperCase()] ?? code);
}

/** The v3 signature of a request: base64 HMAC-SHA256(secret, method + uri + body + timestamp). */
export function signHubSpotV3(
  req: Pick<WebhookRequest, 'method' | 'url' | 'rawBody'>,
  secret: string,
  timestamp: string,
): string {
  return createHmac('sha256', secret)
    .update(`${req.method.toUpperCase()}${v3SignedUri(req.url)}${req.rawBody}${timestamp}`, 'utf8')
    .digest('base64');
}

/** v1: hex sha256(secret + body); v2: hex sha256(secret + method + uri + body), the URI exactly as called. */
export function signHubSpotLegacy(
  req: Pick<WebhookRequest, 'method' | 'url' | 'rawBody'>,
  secret: string,
  version: 'v1' | 'v2',
): string {
  const source =
    version === 'v1'
      ? `${secret}${req.rawBody}`
      : `${secret}${req.method.toUpperCase()}${req.url}${req.rawBody}`;
  return createHash('sha256').update(source, 'utf8').digest('hex');
}

function constantTimeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  // timingSafeEqual needs equal lengths; a length mismatch reveals only the (public) signature length.
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a webhook request's signature. v3 is used whenever its header is present (no downgrade to
 * v1/v2 on a v3 failure); v1/v2 are accepted only with `allowV1V2` (they carry no timestamp, so a
 * captured request can be replayed forever).
 */
export function verifyHubSpotSignature(
  req: WebhookRequest,
  secret: string,
  now: number,
  options: { allowV1V2?: boolean } = {},
): SignatureVerdict {
  if (secret === '') return { ok: false, reason: 'no client secret configured' };
  const v3 = req.headers['x-hubspot-signature-v3'];
  if (v3 !== undefined) {
    const timestamp = req.headers['x-hubspot-request-timestamp'];
    if (timestamp === undefined) return { ok: false, reason: 'missing x-hubspot-request-timestamp' };
    if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'malformed x-hubspot-request-timestamp' };
    const age = now - Number(timestamp);
    if (age > MAX_SIGNATURE_SKEW_MS) return { ok: false, reason: 'timestamp older than 5 minutes' };
    if (age < -MAX_SIGNATURE_SKEW_MS)
      return { ok: false, reason: 'timestamp more than 5 minutes in the future' };
    return constantTimeEqual(signHubSpotV3(req, secret, timestamp), v3)
      ? { ok: true, version: 'v3' }
      : { ok: false, reason: 'v3 signature mismatch' };
  }
  const legacy = req.headers['x-hubspot-signature'];
  if (legacy === undefined) return { ok: false, reason: 'missing x-hubspot-signature-v3' };
  if (options.allowV1V2 !== true) return { ok: false, reason: 'v1/v2 signatures are not accepted' };
  const version = req.headers['x-hubspot-signature-version'];
  if (version !== 'v1' && version !== 'v2')
    return { ok: false, reason: 'missing or unknown x-hubspot-signature-version' };
  return constantTimeEqual(signHubSpotLegacy(req, secret, version), legacy.toLowerCase())
    ? { ok: true, version }
    : { ok: false, reason: `${version} signature mismatch` };
}

// ---- payload ---------------------------------------------------------------------------------

/** Ids arrive as JSON numbers; strings of digits are accepted too. Normalized to strings. */
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform((v) => String(v));

const eventSchema = z
  .object({
    eventId: id,
    subscriptionId: id,
    portalId: id,
    appId: id.optional(),
    // Epoch ms a Date can hold (what the notice queue's schema takes), not just any safe integer.
    occurredAt: z.number().int().nonnegative().max(8.64e15),
    // The Webhooks API page's example says `eventType`; real deliveries and the signature examples say
    // `subscriptionType`. Accept either.
    subscriptionType: z.string().min(1).optional(),
    eventType: z.string().min(1).optional(),
    attemptNumber: z.number().int().nonnegative().optional(),
    objectId: id.optional(),
    propertyName: z.string().optional(),
    propertyValue: z.string().optional(),
    changeSource: z.string().optional(),
    changeFlag: z.string().optional(),
    sourceId: z.string().optional(),
    // merge
    primaryObjectId: id.optional(),
    mergedObjectIds: z.array(id).optional(),
    newObjectId: id.optional(),
    numberOfPropertiesMoved: z.number().int().optional(),
    // associationChange
    associationType: z.string().optional(),
    fromObjectId: id.optional(),
    toObjectId: id.optional(),
    associationRemoved: z.boolean().optional(),
    isPrimaryAssociation: z.boolean().optional(),
  })
  .transform(({ eventType, subscriptionType, ...rest }, ctx) => {
    const type = subscriptionType ?? eventType;
    if (type === undefined) {
      ctx.addIssue({ code: 'custom', message: 'subscriptionType (or eventType) is required' });
      return z.NEVER;
    }
    return { ...rest, subscriptionType: type };
  })
  .superRefine((event, ctx) => {
    const parsed = parseType(event.subscriptionType);
    if (parsed === undefined) return; // unknown types are ignored later, not rejected
    const need = (field: keyof typeof event) => {
      if (event[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${event.subscriptionType} needs ${field}` });
    };
    if (parsed.kind === 'association') {
      need('fromObjectId');
      need('toObjectId');
    } else if (parsed.kind === 'merge') {
      if (event.objectId === undefined && event.primaryObjectId === undefined) need('primaryObjectId');
      need('mergedObjectIds');
    } else {
      need('objectId');
    }
  });

export type HubSpotEvent = z.output<typeof eventSchema>;

const bodySchema = z
  .array(eventSchema)
  .max(MAX_WEBHOOK_EVENTS, `more than ${MAX_WEBHOOK_EVENTS} events in one request`);

/** Validates a delivery body: a JSON array of at most 100 events. Unknown subscription types pass. */
export function parseHubSpotEvents(rawBody: string): { events: HubSpotEvent[] } | { error: string } {
  if (Buffer.byteLength(rawBody, 'utf8') > MAX_WEBHOOK_BODY_BYTES)
    return { error: `body larger than ${MAX_WEBHOOK_BODY_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    return { error: 'body is not valid JSON' };
  }
  const result = bodySchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    return { error: `invalid webhook body${where}: ${issue?.message ?? 'unknown'}` };
  }
  return { events: result.data };
}

/** Dedupe key: HubSpot may deliver an event twice and `eventId` alone is "not guaranteed to be unique". */
export function eventKey(event: HubSpotEvent): string {
  const objectId = event.objectId ?? `${event.fromObjectId ?? ''}>${event.toObjectId ?? ''}`;
  return `${event.subscriptionId}:${event.eventId}:${event.occurredAt}:${objectId}:${event.propertyName ?? ''}`;
}

// ---- notices ---------------------------------------------------------------------------------

export type NoticeObject = 'contact' | 'company' | 'deal';
export type NoticeKind = 'change' | 'delete' | 'merge' | 'association' | 'restore';

/** "Record X of system S changed at T": the connector-neutral trigger the sync reads records for. */
export interface ChangeNotice {
  system: 'hubspot';
  object: NoticeObject;
  /** The record to (re)read: the surviving record for merges, the `from` record for associations. */
  externalId: string;
  occurredAt: number;
  eventId: string;
  kind: NoticeKind;
  /** Merge: the ids that are gone (merged into `externalId`). */
  mergedIds?: string[];
  /** Merge: the id of the record the merge created, when HubSpot made a new one. */
  newId?: string;
  propertyName?: string;
  propertyValue?: string;
}

const OBJECTS: Readonly<Record<string, NoticeObject>> = {
  contact: 'contact',
  company: 'company',
  deal: 'deal',
};
const KINDS: Readonly<Record<string, NoticeKind>> = {
  creation: 'change',
  propertyChange: 'change',
  deletion: 'delete',
  privacyDeletion: 'delete',
  merge: 'merge',
  associationChange: 'association',
  restore: 'restore',
};

function parseType(subscriptionType: string): { object: NoticeObject; kind: NoticeKind } | undefined {
  const [prefix, action, ...rest] = subscriptionType.split('.');
  if (prefix === undefined || action === undefined || rest.length > 0) return undefined;
  const object = Object.hasOwn(OBJECTS, prefix) ? OBJECTS[prefix] : undefined;
  const kind = Object.hasOwn(KINDS, action) ? KINDS[action] : undefined;
  return object === undefined || kind === undefined ? undefined : { object, kind };
}

function noticeOf(event: HubSpotEvent): ChangeNotice | undefined {
  const type = parseType(event.subscriptionType);
  if (type === undefined) return undefined;
  const base: Pick<ChangeNotice, 'system' | 'object' | 'occurredAt' | 'eventId'> = {
    system: 'hubspot',
    object: type.object,
    occurredAt: event.occurredAt,
    eventId: event.eventId,
  };
  switch (type.kind) {
    case 'association': {
      if (event.fromObjectId === undefined) return undefined;
      return { ...base, kind: 'association', externalId: event.fromObjectId };
    }
    case 'merge': {
      const primary = event.primaryObjectId ?? event.objectId;
      const survivor = event.newObjectId ?? primary;
      if (survivor === undefined) return undefined;
      const gone = [...(event.mergedObjectIds ?? []), ...(primary !== undefined ? [primary] : [])];
      const mergedIds = [...new Set(gone)].filter((x) => x !== survivor);
      return {
        ...base,
        kind: 'merge',
        externalId: survivor,
        mergedIds,
        ...(event.newObjectId !== undefined ? { newId: event.newObjectId } : {}),
      };
    }
    default: {
      if (event.objectId === undefined) return undefined;
      return {
        ...base,
        kind: type.kind,
        externalId: event.objectId,
        ...(event.propertyName !== undefined ? { propertyName: event.propertyName } : {}),
        ...(event.propertyValue !== undefined ? { propertyValue: event.propertyValue } : {}),
      };
    }
  }
}

/** Notices for the contact, company and deal events; other subscription types are skipped. */
export function toNotices(events: readonly HubSpotEvent[]): ChangeNotice[] {
  const out: ChangeNotice[] = [];
  for (const event of events) {
    const notice = noticeOf(event);
    if (notice !== undefined) out.push(notice);
  }
  return out;
}
