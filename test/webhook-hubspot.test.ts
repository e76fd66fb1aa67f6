// HubSpot webhook verification and parsing: HubSpot's published signature vectors (reference B8.3),
// tampering, clock skew, the v3 URI decoding table, and payload validation.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChangeNotice,
  eventKey,
  type HubSpotEvent,
  MAX_WEBHOOK_BODY_BYTES,
  parseHubSpotEvents,
  toNotices,
  verifyHubSpotSignature,
  type WebhookRequest,
} from '../connectors/hubspot/webhook.ts';

const V3 = {
  secret: 'cfc68c0b-4b4e-4ef8-b764-95350e4ea479',
  url: 'https://webhook.site/335453f5-94b3-49d9-b684-a55354d4b8df',
  timestamp: 1752613922216,
  body: '[{"eventId":531833541,"subscriptionId":3923621,"portalId":48807704,"appId":16111050,"occurredAt":1752613920733,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":138017612137,"changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:76023669"}]',
  signature: 'gbj1XPRvUt0noT7i7fXfTzOD4sLzQmf0VT28ZYq0EYg=',
};
const LEGACY_SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const V1_BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';

function v3Request(overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    method: 'POST',
    url: V3.url,
    rawBody: V3.body,
    headers: {
      'x-hubspot-signature-v3': V3.signature,
      'x-hubspot-request-timestamp': String(V3.timestamp),
    },
    ...overrides,
  };
}

const sign = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('base64');

describe('verifyHubSpotSignature v3', () => {
  const justAfter = V3.timestamp + 1_000;

  it('accepts the published v3 vector', () => {
    expect(verifyHubSpotSignature(v3Request(), V3.secret, justAfter)).toEqual({ ok: true, version: 'v3' });
  });

  it('rejects a tampered body, URI, method, timestamp or secret', () => {
    const cases: [WebhookRequest, string][] = [
      [v3Request({ rawBody: V3.body.replace('138017612137', '138017612138') }), V3.secret],
      [v3Request({ rawBody: `${V3.body} ` }), V3.secret],
      [v3Request({ url: `${V3.url}?x=1` }), V3.secret],
      [v3Request({ url: V3.url.replace('https:', 'http:') }), V3.secret],
      [v3Request({ method: 'PUT' }), V3.secret],
      [
        v3Request({
          headers: {
            'x-hubspot-signature-v3': V3.signature,
            'x-hubspot-request-timestamp': String(V3.timestamp + 1),
          },
        }),
        V3.secret,
      ],
      [v3Request(), `${V3.secret}x`],
    ];
    for (const [req, secret] of cases) {
      expect(verifyHubSpotSignature(req, secret, justAfter)).toEqual({
        ok: false,
        reason: 'v3 signature mismatch',
      });
    }
  });

  it('rejects signatures of another length or encoding without throwing', () => {
    for (const bad of ['', 'abc', `${V3.signature}=`, Buffer.from(V3.signature).toString('hex')]) {
      const req = v3Request({
        headers: { 'x-hubspot-signature-v3': bad, 'x-hubspot-request-timestamp': String(V3.timestamp) },
      });
      expect(verifyHubSpotSignature(req, V3.secret, justAfter).ok).toBe(false);
    }
  });

  it('accepts up to 5 minutes of skew and rejects stale and future timestamps', () => {
    expect(verifyHubSpotSignature(v3Request(), V3.secret, V3.timestamp + 300_000).ok).toBe(true);
    expect(verifyHubSpotSignature(v3Request(), V3.secret, V3.timestamp - 300_000).ok).toBe(true);
    expect(verifyHubSpotSignature(v3Request(), V3.secret, V3.timestamp + 300_001)).toEqual({
      ok: false,
      reason: 'timestamp older than 5 minutes',
    });
    expect(verifyHubSpotSignature(v3Request(), V3.secret, V3.timestamp - 300_001)).toEqual({
      ok: false,
      reason: 'timestamp more than 5 minutes in the future',
    });
  });

  it('rejects missing or malformed headers and an empty secret', () => {
    expect(verifyHubSpotSignature(v3Request({ headers: {} }), V3.secret, justAfter)).toEqual({
      ok: false,
      reason: 'missing x-hubspot-signature-v3',
    });
    expect(
      verifyHubSpotSignature(
        v3Request({ headers: { 'x-hubspot-signature-v3': V3.signature } }),
        V3.secret,
        justAfter,
      ),
    ).toEqual({ ok: false, reason: 'missing x-hubspot-request-timestamp' });
    for (const ts of ['', '1752613922216.0', '-1', 'now', '2025-07-15T21:12:02Z']) {
      const req = v3Request({
        headers: { 'x-hubspot-signature-v3': V3.signature, 'x-hubspot-request-timestamp': ts },
      });
      expect(verifyHubSpotSignature(req, V3.secret, justAfter)).toEqual({
        ok: false,
        reason: 'malformed x-hubspot-request-timestamp',
      });
    }
    expect(verifyHubSpotSignature(v3Request(), '', justAfter).ok).toBe(false);
  });

  it('decodes the listed %-escapes in the URI (once) and leaves the others', () => {
    const url = 'https://hooks.example.com/hubspot/%3Atenant%2Fa?ref=a%3Ab%2C%20c%253A';
    const signed = 'https://hooks.example.com/hubspot/:tenant/a?ref=a:b,%20c%253A';
    const ts = '1700000000000';
    const body = '[]';
    const headers = (signature: string) => ({
      'x-hubspot-signature-v3': signature,
      'x-hubspot-request-timestamp': ts,
    });
    const req = (signature: string): WebhookRequest => ({
      method: 'POST',
      url,
      rawBody: body,
      headers: headers(signature),
    });
    const now = Number(ts) + 10;
    expect(verifyHubSpotSignature(req(sign('s', `POST${signed}${body}${ts}`)), 's', now).ok).toBe(true);
    // Lower-case escapes are the same escapes.
    expect(
      verifyHubSpotSignature(
        { ...req(sign('s', `POST${signed}${body}${ts}`)), url: url.replace('%3A', '%3a') },
        's',
        now,
      ).ok,
    ).toBe(true);
    // Signing the raw URI, or decoding everything, does not match.
    expect(verifyHubSpotSignature(req(sign('s', `POST${url}${body}${ts}`)), 's', now).ok).toBe(false);
    expect(
      verifyHubSpotSignature(req(sign('s', `POST${decodeURIComponent(url)}${body}${ts}`)), 's', now).ok,
    ).toBe(false);
  });

  it('signs the raw body bytes, non-ASCII included (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.nat({ max: 299_999 }), (body, age) => {
        const ts = '1700000000000';
        const signature = sign('secret', `POST${V3.url}${body}${ts}`);
        const req: WebhookRequest = {
          method: 'post',
          url: V3.url,
          rawBody: body,
          headers: { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': ts },
        };
        expect(verifyHubSpotSignature(req, 'secret', Number(ts) + age).ok).toBe(true);
        expect(verifyHubSpotSignature({ ...req, rawBody: `${body}x` }, 'secret', Number(ts) + age).ok).toBe(
          false,
        );
      }),
    );
  });
});

