// The config's semantics end to end: real syncs (bin/fieldsync.ts sync --once --config <file> as a
// child process) on the embedded stack against the sandboxes, one config per scenario: policies,
// directions, a custom field mapped by config alone, a per-system filter, phone normalization.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../config/index.ts';
import { normalizeEmail } from '../engine/index.ts';
import projectConfig from '../fieldsync.config.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'fieldsync.ts');

interface Scenario {
  sf: SalesforceSandbox;
  hs: HubSpotSandbox;
  stateDir: string;
  config: string;
}

let dir: string;

function writeConfig(name: string, mutate: (c: ConfigInput) => void): string {
  const config = structuredClone(projectConfig);
  // Deals have their own test (e2e-config-deals); these scenarios sync contacts and companies.
  delete config.objects.deal;
  mutate(config);
  const file = join(dir, `${name}.config.ts`);
  writeFileSync(
    file,
    `import { defineConfig } from '${join(root, 'config', 'index.ts')}';\nexport default defineConfig(${JSON.stringify(config, null, 2)});\n`,
  );
  return file;
}

function objectOf(c: ConfigInput, object: 'company' | 'contact') {
  const o = c.objects[object];
  if (o === undefined) throw new Error(`the project config has no ${object}`);
  return o;
}

interface SyncJson {
  errors: number;
  written: Record<string, { created: number; updated: number }>;
}

async function sync(s: Scenario): Promise<SyncJson> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SALESFORCE|HUBSPOT|FIELDSYNC)_/.test(k)),
  );
  const env = {
    ...base,
    SALESFORCE_INSTANCE_URL: s.sf.url,
    SALESFORCE_ACCESS_TOKEN: s.sf.token,
    HUBSPOT_BASE_URL: s.hs.url,
    HUBSPOT_ACCESS_TOKEN: s.hs.token,
    FIELDSYNC_STATE_DIR: s.stateDir,
  };
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [cli, 'sync', '--once', '--json', '--config', s.config],
    { env },
  );
  return JSON.parse(stdout);
}

/** Salesforce stamps whole seconds: wait into the next one so a later edit has a later timestamp. */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

/** Contacts present on both sides (after a sync), as [Salesforce id, HubSpot id]. */
function contactPairs(s: Scenario): [string, string][] {
  const hs = new Map(s.hs.list('contacts').map((c) => [normalizeEmail(String(c.properties.email)), c.id]));
  return s.sf.list('Contact').flatMap((c) => {
    const id = hs.get(normalizeEmail(String(c.Email)));
    return id === undefined ? [] : [[c.Id, id] as [string, string]];
  });
}

