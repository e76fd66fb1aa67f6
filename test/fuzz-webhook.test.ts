// Bad input at the webhook boundary: the route behind the HTTP API (runtime/webhook.ts) with HubSpot
// deliveries (v3 signature, timestamp window, body cap, event schema) and Salesforce Outbound
// Messages (path secret, org, SOAP XML). Every bad request gets a 4xx with a clear message and
// queues nothing (and claims no event id, so the good delivery that follows is accepted whole); a
// good request queues exactly its notices. Nothing throws out of the route, nothing is a 5xx.
import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WEBHOOK_BODY_BYTES } from '../connectors/hubspot/webhook.ts';
import { noticeMessageSchema } from '../runtime/messages.ts';
import { createWebhookRoute } from '../runtime/webhook.ts';
import { fuzzRuns, RecordingQueue, startMemoryStore } from './support/fuzz.ts';

const NOW = 1_780_000_000_000;
const BASE_URL = 'https://hooks.example.com';
const HUBSPOT_SECRET = 'fuzz-hubspot-client-secret';
const ORG = '00D5e000000KQ2eEAG';
const SF_SECRET = 'b3c1f0e2d4a5968778695a4b3c2d1e0f';
const QUEUES = { hubspot: 'notices-hubspot', salesforce: 'notices-salesforce' };

let memory: Awaited<ReturnType<typeof startMemoryStore>>;
const queue = new RecordingQueue();
let route: ReturnType<typeof createWebhookRoute>;

beforeAll(async () => {
  memory = await startMemoryStore();
  route = createWebhookRoute({
    store: memory.store,
    queue,
    noticeQueues: QUEUES,
    settings: {
      publicBaseUrl: BASE_URL,
      hubspotClientSecret: HUBSPOT_SECRET,
      salesforceOrgId: ORG,
      salesforceSecret: SF_SECRET,
    },
    now: () => NOW,
  });
});
afterAll(() => memory.close());

// ---- requests and answers -------------------------------------------------------------------

interface Request {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  /** The bytes on the wire. */
  body: Buffer;
}

/** API Gateway (HTTP API, payload 2.0) passes text bodies as text and everything else base64-encoded. */
function apiEvent(req: Request): APIGatewayProxyEventV2 {
  const type = Object.entries(req.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  const text = /^(text\/|application\/(json|xml))/i.test(type);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString: req.query,
    headers: req.headers,
    body: text ? req.body.toString('utf8') : req.body.toString('base64'),
    isBase64Encoded: !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'fuzz',
      domainName: 'hooks.example.com',
      domainPrefix: 'hooks',
      http: {
        method: req.method,
        path: req.path,
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.9',
        userAgent: 'fuzz',
      },
      requestId: 'fuzz',
      routeKey: '$default',
      stage: '$default',
      time: new Date(NOW).toISOString(),
      timeEpoch: NOW,
    },
  };
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
  /** Notices queued by this request, by queue. */
  queued: Record<
    string,
    { system: string; object: string; kind: string; externalId: string; eventId: string }[]
  >;
}

function isStructured(res: unknown): res is APIGatewayProxyStructuredResultV2 & { statusCode: number } {
  return typeof res === 'object' && res !== null && 'statusCode' in res && typeof res.statusCode === 'number';
}

async function send(req: Request): Promise<Answer> {
  queue.take();
  // The route must answer every request: a rejection here fails the property with the request that caused it.
  const res = await route(apiEvent(req));
  if (!isStructured(res)) throw new Error(`not a structured response: ${JSON.stringify(res)}`);
  const queued: Answer['queued'] = {};
  for (const m of queue.take()) {
    const parsed = noticeMessageSchema.parse(JSON.parse(m.body));
    queued[m.url] = [...(queued[m.url] ?? []), ...parsed.notices];
  }
  const headers = res.headers ?? {};
  return {
    status: res.statusCode,
    contentType: String(headers['content-type'] ?? ''),
    body: typeof res.body === 'string' ? res.body : '',
    queued,
  };
}

function queuedCount(a: Answer): number {
  return Object.values(a.queued).reduce((n, list) => n + list.length, 0);
}

