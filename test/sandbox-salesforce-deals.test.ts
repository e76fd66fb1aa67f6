// Contract tests: Opportunities, custom fields, merges and deleted rows in the Salesforce sandbox,
// through the unmodified jsforce client.
import { Connection } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type SalesforceSandbox,
  SalesforceSandboxError,
  type SalesforceSandboxOptions,
  startSalesforceSandbox,
} from '../sandboxes/salesforce/index.ts';
import { seedDataset } from '../sandboxes/seed.ts';

const T0 = Date.parse('2024-06-01T12:00:00Z');

const open: SalesforceSandbox[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const sandbox = await startSalesforceSandbox(options);
  open.push(sandbox);
  return sandbox;
}

function connect(sandbox: SalesforceSandbox): Connection {
  return new Connection({ instanceUrl: sandbox.url, accessToken: sandbox.token, version: '62.0' });
}

function clock(t = T0) {
  let now = t;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('Salesforce sandbox: Opportunity', () => {
  it('creates and upserts opportunities with a numeric Amount and a date CloseDate', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    const account = sandbox.create('Account', { Name: 'Acme' });
    const contact = sandbox.create('Contact', { LastName: 'Lovelace', AccountId: account.Id });
    const created = await conn.sobject('Opportunity').create({
      Name: 'Acme Renewal',
      StageName: 'Prospecting',
      Amount: 12500.5,
      CloseDate: '2024-09-30',
      AccountId: account.Id,
      ContactId: contact.Id,
    });
    expect(created).toMatchObject({ success: true });
    expect(created.id).toMatch(/^006/);
    const row = await conn.sobject('Opportunity').retrieve(created.id ?? '');
    expect(row).toMatchObject({ Amount: 12500.5, CloseDate: '2024-09-30', StageName: 'Prospecting' });
    expect(typeof row.Amount).toBe('number');

    // A numeric string is accepted for a currency field; by external id through the collections API.
    const upserted = await conn.sobject('Opportunity').upsert(
      [
        {
          Fieldsync_Id__c: 'fs-1',
          Name: 'Acme Pilot',
          StageName: 'Qualification',
          CloseDate: '2024-10-01',
          Amount: '900',
        },
        {
          Fieldsync_Id__c: 'fs-2',
          Name: 'Acme Big',
          StageName: 'Closed Won',
          CloseDate: '2024-07-01',
          Amount: 250000,
        },
      ],
      'Fieldsync_Id__c',
    );
    expect(upserted.map((r) => r.success)).toEqual([true, true]);
    const again = await conn
      .sobject('Opportunity')
      .upsert({ Fieldsync_Id__c: 'fs-1', StageName: 'Needs Analysis' }, 'Fieldsync_Id__c');
    expect(again).toMatchObject({ success: true });

    const big = await conn.query<{ Name: string; Amount: number }>(
      'SELECT Name, Amount FROM Opportunity WHERE Amount > 1000 AND CloseDate >= 2024-08-01 ORDER BY Amount DESC',
    );
    expect(big.records.map((r) => r.Name)).toEqual(['Acme Renewal']);
    const byStage = await conn.query<{ Name: string }>(
      "SELECT Name FROM Opportunity WHERE StageName = 'needs analysis' OR Amount = 250000 ORDER BY Name",
    );
    expect(byStage.records.map((r) => r.Name)).toEqual(['Acme Big', 'Acme Pilot']);
    await expect(conn.query("SELECT Id FROM Opportunity WHERE Amount > '1000'")).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
    });
    await expect(
      conn.query("SELECT Id FROM Opportunity WHERE CloseDate > '2024-01-01'"),
    ).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
    });
  });

  it('validates required fields, types and lookups; ContactId is create-only', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    const [missing] = await conn.sobject('Opportunity').create([{ Name: 'No stage' }], { allOrNone: false });
    expect(missing).toMatchObject({
      success: false,
      errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', fields: ['StageName', 'CloseDate'] }],
    });
    await expect(
      conn.sobject('Opportunity').create({ Name: 'X', StageName: 'Prospecting', CloseDate: '2024-02-30' }),
    ).rejects.toMatchObject({ errorCode: 'JSON_PARSER_ERROR' });
    await expect(
      conn
        .sobject('Opportunity')
        .create({ Name: 'X', StageName: 'Prospecting', CloseDate: '2024-02-01', Amount: 'lots' }),
    ).rejects.toMatchObject({ errorCode: 'JSON_PARSER_ERROR' });
    const contact = sandbox.create('Contact', { LastName: 'Hopper' });
    await expect(
      conn
        .sobject('Opportunity')
        .create({ Name: 'X', StageName: 'Prospecting', CloseDate: '2024-02-01', AccountId: contact.Id }),
    ).rejects.toMatchObject({ errorCode: 'FIELD_INTEGRITY_EXCEPTION' });
    // StageName is an unrestricted standard picklist: other values are stored as given.
    const custom = sandbox.create('Opportunity', { Name: 'Y', StageName: 'Verbal', CloseDate: '2024-02-01' });
    expect(custom.StageName).toBe('Verbal');
    const [update] = await conn
      .sobject('Opportunity')
      .update([{ Id: custom.Id, ContactId: contact.Id }], { allOrNone: false });
    expect(update).toMatchObject({
      success: false,
      errors: [{ statusCode: 'INVALID_FIELD_FOR_INSERT_UPDATE' }],
    });
  });

  it('describes Opportunity field types for config checks', async () => {
    const sandbox = await start({ seeded: false });
    const describe = await connect(sandbox).sobject('Opportunity').describe();
    expect(describe.keyPrefix).toBe('006');
    const field = (name: string) => describe.fields.find((f) => f.name === name);
    expect(field('Amount')).toMatchObject({ type: 'currency', soapType: 'xsd:double', nillable: true });
    expect(field('CloseDate')).toMatchObject({ type: 'date', soapType: 'xsd:date', nillable: false });
    expect(field('AccountId')).toMatchObject({ type: 'reference', referenceTo: ['Account'] });
    expect(field('ContactId')).toMatchObject({
      type: 'reference',
      referenceTo: ['Contact'],
      updateable: false,
    });
    expect(field('StageName')).toMatchObject({
      type: 'picklist',
      nillable: false,
      restrictedPicklist: false,
    });
    expect(field('StageName')?.picklistValues?.map((p) => p.value)).toEqual(
      expect.arrayContaining([
        'Prospecting',
        'Needs Analysis',
        'Proposal/Price Quote',
        'Closed Won',
        'Closed Lost',
      ]),
    );
    const contact = await connect(sandbox).sobject('Contact').describe();
    expect(contact.fields.find((f) => f.name === 'MasterRecordId')).toMatchObject({
      type: 'reference',
      referenceTo: ['Contact'],
      createable: false,
      relationshipName: 'MasterRecord',
    });
  });

  it('seeds opportunities only when asked, deterministically, overlapping HubSpot deals by name', async () => {
    const plain = await start({ now: () => T0 });
    expect(plain.list('Opportunity')).toEqual([]);
    const a = await start({ deals: 30, now: () => T0 });
    const b = await start({ deals: 30, now: () => T0 });
    expect(a.list('Opportunity')).toEqual(b.list('Opportunity'));
    expect(a.list('Contact')).toEqual(plain.list('Contact'));
    const opps = a.list('Opportunity');
    expect(opps.length).toBeGreaterThan(5);
    const accounts = new Set(a.list('Account').map((r) => r.Id));
    for (const o of opps) {
      expect(accounts.has(String(o.AccountId))).toBe(true);
      expect(typeof o.Amount).toBe('number');
    }
    expect(opps.some((o) => o.ContactId !== null)).toBe(true);
    const dataset = seedDataset({ now: T0, deals: 30 });
    const hubspotNames = new Set((dataset.hubspot.deals ?? []).map((d) => d.record.name));
    const shared = opps.filter((o) => hubspotNames.has(String(o.Name)));
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.length).toBeLessThan(opps.length);
  });
});