function companyPairs(s: Scenario): [string, string][] {
  return s.sf.list('Account').flatMap((a) => {
    const fsId = a.Fieldsync_Id__c;
    const hs = s.hs
      .list('companies')
      .find((c) => c.properties.name === a.Name && (fsId === null || c.properties.fieldsync_id !== fsId));
    return hs === undefined ? [] : [[a.Id, hs.id] as [string, string]];
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-e2e-config-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('policies, directions, a custom field and phone numbers, by config alone', () => {
  let s: Scenario;
  let pairs: [string, string][];
  const sfContact = (i: number) => s.sf.get('Contact', pairs[i]?.[0] ?? '');
  const hsContact = (i: number) => s.hs.get('contacts', pairs[i]?.[1] ?? '')?.properties;

  beforeAll(async () => {
    const sf = await startSalesforceSandbox({ seed: 21, people: 14 });
    const hs = await startHubSpotSandbox({ seed: 21, people: 14 });
    // The custom field exists in both systems; nothing in the code knows it.
    sf.addField('Contact', {
      name: 'Region__c',
      type: 'picklist',
      picklistValues: ['EMEA', 'Americas', 'APAC'],
    });
    hs.addProperty('contacts', { name: 'region', type: 'enumeration', options: ['emea', 'amer', 'apac'] });
    const config = writeConfig('semantics', (c) => {
      const contact = objectOf(c, 'contact');
      const company = objectOf(c, 'company');
      contact.fields.phone = {
        type: 'phone',
        salesforce: 'Phone',
        hubspot: 'phone',
        policy: 'prefer:salesforce',
      };
      contact.fields.firstName = {
        type: 'string',
        salesforce: 'FirstName',
        hubspot: 'firstname',
        policy: 'always:hubspot',
      };
      contact.fields.title = {
        type: 'string',
        salesforce: 'Title',
        hubspot: 'jobtitle',
        direction: 'to:hubspot',
      };
      contact.fields.region = {
        type: 'enum',
        salesforce: 'Region__c',
        hubspot: 'region',
        values: {
          salesforce: { europe: 'EMEA', americas: 'Americas', asia: 'APAC' },
          hubspot: { europe: 'emea', americas: 'amer', asia: 'apac' },
        },
      };
      company.fields.industry = {
        type: 'string',
        salesforce: 'Industry',
        hubspot: 'industry',
        direction: 'none',
      };
    });
    s = { sf, hs, stateDir: join(dir, 'semantics-state'), config };
    expect((await sync(s)).errors).toBe(0);
    pairs = contactPairs(s);
    expect(pairs.length).toBeGreaterThanOrEqual(8);
  });

  afterAll(async () => {
    await s?.sf.close();
    await s?.hs.close();
  });

  it("prefer:salesforce — Salesforce's value wins over a later HubSpot edit", async () => {
    await nextSecond();
    s.sf.update('Contact', pairs[0]?.[0] ?? '', { Phone: '+1 415 555 0101' });
    await nextSecond();
    s.hs.update('contacts', pairs[0]?.[1] ?? '', { phone: '+1 415 555 0102' });
    expect((await sync(s)).errors).toBe(0);
    expect(sfContact(0)?.Phone).toBe('+1 415 555 0101');
    expect(hsContact(0)?.phone).toBe('+14155550101');
  });

  it("prefer:salesforce — unless Salesforce's value is blank", async () => {
    const created = s.sf.create('Contact', { LastName: 'Phoneless', Email: 'phoneless@example.org' });
    expect((await sync(s)).errors).toBe(0);
    const hs = s.hs.list('contacts').find((c) => c.properties.email === 'phoneless@example.org');
    if (hs === undefined) throw new Error('not created in HubSpot');
    await nextSecond();
    s.hs.update('contacts', hs.id, { phone: '+1 415 555 0103' });
    expect((await sync(s)).errors).toBe(0);
    expect(s.sf.get('Contact', created.Id)?.Phone).toBe('+14155550103');
  });

  it("prefer:salesforce — a value cleared in Salesforce yields to HubSpot's", async () => {
    await nextSecond();
    s.sf.update('Contact', pairs[0]?.[0] ?? '', { Phone: null });
    await sync(s);
    await nextSecond();
    s.hs.update('contacts', pairs[0]?.[1] ?? '', { phone: '+1 415 555 0104' });
    await sync(s);
    expect(sfContact(0)?.Phone).toBe('+14155550104');
  });

  it("always:hubspot — a Salesforce edit is reverted to HubSpot's value", async () => {
    const i = pairs.findIndex((_, k) => k > 0 && (hsContact(k)?.firstname ?? null) !== null);
    expect(i).toBeGreaterThan(0);
    const hsName = hsContact(i)?.firstname;
    expect(sfContact(i)?.FirstName).toBe(hsName);
    await nextSecond();
    s.sf.update('Contact', pairs[i]?.[0] ?? '', { FirstName: 'Overwritten' });
    expect((await sync(s)).errors).toBe(0);
    expect(sfContact(i)?.FirstName).toBe(hsName);
    expect(hsContact(i)?.firstname).toBe(hsName);

    await nextSecond();
    s.hs.update('contacts', pairs[i]?.[1] ?? '', { firstname: 'FromHubSpot' });
    await sync(s);
    expect(sfContact(i)?.FirstName).toBe('FromHubSpot');
  });

  it('to:hubspot — Salesforce edits flow to HubSpot; HubSpot edits never reach Salesforce', async () => {
    await nextSecond();
    s.sf.update('Contact', pairs[2]?.[0] ?? '', { Title: 'Set in Salesforce' });
    expect((await sync(s)).errors).toBe(0);
    expect(hsContact(2)?.jobtitle).toBe('Set in Salesforce');

    await nextSecond();
    s.hs.update('contacts', pairs[3]?.[1] ?? '', { jobtitle: 'Set in HubSpot' });
    const before = sfContact(3)?.Title;
    expect((await sync(s)).errors).toBe(0);
    expect(sfContact(3)?.Title).toBe(before);
  });

  it('to:hubspot — a HubSpot edit stays in HubSpot', () => {
    expect(hsContact(3)?.jobtitle).toBe('Set in HubSpot');
  });

  it('none — the field is never written to either system', async () => {
    const [company] = companyPairs(s);
    if (company === undefined) throw new Error('no company on both sides');
    await nextSecond();
    s.sf.update('Account', company[0], { Industry: 'Banking' });
    s.hs.update('companies', company[1], { industry: 'RETAIL_NOT_SYNCED' });
    expect((await sync(s)).errors).toBe(0);
    expect(s.sf.get('Account', company[0])?.Industry).toBe('Banking');
    expect(s.hs.get('companies', company[1])?.properties.industry).toBe('RETAIL_NOT_SYNCED');
  });

  it('a custom enum field mapped by config alone flows both ways through each system’s value map', async () => {
    await nextSecond();
    s.sf.update('Contact', pairs[4]?.[0] ?? '', { Region__c: 'EMEA' });
    s.hs.update('contacts', pairs[5]?.[1] ?? '', { region: 'amer' });
    expect((await sync(s)).errors).toBe(0);
    expect(hsContact(4)?.region).toBe('emea');
    expect(sfContact(5)?.Region__c).toBe('Americas');

    await nextSecond();
    s.hs.update('contacts', pairs[4]?.[1] ?? '', { region: 'apac' });
    expect((await sync(s)).errors).toBe(0);
    expect(sfContact(4)?.Region__c).toBe('APAC');
    // A quiet cycle writes nothing: the echoes of the mapped values equal what each side holds.
    const quiet = await sync(s);
    expect(quiet.written.salesforce).toMatchObject({ created: 0, updated: 0 });
    expect(quiet.written.hubspot).toMatchObject({ created: 0, updated: 0 });
  });

  it('phone numbers typed any way reach the other system in E.164', async () => {
    const [company] = companyPairs(s);
    if (company === undefined) throw new Error('no company on both sides');
    await nextSecond();
    s.hs.update('companies', company[1], { phone: '(415) 555-0142' });
    s.sf.update('Contact', pairs[6]?.[0] ?? '', { Phone: '+44 20 7946 0958' });
    expect((await sync(s)).errors).toBe(0);
    expect(s.sf.get('Account', company[0])?.Phone).toBe('+14155550142');
    expect(hsContact(6)?.phone).toBe('+442079460958');
  });
});

describe('a per-system filter', () => {
  let s: Scenario;
  const inFilter = ['salesqualifiedlead', 'opportunity', 'customer'];

  beforeAll(async () => {
    const sf = await startSalesforceSandbox({ seed: 22, people: 16 });
    const hs = await startHubSpotSandbox({ seed: 22, people: 16, lifecycleStages: true });
    const config = writeConfig('filter', (c) => {
      objectOf(c, 'contact').filters = {
        hubspot: [{ field: 'lifecyclestage', operator: 'in', values: inFilter }],
      };
    });
    s = { sf, hs, stateDir: join(dir, 'filter-state'), config };
  });

  afterAll(async () => {
    await s?.sf.close();
    await s?.hs.close();
  });

  it('syncs only the HubSpot contacts in the filter into Salesforce', async () => {
    const sfEmails = new Set(s.sf.list('Contact').map((c) => normalizeEmail(String(c.Email))));
    const hsOnly = s.hs
      .list('contacts')
      .filter((c) => !sfEmails.has(normalizeEmail(String(c.properties.email))));
    const kept = hsOnly.filter((c) => inFilter.includes(String(c.properties.lifecyclestage)));
    const left = hsOnly.filter((c) => !inFilter.includes(String(c.properties.lifecyclestage)));
    expect(kept.length).toBeGreaterThan(0);
    expect(left.length).toBeGreaterThan(0);

    await sync(s);
    const after = new Set(s.sf.list('Contact').map((c) => normalizeEmail(String(c.Email))));
    for (const c of kept) expect(after.has(normalizeEmail(String(c.properties.email)))).toBe(true);
    for (const c of left) expect(after.has(normalizeEmail(String(c.properties.email)))).toBe(false);
    expect(after.size).toBe(sfEmails.size + kept.length);
  });
});
