// Salesforce Outbound Messages, receiving side: parse the SOAP 1.1 notification envelope,
// authenticate it, answer with the Ack, and turn it into connector-neutral change notices.
// Pure and small on purpose: it ships in the webhook Lambda's bundle, so no SaaS client here.
// Docs: "Understanding Notifications", "Understanding the Outbound Messaging WSDL",
// "Considerations for Security" (Outbound Messaging guide).
import { createHash, timingSafeEqual } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import type { ObjectType } from '../../engine/index.ts';

/** WSDL `Notification maxOccurs="100"`. */
export const MAX_NOTIFICATIONS = 100;
/**
 * Largest body we parse. 100 notifications of Id + SystemModstamp are ~60 KB; the cap leaves room
 * for admins who add long text fields while staying under Lambda's 6 MB synchronous payload.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** What Salesforce sends and expects back. */
export const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';

/** The acknowledgement Salesforce needs, or it retries the message (WSDL `notificationsResponse`). */
export const ACK_XML = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>`;

export interface OutboundNotification {
  /** The notification Id (key prefix 04l): the same on every redelivery, so it is the dedupe key. */
  notificationId: string;
  /** `Contact`, `Account`, ... from the sObject's `xsi:type`. */
  sobjectType: string;
  /** The record Id. */
  id: string;
  systemModstamp?: string;
  /** Every field the Outbound Message carries (Id included), as text; `xsi:nil` is null. */
  fields: Record<string, string | null>;
}

export interface OutboundMessage {
  organizationId: string;
  /** The Outbound Message definition (key prefix 04k). */
  actionId: string;
  notifications: OutboundNotification[];
}

export interface OutboundSettings {
  /** The org's Id, 15 or 18 characters. */
  organizationId: string;
  /** The random secret that ends the endpoint URL, `/webhooks/salesforce/<secret>`. */
  secret: string;
}

/** A change reported by a push channel; the receiver re-reads the record, so no field values. */
export interface ChangeNotice {
  system: 'salesforce';
  object: ObjectType;
  externalId: string;
  /** Epoch ms: the record's SystemModstamp when the message carries it. */
  occurredAt: number;
  /** The notification Id: redeliveries repeat it. */
  eventId: string;
  kind: 'change';
}

/** The sObjects fieldsync syncs, by canonical object. */
const OBJECT_BY_SOBJECT: ReadonlyMap<string, ObjectType> = new Map([
  ['Contact', 'contact'],
  ['Account', 'company'],
  ['Opportunity', 'deal'],
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  // `soapenv:`, `sf:`, `env:` or no prefix at all: we match on local names.
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'Notification',
});

const sfId = z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'not a Salesforce Id');

const notificationsSchema = z.object({
  OrganizationId: sfId,
  ActionId: sfId,
  Notification: z
    .array(
      z.object({
        Id: sfId,
        sObject: z.record(z.string(), z.unknown()),
      }),
    )
    .min(1, 'no Notification')
    .max(MAX_NOTIFICATIONS, `more than ${MAX_NOTIFICATIONS} notifications`),
});

const envelopeSchema = z.object({
  Envelope: z.object({
    Body: z.object({ notifications: z.unknown() }, { error: 'expected a notifications element in Body' }),
  }),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An element's text: `xsi:nil="true"` is null, `<x/>` is ''; undefined for nested elements. */
function textOf(value: unknown): string | null | undefined {
  if (typeof value === 'string') return value;
  if (!isRecord(value)) return undefined;
  if (value['@nil'] === 'true') return null;
  const text = value['#text'];
  if (typeof text === 'string') return text;
  return Object.keys(value).every((k) => k.startsWith('@')) ? '' : undefined;
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/** Parses an Outbound Message request body; every problem comes back as `{ error }`, never thrown. */
export function parseOutboundMessage(rawBody: string): OutboundMessage | { error: string } {
  if (Buffer.byteLength(rawBody, 'utf8') > MAX_BODY_BYTES)
    return { error: `body larger than ${MAX_BODY_BYTES} bytes` };
  if (rawBody.trim() === '') return { error: 'not a SOAP message: empty body' };
  // SOAP forbids a DTD; refusing it also rules out entity-expansion bombs.
  if (/<!DOCTYPE/i.test(rawBody)) return { error: 'a SOAP message must not contain a DOCTYPE' };
  let doc: unknown;
  try {
    doc = parser.parse(rawBody, true);
  } catch (e) {
    return { error: `malformed XML: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!isRecord(doc) || !('Envelope' in doc))
    return { error: 'not a SOAP message: expected an Envelope root' };
  const envelope = envelopeSchema.safeParse(doc);
  if (!envelope.success)
    return { error: `not a Salesforce outbound message: ${describeIssue(envelope.error)}` };
  const body = notificationsSchema.safeParse(envelope.data.Envelope.Body.notifications);
  if (!body.success) return { error: `invalid notifications: ${describeIssue(body.error)}` };

  const notifications: OutboundNotification[] = [];
  for (const [i, n] of body.data.Notification.entries()) {
    const type = n.sObject['@type'];
    // `xsi:type="sf:Contact"`: the prefix is whatever the sender declared.
    const sobjectType = typeof type === 'string' ? (type.split(':').pop() ?? '') : '';
    if (sobjectType === '')
      return { error: `invalid notifications: Notification.${i}: sObject has no xsi:type` };
    const entries: [string, string | null][] = [];
    for (const [name, value] of Object.entries(n.sObject)) {
      if (name.startsWith('@') || name === '#text') continue;
      const text = textOf(value);
      // Relationship or repeated elements are not plain fields; Outbound Messages carry none.
      if (text !== undefined) entries.push([name, text]);
    }
    // fast-xml-parser refuses `__proto__`/`constructor` names; fromEntries would keep them plain keys anyway.
    const fields: Record<string, string | null> = Object.fromEntries(entries);
    const id = sfId.safeParse(fields.Id);
    if (!id.success)
      return { error: `invalid notifications: Notification.${i}.sObject.Id: ${describeIssue(id.error)}` };
    const systemModstamp = fields.SystemModstamp;
    notifications.push({
      notificationId: n.Id,
      sobjectType,
      id: id.data,
      ...(typeof systemModstamp === 'string' && systemModstamp !== '' ? { systemModstamp } : {}),
      fields,
    });
  }
  return { organizationId: body.data.OrganizationId, actionId: body.data.ActionId, notifications };
}

