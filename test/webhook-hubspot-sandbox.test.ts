// The HubSpot sandbox's webhook sender against a small local receiver that checks every delivery
// with the connector's verifyHubSpotSignature: events, batching, retries and seeded faults.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Client } from '@hubspot/api-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseHubSpotEvents, toNotices, verifyHubSpotSignature } from '../connectors/hubspot/webhook.ts';
import { listen, readBody } from '../sandboxes/http.ts';
import {
  type HsWebhookEvent,
  type HubSpotSandbox,
  type HubSpotSandboxOptions,
  SANDBOX_PORTAL_ID,
  startHubSpotSandbox,
  type WebhookOptions,
} from '../sandboxes/hubspot/index.ts';
import { type TestClock, testClock } from '../sandboxes/hubspot/testing.ts';

const SECRET = 'webhook-secret';

interface Delivery {
  at: number;
  events: HsWebhookEvent[];
  verdict: ReturnType<typeof verifyHubSpotSignature>;
  /** parseHubSpotEvents accepted the body. */
  valid: boolean;
}

/** A receiver on 127.0.0.1 that verifies each POST; `statuses` are answered in turn, then 200. */
async function startReceiver(now: () => number, statuses: number[] = []) {
  const deliveries: Delivery[] = [];
  const path = '/hooks/hubspot?tenant=a%3Ab&x=%20y';
  const server = await listen((req: IncomingMessage, res: ServerResponse) => {
    void readBody(req).then((rawBody) => {
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(req.headers))
        headers[name] = Array.isArray(value) ? value.join(',') : value;
      const verdict = verifyHubSpotSignature(
        { method: req.method ?? 'POST', url: `${server.url}${req.url ?? ''}`, rawBody, headers },
        SECRET,
        now(),
      );
      const parsed = parseHubSpotEvents(rawBody);
      const events: HsWebhookEvent[] = JSON.parse(rawBody);
      deliveries.push({ at: Date.now(), events, verdict, valid: 'events' in parsed });
      res.writeHead(statuses.shift() ?? 200);
      res.end();
    });
  });
  return { ...server, deliveries, target: `${server.url}${path}` };
}

