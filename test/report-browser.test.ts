// The audit report of a real sync on the embedded stack: the report function file (the one Lambda
// runs) and `fieldsync report` agree; the HTML page opens in headless Chromium (Debian's, driven by
// playwright-core) with no console error, no request but the file itself, and charts whose bars
// match the JSON report.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEmail } from '../engine/index.ts';
import { cycle, main, startSandboxes } from '../local/cli.ts';
import { withState } from '../local/commands/state.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import type { AuditReport } from '../runtime/report.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let root: string;
let stateDir: string;
let htmlPath: string;
let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack | undefined;
let fromFunction: AuditReport;
let fromCli: AuditReport;
/** Records the first sync created in each system (each side's one-sided records). */
const createdBySync: Record<string, Record<string, number>> = {};
const htmlOut: string[] = [];
const terminal: string[] = [];

async function cli(args: string[], dir = stateDir): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main(['report', ...args], { FIELDSYNC_STATE_DIR: dir }, (l) => lines.push(l));
  return { code, lines };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fieldsync-report-'));
  stateDir = join(root, 'state');
  htmlPath = join(root, 'report.html');
  boxes = await startSandboxes({ seed: 11, people: 6 });
  // Salesforce requires LastName on Contact: this one is parked as a sync error.
  boxes.hubspot.create('contacts', { email: 'no.last.name@example.com', firstname: 'Nolast' });
  const s = await startEmbedded({ stateDir, credentials: boxes.env });
  stack = s;
  const counts = () => ({
    salesforce: {
      contact: boxes.salesforce.list('Contact').length,
      company: boxes.salesforce.list('Account').length,
    },
    hubspot: {
      contact: boxes.hubspot.list('contacts').length,
      company: boxes.hubspot.list('companies').length,
    },
  });
  const before = counts();
  await cycle(s);
  const after = counts();
  for (const system of ['salesforce', 'hubspot'] as const)
    createdBySync[system] = {
      contact: after[system].contact - before[system].contact,
      company: after[system].company - before[system].company,
    };
  // One field edited on both sides within the skew window: a conflict.
  const hsByEmail = new Map(
    boxes.hubspot.list('contacts').map((c) => [normalizeEmail(String(c.properties.email ?? '')), c]),
  );
  const sf = boxes.salesforce
    .list('Contact')
    .find((c) => hsByEmail.has(normalizeEmail(String(c.Email ?? ''))));
  const hs = hsByEmail.get(normalizeEmail(String(sf?.Email ?? '')));
  if (sf === undefined || hs === undefined) throw new Error('no contact on both sides');
  boxes.salesforce.update('Contact', sf.Id, { Title: 'Head of Data' });
  boxes.hubspot.update('contacts', hs.id, { jobtitle: 'Data Lead' });
  await cycle(s);

  // The very file the report Lambda runs, on the embedded stack's table.
  const { handler } = await import('../functions/report.ts');
  fromFunction = await handler({ source: 'aws.scheduler', 'detail-type': 'Scheduled Event', detail: {} });
  await s.stop();
  stack = undefined;

  const json = await cli(['--json']);
  expect(json.code).toBe(0);
  fromCli = JSON.parse(json.lines.join('\n'));
  const html = await cli(['--html', htmlPath]);
  expect(html.code).toBe(0);
  htmlOut.push(...html.lines);
  terminal.push(...(await cli([])).lines);
}, 120_000);

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  await boxes?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe('the audit report of a real sync', () => {
  it('the report function file and fieldsync report give the same counts', () => {
    expect(fromFunction.kind).toBe('fieldsync.audit-report');
    for (const part of ['totals', 'records', 'activity', 'conflicts', 'errors', 'drift', 'echoes'] as const)
      expect(fromCli[part], part).toEqual(fromFunction[part]);
  });

  it('counts records, changes, the conflict, the parked error and the echoes', () => {
    const contacts = fromCli.records.find((r) => r.object === 'contact');
    expect(contacts?.canonical).toBeGreaterThan(6);
    expect(contacts?.linked.hubspot).toBe(boxes.hubspot.list('contacts').length);
    expect(contacts?.linked.salesforce).toBe(boxes.salesforce.list('Contact').length);
    expect(fromCli.totals.changes).toBeGreaterThan(contacts?.canonical ?? 0);
    expect(fromCli.conflicts.total).toBeGreaterThanOrEqual(1);
    expect(fromCli.conflicts.topFields[0]).toMatchObject({ object: 'contact', field: 'title' });
    expect(fromCli.errors.byCode).toEqual([
      { system: 'salesforce', object: 'contact', code: 'REQUIRED_FIELD_MISSING', count: 1 },
    ]);
    expect(fromCli.errors.writeFailures).toBeGreaterThanOrEqual(1);
    // What the writers did: every record they created, per object and system.
    for (const system of ['salesforce', 'hubspot'])
      for (const object of ['contact', 'company'] as const) {
        const a = fromCli.activity.find((x) => x.system === system && x.object === object);
        expect(a?.created ?? 0, `${object} created in ${system}`).toBe(createdBySync[system]?.[object]);
      }
    expect(fromCli.totals.created).toBeGreaterThan(0);
    // The conflict's winner was written to the other system.
    expect(fromCli.totals.updated).toBeGreaterThan(0);
    expect(fromCli.echoes.total).toBeGreaterThan(0);
    const seriesChanges = fromCli.series.buckets.reduce(
      (n, b) => n + Object.values(b.changes).reduce((m, v) => m + v, 0),
      0,
    );
    expect(seriesChanges).toBe(fromCli.totals.changes);
    // Counts, ids and names: no field value of the sync (the edited titles, the emails).
    const text = JSON.stringify(fromCli);
    for (const value of ['Head of Data', 'Data Lead', '@example.com']) expect(text).not.toContain(value);
  });

  it('prints terminal tables', () => {
    expect(terminal[0]).toMatch(/^fieldsync audit report: \S+ to \S+ \(24 h\)$/);
    expect(terminal).toContain('records now');
    expect(terminal.some((l) => /^ {2}contact +\d+/.test(l))).toBe(true);
    expect(terminal.some((l) => l.includes('REQUIRED_FIELD_MISSING'))).toBe(true);
    expect(terminal.some((l) => /^\d+ conflicts?/.test(l))).toBe(true);
    expect(terminal.some((l) => l.startsWith('syncs per hour'))).toBe(true);
  });

  it('an empty state is a clear message, and its page says so', async () => {
    const empty = join(root, 'empty');
    await withState(empty, { create: true }, async () => undefined);
    const plain = await cli([], empty);
    expect(plain.code).toBe(0);
    expect(plain.lines[1]).toContain('holds no records, errors or audit rows yet');
    const page = join(root, 'empty.html');
    expect((await cli(['--html', page], empty)).lines).toEqual([`wrote ${page}`]);
    expect(readFileSync(page, 'utf8')).toContain('No syncs in this period');
    const missing = await cli([], join(root, 'missing'));
    expect(missing.code).toBe(2);
  });

  it('the HTML page renders in headless Chromium: no errors, no requests, bars matching the JSON', async (ctx) => {
    if (!existsSync(CHROMIUM)) {
      console.warn(`report-browser: ${CHROMIUM} is absent, the page is not checked in a browser`);
      ctx.skip(`${CHROMIUM} is absent (CI installs it: apt-get install chromium)`);
    }
    expect(htmlOut).toEqual([`wrote ${htmlPath}`]);
    const profile = mkdtempSync(join(tmpdir(), 'fieldsync-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    try {
      const problems: string[] = [];
      const requests: string[] = [];
      browser.on('request', (r) => requests.push(r.url()));
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      const url = pathToFileURL(htmlPath).href;
      await page.goto(url);
      expect(await page.title()).toMatch(/^fieldsync audit report/);
      expect(await page.locator('h1').textContent()).toBe('fieldsync audit report');

      const bars = async (chart: string) => {
        const rects = page.locator(`figure[data-chart="${chart}"] svg rect.bar`);
        const values = (await rects.evaluateAll((els) => els.map((e) => e.getAttribute('data-value')))).map(
          Number,
        );
        const series = await rects.evaluateAll((els) => els.map((e) => e.getAttribute('data-series') ?? ''));
        return { count: values.length, values, series };
      };
      // Syncs over time: one bar per (hour, system) with changes, and per (hour, system) with writes.
      const syncs = await bars('syncs');
      const expectedSyncBars = fromCli.series.buckets.reduce(
        (n, b) =>
          n +
          Object.values(b.changes).filter((v) => v > 0).length +
          Object.values(b.writes).filter((v) => v > 0).length,
        0,
      );
      expect(syncs.count).toBe(expectedSyncBars);
      const changeSum = syncs.values
        .filter((_, i) => syncs.series[i]?.startsWith('changes from'))
        .reduce((a, b) => a + b, 0);
      expect(changeSum).toBe(fromCli.totals.changes);
      // Conflicts by resolution: one bar per policy and outcome.
      const conflicts = await bars('conflicts');
      expect(conflicts.count).toBe(fromCli.conflicts.byResolution.length);
      expect(conflicts.values.reduce((a, b) => a + b, 0)).toBe(fromCli.conflicts.total);
      // Errors by system: parked now and write failures, per system with either.
      const errors = await bars('errors');
      expect(errors.count).toBe(
        fromCli.errors.bySystem.reduce(
          (n, e) => n + (e.parked > 0 ? 1 : 0) + (e.writeFailures > 0 ? 1 : 0),
          0,
        ),
      );
      expect(errors.count).toBeGreaterThan(0);
      // No reconcile job ran: the drift chart says so instead of drawing bars.
      expect((await bars('drift')).count).toBe(fromCli.drift.total);
      expect(await page.locator('figure[data-chart="drift"] svg text.empty').textContent()).toBe(
        'No drift found in this period',
      );

      // Accessible: every chart an image with a title and a description, axis labels and a data table.
      for (const chart of ['syncs', 'conflicts', 'errors', 'drift']) {
        const svg = page.locator(`figure[data-chart="${chart}"] svg`);
        expect(await svg.getAttribute('role')).toBe('img');
        const [titleId, descId] = (await svg.getAttribute('aria-labelledby'))?.split(' ') ?? [];
        expect(await page.locator(`#${titleId}`).textContent()).toBe(
          await page.locator(`figure[data-chart="${chart}"] h2`).textContent(),
        );
        expect((await page.locator(`#${descId}`).textContent())?.length ?? 0).toBeGreaterThan(20);
        expect(await svg.locator('text.axis-label').count()).toBe(2);
        expect(await page.locator(`figure[data-chart="${chart}"] details :is(table, p.none)`).count()).toBe(
          1,
        );
      }
      expect(await page.locator('figure[data-chart="syncs"] h2').textContent()).toBe('Syncs over time');

      expect(problems).toEqual([]);
      expect(requests).toEqual([url]);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