/** Equal strings in time independent of where they differ; hashing first hides the length too. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Authenticates a parsed message. Outbound Messages carry no signature, so this is the whole check
 * ("Considerations for Security"): the secret in the URL path, then the org. The reason is for
 * logs; answer the caller with a generic fault.
 */
export function verifyOutbound(
  parsed: OutboundMessage,
  settings: OutboundSettings,
  pathSecret: string,
): { ok: true } | { ok: false; reason: string } {
  if (settings.secret === '') return { ok: false, reason: 'no webhook secret configured' };
  if (!sameSecret(pathSecret, settings.secret)) return { ok: false, reason: 'wrong secret in the URL path' };
  const expected = settings.organizationId;
  if (expected.length !== 15 && expected.length !== 18)
    return { ok: false, reason: 'configured OrganizationId must be 15 or 18 characters' };
  // 15-character Ids are case-sensitive; the 18-character form only adds a checksum suffix.
  if (parsed.organizationId.slice(0, 15) !== expected.slice(0, 15))
    return { ok: false, reason: `OrganizationId ${parsed.organizationId} is not the configured org` };
  return { ok: true };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A SOAP 1.1 fault body for a rejected request; the caller picks the status (400, 401, 413). */
export function nackFault(message: string, code: 'Client' | 'Server' = 'Client'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <soapenv:Fault>
      <faultcode>soapenv:${code}</faultcode>
      <faultstring>${escapeXml(message)}</faultstring>
    </soapenv:Fault>
  </soapenv:Body>
</soapenv:Envelope>`;
}

/** `2024-01-02T10:11:12.000Z` or `...+0000`; undefined when unparseable. */
function parseDateTime(value: string | null | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * One notice per notification of a synced sObject (others are skipped). `occurredAt` is the
 * SystemModstamp, else LastModifiedDate, else `receivedAt` (default 0) when the message carries neither.
 */
export function toNotices(parsed: OutboundMessage, receivedAt = 0): ChangeNotice[] {
  const notices: ChangeNotice[] = [];
  for (const n of parsed.notifications) {
    const object = OBJECT_BY_SOBJECT.get(n.sobjectType);
    if (object === undefined) continue;
    notices.push({
      system: 'salesforce',
      object,
      externalId: n.id,
      occurredAt: parseDateTime(n.systemModstamp) ?? parseDateTime(n.fields.LastModifiedDate) ?? receivedAt,
      eventId: n.notificationId,
      kind: 'change',
    });
  }
  return notices;
}