/** A refusal: a 4xx, nothing queued, and a message a person can read. */
function expectRefused(a: Answer, kind: 'json' | 'soap'): void {
  expect(a.status).toBeGreaterThanOrEqual(400);
  expect(a.status).toBeLessThan(500);
  expect(queuedCount(a)).toBe(0);
  if (kind === 'json') {
    expect(a.contentType).toBe('application/json');
    const body: unknown = JSON.parse(a.body);
    expect(body).toEqual({ message: expect.stringMatching(/\S/) });
  } else {
    expect(a.contentType).toMatch(/^text\/xml/);
    expect(a.body).toMatch(/<soapenv:Fault>[\s\S]*<faultstring>[^<]*\S[^<]*<\/faultstring>/);
  }
}

/** The subscription every generated delivery names, rewritten per execution by `freshIds`. */
const SUBSCRIPTION = 1000;
let execNo = 0;

/**
 * Fresh subscription and notification ids for one property execution (shrinking replays generated
 * values): no execution sees event ids another one claimed. The bytes are rewritten as latin1, so
 * bodies that are not UTF-8 stay exactly as they were otherwise.
 */
function freshIds(): (body: Buffer) => Buffer {
  const exec = ++execNo;
  const ids = new Map<string, string>();
  return (body) =>
    Buffer.from(
      body
        .toString('latin1')
        .replaceAll(`"subscriptionId":${SUBSCRIPTION}`, `"subscriptionId":${SUBSCRIPTION + exec}`)
        .replace(/04l5e[0-9A-Za-z]{10}AAA/g, (id) => {
          const known = ids.get(id) ?? sfId('04l', exec * 100 + ids.size);
          ids.set(id, known);
          return known;
        }),
      'latin1',
    );
}

// ---- HubSpot --------------------------------------------------------------------------------

interface Expected {
  object: string;
  kind: string;
  externalId: string;
}

interface GeneratedEvent {
  event: Record<string, unknown>;
  /** The notice it must become; undefined for subscription types fieldsync does not sync. */
  expected: Expected | undefined;
}

const hubspotId = fc.integer({ min: 1, max: 2 ** 48 });
/** Ids arrive as JSON numbers or digit strings. */
const idValue = (n: number) => fc.constantFrom<number | string>(n, String(n));

const OBJECTS = ['contact', 'company', 'deal'] as const;
const CHANGE_ACTIONS = {
  creation: 'change',
  propertyChange: 'change',
  deletion: 'delete',
  privacyDeletion: 'delete',
  restore: 'restore',
} as const;

const hubspotEvent: fc.Arbitrary<GeneratedEvent> = fc.oneof(
  fc
    .record({
      object: fc.constantFrom(...OBJECTS),
      action: fc.constantFrom(
        'creation',
        'propertyChange',
        'deletion',
        'privacyDeletion',
        'restore' as const,
      ),
      objectId: hubspotId,
      propertyName: fc.option(fc.constantFrom('email', 'firstname', 'dealstage', 'x'.repeat(300)), {
        nil: undefined,
      }),
      propertyValue: fc.option(fc.string({ maxLength: 40, unit: 'grapheme' }), { nil: undefined }),
      typeKey: fc.constantFrom('subscriptionType', 'eventType'),
    })
    .chain((e) =>
      idValue(e.objectId).map((objectId) => ({
        event: {
          [e.typeKey]: `${e.object}.${e.action}`,
          objectId,
          ...(e.propertyName !== undefined ? { propertyName: e.propertyName } : {}),
          ...(e.propertyValue !== undefined ? { propertyValue: e.propertyValue } : {}),
        },
        expected: { object: e.object, kind: CHANGE_ACTIONS[e.action], externalId: String(e.objectId) },
      })),
    ),
  fc
    .record({
      object: fc.constantFrom(...OBJECTS),
      primary: hubspotId,
      merged: fc.array(hubspotId, { minLength: 1, maxLength: 3 }),
      newId: fc.option(hubspotId, { nil: undefined }),
    })
    .map((e) => ({
      event: {
        subscriptionType: `${e.object}.merge`,
        objectId: e.primary,
        primaryObjectId: e.primary,
        mergedObjectIds: e.merged,
        ...(e.newId !== undefined ? { newObjectId: e.newId } : {}),
      },
      expected: { object: e.object, kind: 'merge', externalId: String(e.newId ?? e.primary) },
    })),
  fc
    .record({ object: fc.constantFrom(...OBJECTS), from: hubspotId, to: hubspotId, removed: fc.boolean() })
    .map((e) => ({
      event: {
        subscriptionType: `${e.object}.associationChange`,
        fromObjectId: e.from,
        toObjectId: e.to,
        associationType: 'CONTACT_TO_COMPANY',
        associationRemoved: e.removed,
      },
      expected: { object: e.object, kind: 'association', externalId: String(e.from) },
    })),
  // Subscription types fieldsync does not sync are accepted and skipped.
  fc
    .record({
      type: fc.constantFrom('ticket.creation', 'conversation.newMessage', 'contact', 'contact.x.y'),
      objectId: hubspotId,
    })
    .map((e) => ({ event: { subscriptionType: e.type, objectId: e.objectId }, expected: undefined })),
);

