import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Connection } from 'jsforce';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ACK_XML,
  nackFault,
  type OutboundMessage,
  parseOutboundMessage,
  verifyOutbound,
} from '../connectors/salesforce/outbound.ts';
import {
  DEFAULT_ORGANIZATION_ID,
  type OutboundMessagesOptions,
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
  startSalesforceSandbox,
} from '../sandboxes/salesforce/index.ts';

const T0 = Date.parse('2024-06-01T12:00:00Z');
const SECRET = 'outbound-test-secret-5f1c2a';

type Answer = 'ack' | 'error500' | 'noack' | 'hang';

/** A webhook endpoint as the Lambda will be: parse, verify, answer; it records what it accepted. */
interface Receiver {
  url: string;
  /** Messages accepted and acked, in arrival order. */
  messages: OutboundMessage[];
  /** Every request, answered or not. */
  requests: Array<{
    contentType: string | undefined;
    soapAction: string | undefined;
    answer: Answer | 'rejected';
  }>;
  /** Answers for the next requests, then 'ack'. */
  script: Answer[];
  close(): Promise<void>;
}

const receivers: Receiver[] = [];
const sandboxes: SalesforceSandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(organizationId = DEFAULT_ORGANIZATION_ID): Promise<Receiver> {
  const messages: Receiver['messages'] = [];
  const requests: Receiver['requests'] = [];
  const script: Answer[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    const body = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type'];
    const soapAction = typeof req.headers.soapaction === 'string' ? req.headers.soapaction : undefined;
    const answer = script.shift() ?? 'ack';
    const reply = (status: number, xml: string, logged: Answer | 'rejected') => {
      requests.push({ contentType, soapAction, answer: logged });
      res.writeHead(status, { 'Content-Type': 'text/xml; charset=utf-8' }).end(xml);
    };
    if (answer === 'hang') return;
    if (answer === 'error500') return reply(500, nackFault('temporarily down', 'Server'), answer);
    if (answer === 'noack') return reply(200, '', answer);
    const parsed = parseOutboundMessage(body);
    if ('error' in parsed) return reply(400, nackFault(parsed.error), 'rejected');
    const pathSecret = (req.url ?? '').split('/').pop() ?? '';
    const verdict = verifyOutbound(parsed, { organizationId, secret: SECRET }, pathSecret);
    if (!verdict.ok) return reply(401, nackFault('unauthorized'), 'rejected');
    messages.push(parsed);
    reply(200, ACK_XML, answer);
  };
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const r: Receiver = {
    url: `http://127.0.0.1:${port}/webhooks/salesforce/${SECRET}`,
    messages,
    requests,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  receivers.push(r);
  return r;
}

async function sandbox(
  outboundMessages: OutboundMessagesOptions | undefined,
  options: SalesforceSandboxOptions = {},
): Promise<SalesforceSandbox> {
  let now = T0;
  const s = await startSalesforceSandbox({
    seeded: false,
    now: () => (now += 1000),
    ...(outboundMessages === undefined ? {} : { outboundMessages }),
    ...options,
  });
  sandboxes.push(s);
  return s;
}

function connect(s: SalesforceSandbox): Connection {
  return new Connection({ instanceUrl: s.url, accessToken: s.token, version: '62.0' });
}

const notificationsOf = (r: Receiver) => r.messages.flatMap((m) => m.notifications);
const recordIdsOf = (r: Receiver) => notificationsOf(r).map((n) => n.id);

describe('sandbox Outbound Messages', () => {
  it('sends API and direct-API creates and updates with the current values, and they are acked', async () => {
    const r = await receiver();
    // A long batch window: nothing goes out before flush().
    const s = await sandbox({
      endpointUrl: r.url,
      fields: ['Id', 'Email', 'Title', 'SystemModstamp'],
      batchMs: 60_000,
    });
    const ada = s.create('Contact', { LastName: 'Lovelace', Email: 'ada@example.com' });
    const conn = connect(s);
    const created = await conn.sobject('Contact').create({ LastName: 'Hopper', Email: 'grace@example.com' });
    if (!created.success) throw new Error('create failed');
    s.update('Contact', ada.Id, { Email: 'ada@analytical.example' });
    expect(s.outbound.stats.pending).toBe(3);
    await s.outbound.flush();

    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]).toMatchObject({
      contentType: 'text/xml; charset=utf-8',
      soapAction: '""',
      answer: 'ack',
    });
    const [message] = r.messages;
    expect(message?.organizationId).toBe(DEFAULT_ORGANIZATION_ID);
    const notes = message?.notifications ?? [];
    expect(notes.map((n) => [n.sobjectType, n.id])).toEqual([
      ['Contact', ada.Id],
      ['Contact', created.id],
      ['Contact', ada.Id],
    ]);
    // Values at send time: both of Ada's notifications carry the updated e-mail.
    const current = s.get('Contact', ada.Id);
    for (const n of notes.filter((x) => x.id === ada.Id)) {
      expect(n.fields).toEqual({
        Id: ada.Id,
        Email: 'ada@analytical.example',
        Title: null,
        SystemModstamp: `${String(current?.SystemModstamp).slice(0, 23)}Z`,
      });
      expect(Date.parse(n.systemModstamp ?? '')).toBeGreaterThan(T0);
    }
    expect(new Set(notes.map((n) => n.notificationId)).size).toBe(3);
    expect(s.outbound.stats).toMatchObject({
      queued: 3,
      requests: 1,
      acked: 1,
      delivered: 3,
      retries: 0,
      pending: 0,
    });
  });

  it('defaults to Id and SystemModstamp, one message per sObject, and skips other objects, deletes and rollbacks', async () => {
    const r = await receiver();
    const s = await sandbox({ endpointUrl: r.url, objects: ['Account', 'Contact'] });
    const acme = s.create('Account', { Name: 'Acme' });
    const c = s.create('Contact', { LastName: 'Turing', AccountId: acme.Id });
    s.create('Opportunity', { Name: 'Big', StageName: 'Prospecting', CloseDate: '2024-07-01' });
    await s.outbound.flush();
    s.delete('Contact', c.Id);
    // allOrNone: the valid record is rolled back with the invalid one, so nothing is sent.
    await connect(s)
      .sobject('Contact')
      .create([{ LastName: 'A' }, { FirstName: 'no last name' }], { allOrNone: true });
    await s.outbound.flush();

    expect(r.messages.map((m) => m.notifications.map((n) => n.sobjectType))).toEqual([
      ['Account'],
      ['Contact'],
    ]);
    expect(r.messages[0]?.actionId).not.toBe(r.messages[1]?.actionId);
    expect(Object.keys(notificationsOf(r)[0]?.fields ?? {})).toEqual(['Id', 'SystemModstamp']);
    expect(s.outbound.stats.queued).toBe(2);
  });

  it('cuts messages at 100 notifications', async () => {
    const r = await receiver();
    const s = await sandbox({ endpointUrl: r.url });
    const records = Array.from({ length: 230 }, (_, i) => ({ LastName: `P${i}` }));
    for (let i = 0; i < records.length; i += 200)
      await connect(s)
        .sobject('Contact')
        .create(records.slice(i, i + 200), { allOrNone: true });
    await s.outbound.flush();
    expect(r.messages.map((m) => m.notifications.length)).toEqual([100, 100, 30]);
    expect(new Set(recordIdsOf(r)).size).toBe(230);
  });

  it('retries a 500, a missing Ack and a rejected request until acked, with the same notification Ids', async () => {
    const r = await receiver();
    r.script.push('error500', 'noack');
    const s = await sandbox({ endpointUrl: r.url, retry: { attempts: 4, baseMs: 5 } });
    const c = s.create('Contact', { LastName: 'Ritchie' });
    await s.outbound.flush();
    expect(r.requests.map((q) => q.answer)).toEqual(['error500', 'noack', 'ack']);
    expect(recordIdsOf(r)).toEqual([c.Id]);
    expect(s.outbound.stats).toMatchObject({ requests: 3, retries: 2, acked: 1, delivered: 1, expired: 0 });

    // An org the receiver does not know is refused every time, and given up on after 4 tries.
    const wrongOrg = await receiver('00D000000000001AAA');
    s.outbound.configure({ endpointUrl: wrongOrg.url });
    s.update('Contact', c.Id, { Title: 'Dr' });
    await s.outbound.flush();
    expect(wrongOrg.requests.map((q) => q.answer)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(s.outbound.stats).toMatchObject({ requests: 7, retries: 5, expired: 1, pending: 0 });
  });

  it('retries a receiver that times out', async () => {
    const r = await receiver();
    r.script.push('hang');
    const s = await sandbox({ endpointUrl: r.url, timeoutMs: 200, retry: { attempts: 3, baseMs: 5 } });
    s.create('Contact', { LastName: 'Kernighan' });
    await s.outbound.flush();
    expect(r.messages).toHaveLength(1);
    expect(s.outbound.stats).toMatchObject({ requests: 2, retries: 1, delivered: 1 });
  });

  it('sends on its own after batchMs, and only once configured', async () => {
    const r = await receiver();
    const s = await sandbox(undefined);
    s.create('Contact', { LastName: 'Before' });
    s.outbound.configure({ endpointUrl: r.url, batchMs: 20 });
    const c = s.create('Contact', { LastName: 'After' });
    await vi.waitFor(() => expect(recordIdsOf(r)).toEqual([c.Id]), { timeout: 2000, interval: 10 });
    expect(s.outbound.stats.queued).toBe(1);
  });

  describe('faults, with a fixed seed', () => {
    async function run(faults: NonNullable<OutboundMessagesOptions['faults']>, count = 40) {
      const r = await receiver();
      const s = await sandbox({ endpointUrl: r.url, faults });
      const ids = Array.from({ length: count }, (_, i) => s.create('Contact', { LastName: `F${i}` }).Id);
      const started = Date.now();
      await s.outbound.flush();
      return { r, s, ids, elapsed: Date.now() - started };
    }

    it('duplicates acked notifications with the same notification Id, reproducibly', async () => {
      const first = await run({ seed: 7, duplicateRate: 0.3 });
      const notes = notificationsOf(first.r);
      const byId = new Map<string, number>();
      for (const n of notes) byId.set(n.notificationId, (byId.get(n.notificationId) ?? 0) + 1);
      const twice = [...byId.values()].filter((k) => k === 2).length;
      expect(twice).toBeGreaterThan(0);
      expect(twice).toBe(first.s.outbound.stats.duplicated);
      expect([...byId.values()].every((k) => k <= 2)).toBe(true);
      expect(new Set(notes.map((n) => n.id))).toEqual(new Set(first.ids));
      // A duplicate comes in a later message than its original.
      expect(first.r.messages[0]?.notifications).toHaveLength(40);

      const again = await run({ seed: 7, duplicateRate: 0.3 });
      expect(notificationsOf(again.r).map((n) => n.notificationId)).toEqual(
        notes.map((n) => n.notificationId),
      );
    });

    it('drops notifications, reproducibly, and counts them', async () => {
      const first = await run({ seed: 3, dropRate: 0.25 });
      const got = recordIdsOf(first.r);
      const dropped = first.ids.filter((id) => !got.includes(id));
      expect(dropped.length).toBeGreaterThan(0);
      expect(dropped.length).toBe(first.s.outbound.stats.dropped);
      expect(got.length + dropped.length).toBe(40);
      const again = await run({ seed: 3, dropRate: 0.25 });
      expect(recordIdsOf(again.r)).toEqual(got);
    });

    it('reorders notifications, reproducibly', async () => {
      const first = await run({ seed: 11, reorder: true });
      const got = recordIdsOf(first.r);
      expect(got).not.toEqual(first.ids);
      expect([...got].sort()).toEqual([...first.ids].sort());
      const again = await run({ seed: 11, reorder: true });
      expect(recordIdsOf(again.r)).toEqual(got);
    });

    it('delays every request', async () => {
      const { r, elapsed } = await run({ delayMs: 150 }, 3);
      expect(recordIdsOf(r)).toHaveLength(3);
      expect(elapsed).toBeGreaterThanOrEqual(140);
    });
  });
});
