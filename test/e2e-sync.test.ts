// End to end on the embedded stack: the real Lambda handlers on dynalite + fauxqs, the real
// clients against both sandboxes. One stack per file (handlers read their env at cold start).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeDomain, normalizeEmail } from '../engine/index.ts';
import { startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { seedDataset } from '../sandboxes/seed.ts';
import { agreementOf, syncCycle as runCycle, writeCallsBySystem } from './support/sync.ts';

const run = promisify(execFile);
const SEED = 7;
const PEOPLE = 40;

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack;
let stateDir: string;

const syncCycle = () => runCycle(stack);
const writeCalls = writeCallsBySystem;
const agreement = () => agreementOf(stack, boxes.env);

/** Let the second pass (Salesforce stamps whole seconds) so a later edit has a later timestamp. */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'fieldsync-e2e-'));
  boxes = await startSandboxes({ seed: SEED, people: PEOPLE });
  stack = await startEmbedded({ stateDir, credentials: boxes.env });
});

afterAll(async () => {
  await stack?.stop().catch(() => undefined);
  await boxes?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('embedded two-way sync', () => {
  it('links every overlapping pair and creates each one-sided record exactly once', async () => {
    const seed = seedDataset({ seed: SEED, people: PEOPLE });
    const people = new Set([...seed.salesforce.people, ...seed.hubspot.people].map((p) => p.record.key));
    const companies = new Set(
      [...seed.salesforce.companies, ...seed.hubspot.companies].map((c) => c.record.key),
    );
    const both = seed.salesforce.people.filter((p) =>
      seed.hubspot.people.some((h) => h.record.key === p.record.key),
    );
    expect(both.length).toBeGreaterThan(5);

    const first = await syncCycle();
    expect(first.errors).toBe(0);

    for (const [list, key, norm] of [
      [boxes.salesforce.list('Contact'), 'Email', normalizeEmail],
      [boxes.hubspot.list('contacts').map((c) => c.properties), 'email', normalizeEmail],
    ] as const) {
      const emails = list.map((r) => norm(String(r[key] ?? '')));
      expect(emails.length).toBe(people.size);
      expect(new Set(emails).size).toBe(people.size);
    }
    const sfDomains = boxes.salesforce.list('Account').map((a) => normalizeDomain(String(a.Website ?? '')));
    const hsDomains = boxes.hubspot
      .list('companies')
      .map((c) => normalizeDomain(String(c.properties.domain ?? '')));
    expect(new Set(sfDomains).size).toBe(companies.size);
    expect(sfDomains.length).toBe(companies.size);
    expect(new Set(hsDomains)).toEqual(new Set(sfDomains));
    expect(hsDomains.length).toBe(companies.size);

    // Every overlapping pair shares one canonical record.
    const records = await stack.store.listRecords('contact');
    expect(records.length).toBe(people.size);
    for (const r of records) expect(Object.keys(r.links).sort()).toEqual(['hubspot', 'salesforce']);

    const report = await agreement();
    expect(report.objects.contact?.mismatches).toEqual([]);
    expect(report.objects.company?.mismatches).toEqual([]);
    expect(report.agree).toBe(true);
  });

  it('makes zero write calls when nobody edited anything (echoes are suppressed)', async () => {
    const echo = await syncCycle();
    expect(echo.systems.salesforce?.polled.contact ?? 0).toBeGreaterThan(0); // our own writes come back
    expect(writeCalls(echo)).toEqual({ salesforce: 0, hubspot: 0 });
    const quiet = await syncCycle();
    expect(writeCalls(quiet)).toEqual({ salesforce: 0, hubspot: 0 });
    expect(quiet.errors).toBe(0);
  });

  it('keeps edits of different fields made on both sides', async () => {
    const sfContact = boxes.salesforce.list('Contact')[0];
    if (sfContact === undefined) throw new Error('no contact');
    const email = normalizeEmail(String(sfContact.Email));
    const hsContact = boxes.hubspot
      .list('contacts')
      .find((c) => normalizeEmail(String(c.properties.email)) === email);
    if (hsContact === undefined) throw new Error('contact not synced');

    boxes.salesforce.update('Contact', sfContact.Id, { Title: 'Head of RevOps' });
    boxes.hubspot.update('contacts', hsContact.id, { phone: '+1 415 555 0199' });
    const s = await syncCycle();

    expect(boxes.salesforce.get('Contact', sfContact.Id)).toMatchObject({
      Title: 'Head of RevOps',
      Phone: '+14155550199',
    });
    expect(boxes.hubspot.get('contacts', hsContact.id)?.properties).toMatchObject({
      jobtitle: 'Head of RevOps',
      phone: '+1 415 555 0199',
    });
    expect(writeCalls(s)).toEqual({ salesforce: 1, hubspot: 1 });
    expect((await agreement()).agree).toBe(true);
  });

  it('ends a field edited on both sides with the later edit, and audits the conflict', async () => {
    const [a, b] = boxes.salesforce.list('Contact').slice(1, 3);
    if (a === undefined || b === undefined) throw new Error('not enough contacts');
    const hsOf = (email: unknown) =>
      boxes.hubspot
        .list('contacts')
        .find((c) => normalizeEmail(String(c.properties.email)) === normalizeEmail(String(email)));
    const ha = hsOf(a.Email);
    const hb = hsOf(b.Email);
    if (ha === undefined || hb === undefined) throw new Error('contacts not synced');

    // a: Salesforce first, HubSpot later -> HubSpot wins. b: the other way round -> Salesforce wins.
    boxes.salesforce.update('Contact', a.Id, { LastName: 'EarlierSF' });
    boxes.hubspot.update('contacts', hb.id, { lastname: 'EarlierHS' });
    await nextSecond();
    boxes.hubspot.update('contacts', ha.id, { lastname: 'LaterHS' });
    boxes.salesforce.update('Contact', b.Id, { LastName: 'LaterSF' });
    const s = await syncCycle();

    expect(boxes.salesforce.get('Contact', a.Id)?.LastName).toBe('LaterHS');
    expect(boxes.hubspot.get('contacts', ha.id)?.properties.lastname).toBe('LaterHS');
    expect(boxes.salesforce.get('Contact', b.Id)?.LastName).toBe('LaterSF');
    expect(boxes.hubspot.get('contacts', hb.id)?.properties.lastname).toBe('LaterSF');
    expect(s.conflicts).toBe(2);

    const [link] = await stack.store.getLinks('salesforce', 'contact', [a.Id]).then((m) => [...m.values()]);
    if (link === undefined) throw new Error('no link');
    const audit = await stack.store.audit(link);
    const conflict = audit.find((r) => r.field === 'lastName' && r.reason.startsWith('conflict'));
    expect(conflict).toMatchObject({ kept: 'LaterHS' });
    expect((await agreement()).agree).toBe(true);
  });

  it('propagates a record created on one side later, with its company link', async () => {
    const account = boxes.salesforce.list('Account')[0];
    if (account === undefined) throw new Error('no account');
    const created = boxes.salesforce.create('Contact', {
      FirstName: 'Newly',
      LastName: 'Created',
      Email: 'Newly.Created@Example.org',
      AccountId: account.Id,
    });
    await syncCycle();
    const hs = boxes.hubspot.list('contacts').find((c) => c.properties.email === 'newly.created@example.org');
    expect(hs?.properties).toMatchObject({ firstname: 'Newly', lastname: 'Created' });
    const company = boxes.hubspot
      .list('companies')
      .find((c) => normalizeDomain(String(c.properties.domain)) === normalizeDomain(String(account.Website)));
    expect(boxes.hubspot.associations(hs?.id ?? '')).toEqual([company?.id]);
    expect(created.Id).toMatch(/^003/);
    expect((await agreement()).agree).toBe(true);
  });

  it('continues from the stored state in a second process', async () => {
    await syncCycle(); // absorb the echoes of the last cycle's writes
    await stack.stop();
    const env = {
      ...process.env,
      ...boxes.env,
      FIELDSYNC_STATE_DIR: stateDir,
      FIELDSYNC_POLL_OVERLAP_SECONDS: '0',
    };
    const cli = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');
    const quiet = JSON.parse(
      (await run(process.execPath, [cli, 'sync', '--once', '--json'], { env })).stdout,
    );
    // Cursors and links survived: nothing new to read, nothing to create or write.
    expect(quiet.polled).toEqual({
      salesforce: { company: 0, contact: 0, deal: 0 },
      hubspot: { company: 0, contact: 0, deal: 0 },
    });
    expect(quiet.written.salesforce).toEqual({ created: 0, updated: 0, records: 0, calls: 0 });
    expect(quiet.written.hubspot).toEqual({ created: 0, updated: 0, records: 0, calls: 0 });

    const contact = boxes.salesforce.list('Contact')[5];
    if (contact === undefined) throw new Error('no contact');
    await nextSecond();
    boxes.salesforce.update('Contact', contact.Id, { Title: 'Edited between runs' });
    const next = JSON.parse((await run(process.execPath, [cli, 'sync', '--once', '--json'], { env })).stdout);
    expect(next.polled.salesforce.contact).toBe(1);
    expect(next.written.hubspot).toEqual({ created: 0, updated: 1, records: 1, calls: 1 });
    const hs = boxes.hubspot
      .list('contacts')
      .find((c) => normalizeEmail(String(c.properties.email)) === normalizeEmail(String(contact.Email)));
    expect(hs?.properties.jobtitle).toBe('Edited between runs');
  });
});