describe('Salesforce sandbox: custom fields', () => {
  it('adds fields by option and at runtime; reads, writes, SOQL and describe accept them', async () => {
    const sandbox = await start({
      seeded: false,
      customFields: {
        Contact: [
          { name: 'Region__c', type: 'picklist', picklistValues: ['EMEA', 'AMER'], restricted: true },
        ],
      },
    });
    const conn = connect(sandbox);
    sandbox.addField('Contact', { name: 'Score__c', type: 'double' });
    sandbox.addField('Account', { name: 'Tier__c', type: 'picklist', picklistValues: ['Gold', 'Silver'] });
    const ok = await conn.sobject('Contact').create({ LastName: 'Liskov', Region__c: 'EMEA', Score__c: 7.5 });
    expect(ok.success).toBe(true);
    const [bad] = await conn
      .sobject('Contact')
      .create([{ LastName: 'Ritchie', Region__c: 'APAC' }], { allOrNone: false });
    expect(bad).toMatchObject({
      success: false,
      errors: [{ statusCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: ['Region__c'] }],
    });
    // Unrestricted picklists keep unknown values.
    expect(sandbox.create('Account', { Name: 'A', Tier__c: 'Bronze' }).Tier__c).toBe('Bronze');
    const q = await conn.query<{ LastName: string; Score__c: number }>(
      "SELECT LastName, Score__c FROM Contact WHERE Region__c = 'emea' AND Score__c >= 7",
    );
    expect(q.records).toMatchObject([{ LastName: 'Liskov', Score__c: 7.5 }]);
    const describe = await conn.sobject('Contact').describe();
    expect(describe.fields.find((f) => f.name === 'Region__c')).toMatchObject({
      custom: true,
      type: 'picklist',
      restrictedPicklist: true,
      picklistValues: [{ value: 'EMEA' }, { value: 'AMER' }],
    });
    expect(() => sandbox.addField('Contact', { name: 'Region__c', type: 'string' })).toThrow(
      SalesforceSandboxError,
    );
    expect(() => sandbox.addField('Contact', { name: 'Region', type: 'string' })).toThrow(/__c/);
  });
});

