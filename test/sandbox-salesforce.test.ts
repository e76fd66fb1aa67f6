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
const FIELDS = 'Id, FirstName, LastName, Email, AccountId, Fieldsync_Id__c, SystemModstamp';
const ORDER = 'ORDER BY SystemModstamp ASC, Id ASC';

const open: SalesforceSandbox[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const sandbox = await startSalesforceSandbox(options);
  open.push(sandbox);
  return sandbox;
}

function connect(sandbox: SalesforceSandbox, accessToken = sandbox.token): Connection {
  return new Connection({ instanceUrl: sandbox.url, accessToken, version: '62.0' });
}

/** A frozen, steppable clock: every write in one step shares a SystemModstamp. */
function clock(t = T0) {
  let now = t;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** Every record of a query, following nextRecordsUrl through queryMore. */
async function queryAll(
  conn: Connection,
  soql: string,
): Promise<{ records: Array<Record<string, unknown>>; pages: number }> {
  let page = await conn.query(soql);
  const records: Array<Record<string, unknown>> = [...page.records];
  let pages = 1;
  while (!page.done && page.nextRecordsUrl !== undefined) {
    page = await conn.queryMore(page.nextRecordsUrl);
    records.push(...page.records);
    pages++;
  }
  return { records, pages };
}

function idsOf(records: ReadonlyArray<Record<string, unknown>>): string[] {
  return records.map((r) => String(r.Id));
}

/** Three bursts of writes: 9 at T0, 9 at T0+1s, 9 at T0+1m; equal stamps within each burst. */
async function bursts(): Promise<{ sandbox: SalesforceSandbox; conn: Connection; expected: string[] }> {
  const c = clock();
  const sandbox = await start({ seeded: false, pageSize: 4, now: c.now });
  const expected: string[] = [];
  for (const step of [0, 1000, 59_000]) {
    c.advance(step);
    for (let i = 0; i < 9; i++)
      expected.push(sandbox.create('Contact', { LastName: `L${expected.length}` }).Id);
  }
  c.advance(120_000);
  return { sandbox, conn: connect(sandbox), expected };
}

describe('Salesforce sandbox: query', () => {
  it('pages with queryMore in exact (SystemModstamp, Id) order across equal stamps', async () => {
    const { sandbox, conn, expected } = await bursts();
    const first = await conn.query(`SELECT ${FIELDS} FROM Contact ${ORDER}`);
    expect(first.totalSize).toBe(27);
    expect(first.done).toBe(false);
    expect(first.records).toHaveLength(4);
    expect(first.nextRecordsUrl).toMatch(new RegExp(`^${sandbox.url}/services/data/v62.0/query/[\\w]+-4$`));
    const { records, pages } = await queryAll(conn, `SELECT ${FIELDS} FROM Contact ${ORDER}`);
    expect(idsOf(records)).toEqual(expected);
    expect(pages).toBe(7);
    expect(records[0]).toMatchObject({
      attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${expected[0]}` },
      LastName: 'L0',
      FirstName: null,
      SystemModstamp: '2024-06-01T12:00:00.000+0000',
    });
    expect(sandbox.stats.get('GET query')).toBe(2);
    // 27 rows in pages of 4: the first call plus six queryMore calls.
    expect(sandbox.stats.get('GET queryMore')).toBe(6);
  });

  it('returns exactly the records after a compound cursor', async () => {
    const { conn, expected } = await bursts();
    // Cursor at the 12th record: the third write of the second burst (stamp T0+1s).
    const cursorId = expected[11];
    const at = '2024-06-01T12:00:01Z';
    const soql = `SELECT Id FROM Contact WHERE SystemModstamp > ${at} OR (SystemModstamp = ${at} AND Id > '${cursorId}') ${ORDER}`;
    const { records } = await queryAll(conn, soql);
    expect(idsOf(records)).toEqual(expected.slice(12));
    // The overlap form the connector also sends, with fractional seconds and an offset literal.
    const overlap = await queryAll(
      conn,
      `SELECT Id FROM Contact WHERE SystemModstamp >= 2024-06-01T13:00:01.000+01:00 ${ORDER}`,
    );
    expect(idsOf(overlap.records)).toEqual(expected.slice(9));
  });

  it('keeps serving a locator from its snapshot while records change between pages', async () => {
    const { sandbox, conn, expected } = await bursts();
    const first = await conn.query(`SELECT Id, LastName FROM Contact ${ORDER}`);
    const later = expected[10] ?? '';
    sandbox.update('Contact', later, { LastName: 'Edited' });
    sandbox.delete('Contact', expected[20] ?? '');
    sandbox.create('Contact', { LastName: 'Newcomer' });
    const rest: Array<Record<string, unknown>> = [];
    let page = first;
    while (page.nextRecordsUrl !== undefined) {
      page = await conn.queryMore(page.nextRecordsUrl);
      rest.push(...page.records);
    }
    const all = [...first.records, ...rest];
    expect(idsOf(all)).toEqual(expected);
    expect(all.find((r) => r.Id === later)?.LastName).toBe('L10');
    // A fresh query sees the changes: the edit moved to the end, the deletion is gone.
    const fresh = await queryAll(conn, `SELECT Id, LastName FROM Contact ${ORDER}`);
    expect(fresh.records).toHaveLength(27);
    expect(fresh.records.at(-2)?.LastName).toBe('Edited');
    expect(fresh.records.at(-1)?.LastName).toBe('Newcomer');
  });

  it('rejects a locator it never issued', async () => {
    const sandbox = await start({ seeded: false });
    await expect(connect(sandbox).queryMore('01gSBnope-200')).rejects.toMatchObject({
      errorCode: 'INVALID_QUERY_LOCATOR',
    });
  });

  it('decodes + and %XX in q, and reports SOQL errors as 400s', async () => {
    const sandbox = await start({ people: 12 });
    const res = await fetch(
      `${sandbox.url}/services/data/v62.0/query?q=SELECT+Id,+Email+FROM+Contact+WHERE+Email+LIKE+%27%25example%25%27`,
      {
        headers: { Authorization: `Bearer ${sandbox.token}` },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    const body: unknown = await res.json();
    expect(body).toMatchObject({ done: true, totalSize: sandbox.list('Contact').length });
    const conn = connect(sandbox);
    await expect(conn.query('SELECT Id FROM Contact WHERE')).rejects.toMatchObject({
      errorCode: 'MALFORMED_QUERY',
      message: expect.stringContaining('ERROR at Row:1:Column:29'),
    });
    await expect(conn.query('SELECT Nope FROM Contact')).rejects.toMatchObject({
      errorCode: 'INVALID_FIELD',
    });
    await expect(conn.query('SELECT Id FROM Lead')).rejects.toMatchObject({
      errorCode: 'INVALID_TYPE',
    });
  });
});

describe('Salesforce sandbox: writes through sObject Collections', () => {
  it('creates a mix of good and bad records with per-record results in request order', async () => {
    const sandbox = await start({ seeded: false });
    const account = sandbox.create('Account', { Name: 'Acme' });
    const conn = connect(sandbox);
    sandbox.create('Contact', { LastName: 'Taken', Fieldsync_Id__c: 'fs-taken' });
    const results = await conn
      .sobject('Contact')
      .create([
        { LastName: 'Good', AccountId: account.Id, Email: 'good@example.com' },
        { FirstName: 'NoLastName' },
        { LastName: 'BadAccount', AccountId: '001SB00000000ZZZZZ' },
        { LastName: 'WrongType', AccountId: sandbox.list('Contact')[0]?.Id ?? '' },
        { LastName: 'Dup', Fieldsync_Id__c: 'FS-TAKEN' },
        { LastName: 'BadEmail', Email: 'not-an-email' },
      ]);
    expect(results.map((r) => r.success)).toEqual([true, false, false, false, false, false]);
    expect(results.slice(1).map((r) => (r.success ? undefined : r.errors[0]))).toEqual([
      {
        statusCode: 'REQUIRED_FIELD_MISSING',
        message: 'Required fields are missing: [LastName]',
        fields: ['LastName'],
      },
      expect.objectContaining({ statusCode: 'INVALID_CROSS_REFERENCE_KEY', fields: ['AccountId'] }),
      expect.objectContaining({ statusCode: 'FIELD_INTEGRITY_EXCEPTION', fields: ['AccountId'] }),
      expect.objectContaining({ statusCode: 'DUPLICATE_VALUE', fields: ['Fieldsync_Id__c'] }),
      expect.objectContaining({ statusCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'] }),
    ]);
    const good = results[0];
    expect(good?.success && sandbox.get('Contact', good.id)).toMatchObject({
      LastName: 'Good',
      AccountId: account.Id,
    });
    expect(sandbox.list('Contact')).toHaveLength(2);
    expect(sandbox.stats.get('POST composite/sobjects')).toBe(1);
  });

  it('rolls everything back under allOrNone', async () => {
    const sandbox = await start({ seeded: false });
    const results = await connect(sandbox)
      .sobject('Contact')
      .create([{ LastName: 'A' }, { FirstName: 'missing' }, { LastName: 'C' }], { allOrNone: true });
    const rolledBack = {
      success: false,
      errors: [expect.objectContaining({ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' })],
    };
    expect(results).toEqual([
      rolledBack,
      { success: false, errors: [expect.objectContaining({ statusCode: 'REQUIRED_FIELD_MISSING' })] },
      rolledBack,
    ]);
    expect(sandbox.list('Contact')).toEqual([]);
  });

  it('updates a mix of records, bumping SystemModstamp only on success', async () => {
    const c = clock();
    const sandbox = await start({ seeded: false, now: c.now });
    const a = sandbox.create('Contact', { LastName: 'A' });
    const b = sandbox.create('Contact', { LastName: 'B' });
    c.advance(61_500);
    const results = await connect(sandbox)
      .sobject('Contact')
      .update([
        { Id: a.Id, Title: 'CTO' },
        { Id: '003SB00000000ZZZZZ', LastName: 'ghost' },
        { Id: b.Id, LastName: null },
      ]);
    expect(results).toEqual([
      { id: a.Id, success: true, errors: [] },
      {
        id: '003SB00000000ZZZZZ',
        success: false,
        errors: [expect.objectContaining({ statusCode: 'INVALID_CROSS_REFERENCE_KEY' })],
      },
      {
        id: b.Id,
        success: false,
        errors: [expect.objectContaining({ statusCode: 'REQUIRED_FIELD_MISSING' })],
      },
    ]);
    expect(sandbox.get('Contact', a.Id)).toMatchObject({
      Title: 'CTO',
      SystemModstamp: '2024-06-01T12:01:01.000+0000',
      LastModifiedDate: '2024-06-01T12:01:01.000+0000',
      CreatedDate: '2024-06-01T12:00:00.000+0000',
    });
    expect(sandbox.get('Contact', b.Id)).toMatchObject({
      LastName: 'B',
      SystemModstamp: '2024-06-01T12:00:00.000+0000',
    });
  });

  it('upserts by Fieldsync_Id__c: creates once, updates the second time', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    const records = [
      { Fieldsync_Id__c: 'fs-1', LastName: 'One' },
      { Fieldsync_Id__c: 'fs-2', LastName: 'Two' },
    ];
    const first = await conn.sobject('Contact').upsert(records, 'Fieldsync_Id__c');
    expect(first.map((r) => [r.success, r.created])).toEqual([
      [true, true],
      [true, true],
    ]);
    const second = await conn.sobject('Contact').upsert(
      records.map((r) => ({ ...r, Title: 'Again' })),
      'Fieldsync_Id__c',
    );
    expect(second.map((r) => [r.success, r.created])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(second.map((r) => r.id)).toEqual(first.map((r) => r.id));
    expect(sandbox.list('Contact').map((r) => [r.Fieldsync_Id__c, r.Title])).toEqual([
      ['fs-1', 'Again'],
      ['fs-2', 'Again'],
    ]);
    expect(sandbox.stats.get('PATCH composite/sobjects/:type/:extField')).toBe(2);
  });

  it('upserts a single record by external id in the URL: 201 then 200', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    const created = await conn
      .sobject('Account')
      .upsert({ Fieldsync_Id__c: 'acc/1', Name: 'Slash Co' }, 'Fieldsync_Id__c');
    expect(created).toMatchObject({ success: true, created: true });
    const updated = await conn
      .sobject('Account')
      .upsert({ Fieldsync_Id__c: 'acc/1', Website: 'slash.example' }, 'Fieldsync_Id__c');
    expect(updated).toMatchObject({ success: true, created: false });
    expect(sandbox.list('Account')).toEqual([
      expect.objectContaining({ Name: 'Slash Co', Website: 'slash.example', Fieldsync_Id__c: 'acc/1' }),
    ]);
    await expect(conn.sobject('Account').upsert({ Name: 'x', Phone: '1' }, 'Phone')).rejects.toMatchObject({
      errorCode: 'NOT_FOUND',
    });
  });

  it('rejects more than 200 records in one collection call', async () => {
    const sandbox = await start({ seeded: false });
    const records = Array.from({ length: 201 }, (_, i) => ({ LastName: `N${i}` }));
    await expect(connect(sandbox).sobject('Contact').create(records)).rejects.toMatchObject({
      errorCode: 'EXCEEDED_ID_LIMIT',
    });
    expect(sandbox.list('Contact')).toEqual([]);
    const ok = await connect(sandbox).sobject('Contact').create(records.slice(0, 200));
    expect(ok.filter((r) => r.success)).toHaveLength(200);
  });

  it('rejects an unknown field for the whole request with INVALID_FIELD', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    await expect(conn.sobject('Contact').create({ LastName: 'x', Shoe_Size__c: '42' })).rejects.toMatchObject(
      { errorCode: 'INVALID_FIELD' },
    );
    await expect(
      conn.sobject('Contact').create([{ LastName: 'x' }, { LastName: 'y', Nope: 1 }]),
    ).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
    await expect(
      conn.sobject('Contact').create({ LastName: 'x', SystemModstamp: '2020-01-01T00:00:00Z' }),
    ).rejects.toMatchObject({ errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE' });
    expect(sandbox.list('Contact')).toEqual([]);
  });

  it('retrieves by ids with null for missing ones, and single records by id', async () => {
    const sandbox = await start({ people: 9 });
    const conn = connect(sandbox);
    const [first] = sandbox.list('Contact');
    const id = first?.Id ?? '';
    const rows = await conn.sobject('Contact').retrieve([id, '003SB00000000ZZZZZ']);
    expect(rows).toEqual([
      expect.objectContaining({ Id: id, LastName: first?.LastName, IsDeleted: false }),
      null,
    ]);
    expect(sandbox.stats.get('GET sobjects/:type/describe')).toBe(1);
    const one = await conn.sobject('Contact').retrieve(id);
    expect(one).toMatchObject({ Id: id, Email: first?.Email });
    await expect(conn.sobject('Contact').retrieve('003SB00000000ZZZZZ')).rejects.toMatchObject({
      errorCode: 'NOT_FOUND',
    });
  });
});

describe('Salesforce sandbox: deletes and replication', () => {
  it('reports deletes in deleted(), updates in updated() and deleted rows in queryAll', async () => {
    const c = clock();
    const sandbox = await start({ seeded: false, now: c.now });
    const conn = connect(sandbox);
    const ids = (
      await conn.sobject('Contact').create([{ LastName: 'A' }, { LastName: 'B' }, { LastName: 'C' }])
    ).map((r) => (r.success ? r.id : ''));
    c.advance(5 * 60_000);
    const [a, b, cId] = ids;
    const destroyed = await conn.sobject('Contact').destroy([a ?? '', 'nope00000000000']);
    expect(destroyed).toEqual([
      { id: a, success: true, errors: [] },
      expect.objectContaining({ success: false }),
    ]);
    await conn.sobject('Contact').update({ Id: b ?? '', Title: 'Changed' });
    c.advance(2 * 60_000);
    const from = new Date(T0 + 60_000);
    const end = new Date(c.now());
    const deleted = await conn.sobject('Contact').deleted(from, end);
    expect(deleted.deletedRecords).toEqual([{ id: a, deletedDate: '2024-06-01T12:05:00.000+0000' }]);
    expect(deleted.latestDateCovered).toBe('2024-06-01T12:07:00.000+0000');
    const updated = await conn.sobject('Contact').updated(from, end);
    expect(updated.ids).toEqual([b]);
    const all = await conn.query('SELECT Id, IsDeleted FROM Contact ORDER BY Id', { scanAll: true });
    expect(all.records.map((r) => [r.Id, r.IsDeleted])).toEqual([
      [a, true],
      [b, false],
      [cId, false],
    ]);
    expect((await conn.query('SELECT Id FROM Contact')).totalSize).toBe(2);
    await expect(conn.sobject('Contact').retrieve(a ?? '')).rejects.toMatchObject({
      errorCode: 'ENTITY_IS_DELETED',
    });
    await expect(conn.sobject('Contact').updated(end, from)).rejects.toMatchObject({
      errorCode: 'INVALID_REPLICATION_DATE',
    });
  });

  it('deleting an Account deletes its Contacts, as Salesforce does', async () => {
    const sandbox = await start({ seeded: false });
    const acc = sandbox.create('Account', { Name: 'Gone' });
    sandbox.create('Contact', { LastName: 'Child', AccountId: acc.Id });
    sandbox.create('Contact', { LastName: 'Orphan' });
    await connect(sandbox).sobject('Account').destroy(acc.Id);
    expect(sandbox.list('Contact').map((r) => r.LastName)).toEqual(['Orphan']);
  });
});

describe('Salesforce sandbox: auth, limits, faults', () => {
  it('answers a bad token with 401 INVALID_SESSION_ID', async () => {
    const sandbox = await start({ seeded: false });
    await expect(connect(sandbox, 'wrong').query('SELECT Id FROM Contact')).rejects.toMatchObject({
      errorCode: 'INVALID_SESSION_ID',
      message: 'Session expired or invalid',
    });
  });

  it('refreshes an expired session through the OAuth token endpoint', async () => {
    const sandbox = await start({ people: 6 });
    const conn = new Connection({
      instanceUrl: sandbox.url,
      accessToken: sandbox.token,
      refreshToken: sandbox.refreshToken,
      version: '62.0',
      oauth2: { clientId: 'cid', clientSecret: 'cs', loginUrl: sandbox.url },
    });
    const refreshed: string[] = [];
    conn.on('refresh', (token: string) => refreshed.push(token));
    sandbox.expireSessions();
    const result = await conn.query('SELECT Id FROM Contact');
    expect(result.totalSize).toBe(sandbox.list('Contact').length);
    expect(refreshed).toHaveLength(1);
    expect(sandbox.stats.get('POST oauth2/token')).toBe(1);
  });

  it('counts requests in Sforce-Limit-Info and fails past the daily limit with REQUEST_LIMIT_EXCEEDED', async () => {
    const sandbox = await start({ seeded: false, dailyLimit: 3 });
    const conn = connect(sandbox);
    await conn.query('SELECT Id FROM Contact');
    expect(conn.limitInfo).toEqual({ apiUsage: { used: 1, limit: 3 } });
    const limits = await conn.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 3, Remaining: 1 });
    await conn.describeGlobal();
    expect(conn.limitInfo?.apiUsage).toEqual({ used: 3, limit: 3 });
    await expect(conn.query('SELECT Id FROM Contact')).rejects.toMatchObject({
      errorCode: 'REQUEST_LIMIT_EXCEEDED',
      message: 'TotalRequests Limit exceeded.',
    });
    // The direct API is a user in the org, not an API client: never limited.
    expect(sandbox.create('Contact', { LastName: 'still fine' }).LastName).toBe('still fine');
  });

  it('injects seeded 503s and latency when configured', async () => {
    const sandbox = await start({ seeded: false, faults: { seed: 7, rate5xx: 1, latencyMs: 30 } });
    const t = performance.now();
    // POST is never retried by jsforce, so the fault surfaces at once.
    await expect(connect(sandbox).sobject('Contact').create({ LastName: 'x' })).rejects.toMatchObject({
      errorCode: 'SERVER_UNAVAILABLE',
    });
    expect(performance.now() - t).toBeGreaterThanOrEqual(25);
    expect(sandbox.list('Contact')).toEqual([]);
  });
});

describe('Salesforce sandbox: seed, describe, direct and admin APIs', () => {
  it('loads the same records for the same seed and clock, with emails overlapping HubSpot', async () => {
    const [one, two, other] = await Promise.all([
      start({ seed: 5, people: 30, now: () => T0 }),
      start({ seed: 5, people: 30, now: () => T0 }),
      start({ seed: 6, people: 30, now: () => T0 }),
    ]);
    expect(one?.list('Contact')).toEqual(two?.list('Contact'));
    expect(one?.list('Account')).toEqual(two?.list('Account'));
    expect(one?.list('Contact')).not.toEqual(other?.list('Contact'));
    const contacts = one?.list('Contact') ?? [];
    const accounts = one?.list('Account') ?? [];
    const dataset = seedDataset({ seed: 5, people: 30, now: T0 });
    expect(contacts).toHaveLength(dataset.salesforce.people.length);
    expect(accounts).toHaveLength(dataset.salesforce.companies.length);
    const hubspotEmails = new Set(dataset.hubspot.people.map((p) => p.record.email.trim().toLowerCase()));
    expect(
      contacts.filter((c) => typeof c.Email === 'string' && hubspotEmails.has(c.Email.toLowerCase())).length,
    ).toBeGreaterThan(0);
    // Websites come in several renderings; stamps are second-precision Salesforce format.
    expect(new Set(accounts.map((a) => String(a.Website).slice(0, 8))).size).toBeGreaterThan(1);
    for (const c of contacts) expect(c.SystemModstamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$/);
    // Every AccountId points at a seeded Account.
    const accountIds = new Set(accounts.map((a) => a.Id));
    for (const c of contacts)
      if (c.AccountId !== null) expect(accountIds.has(String(c.AccountId))).toBe(true);
  });

  it('describes objects for jsforce', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    const describe = await conn.sobject('Contact').describe();
    expect(describe.name).toBe('Contact');
    expect(describe.fields.find((f) => f.name === 'Fieldsync_Id__c')).toMatchObject({
      externalId: true,
      unique: true,
      createable: true,
    });
    expect(describe.fields.find((f) => f.name === 'LastName')).toMatchObject({
      nillable: false,
      type: 'string',
    });
    expect(describe.fields.find((f) => f.name === 'SystemModstamp')).toMatchObject({
      createable: false,
      updateable: false,
      type: 'datetime',
    });
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((s) => s.name).sort()).toEqual(['Account', 'Contact', 'Opportunity']);
  });

  it('throws SalesforceSandboxError from the direct API on invalid writes', async () => {
    const sandbox = await start({ seeded: false });
    expect(() => sandbox.create('Contact', { FirstName: 'x' })).toThrow(SalesforceSandboxError);
    expect(() => sandbox.create('Account', { Name: 'x', Bogus: 'y' })).toThrow(/INVALID_FIELD/);
    expect(() => sandbox.update('Contact', '003SB00000000ZZZZZ', { LastName: 'x' })).toThrow(
      /INVALID_CROSS_REFERENCE_KEY/,
    );
    expect(sandbox.stats.total).toBe(0);
  });

  it('serves the admin API over HTTP without auth or stats', async () => {
    const sandbox = await start({ seeded: false });
    const base = `${sandbox.url}/__sandbox/Contact`;
    const created = await fetch(base, {
      method: 'POST',
      body: JSON.stringify({ LastName: 'Admin', Email: 'a@b.c' }),
    });
    expect(created.status).toBe(201);
    const record: unknown = await created.json();
    const id = typeof record === 'object' && record !== null && 'Id' in record ? String(record.Id) : '';
    expect(id).toMatch(/^003/);
    const patched = await fetch(`${base}/${id}`, {
      method: 'PATCH',
      body: JSON.stringify({ Title: 'Boss' }),
    });
    expect(await patched.json()).toMatchObject({ Id: id, Title: 'Boss' });
    const bad = await fetch(base, { method: 'POST', body: JSON.stringify({ FirstName: 'x' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual([expect.objectContaining({ errorCode: 'REQUIRED_FIELD_MISSING' })]);
    expect(await (await fetch(base)).json()).toEqual([expect.objectContaining({ Id: id, Title: 'Boss' })]);
    expect((await fetch(`${base}/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(sandbox.list('Contact')).toEqual([]);
    expect(sandbox.stats.total).toBe(0);
  });

  it('answers unknown routes and objects with 404 NOT_FOUND', async () => {
    const sandbox = await start({ seeded: false });
    const conn = connect(sandbox);
    await expect(conn.request('/services/data/v62.0/nothing/here')).rejects.toMatchObject({
      errorCode: 'NOT_FOUND',
    });
    await expect(conn.sobject('Lead').describe()).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
  });
});
