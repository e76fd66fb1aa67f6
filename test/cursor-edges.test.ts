// Cursor edge cases through the real clients against the sandboxes: HubSpot windows past the
// 10,000-result search cap, search lag, records edited while a poll pages; Salesforce cursors saved
// inside a run of records sharing one SystemModstamp.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { HubSpotConnector } from '../connectors/hubspot/index.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import type { Connector, Cursor, SourceChange } from '../connectors/types.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';

const HS_VIEW = DEFAULT_CONFIG.systems.hubspot;
const SF_VIEW = DEFAULT_CONFIG.systems.salesforce;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function hubspot(options: Parameters<typeof startHubSpotSandbox>[0]): Promise<HubSpotSandbox> {
  const box = await startHubSpotSandbox(options);
  closers.push(() => box.close());
  return box;
}

async function salesforce(options: Parameters<typeof startSalesforceSandbox>[0]): Promise<SalesforceSandbox> {
  const box = await startSalesforceSandbox(options);
  closers.push(() => box.close());
  return box;
}

interface Polled {
  changes: SourceChange[];
  cursor: Cursor | undefined;
  pages: number;
}

/** Every page of one poll; `between(pageIndex)` runs after each page is handed out (the poll is lazy). */
async function pollAll(
  c: Connector,
  object: 'contact' | 'company',
  cursor: Cursor | undefined,
  between: (page: number) => void = () => undefined,
): Promise<Polled> {
  const changes: SourceChange[] = [];
  let last = cursor;
  let pages = 0;
  for await (const page of c.poll(object, cursor)) {
    changes.push(...page.changes);
    last = page.cursor;
    between(pages++);
  }
  return { changes, cursor: last, pages };
}

/** The first page of a poll and its cursor, as a run that stops (times out) after one page saves it. */
async function firstPage(
  c: Connector,
  object: 'contact',
  cursor: Cursor | undefined,
): Promise<{ changes: SourceChange[]; cursor: Cursor }> {
  for await (const page of c.poll(object, cursor)) return { changes: page.changes, cursor: page.cursor };
  throw new Error('poll yielded no page');
}

const searchBodySchema = z.object({
  filterGroups: z.array(z.object({ filters: z.array(z.object({ value: z.string().optional() })) })),
  limit: z.number().optional(),
  after: z.string().optional(),
});

/** A pass-through proxy in front of the HubSpot sandbox that records every search request body. */
async function recordingProxy(target: string) {
  const searches: z.infer<typeof searchBodySchema>[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(Buffer.from(chunk));
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && (req.url ?? '').endsWith('/search'))
        searches.push(searchBodySchema.parse(JSON.parse(body.toString('utf8'))));
      const headers = Object.fromEntries(
        Object.entries(req.headers).flatMap(([k, v]) =>
          v === undefined || ['host', 'content-length', 'connection'].includes(k)
            ? []
            : [[k, Array.isArray(v) ? v.join(',') : v]],
        ),
      );
      const upstream = await fetch(`${target}${req.url ?? '/'}`, {
        method: req.method ?? 'GET',
        headers,
        ...(body.length > 0 ? { body } : {}),
      });
      const out = Buffer.from(await upstream.arrayBuffer());
      const resHeaders: Record<string, string> = {};
      upstream.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k))
          resHeaders[k] = v;
      });
      res.writeHead(upstream.status, resHeaders).end(out);
    })().catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, searches };
}