describe('HubSpot sandbox webhooks', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  async function setup(
    webhooks: Partial<WebhookOptions> = {},
    statuses: number[] = [],
    extra: HubSpotSandboxOptions = {},
  ): Promise<{
    clock: TestClock;
    sandbox: HubSpotSandbox;
    receiver: Awaited<ReturnType<typeof startReceiver>>;
  }> {
    const clock = testClock();
    const receiver = await startReceiver(clock.now, statuses);
    const sandbox = await startHubSpotSandbox({
      now: clock.now,
      people: 6,
      webhooks: { targetUrl: receiver.target, clientSecret: SECRET, appId: 4242, ...webhooks },
      ...extra,
    });
    open.push(receiver, sandbox);
    return { clock, sandbox, receiver };
  }

  const allEvents = (deliveries: readonly Delivery[]) => {
    expect(deliveries.every((d) => d.valid)).toBe(true);
    return deliveries.flatMap((d) => d.events);
  };

  it('sends signed, batched events for direct-API changes', async () => {
    const { clock, sandbox, receiver } = await setup();
    const t0 = clock.now();
    const contact = sandbox.create('contacts', { email: 'hook@example.com', firstname: 'Hook' });
    clock.advance(1_000);
    sandbox.update('contacts', contact.id, {
      firstname: 'Hooked',
      lastname: 'Line',
      email: 'hook@example.com',
    });
    clock.advance(1_000);
    sandbox.update('contacts', contact.id, { lastname: null });
    const company = sandbox.create('companies', { name: 'Acme' });
    sandbox.associateObjects('contacts', contact.id, 'companies', company.id, true);
    sandbox.dissociateObjects('contacts', contact.id, 'companies', company.id);
    sandbox.archive('companies', company.id);
    await sandbox.webhooks.flush();

    expect(receiver.deliveries).toHaveLength(1);
    expect(receiver.deliveries[0]?.verdict).toEqual({ ok: true, version: 'v3' });
    const events = allEvents(receiver.deliveries);
    expect(events.map((e) => e.subscriptionType)).toEqual([
      'contact.creation',
      'contact.propertyChange',
      'contact.propertyChange',
      'contact.propertyChange',
      'company.creation',
      'contact.associationChange',
      'company.associationChange',
      'contact.associationChange',
      'company.associationChange',
      'company.deletion',
    ]);
    const ids = events.map((e) => e.eventId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(events[0]).toMatchObject({
      objectId: Number(contact.id),
      occurredAt: t0,
      portalId: SANDBOX_PORTAL_ID,
      appId: 4242,
      attemptNumber: 0,
      changeFlag: 'CREATED',
      changeSource: 'CRM_UI',
    });
    // One event per changed property; the unchanged email sends none; a cleared one sends ''.
    expect(events.slice(1, 4).map((e) => [e.propertyName, e.propertyValue, e.occurredAt])).toEqual([
      ['firstname', 'Hooked', t0 + 1_000],
      ['lastname', 'Line', t0 + 1_000],
      ['lastname', '', t0 + 2_000],
    ]);
    expect(events[5]).toMatchObject({
      associationType: 'CONTACT_TO_COMPANY',
      fromObjectId: Number(contact.id),
      toObjectId: Number(company.id),
      associationRemoved: false,
      isPrimaryAssociation: true,
    });
    expect(events[8]).toMatchObject({ associationType: 'COMPANY_TO_CONTACT', associationRemoved: true });
    expect(sandbox.webhooks.stats).toEqual({
      sent: 1,
      delivered: events.length,
      failed: 0,
      dropped: 0,
      duplicated: 0,
      retries: 0,
    });
    // What the receiver gets turns into notices for the connector-neutral pipeline.
    const parsed = parseHubSpotEvents(JSON.stringify(events));
    const notices = 'events' in parsed ? toNotices(parsed.events) : [];
    expect(notices.map((n) => `${n.object}:${n.kind}:${n.externalId}`)).toContain(
      `company:delete:${company.id}`,
    );
  });

  it('sends one merge event (not its inner steps) and API changes as INTEGRATION', async () => {
    const { sandbox, receiver } = await setup();
    const hubspot = new Client({
      accessToken: sandbox.token,
      basePath: sandbox.url,
      numberOfApiCallRetries: 1,
    });
    const a = await hubspot.crm.contacts.basicApi.create({ properties: { email: 'a@example.com' } });
    const b = sandbox.create('contacts', { email: 'b@example.com', jobtitle: 'CTO' });
    await hubspot.crm.contacts.batchApi.update({ inputs: [{ id: a.id, properties: { firstname: 'Ann' } }] });
    const merged = await hubspot.crm.contacts.basicApi.merge({
      primaryObjectId: a.id,
      objectIdToMerge: b.id,
    });
    await sandbox.webhooks.flush();

    const events = allEvents(receiver.deliveries);
    expect(receiver.deliveries.every((d) => d.verdict.ok)).toBe(true);
    expect(events.map((e) => [e.subscriptionType, e.changeSource])).toEqual([
      ['contact.creation', 'INTEGRATION'],
      ['contact.creation', 'CRM_UI'],
      ['contact.propertyChange', 'INTEGRATION'],
      ['contact.merge', 'INTEGRATION'],
    ]);
    expect(events[0]?.sourceId).toBe('4242');
    expect(events[3]).toMatchObject({
      objectId: Number(merged.id),
      primaryObjectId: Number(a.id),
      mergedObjectIds: [Number(b.id)],
      newObjectId: Number(merged.id),
      numberOfPropertiesMoved: 1,
    });
  });

  it('splits into batches of maxBatch and holds events for batchMs', async () => {
    const { sandbox, receiver } = await setup({ maxBatch: 3, batchMs: 30 });
    for (let i = 0; i < 7; i++) sandbox.create('companies', { name: `Co ${i}` });
    // Full batches go at once; the rest waits for the batch window.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.deliveries.map((d) => d.events.length)).toEqual([3, 3, 1]);
    expect(receiver.deliveries.every((d) => d.verdict.ok)).toBe(true);
    await sandbox.webhooks.flush();
    expect(sandbox.webhooks.stats.sent).toBe(3);
  });

  it('retries a 500 with attemptNumber set and a fresh signature', async () => {
    const { sandbox, receiver } = await setup({ retry: { attempts: 3, baseMs: 10 } }, [500]);
    sandbox.create('contacts', { email: 'retry@example.com' });
    await sandbox.webhooks.flush();
    expect(receiver.deliveries.map((d) => d.events.map((e) => e.attemptNumber))).toEqual([[0], [1]]);
    expect(receiver.deliveries.map((d) => d.events[0]?.eventId)).toEqual([1, 1]);
    expect(receiver.deliveries.every((d) => d.verdict.ok)).toBe(true);
    expect(sandbox.webhooks.stats).toMatchObject({ sent: 2, retries: 1, delivered: 1, failed: 0 });
  });

  it('gives up after the last attempt on errors and refused connections', async () => {
    const { sandbox, receiver } = await setup({ retry: { attempts: 3, baseMs: 5 } }, [500, 503, 429]);
    sandbox.create('contacts', { email: 'fail@example.com' });
    await sandbox.webhooks.flush();
    expect(receiver.deliveries).toHaveLength(3);
    expect(sandbox.webhooks.stats).toMatchObject({ sent: 3, retries: 2, delivered: 0, failed: 1 });

    const closed = await listen(() => undefined);
    const deadUrl = `${closed.url}/gone`;
    await closed.close();
    sandbox.webhooks.configure({
      targetUrl: deadUrl,
      clientSecret: SECRET,
      retry: { attempts: 2, baseMs: 5 },
    });
    sandbox.create('contacts', { email: 'refused@example.com' });
    await sandbox.webhooks.flush();
    expect(sandbox.webhooks.stats).toMatchObject({ sent: 5, retries: 3, failed: 2 });
  });

  it('configure sets, replaces and removes the target at runtime', async () => {
    const clock = testClock();
    const receiver = await startReceiver(clock.now);
    const sandbox = await startHubSpotSandbox({ now: clock.now, people: 3 });
    open.push(receiver, sandbox);
    sandbox.create('contacts', { email: 'before@example.com' });
    await sandbox.webhooks.flush();
    expect(receiver.deliveries).toHaveLength(0);

    sandbox.webhooks.configure({ targetUrl: receiver.target, clientSecret: SECRET });
    const during = sandbox.create('contacts', { email: 'during@example.com' });
    await sandbox.webhooks.flush();
    sandbox.webhooks.configure({ targetUrl: receiver.target, clientSecret: 'rotated' });
    sandbox.create('contacts', { email: 'rotated@example.com' });
    await sandbox.webhooks.flush();
    sandbox.webhooks.configure(undefined);
    sandbox.create('contacts', { email: 'after@example.com' });
    await sandbox.webhooks.flush();

    expect(receiver.deliveries.map((d) => [d.events[0]?.objectId, d.verdict.ok])).toEqual([
      [Number(during.id), true],
      [Number(during.id) + 1, false],
    ]);
  });

  it('seeded faults: duplicates in later batches, reordered batches, drops never delivered', async () => {
    const faults = { seed: 7, duplicateRate: 0.3, reorder: true, dropRate: 0.2 };
    const run = async () => {
      const { sandbox, receiver } = await setup({ maxBatch: 10, faults });
      for (let i = 0; i < 40; i++) sandbox.create('companies', { name: `Fault ${i}` });
      await sandbox.webhooks.flush();
      return { stats: { ...sandbox.webhooks.stats }, deliveries: receiver.deliveries };
    };
    const { stats, deliveries } = await run();
    expect(deliveries.every((d) => d.verdict.ok)).toBe(true);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(stats.duplicated).toBeGreaterThan(0);

    const seen = new Map<number, number[]>();
    deliveries.forEach((d, batch) => {
      for (const e of d.events) seen.set(e.eventId, [...(seen.get(e.eventId) ?? []), batch]);
    });
    // Every event is delivered once, twice (a duplicate in a later batch), or never (dropped).
    expect(40 - seen.size).toBe(stats.dropped);
    const twice = [...seen.values()].filter((batches) => batches.length === 2);
    expect(twice).toHaveLength(stats.duplicated);
    for (const [first, second] of twice) expect(second ?? 0).toBeGreaterThan(first ?? 0);
    expect(stats.delivered).toBe(40 - stats.dropped + stats.duplicated);
    // Some batch arrives out of eventId order.
    const unordered = deliveries.some((d) =>
      d.events.some((e, i) => i > 0 && e.eventId < (d.events[i - 1]?.eventId ?? 0)),
    );
    expect(unordered).toBe(true);

    // The same seed gives the same faults.
    const again = await run();
    expect(again.stats).toEqual(stats);
    expect(again.deliveries.map((d) => d.events.map((e) => e.eventId))).toEqual(
      deliveries.map((d) => d.events.map((e) => e.eventId)),
    );
  });

  it('delay holds a batch before its first attempt', async () => {
    const { sandbox, receiver } = await setup({ batchMs: 0, faults: { delayMs: 150 } });
    const started = Date.now();
    sandbox.create('contacts', { email: 'late@example.com' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(receiver.deliveries).toHaveLength(0);
    await sandbox.webhooks.flush();
    expect(receiver.deliveries).toHaveLength(1);
    expect((receiver.deliveries[0]?.at ?? 0) - started).toBeGreaterThanOrEqual(140);
  });
});