describe('Salesforce sandbox: merge and deleted rows', () => {
  it('merges contacts: losers deleted with MasterRecordId, children re-parented, master stamped', async () => {
    const c = clock();
    const sandbox = await start({ seeded: false, now: c.now });
    const conn = connect(sandbox);
    const account = sandbox.create('Account', { Name: 'Acme' });
    const master = sandbox.create('Contact', { LastName: 'Turing', AccountId: account.Id });
    const loser = sandbox.create('Contact', { LastName: 'Turing', Email: 'alan@example.com' });
    const opp = sandbox.create('Opportunity', {
      Name: 'Deal',
      StageName: 'Prospecting',
      CloseDate: '2024-07-01',
      ContactId: loser.Id,
    });
    c.advance(120_000);
    const merged = sandbox.merge('Contact', master.Id, [loser.Id], { Email: 'alan@example.com' });
    expect(merged).toMatchObject({ Id: master.Id, Email: 'alan@example.com', MasterRecordId: null });
    expect(merged.SystemModstamp).toBe('2024-06-01T12:02:00.000+0000');
    expect(sandbox.get('Opportunity', opp.Id)?.ContactId).toBe(master.Id);
    expect(sandbox.get('Contact', loser.Id)).toBeUndefined();

    const live = await conn.query('SELECT Id, MasterRecordId FROM Contact');
    expect(live.records).toEqual([expect.objectContaining({ Id: master.Id, MasterRecordId: null })]);
    const deleted = await conn.query(
      'SELECT Id, MasterRecordId, IsDeleted FROM Contact WHERE IsDeleted = true AND SystemModstamp > 2024-06-01T12:01:00Z',
      { scanAll: true },
    );
    expect(deleted.records).toEqual([
      expect.objectContaining({ Id: loser.Id, MasterRecordId: master.Id, IsDeleted: true }),
    ]);
    c.advance(120_000);
    const bin = await conn.sobject('Contact').deleted(new Date(T0), new Date(c.now()));
    expect(bin.deletedRecords.map((d) => d.id)).toEqual([loser.Id]);
  });

  it('merges accounts, moving contacts and opportunities; rejects bad merges', async () => {
    const sandbox = await start({ seeded: false });
    const master = sandbox.create('Account', { Name: 'Acme' });
    const l1 = sandbox.create('Account', { Name: 'ACME Inc' });
    const l2 = sandbox.create('Account', { Name: 'Acme Corp' });
    const contact = sandbox.create('Contact', { LastName: 'Hamilton', AccountId: l1.Id });
    const opp = sandbox.create('Opportunity', {
      Name: 'D',
      StageName: 'Closed Won',
      CloseDate: '2024-01-01',
      AccountId: l2.Id,
    });
    sandbox.merge('Account', master.Id, [l1.Id, l2.Id]);
    expect(sandbox.get('Contact', contact.Id)?.AccountId).toBe(master.Id);
    expect(sandbox.get('Opportunity', opp.Id)?.AccountId).toBe(master.Id);
    expect(sandbox.list('Account').map((a) => a.Id)).toEqual([master.Id]);
    const conn = connect(sandbox);
    const gone = await conn.query(
      `SELECT Id, MasterRecordId FROM Account WHERE MasterRecordId = '${master.Id}'`,
      {
        scanAll: true,
      },
    );
    expect(gone.records.map((r) => r.Id)).toEqual([l1.Id, l2.Id]);
    expect(() => sandbox.merge('Account', master.Id, [master.Id])).toThrow(SalesforceSandboxError);
    expect(() => sandbox.merge('Account', master.Id, [l1.Id])).toThrow(/ENTITY_IS_DELETED/);
    // Deleting an Account takes its Opportunities to the recycle bin too.
    sandbox.delete('Account', master.Id);
    expect(sandbox.get('Opportunity', opp.Id)).toBeUndefined();
  });
});