function countBy(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HubSpot search cursor', () => {
  it('splits a window of more than 10,000 changes below the search cap and loses none', async () => {
    // A clock we can hold still while seeding: 10,500 contacts over 21 modification times.
    let held: number | undefined;
    const box = await hubspot({ seeded: false, now: () => held ?? Date.now(), tenSecondlyLimit: 1000 });
    const N = 10_500;
    const PER_STAMP = 500;
    const base = Date.now() - 3_600_000;
    for (let i = 0; i < N; i++) {
      held = base + Math.floor(i / PER_STAMP) * 1000;
      box.create('contacts', { email: `dense${i}@dense.example`, firstname: 'Dense', lastname: `N${i}` });
    }
    held = undefined;
    const proxy = await recordingProxy(box.url);
    const c = new HubSpotConnector({ accessToken: box.token, baseUrl: proxy.url, overlapMs: 0 }, HS_VIEW);

    const first = await pollAll(c, 'contact', undefined);
    const counts = countBy(first.changes.map((ch) => ch.externalId));
    const all = box.list('contacts').map((r) => r.id);
    expect(all).toHaveLength(N);
    // Every record exactly once (keyset pages on (modified time, id) never re-read a time group).
    expect(all.filter((id) => !counts.has(id))).toEqual([]);
    expect(counts.size).toBe(N);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    // No search asked for a page reaching past result 10,000, and the window was split.
    for (const s of proxy.searches)
      expect(Number(s.after ?? 0) + (s.limit ?? 10)).toBeLessThanOrEqual(10_000);
    const lowerBounds = new Set(proxy.searches.map((s) => s.filterGroups[0]?.filters[0]?.value));
    expect(lowerBounds.size).toBeGreaterThan(1);
    // Pages arrive in (modifiedAt, id) order, so the cursor is the newest change.
    expect(first.cursor).toMatchObject({ ts: base + (N / PER_STAMP - 1) * 1000 });

    // And the next poll from that cursor reads nothing again.
    const again = await pollAll(c, 'contact', first.cursor);
    expect(again.changes).toEqual([]);
  });

  it('picks up an edit search did not show yet on the next poll', async () => {
    const LAG = 800;
    const box = await hubspot({ seed: 11, people: 20, searchLagMs: LAG });
    const c = new HubSpotConnector({ accessToken: box.token, baseUrl: box.url, overlapMs: 5_000 }, HS_VIEW);
    const { cursor } = await pollAll(c, 'contact', undefined);
    const target = box.list('contacts')[4];
    if (target === undefined) throw new Error('no contact');
    box.update('contacts', target.id, { jobtitle: 'Lagging edit' });

    const early = await pollAll(c, 'contact', cursor);
    expect(early.changes.filter((ch) => ch.fields.title === 'Lagging edit')).toEqual([]);
    await sleep(LAG + 100);
    const late = await pollAll(c, 'contact', early.cursor);
    expect(late.changes.find((ch) => ch.externalId === target.id)?.fields.title).toBe('Lagging edit');
  });

  it('catches, through the overlap window, a change that became searchable after a later one', async () => {
    // Uneven index lag: B (later) is searchable and read before A (earlier) shows up.
    let offset = 0;
    const LAG = 300;
    const box = await hubspot({
      seed: 12,
      people: 20,
      searchLagMs: LAG,
      searchPerSecond: 100,
      now: () => Date.now() + offset,
    });
    const exact = new HubSpotConnector({ accessToken: box.token, baseUrl: box.url, overlapMs: 0 }, HS_VIEW);
    const overlapping = new HubSpotConnector(
      { accessToken: box.token, baseUrl: box.url, overlapMs: 10_000 },
      HS_VIEW,
    );
    const [a, b] = box.list('contacts');
    if (a === undefined || b === undefined) throw new Error('no contacts');
    box.update('contacts', b.id, { jobtitle: 'B later' });
    await sleep(LAG + 100);
    const withB = await pollAll(exact, 'contact', undefined);
    expect(withB.changes.find((ch) => ch.externalId === b.id)?.fields.title).toBe('B later');
    offset = -3_000; // A is stamped 3 s before B, and indexed only now
    box.update('contacts', a.id, { jobtitle: 'A earlier' });
    offset = 0;
    await sleep(LAG + 100);

    const missed = await pollAll(exact, 'contact', withB.cursor);
    expect(missed.changes.find((ch) => ch.externalId === a.id)).toBeUndefined();
    const caught = await pollAll(overlapping, 'contact', withB.cursor);
    expect(caught.changes.find((ch) => ch.externalId === a.id)?.fields.title).toBe('A earlier');
  });

  it('loses no record when a record is edited while a poll is paging', async () => {
    // Old records (a backfill): 650 contacts modified a day ago, one second apart; 4 search pages.
    let held: number | undefined;
    const box = await hubspot({ seeded: false, now: () => held ?? Date.now(), tenSecondlyLimit: 1000 });
    const base = Date.now() - 86_400_000;
    for (let i = 0; i < 650; i++) {
      held = base + i * 1000;
      box.create('contacts', { email: `page${i}@paging.example`, lastname: `P${i}` });
    }
    held = undefined;
    const ids = box.list('contacts').map((r) => r.id);
    const c = new HubSpotConnector({ accessToken: box.token, baseUrl: box.url }, HS_VIEW);
    const readBehind = ids[10] ?? '';
    const readAhead = ids[500] ?? '';
    const first = await pollAll(c, 'contact', undefined, (page) => {
      if (page !== 0) return;
      // Edited after page 1 was read: one already read, one not yet read.
      box.update('contacts', readBehind, { jobtitle: 'Edited behind' });
      box.update('contacts', readAhead, { jobtitle: 'Edited ahead' });
    });
    const next = await pollAll(c, 'contact', first.cursor);
    const seen = [...first.changes, ...next.changes];
    const seenIds = new Set(seen.map((ch) => ch.externalId));
    expect(ids.filter((id) => !seenIds.has(id))).toEqual([]);
    const latest = (id: string) => seen.filter((ch) => ch.externalId === id).at(-1)?.fields.title;
    expect(latest(readBehind)).toBe('Edited behind');
    expect(latest(readAhead)).toBe('Edited ahead');
  });
});