/**
 * A well-formed delivery: 1 to 8 events of one subscription, event ids from a small range so distinct
 * events share one now and then (HubSpot: eventId "is not guaranteed to be unique").
 */
const hubspotDelivery = fc
  .record({
    events: fc.array(hubspotEvent, { minLength: 1, maxLength: 8 }),
    eventIds: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 8, maxLength: 8 }),
    attempt: fc.nat({ max: 9 }),
  })
  .map(({ events, eventIds, attempt }) => {
    const subscriptionId = SUBSCRIPTION;
    const full = events.map((g, i) => ({
      event: {
        eventId: eventIds[i] ?? i,
        subscriptionId,
        portalId: 62515,
        appId: 54321,
        // Distinct per event: a delivery never holds the same event twice.
        occurredAt: NOW - 60_000 + i,
        attemptNumber: attempt,
        ...g.event,
      },
      expected: g.expected,
    }));
    return {
      events: full.map((g) => g.event),
      expected: full.flatMap((g) => (g.expected === undefined ? [] : [g.expected])),
    };
  });

function signV3(method: string, url: string, body: Buffer, timestamp: string): string {
  return createHmac('sha256', HUBSPOT_SECRET)
    .update(Buffer.concat([Buffer.from(`${method}${url}`), body, Buffer.from(timestamp)]))
    .digest('base64');
}

function hubspotRequest(body: Buffer, opts: { timestamp?: number; contentType?: string } = {}): Request {
  const timestamp = String(opts.timestamp ?? NOW - 1_000);
  return {
    method: 'POST',
    path: '/webhooks/hubspot',
    query: '',
    headers: {
      'content-type': opts.contentType ?? 'application/json',
      'x-hubspot-signature-v3': signV3('POST', `${BASE_URL}/webhooks/hubspot`, body, timestamp),
      'x-hubspot-request-timestamp': timestamp,
    },
    body,
  };
}

function expectAccepted(a: Answer, expected: readonly Expected[], queueUrl: string): void {
  expect(a.status).toBe(200);
  const got = (a.queued[queueUrl] ?? []).map((n) => ({
    object: n.object,
    kind: n.kind,
    externalId: n.externalId,
  }));
  expect(got).toEqual(expected);
  expect(queuedCount(a)).toBe(expected.length);
}