describe('verifyHubSpotSignature v1/v2', () => {
  const legacy = (
    version: string,
    signature: string,
    method: string,
    url: string,
    rawBody: string,
  ): WebhookRequest => ({
    method,
    url,
    rawBody,
    headers: { 'x-hubspot-signature': signature, 'x-hubspot-signature-version': version },
  });
  const v1 = legacy(
    'v1',
    '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de',
    'POST',
    'https://www.example.com/webhook_uri',
    V1_BODY,
  );
  const v2Get = legacy(
    'v2',
    'eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e',
    'GET',
    'https://www.example.com/webhook_uri',
    '',
  );
  const v2Post = legacy(
    'v2',
    '9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900',
    'POST',
    'https://www.example.com/webhook_uri',
    '{"example_field":"example_value"}',
  );
  const now = Date.parse('2026-01-01T00:00:00Z');
  const allow = { allowV1V2: true };

  it('accepts the published v1 and v2 vectors when allowed', () => {
    expect(verifyHubSpotSignature(v1, LEGACY_SECRET, now, allow)).toEqual({ ok: true, version: 'v1' });
    expect(verifyHubSpotSignature(v2Get, LEGACY_SECRET, now, allow)).toEqual({ ok: true, version: 'v2' });
    expect(verifyHubSpotSignature(v2Post, LEGACY_SECRET, now, allow)).toEqual({ ok: true, version: 'v2' });
  });

  it('refuses v1 and v2 unless allowed', () => {
    for (const req of [v1, v2Get, v2Post]) {
      expect(verifyHubSpotSignature(req, LEGACY_SECRET, now)).toEqual({
        ok: false,
        reason: 'v1/v2 signatures are not accepted',
      });
    }
  });

  it('rejects tampering, a wrong version header and a missing version', () => {
    expect(verifyHubSpotSignature({ ...v1, rawBody: `${V1_BODY} ` }, LEGACY_SECRET, now, allow).ok).toBe(
      false,
    );
    expect(verifyHubSpotSignature({ ...v2Post, method: 'PUT' }, LEGACY_SECRET, now, allow).ok).toBe(false);
    expect(verifyHubSpotSignature({ ...v2Get, url: `${v2Get.url}/` }, LEGACY_SECRET, now, allow).ok).toBe(
      false,
    );
    expect(verifyHubSpotSignature(v1, 'other', now, allow).ok).toBe(false);
    const swapped = { ...v1, headers: { ...v1.headers, 'x-hubspot-signature-version': 'v2' } };
    expect(verifyHubSpotSignature(swapped, LEGACY_SECRET, now, allow).ok).toBe(false);
    const unversioned = { ...v1, headers: { 'x-hubspot-signature': v1.headers['x-hubspot-signature'] } };
    expect(verifyHubSpotSignature(unversioned, LEGACY_SECRET, now, allow)).toEqual({
      ok: false,
      reason: 'missing or unknown x-hubspot-signature-version',
    });
  });

  it('does not fall back to v1 when a v3 signature is present but wrong', () => {
    const req = {
      ...v1,
      headers: {
        ...v1.headers,
        'x-hubspot-signature-v3': 'AAAA',
        'x-hubspot-request-timestamp': String(now),
      },
    };
    expect(verifyHubSpotSignature(req, LEGACY_SECRET, now, allow)).toEqual({
      ok: false,
      reason: 'v3 signature mismatch',
    });
  });
});