describe('Salesforce SOQL cursor', () => {
  it('continues exactly from a cursor saved inside a run sharing one SystemModstamp', async () => {
    let held: number | undefined;
    const box = await salesforce({ seed: 21, people: 30, pageSize: 5, now: () => held ?? Date.now() });
    const c = new SalesforceConnector(
      { instanceUrl: box.url, accessToken: box.token, overlapMs: 0 },
      SF_VIEW,
    );
    const baseline = await pollAll(c, 'contact', undefined);
    // 17 edits stamped in one second: the run spans four pages of five.
    held = Math.ceil(Date.now() / 1000) * 1000 + 2000;
    const edited = box
      .list('Contact')
      .slice(3, 20)
      .map((r) => r.Id);
    for (const id of edited) box.update('Contact', id, { Title: 'Same stamp' });

    // Runs that stop after one page each: every saved cursor lies inside the run.
    const read: string[] = [];
    let cursor = baseline.cursor;
    for (let run = 0; run < 4; run++) {
      const page = await firstPage(c, 'contact', cursor);
      expect(page.changes.length).toBe(run < 3 ? 5 : 2);
      for (const ch of page.changes) expect(ch.modifiedAt).toBe(held);
      read.push(...page.changes.map((ch) => ch.externalId));
      cursor = page.cursor;
    }
    expect(read).toEqual([...edited].sort());
    const rest = await pollAll(c, 'contact', cursor);
    expect(rest.changes).toEqual([]);
  });

  it('loses no record edited while a poll is paging, edited even within the cursor second', async () => {
    const box = await salesforce({ seed: 22, people: 30, pageSize: 5 });
    // Any overlap of at least a second covers edits stamped in the second the cursor ends in.
    const c = new SalesforceConnector(
      { instanceUrl: box.url, accessToken: box.token, overlapMs: 2_000 },
      SF_VIEW,
    );
    const baseline = await pollAll(c, 'contact', undefined);
    await sleep(1100);
    const contacts = box.list('Contact').map((r) => r.Id);
    const batch = contacts.slice(0, 15);
    for (const id of batch) box.update('Contact', id, { Title: 'v1' });
    const readBehind = batch[1] ?? '';
    const readAhead = batch[13] ?? '';
    const untouched = contacts[20] ?? '';
    const during = await pollAll(c, 'contact', baseline.cursor, (page) => {
      if (page !== 0) return;
      box.update('Contact', readBehind, { Title: 'v2 behind' });
      box.update('Contact', readAhead, { Title: 'v2 ahead' });
      box.update('Contact', untouched, { Title: 'v2 other' });
    });
    expect(during.pages).toBeGreaterThanOrEqual(3);
    const next = await pollAll(c, 'contact', during.cursor);
    const seen = [...during.changes, ...next.changes];
    const latest = (id: string) => seen.filter((ch) => ch.externalId === id).at(-1)?.fields.title;
    expect(latest(readBehind)).toBe('v2 behind');
    expect(latest(readAhead)).toBe('v2 ahead');
    expect(latest(untouched)).toBe('v2 other');
    for (const id of batch) expect(seen.some((ch) => ch.externalId === id)).toBe(true);
  });
});
