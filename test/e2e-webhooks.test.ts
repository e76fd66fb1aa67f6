// Real time end to end: the sandboxes push (HubSpot webhooks signed v3, Salesforce Outbound Messages),
// the local webhook endpoint runs the webhook function, pollers read what the notices name, and the
// other system is written — without a poll. Polling repairs what a dropped delivery missed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEmail } from '../engine/index.ts';
import { cycle, startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { collect } from '../local/summary.ts';
import { DEFAULT_ORGANIZATION_ID } from '../sandboxes/salesforce/outbound.ts';

const CLIENT_SECRET = 'test-hubspot-app-secret';
const OUTBOUND_SECRET = 'b4a9c3e1d2f0a7b6';

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack;
let dir: string;

function pairs() {
  const hs = new Map(
    boxes.hubspot.list('contacts').map((c) => [normalizeEmail(String(c.properties.email ?? '')), c]),
  );
  return boxes.salesforce.list('Contact').flatMap((c) => {
    const twin = hs.get(normalizeEmail(String(c.Email ?? '')));
    return twin === undefined ? [] : [{ sf: c, hs: twin }];
  });
}

/** Deliver what the sandboxes have pending, then let the stack process it — no poll. */
async function deliver(): Promise<void> {
  await boxes.hubspot.webhooks.flush();
  await boxes.salesforce.outbound.flush();
  await stack.drain();
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-hooks-'));
  boxes = await startSandboxes({ seed: 17, people: 16 });
  stack = await startEmbedded({
    stateDir: dir,
    credentials: {
      ...boxes.env,
      HUBSPOT_CLIENT_SECRET: CLIENT_SECRET,
      SALESFORCE_ORG_ID: DEFAULT_ORGANIZATION_ID,
      SALESFORCE_OUTBOUND_SECRET: OUTBOUND_SECRET,
    },
  });
  await cycle(stack);
  await cycle(stack);
  boxes.hubspot.webhooks.configure({
    targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
    clientSecret: CLIENT_SECRET,
    batchMs: 10,
    retry: { attempts: 3, baseMs: 20 },
  });
  boxes.salesforce.outbound.configure({
    endpointUrl: `${stack.webhookUrl}/webhooks/salesforce/${OUTBOUND_SECRET}`,
    organizationId: DEFAULT_ORGANIZATION_ID,
    batchMs: 10,
    retry: { attempts: 3, baseMs: 20 },
  });
});

afterAll(async () => {
  await stack?.stop();
  await boxes?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('webhooks', () => {
  it('a HubSpot edit reaches Salesforce through a signed webhook, without a poll', async () => {
    const [pair] = pairs();
    if (pair === undefined) throw new Error('no pair');
    const run = collect();
    boxes.hubspot.update('contacts', pair.hs.id, { jobtitle: 'Set by webhook' });
    await deliver();
    run.stop();
    expect(boxes.salesforce.get('Contact', pair.sf.Id)?.Title).toBe('Set by webhook');
    expect(run.summary.systems.hubspot?.calls.search ?? 0).toBe(0);
    expect(run.summary.systems.hubspot?.calls.read ?? 0).toBeGreaterThanOrEqual(1);
  });

  it('a Salesforce edit reaches HubSpot through an Outbound Message, without a poll', async () => {
    const pair = pairs()[1];
    if (pair === undefined) throw new Error('no pair');
    boxes.salesforce.update('Contact', pair.sf.Id, { Title: 'Sent by outbound message' });
    await deliver();
    expect(boxes.hubspot.get('contacts', pair.hs.id)?.properties.jobtitle).toBe('Sent by outbound message');
    expect(boxes.salesforce.outbound.stats.delivered).toBeGreaterThanOrEqual(1);
  });

  it('duplicated and reordered deliveries change nothing more; a dropped one is repaired by the next poll', async () => {
    const [a, b, c] = pairs().slice(2, 5);
    if (a === undefined || b === undefined || c === undefined) throw new Error('not enough pairs');
    boxes.hubspot.webhooks.configure({
      targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
      clientSecret: CLIENT_SECRET,
      batchMs: 10,
      retry: { attempts: 3, baseMs: 20 },
      faults: { seed: 3, duplicateRate: 1, reorder: true },
    });
    boxes.hubspot.update('contacts', a.hs.id, { lastname: 'Dup-A' });
    boxes.hubspot.update('contacts', b.hs.id, { lastname: 'Dup-B' });
    const run = collect();
    await deliver();
    run.stop();
    expect(boxes.hubspot.webhooks.stats.duplicated).toBeGreaterThan(0);
    expect(boxes.salesforce.get('Contact', a.sf.Id)?.LastName).toBe('Dup-A');
    expect(boxes.salesforce.get('Contact', b.sf.Id)?.LastName).toBe('Dup-B');
    expect(run.summary.systems.salesforce?.writeCalls).toBe(1);

    boxes.hubspot.webhooks.configure({
      targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
      clientSecret: CLIENT_SECRET,
      batchMs: 10,
      faults: { seed: 1, dropRate: 1 },
    });
    boxes.hubspot.update('contacts', c.hs.id, { lastname: 'Dropped-C' });
    await deliver();
    expect(boxes.salesforce.get('Contact', c.sf.Id)?.LastName).not.toBe('Dropped-C');
    await cycle(stack);
    expect(boxes.salesforce.get('Contact', c.sf.Id)?.LastName).toBe('Dropped-C');
  });

  it('a bad signature or a wrong secret is refused with no side effect', async () => {
    // Our own writes come back as webhooks too (echoes): stop the sandboxes' senders and settle first.
    boxes.hubspot.webhooks.configure(undefined);
    await boxes.salesforce.outbound.flush();
    await stack.drain();
    const before = await stack.pending();
    const hubspot = await fetch(`${stack.webhookUrl}/webhooks/hubspot`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hubspot-signature-v3': 'AAAA',
        'x-hubspot-request-timestamp': String(Date.now()),
      },
      body: '[{"eventId":1,"subscriptionId":1,"portalId":1,"occurredAt":1,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":1}]',
    });
    expect(hubspot.status).toBe(401);
    const salesforce = await fetch(`${stack.webhookUrl}/webhooks/salesforce/wrong-secret`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: '<x/>',
    });
    expect([400, 401]).toContain(salesforce.status);
    expect(await stack.pending()).toBe(before);
  });
});