/** Mutations of a delivery's JSON that no schema may accept; each re-signed, so parsing is what refuses them. */
const badHubSpotBody = (events: Record<string, unknown>[]): fc.Arbitrary<{ name: string; body: Buffer }> => {
  const text = JSON.stringify(events);
  const at = fc.nat({ max: events.length - 1 });
  const withEvent = (name: string, change: (e: Record<string, unknown>) => Record<string, unknown>) =>
    at.map((i) => ({
      name,
      body: Buffer.from(JSON.stringify(events.map((e, j) => (j === i ? change({ ...e }) : e)))),
    }));
  const required = ['eventId', 'subscriptionId', 'portalId', 'occurredAt'] as const;
  const idValues: unknown[] = [null, -1, 1.5, 'abc', '', '-1', '1.5', ' 1', [], {}, true, [1]];
  /** Values each field must refuse, with the subscription type that makes the field count. */
  const wrongTypes: Record<string, { type: string; values: unknown[] }> = {
    eventId: { type: 'contact.creation', values: idValues },
    subscriptionId: { type: 'contact.creation', values: idValues },
    portalId: { type: 'contact.creation', values: idValues },
    occurredAt: {
      type: 'contact.creation',
      values: [null, -1, 1.5, '1780000000000', '', [], {}, true, 8.7e15, 1e300],
    },
    objectId: { type: 'contact.creation', values: idValues },
    subscriptionType: { type: 'contact.creation', values: [null, 1, '', [], {}, true] },
    mergedObjectIds: { type: 'contact.merge', values: ['1', 1, null, [null], ['a'], {}, [[1]]] },
  };
  return fc.oneof(
    fc
      .integer({ min: 0, max: Math.max(0, text.length - 1) })
      .map((n) => ({ name: 'truncated', body: Buffer.from(text.slice(0, n)) })),
    fc
      .jsonValue()
      .filter((v) => !Array.isArray(v))
      .map((v) => ({ name: 'JSON of the wrong shape', body: Buffer.from(JSON.stringify(v) ?? 'null') })),
    fc
      .array(fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer())), {
        minLength: 1,
        maxLength: 5,
      })
      .map((v) => ({ name: 'an array of non-events', body: Buffer.from(JSON.stringify(v)) })),
    fc.constantFrom(...required).chain((field) =>
      withEvent(`without ${field}`, (e) => {
        delete e[field];
        return e;
      }),
    ),
    withEvent('without a subscription type', (e) => {
      delete e.subscriptionType;
      delete e.eventType;
      return e;
    }),
    fc
      .constantFrom(...Object.keys(wrongTypes))
      .chain((field) => {
        const spec = wrongTypes[field] ?? { type: 'contact.creation', values: [null] };
        return fc.tuple(fc.constant(field), fc.constant(spec.type), fc.constantFrom(...spec.values));
      })
      .chain(([field, type, value]) =>
        withEvent(`${field} ${JSON.stringify(value)}`, (e) => {
          delete e.eventType;
          return { ...e, objectId: 1, mergedObjectIds: [2], subscriptionType: type, [field]: value };
        }),
      ),
    fc.integer({ min: 1_000, max: 150_000 }).map((depth) => ({
      name: `nested ${depth} deep`,
      body: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`),
    })),
    fc.integer({ min: 1_000, max: 50_000 }).chain((depth) =>
      withEvent(`objectId nested ${depth} deep`, (e) => ({
        ...e,
        subscriptionType: 'contact.creation',
        objectId: 'DEEP',
      })).map(({ name, body }) => ({
        name,
        // Spliced in as text: JSON.stringify itself overflows the stack at this depth.
        body: Buffer.from(body.toString().replace('"DEEP"', `${'['.repeat(depth)}1${']'.repeat(depth)}`)),
      })),
    ),
    fc.integer({ min: 101, max: 140 }).map((n) => ({
      name: `${n} events`,
      body: Buffer.from(
        JSON.stringify(
          Array.from({ length: n }, (_, i) => ({ ...events[0], eventId: i, occurredAt: NOW - i })),
        ),
      ),
    })),
  );
};

describe('HubSpot webhook deliveries', () => {
  it('a signed, well-formed delivery queues exactly its notices, once', async () => {
    await fc.assert(
      fc.asyncProperty(
        hubspotDelivery,
        fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'text/plain',
          'application/octet-stream',
          '',
        ),
        async (d, contentType) => {
          const body = freshIds()(Buffer.from(JSON.stringify(d.events)));
          const first = await send(hubspotRequest(body, { contentType }));
          expectAccepted(first, d.expected, QUEUES.hubspot);
          expect(JSON.parse(first.body)).toEqual({ accepted: d.expected.length });
          // A redelivery (HubSpot retries until it sees a 2xx) is a duplicate: acknowledged, nothing queued.
          const again = await send(hubspotRequest(body, { timestamp: NOW - 500, contentType }));
          expect(again.status).toBe(200);
          expect(queuedCount(again)).toBe(0);
        },
      ),
      fuzzRuns(60),
    );
  });

  it('a delivery that could not be queued is not remembered: the vendor retry gets through', async () => {
    const [d] = fc.sample(
      hubspotDelivery.filter((x) => x.expected.length > 0),
      { numRuns: 1, seed: 7 },
    );
    if (d === undefined) throw new Error('no sample');
    const body = freshIds()(Buffer.from(JSON.stringify(d.events)));
    const send0 = queue.send.bind(queue);
    queue.send = async () => {
      throw new Error('SQS unavailable');
    };
    try {
      // On Lambda a throw is a 5xx, which HubSpot retries.
      await expect(send(hubspotRequest(body))).rejects.toThrow('SQS unavailable');
    } finally {
      queue.send = send0;
    }
    const retry = await send(hubspotRequest(body, { timestamp: NOW - 500 }));
    expect(JSON.parse(retry.body)).toEqual({ accepted: d.expected.length });
    expect(queuedCount(retry)).toBe(d.expected.length);
  });

  it('a body no schema accepts is refused with 400 and a message, nothing queued, nothing claimed', async () => {
    await fc.assert(
      fc.asyncProperty(
        hubspotDelivery.chain((d) => fc.tuple(fc.constant(d), badHubSpotBody(d.events))),
        async ([d, bad]) => {
          const fresh = freshIds();
          const refused = await send(hubspotRequest(fresh(bad.body)));
          expectRefused(refused, 'json');
          expect([400, 413]).toContain(refused.status);
          // The refusal had no side effect: the good delivery is still accepted whole.
          expectAccepted(
            await send(hubspotRequest(fresh(Buffer.from(JSON.stringify(d.events))))),
            d.expected,
            QUEUES.hubspot,
          );
        },
      ),
      fuzzRuns(80),
    );
  });

  it('bad, missing, duplicated, stale or oversized headers get 401/404/405/413 and no side effect', async () => {
    type Mutation = { name: string; apply: (req: Request) => Request };
    const header = (req: Request, name: string, value: string | undefined): Request => {
      const headers = { ...req.headers };
      if (value === undefined) delete headers[name];
      else headers[name] = value;
      return { ...req, headers };
    };
    const resign = (req: Request, timestamp: string): Request =>
      header(
        header(req, 'x-hubspot-request-timestamp', timestamp),
        'x-hubspot-signature-v3',
        signV3('POST', `${BASE_URL}/webhooks/hubspot`, req.body, timestamp),
      );
    const skew = fc.integer({ min: 5 * 60_000 + 1, max: 10 ** 12 });
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      fc.constant<Mutation>({
        name: 'no signature',
        apply: (r) => header(r, 'x-hubspot-signature-v3', undefined),
      }),
      fc.constant<Mutation>({
        name: 'no timestamp',
        apply: (r) => header(r, 'x-hubspot-request-timestamp', undefined),
      }),
      fc.constant<Mutation>({ name: 'no headers at all', apply: (r) => ({ ...r, headers: {} }) }),
      skew.map((s) => ({ name: `timestamp ${s} ms old`, apply: (r: Request) => resign(r, String(NOW - s)) })),
      skew.map((s) => ({
        name: `timestamp ${s} ms ahead`,
        apply: (r: Request) => resign(r, String(NOW + s)),
      })),
      fc
        .constantFrom(
          'abc',
          '-1000',
          '1.5e12',
          ' 1779999999000',
          '1779999999000 ',
          '0x19F',
          '',
          '12345678901234567',
          'NaN',
          '١٢٣',
        )
        .map((t) => ({ name: `timestamp '${t}'`, apply: (r: Request) => resign(r, t) })),
      fc.constant<Mutation>({
        name: 'duplicated timestamp (joined by API Gateway)',
        apply: (r) => {
          const t = r.headers['x-hubspot-request-timestamp'] ?? '';
          return header(r, 'x-hubspot-request-timestamp', `${t},${t}`);
        },
      }),
      fc.constant<Mutation>({
        name: 'duplicated signature (joined by API Gateway)',
        apply: (r) => {
          const s = r.headers['x-hubspot-signature-v3'] ?? '';
          return header(r, 'x-hubspot-signature-v3', `${s},${s}`);
        },
      }),
      fc.base64String({ minLength: 0, maxLength: 60 }).map((s) => ({
        name: 'a random signature',
        apply: (r: Request) => header(r, 'x-hubspot-signature-v3', s),
      })),
      fc.nat({ max: 43 }).map((i) => ({
        name: `signature with character ${i} changed`,
        apply: (r: Request) => {
          const s = r.headers['x-hubspot-signature-v3'] ?? '';
          const c = s[i] === 'A' ? 'B' : 'A';
          return header(r, 'x-hubspot-signature-v3', `${s.slice(0, i)}${c}${s.slice(i + 1)}`);
        },
      })),
      fc.integer({ min: 10_000, max: 200_000 }).map((n) => ({
        name: `a ${n}-character signature`,
        apply: (r: Request) => header(r, 'x-hubspot-signature-v3', 'A'.repeat(n)),
      })),
      fc.constant<Mutation>({
        name: 'v1 signature only (not accepted by default)',
        apply: (r) => ({
          ...r,
          headers: {
            'content-type': 'application/json',
            'x-hubspot-signature': 'a'.repeat(64),
            'x-hubspot-signature-version': 'v1',
          },
        }),
      }),
      fc.constant<Mutation>({
        name: 'an unsigned query string',
        apply: (r) => ({ ...r, query: 'portalId=1' }),
      }),
      fc
        .constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')
        .map((m) => ({ name: `method ${m}`, apply: (r: Request) => ({ ...r, method: m }) })),
      fc
        .constantFrom(
          '/webhooks/hubspot/',
          '/webhooks/HubSpot',
          '/webhooks',
          '/',
          '/webhooks/hubspot/../salesforce',
          '/webhooks/salesforce',
        )
        .map((p) => ({ name: `path ${p}`, apply: (r: Request) => ({ ...r, path: p }) })),
      fc.integer({ min: MAX_WEBHOOK_BODY_BYTES + 1, max: MAX_WEBHOOK_BODY_BYTES + 4096 }).map((n) => ({
        name: `a signed body padded to ${n} bytes`,
        // Whitespace keeps it valid JSON: the size alone refuses it, before the signature is computed.
        apply: (r: Request) => hubspotRequest(Buffer.concat([r.body, Buffer.alloc(n - r.body.length, 0x20)])),
      })),
      fc.integer({ min: 0, max: 1 }).chain((where) =>
        fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bytes) => ({
          name: 'bytes that are not UTF-8, signed as sent',
          apply: (r: Request) => {
            // 0x80-0xBF alone are never valid UTF-8: the function sees U+FFFD, so the signature cannot match.
            const bad = Buffer.from(bytes.map((b) => 0x80 | (b & 0x3f)));
            const at = where === 0 ? 1 : r.body.length - 1;
            const body = Buffer.concat([r.body.subarray(0, at), bad, r.body.subarray(at)]);
            return hubspotRequest(body, { contentType: 'application/octet-stream' });
          },
        })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(hubspotDelivery, mutation, async (d, m) => {
        const good = hubspotRequest(freshIds()(Buffer.from(JSON.stringify(d.events))));
        const refused = await send(m.apply(good));
        expectRefused(refused, 'json');
        expect([401, 404, 405, 413]).toContain(refused.status);
        expectAccepted(await send(good), d.expected, QUEUES.hubspot);
      }),
      fuzzRuns(120),
    );
  });
});

// ---- Salesforce Outbound Messages -----------------------------------------------------------

const SOBJECTS: Record<string, string | undefined> = {
  Contact: 'contact',
  Account: 'company',
  Opportunity: 'deal',
  Lead: undefined,
  Case: undefined,
};
const ID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function sfId(prefix: string, n: number): string {
  let s = '';
  for (let v = n, i = 0; i < 10; i++, v = Math.floor(v / 62)) s = (ID_CHARS[v % 62] ?? '0') + s;
  return `${prefix}5e${s}AAA`.slice(0, 18);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Notification {
  id: string;
  type: string;
  recordId: string;
  fields: Record<string, string | null>;
}

function envelope(ns: readonly Notification[], opts: { prefixes: boolean; org?: string }): string {
  const p = opts.prefixes ? 'soapenv:' : '';
  const f = opts.prefixes ? 'sf:' : '';
  const sfns = opts.prefixes
    ? 'xmlns:sf="urn:sobject.enterprise.soap.sforce.com"'
    : 'xmlns="urn:sobject.enterprise.soap.sforce.com"';
  const body = ns
    .map((n) => {
      const fields = Object.entries({ Id: n.recordId, ...n.fields })
        .map(([k, v]) => (v === null ? `<${f}${k} xsi:nil="true"/>` : `<${f}${k}>${escapeXml(v)}</${f}${k}>`))
        .join('');
      return `<Notification><Id>${n.id}</Id><sObject xsi:type="sf:${n.type}" ${sfns}>${fields}</sObject></Notification>`;
    })
    .join('\n');
  const envNs = opts.prefixes ? 'xmlns:soapenv' : 'xmlns';
  return `<?xml version="1.0" encoding="UTF-8"?>
<${p}Envelope ${envNs}="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<${p}Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
<OrganizationId>${opts.org ?? ORG}</OrganizationId><ActionId>04k5e000000CaRkAAK</ActionId><SessionId xsi:nil="true"/>
${body}
</notifications></${p}Body></${p}Envelope>`;
}

const outboundMessage = fc
  .record({
    notes: fc.array(
      fc.record({
        type: fc.constantFrom(...Object.keys(SOBJECTS)),
        record: fc.nat(),
        stamp: fc.option(
          fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
          { nil: undefined },
        ),
        extra: fc.dictionary(
          fc.constantFrom('Email', 'LastName', 'Description', 'Name'),
          fc.option(fc.string({ maxLength: 30, unit: 'grapheme' }), { nil: null }),
          { maxKeys: 3 },
        ),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    prefixes: fc.boolean(),
  })
  .map(({ notes, prefixes }) => {
    const ns: Notification[] = notes.map((n, i) => ({
      id: sfId('04l', i),
      type: n.type,
      recordId: sfId(n.type === 'Account' ? '001' : n.type === 'Opportunity' ? '006' : '003', n.record),
      fields: { ...n.extra, ...(n.stamp !== undefined ? { SystemModstamp: n.stamp.toISOString() } : {}) },
    }));
    const expected = ns.flatMap((n) => {
      const object = SOBJECTS[n.type];
      return object === undefined ? [] : [{ object, kind: 'change', externalId: n.recordId }];
    });
    return { xml: envelope(ns, { prefixes }), notes: ns, prefixes, expected };
  });

function outboundRequest(
  xml: string | Buffer,
  secret = SF_SECRET,
  contentType = 'text/xml; charset=utf-8',
): Request {
  return {
    method: 'POST',
    path: `/webhooks/salesforce/${secret}`,
    query: '',
    headers: { 'content-type': contentType, soapaction: '""' },
    body: typeof xml === 'string' ? Buffer.from(xml) : xml,
  };
}

const LAUGHS = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>`;

const badOutbound = (m: {
  xml: string;
  notes: Notification[];
  prefixes: boolean;
}): fc.Arbitrary<{ name: string; req: Request }> => {
  const body = (name: string, xml: string | Buffer, contentType?: string) => ({
    name,
    req: outboundRequest(xml, SF_SECRET, contentType),
  });
  const firstId = m.notes[0]?.recordId ?? '';
  return fc.oneof(
    fc.integer({ min: 0, max: m.xml.length - 20 }).map((n) => body('truncated', m.xml.slice(0, n))),
    fc.constant(
      body('a billion laughs', m.xml.replace(/^<\?xml[^>]*\?>/, LAUGHS).replace(firstId, '&lol4;')),
    ),
    fc.constant(
      body(
        'an external entity',
        m.xml
          .replace(
            /^<\?xml[^>]*\?>/,
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
          )
          .replace(firstId, '&e;'),
      ),
    ),
    fc
      .constantFrom('&e;', '&#x110000;', '&#0;', '&#xD800;', '&amp', '&#99999999999;')
      .map((ent) => body(`entity ${ent} in an Id`, m.xml.replace(firstId, `${firstId.slice(0, 5)}${ent}`))),
    fc
      .integer({ min: 1_000, max: 60_000 })
      .map((depth) => body(`elements nested ${depth} deep`, `${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}`)),
    fc
      .integer({ min: 1_000, max: 30_000 })
      .map((depth) =>
        body(
          `an Id nested ${depth} deep`,
          m.xml.replace(firstId, `${'<a>'.repeat(depth)}x${'</a>'.repeat(depth)}`),
        ),
      ),
    fc.jsonValue().map((v) => body('JSON instead of SOAP', JSON.stringify(v) ?? 'null', 'application/json')),
    fc
      .constantFrom(
        '',
        ' ',
        '\n\n',
        '<',
        '<?xml version="1.0"?>',
        '<Envelope/>',
        '<Envelope><Body/></Envelope>',
      )
      .map((x) => body(`body '${x}'`, x)),
    fc
      .constantFrom('OrganizationId', 'ActionId')
      .map((el) => body(`without ${el}`, m.xml.replace(new RegExp(`<${el}>[^<]*</${el}>`), ''))),
    fc.constant(body('without notifications', m.xml.replace(/<Notification>[\s\S]*<\/Notification>/, ''))),
    fc
      .constantFrom(
        '003',
        '003AB',
        `${firstId}X`,
        `${firstId.slice(0, 14)}!`,
        `${firstId.slice(0, 17)}`,
        ' ',
        '',
      )
      .map((id) => body(`record Id '${id}'`, m.xml.replace(`>${firstId}<`, `>${id}<`))),
    fc.constant(body('no xsi:type on an sObject', m.xml.replace(/xsi:type="sf:\w+"/, ''))),
    fc.integer({ min: 101, max: 130 }).map((n) => {
      const one = /<Notification>[\s\S]*?<\/Notification>/.exec(m.xml)?.[0] ?? '';
      return body(`${n} notifications`, m.xml.replace(one, one.repeat(n)));
    }),
    fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => {
      const raw = Buffer.from(m.xml);
      const at = raw.indexOf(firstId) + 3;
      const bad = Buffer.from(bytes.map((b) => 0x80 | (b & 0x3f)));
      return body(
        'bytes that are not UTF-8 in an Id',
        Buffer.concat([raw.subarray(0, at), bad, raw.subarray(at)]),
        'application/octet-stream',
      );
    }),
    fc
      .integer({ min: MAX_WEBHOOK_BODY_BYTES + 1, max: MAX_WEBHOOK_BODY_BYTES + 10_000 })
      .map((n) =>
        body(`${n} bytes`, m.xml.replace('</notifications>', `<!--${'x'.repeat(n)}--></notifications>`)),
      ),
    // Authentication: wrong secret, wrong org, no secret.
    fc
      .string({ minLength: 1, maxLength: 80 })
      .filter((s) => s !== SF_SECRET && !s.includes('/') && !s.includes('?') && !s.includes('#'))
      .map((s) => ({ name: 'a wrong path secret', req: outboundRequest(m.xml, s) })),
    fc.constant({ name: 'a prefix of the secret', req: outboundRequest(m.xml, SF_SECRET.slice(0, -1)) }),
    fc.constant({ name: 'another org', req: outboundRequest(m.xml.replace(ORG, '00D5e000000XXXXEAG')) }),
    fc
      .constantFrom('/webhooks/salesforce/', '/webhooks/salesforce', `/webhooks/salesforce/${SF_SECRET}/x`)
      .map((path) => ({ name: `path ${path}`, req: { ...outboundRequest(m.xml), path } })),
    fc
      .constantFrom('GET', 'PUT')
      .map((method) => ({ name: `method ${method}`, req: { ...outboundRequest(m.xml), method } })),
  );
};

describe('Salesforce Outbound Messages', () => {
  it('a well-formed message for the configured org and secret queues its notices and is acknowledged', async () => {
    await fc.assert(
      fc.asyncProperty(
        outboundMessage,
        fc.constantFrom('text/xml; charset=utf-8', 'text/xml', 'application/soap+xml', ''),
        async (m, contentType) => {
          const xml = freshIds()(Buffer.from(m.xml));
          const first = await send(outboundRequest(xml, SF_SECRET, contentType));
          expectAccepted(first, m.expected, QUEUES.salesforce);
          expect(first.body).toMatch(/<Ack>true<\/Ack>/);
          // Salesforce redelivers until it gets the Ack: the same notification ids are duplicates.
          const again = await send(outboundRequest(xml));
          expect(again.status).toBe(200);
          expect(queuedCount(again)).toBe(0);
        },
      ),
      fuzzRuns(50),
    );
  });

  it('a malformed, hostile or unauthenticated message gets a 4xx SOAP fault and queues nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        outboundMessage.chain((m) => fc.tuple(fc.constant(m), badOutbound(m))),
        async ([m, bad]) => {
          const fresh = freshIds();
          const refused = await send({ ...bad.req, body: fresh(bad.req.body) });
          if (refused.status === 404 || refused.status === 405 || refused.status === 413) {
            // Refused by the route before the SOAP handler: JSON like every other route.
            expectRefused(refused, 'json');
          } else expectRefused(refused, 'soap');
          expectAccepted(
            await send(outboundRequest(fresh(Buffer.from(m.xml)))),
            m.expected,
            QUEUES.salesforce,
          );
        },
      ),
      fuzzRuns(100),
    );
  });
});