describe('parseHubSpotEvents / toNotices', () => {
  const base = {
    subscriptionId: 22,
    portalId: 33,
    appId: 1160452,
    occurredAt: 1462216307945,
    attemptNumber: 0,
  };
  const parse = (events: unknown[]): HubSpotEvent[] => {
    const result = parseHubSpotEvents(JSON.stringify(events));
    if ('error' in result) throw new Error(result.error);
    return result.events;
  };
  const notices = (events: unknown[]): ChangeNotice[] => toNotices(parse(events));

  it('parses creation and propertyChange events (subscriptionType or eventType)', () => {
    const events = parse([
      { ...base, eventId: 1, subscriptionType: 'contact.creation', objectId: 1246978, changeFlag: 'NEW' },
      {
        ...base,
        eventId: 2,
        eventType: 'company.propertyChange',
        objectId: 77,
        propertyName: 'name',
        propertyValue: 'Acme',
      },
    ]);
    expect(events.map((e) => e.subscriptionType)).toEqual(['contact.creation', 'company.propertyChange']);
    expect(toNotices(events)).toEqual([
      {
        system: 'hubspot',
        object: 'contact',
        externalId: '1246978',
        occurredAt: base.occurredAt,
        eventId: '1',
        kind: 'change',
      },
      {
        system: 'hubspot',
        object: 'company',
        externalId: '77',
        occurredAt: base.occurredAt,
        eventId: '2',
        kind: 'change',
        propertyName: 'name',
        propertyValue: 'Acme',
      },
    ]);
  });

  it('maps deletion and privacyDeletion to delete, restore to restore', () => {
    const out = notices([
      { ...base, eventId: 3, subscriptionType: 'deal.deletion', objectId: 5 },
      { ...base, eventId: 4, subscriptionType: 'contact.privacyDeletion', objectId: 6 },
      { ...base, eventId: 5, subscriptionType: 'contact.restore', objectId: 7 },
    ]);
    expect(out.map((n) => [n.object, n.kind, n.externalId])).toEqual([
      ['deal', 'delete', '5'],
      ['contact', 'delete', '6'],
      ['contact', 'restore', '7'],
    ]);
  });

  it('maps a merge to the surviving record with the ids that are gone', () => {
    const newId = notices([
      {
        ...base,
        eventId: 6,
        subscriptionType: 'contact.merge',
        objectId: 10,
        primaryObjectId: 10,
        mergedObjectIds: [11],
        newObjectId: 12,
        numberOfPropertiesMoved: 3,
      },
    ]);
    expect(newId).toEqual([
      {
        system: 'hubspot',
        object: 'contact',
        externalId: '12',
        occurredAt: base.occurredAt,
        eventId: '6',
        kind: 'merge',
        mergedIds: ['11', '10'],
        newId: '12',
      },
    ]);
    const keepPrimary = notices([
      {
        ...base,
        eventId: 7,
        subscriptionType: 'company.merge',
        primaryObjectId: 20,
        mergedObjectIds: [21, 22],
      },
    ]);
    expect(keepPrimary[0]).toMatchObject({ externalId: '20', mergedIds: ['21', '22'] });
    expect(keepPrimary[0]?.newId).toBeUndefined();
  });

  it('maps an associationChange to its from record', () => {
    const events = parse([
      {
        ...base,
        eventId: 8,
        subscriptionType: 'contact.associationChange',
        associationType: 'CONTACT_TO_COMPANY',
        fromObjectId: 101,
        toObjectId: 202,
        associationRemoved: false,
        isPrimaryAssociation: true,
      },
    ]);
    expect(toNotices(events)).toEqual([
      {
        system: 'hubspot',
        object: 'contact',
        externalId: '101',
        occurredAt: base.occurredAt,
        eventId: '8',
        kind: 'association',
      },
    ]);
    const [event] = events;
    expect(event !== undefined && eventKey(event)).toBe(`22:8:${base.occurredAt}:101>202:`);
  });

  it('ignores unknown subscription types instead of failing', () => {
    const events = parse([
      { ...base, eventId: 9, subscriptionType: 'ticket.creation', objectId: 1 },
      { ...base, eventId: 10, subscriptionType: 'object.propertyChange', objectId: 2, objectTypeId: '0-1' },
      { ...base, eventId: 11, subscriptionType: 'contact.somethingNew', objectId: 3 },
      { ...base, eventId: 12, subscriptionType: 'contact.creation', objectId: 4 },
    ]);
    expect(events).toHaveLength(4);
    expect(toNotices(events).map((n) => n.externalId)).toEqual(['4']);
  });

  it('builds dedupe keys from subscription, event, time, object and property', () => {
    const [a, b] = parse([
      {
        ...base,
        eventId: 13,
        subscriptionType: 'contact.propertyChange',
        objectId: 5,
        propertyName: 'email',
      },
      { ...base, eventId: 13, subscriptionType: 'contact.creation', objectId: 5 },
    ]);
    expect(a && eventKey(a)).toBe(`22:13:${base.occurredAt}:5:email`);
    expect(b && eventKey(b)).toBe(`22:13:${base.occurredAt}:5:`);
  });

  it('rejects malformed bodies', () => {
    const error = (raw: string) => {
      const result = parseHubSpotEvents(raw);
      return 'error' in result ? result.error : undefined;
    };
    expect(error('[{"eventId":')).toBe('body is not valid JSON');
    expect(error('{"eventId":1}')).toMatch(/invalid webhook body/);
    expect(error(JSON.stringify([{ ...base, eventId: 1, objectId: 1 }]))).toMatch(/subscriptionType/);
    expect(
      error(JSON.stringify([{ ...base, eventId: 'x', subscriptionType: 'contact.creation', objectId: 1 }])),
    ).toMatch(/0\.eventId/);
    // Known types need their ids.
    expect(error(JSON.stringify([{ ...base, eventId: 1, subscriptionType: 'contact.creation' }]))).toMatch(
      /objectId/,
    );
    expect(
      error(
        JSON.stringify([
          { ...base, eventId: 1, subscriptionType: 'deal.associationChange', fromObjectId: 1 },
        ]),
      ),
    ).toMatch(/toObjectId/);
    expect(
      error(JSON.stringify([{ ...base, eventId: 1, subscriptionType: 'contact.merge', objectId: 1 }])),
    ).toMatch(/mergedObjectIds/);
  });

  it('accepts 100 events and rejects 101 or an oversized body', () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        ...base,
        eventId: i,
        subscriptionType: 'contact.creation',
        objectId: i + 1,
      }));
    expect(parse(many(100))).toHaveLength(100);
    const result = parseHubSpotEvents(JSON.stringify(many(101)));
    expect('error' in result && result.error).toMatch(/more than 100 events/);
    const big = parseHubSpotEvents(`[${' '.repeat(MAX_WEBHOOK_BODY_BYTES)}]`);
    expect('error' in big && big.error).toMatch(/larger than/);
    expect(parse([])).toEqual([]);
  });
});
