// Contract tests: the unmodified @hubspot/api-client against the HubSpot sandbox.
import { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { failure, testClock } from '../sandboxes/hubspot/testing.ts';
import { seedDataset } from '../sandboxes/seed.ts';

// One set of client options for the whole file: the SDK keeps retry settings in a process-wide
// singleton (reference B2).
const clientFor = (sandbox: HubSpotSandbox, token = sandbox.token) =>
  new Client({ accessToken: token, basePath: sandbox.url, numberOfApiCallRetries: 1 });

const normalEmail = (email: string | null | undefined) => (email ?? '').trim().toLowerCase();

describe('HubSpot sandbox: objects', () => {
  const clock = testClock();
  let sandbox: HubSpotSandbox;
  let hubspot: Client;

  beforeAll(async () => {
    sandbox = await startHubSpotSandbox({ now: clock.now });
    hubspot = clientFor(sandbox);
  });
  afterAll(() => sandbox.close());

  it('pages through contacts with getPage and after, in id order, each contact once', async () => {
    const ids: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await hubspot.crm.contacts.basicApi.getPage(7, after, ['email', 'jobtitle']);
      expect(page.results.length).toBeLessThanOrEqual(7);
      for (const r of page.results) {
        ids.push(r.id);
        expect(Object.keys(r.properties).sort()).toEqual([
          'createdate',
          'email',
          'hs_object_id',
          'jobtitle',
          'lastmodifieddate',
        ]);
        expect(r.updatedAt).toBeInstanceOf(Date);
      }
      after = page.paging?.next?.after;
      pages++;
    } while (after !== undefined);
    const expected = sandbox.list('contacts').map((c) => c.id);
    expect(ids).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    expect(sandbox.stats.get('GET /crm/v3/objects/contacts')).toBe(pages);
    const all = await hubspot.crm.contacts.getAll();
    expect(all.map((c) => c.id)).toEqual(expected);
  });

  it('returns default properties, nulls for empty requested ones, and omits unknown ones', async () => {
    const contact = sandbox.create('contacts', { email: 'defaults@example.com', firstname: 'D' });
    const plain = await hubspot.crm.contacts.basicApi.getById(contact.id);
    expect(Object.keys(plain.properties).sort()).toEqual([
      'createdate',
      'email',
      'firstname',
      'hs_object_id',
      'lastmodifieddate',
      'lastname',
    ]);
    expect(plain.properties.lastname).toBeNull();
    const chosen = await hubspot.crm.contacts.basicApi.getById(contact.id, ['phone', 'no_such_property']);
    expect(chosen.properties).toEqual({
      createdate: '2024-06-01T00:00:00.000Z',
      hs_object_id: contact.id,
      lastmodifieddate: '2024-06-01T00:00:00.000Z',
      phone: null,
    });
  });

  it('reads a contact by email as idProperty, ignoring case and surrounding space', async () => {
    const seeded = sandbox
      .list('contacts')
      .find((c) => c.properties.email !== normalEmail(c.properties.email));
    expect(seeded).toBeDefined();
    const email = normalEmail(seeded?.properties.email);
    const found = await hubspot.crm.contacts.basicApi.getById(
      email,
      ['email', 'firstname'],
      undefined,
      ['companies'],
      false,
      'email',
    );
    expect(found.id).toBe(seeded?.id);
    expect(found.properties.email).toBe(seeded?.properties.email);
    const missing = await failure(
      hubspot.crm.contacts.basicApi.getById(
        'nobody@nowhere.test',
        undefined,
        undefined,
        undefined,
        false,
        'email',
      ),
    );
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({ status: 'error', category: 'OBJECT_NOT_FOUND' });
    expect(missing.headers['content-type']).toBe('application/json;charset=utf-8');
  });

  it('batch read answers 207 with OBJECT_NOT_FOUND for a missing id', async () => {
    const [a, b] = sandbox.list('contacts');
    const res = await hubspot.crm.contacts.batchApi.read({
      inputs: [{ id: a?.id ?? '' }, { id: '99999999' }, { id: b?.id ?? '' }],
      properties: ['email'],
      propertiesWithHistory: [],
    });
    expect(res.constructor.name).toBe('BatchResponseSimplePublicObjectWithErrors');
    expect('numErrors' in res && res.numErrors).toBe(1);
    expect('errors' in res && res.errors).toMatchObject([
      { status: 'error', category: 'OBJECT_NOT_FOUND', context: { ids: ['99999999'] } },
    ]);
    expect(res.results.map((r) => r.id).sort()).toEqual([a?.id, b?.id].sort());
    expect(res.status).toBe('COMPLETE');
    expect(res.startedAt).toBeInstanceOf(Date);

    const byEmail = await hubspot.crm.contacts.batchApi.read({
      inputs: [{ id: normalEmail(a?.properties.email) }],
      properties: ['firstname'],
      propertiesWithHistory: [],
      idProperty: 'email',
    });
    expect(byEmail.constructor.name).toBe('BatchResponseSimplePublicObject');
    expect(byEmail.results[0]?.id).toBe(a?.id);
  });

  it('batch create (201), then batch update bumps lastmodifieddate and updatedAt', async () => {
    clock.set(Date.parse('2024-06-02T10:00:00.000Z'));
    const created = await hubspot.crm.contacts.batchApi.create({
      inputs: [
        { properties: { email: 'new.one@example.com', firstname: 'New' }, associations: [] },
        { properties: { email: 'new.two@example.com', firstname: 'Two' }, associations: [] },
      ],
    });
    expect(created.results).toHaveLength(2);
    const one = created.results.find((r) => r.properties.email === 'new.one@example.com');
    expect(one?.properties.lastmodifieddate).toBe('2024-06-02T10:00:00.000Z');
    expect(one?.properties.createdate).toBe('2024-06-02T10:00:00.000Z');

    clock.advance(1_234);
    const updated = await hubspot.crm.contacts.batchApi.update({
      inputs: [{ id: one?.id ?? '', properties: { jobtitle: 'CTO', firstname: '' } }],
    });
    expect(updated.constructor.name).toBe('BatchResponseSimplePublicObject');
    expect(updated.results[0]?.properties).toMatchObject({
      jobtitle: 'CTO',
      firstname: null,
      lastmodifieddate: '2024-06-02T10:00:01.234Z',
    });
    expect(updated.results[0]?.updatedAt.toISOString()).toBe('2024-06-02T10:00:01.234Z');
    expect(sandbox.get('contacts', one?.id ?? '')?.properties.firstname).toBeNull();

    const partial = await hubspot.crm.contacts.batchApi.update({
      inputs: [
        { id: one?.id ?? '', properties: { phone: '+1 555' } },
        { id: '88888888', properties: { phone: '+1 556' } },
      ],
    });
    expect('numErrors' in partial && partial.numErrors).toBe(1);
    expect(partial.results.map((r) => r.id)).toEqual([one?.id]);
  });

  it('batch upsert by fieldsync_id creates once, then updates with _new === false', async () => {
    const input = {
      id: 'fs-000123',
      idProperty: 'fieldsync_id',
      properties: { firstname: 'Up', email: 'up@x.io' },
    };
    const first = await hubspot.crm.contacts.batchApi.upsert({ inputs: [input] });
    expect(first.results[0]?._new).toBe(true);
    expect(first.results[0]?.properties.fieldsync_id).toBe('fs-000123');
    const second = await hubspot.crm.contacts.batchApi.upsert({
      inputs: [{ ...input, properties: { firstname: 'Again' } }],
    });
    expect(second.results[0]?._new).toBe(false);
    expect(second.results[0]?.id).toBe(first.results[0]?.id);
    expect(sandbox.list('contacts').filter((c) => c.properties.fieldsync_id === 'fs-000123')).toHaveLength(1);
    expect(sandbox.get('contacts', first.results[0]?.id ?? '')?.properties.firstname).toBe('Again');
    // Read back by the unique custom property.
    const read = await hubspot.crm.contacts.basicApi.getById(
      'fs-000123',
      ['firstname'],
      undefined,
      undefined,
      false,
      'fieldsync_id',
    );
    expect(read.properties.firstname).toBe('Again');
    // A non-unique property cannot be an idProperty.
    const bad = await failure(
      hubspot.crm.companies.batchApi.upsert({
        inputs: [{ id: 'x.com', idProperty: 'domain', properties: {} }],
      }),
    );
    expect(bad.code).toBe(400);
  });

  it('upserts contacts by email, matching case-insensitively', async () => {
    const res = await hubspot.crm.contacts.batchApi.upsert({
      inputs: [
        { id: 'NEW.ONE@example.com', idProperty: 'email', properties: { lastname: 'Existing' } },
        { id: 'brand.new@example.com', idProperty: 'email', properties: { lastname: 'Fresh' } },
      ],
    });
    const byLastname = new Map(res.results.map((r) => [r.properties.lastname, r._new]));
    expect(byLastname).toEqual(
      new Map([
        ['Existing', false],
        ['Fresh', true],
      ]),
    );
  });

  it('rejects a batch of more than 100 inputs with 400 VALIDATION_ERROR', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ properties: { email: `bulk${i}@example.com` } }));
    const err = await failure(hubspot.crm.contacts.batchApi.create({ inputs }));
    expect(err.code).toBe(400);
    expect(err.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    expect(sandbox.list('contacts').some((c) => c.properties.email === 'bulk0@example.com')).toBe(false);
  });

  it('answers a duplicate email on create with 409 CONFLICT naming the existing id', async () => {
    const existing = sandbox.create('contacts', { email: 'dup@example.com' });
    const err = await failure(
      hubspot.crm.contacts.basicApi.create({ properties: { email: '  DUP@Example.com ' }, associations: [] }),
    );
    expect(err.code).toBe(409);
    expect(err.body).toMatchObject({
      status: 'error',
      category: 'CONFLICT',
      message: `Contact already exists. Existing ID: ${existing.id}`,
    });
  });

  it('batch create is all-or-nothing, unless every input has an objectWriteTraceId', async () => {
    const before = sandbox.list('contacts').length;
    const inputs = [
      { properties: { email: 'batch.ok@example.com' }, associations: [] },
      { properties: { email: 'DUP@example.com' }, associations: [] },
    ];
    const err = await failure(hubspot.crm.contacts.batchApi.create({ inputs }));
    expect(err.code).toBe(409);
    expect(sandbox.list('contacts')).toHaveLength(before);

    const traced = await hubspot.crm.contacts.batchApi.create({
      inputs: inputs.map((input, i) => ({ ...input, objectWriteTraceId: `row-${i}` })),
    });
    expect(traced.constructor.name).toBe('BatchResponseSimplePublicObjectWithErrors');
    expect('errors' in traced && traced.errors).toMatchObject([
      { category: 'CONFLICT', context: { objectWriteTraceId: ['row-1'] } },
    ]);
    expect(traced.results.map((r) => r.objectWriteTraceId)).toEqual(['row-0']);
    expect(sandbox.list('contacts')).toHaveLength(before + 1);
  });

  it('rejects unknown and read-only properties in writes with HubSpot validation bodies', async () => {
    const err = await failure(
      hubspot.crm.contacts.basicApi.create({ properties: { email: 'v@x.io', favourite_color: 'red' } }),
    );
    expect(err.code).toBe(400);
    expect(err.body).toMatchObject({
      status: 'error',
      category: 'VALIDATION_ERROR',
      errors: [{ in: 'favourite_color', code: 'PROPERTY_DOESNT_EXIST' }],
    });
    expect(JSON.stringify(err.body)).toContain('Property values were not valid');
    const company = sandbox.list('companies')[0];
    const readOnly = await failure(
      hubspot.crm.companies.basicApi.update(company?.id ?? '', { properties: { hs_lastmodifieddate: '1' } }),
    );
    expect(readOnly.code).toBe(400);
  });

  it('updates a company via PATCH, archives it via DELETE (204), and serves the generic objects routes', async () => {
    clock.set(Date.parse('2024-06-03T00:00:00.000Z'));
    const company = await hubspot.crm.companies.basicApi.create({
      properties: { name: 'Fieldsync Inc', domain: 'fieldsync.dev', industry: 'Software' },
      associations: [],
    });
    expect(company.properties.hs_lastmodifieddate).toBe('2024-06-03T00:00:00.000Z');
    clock.advance(60_000);
    const patched = await hubspot.crm.companies.basicApi.update(company.id, {
      properties: { phone: '+1 1' },
    });
    expect(patched.properties.hs_lastmodifieddate).toBe('2024-06-03T00:01:00.000Z');
    const generic = await hubspot.crm.objects.basicApi.getById('companies', company.id, ['name', 'phone']);
    expect(generic.properties).toMatchObject({ name: 'Fieldsync Inc', phone: '+1 1' });
    await hubspot.crm.companies.basicApi.archive(company.id);
    expect(sandbox.get('companies', company.id)?.archived).toBe(true);
    expect((await failure(hubspot.crm.companies.basicApi.getById(company.id))).code).toBe(404);
    const archived = await hubspot.crm.companies.basicApi.getById(
      company.id,
      undefined,
      undefined,
      undefined,
      true,
    );
    expect(archived.archived).toBe(true);
    expect(sandbox.stats.get('DELETE /crm/v3/objects/companies/{id}')).toBe(1);
    expect(sandbox.stats.get('GET /crm/v3/objects/companies/{id}')).toBe(3);
  });

  it('answers a wrong token with 401 INVALID_AUTHENTICATION', async () => {
    const err = await failure(clientFor(sandbox, 'wrong-token').crm.contacts.basicApi.getPage(1));
    expect(err.code).toBe(401);
    expect(err.body).toMatchObject({ status: 'error', category: 'INVALID_AUTHENTICATION' });
    expect(JSON.stringify(err.body)).toContain('Authentication credentials not found');
  });

  it('serves the admin API over HTTP without auth and without counting calls', async () => {
    const calls = sandbox.stats.total;
    const post = await fetch(`${sandbox.url}/__sandbox/contacts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ properties: { email: 'admin@example.com', firstname: 'Ad' } }),
    });
    expect(post.status).toBe(201);
    const created: unknown = await post.json();
    expect(created).toMatchObject({
      properties: { email: 'admin@example.com', firstname: 'Ad' },
      archived: false,
    });
    const id = sandbox.list('contacts').find((c) => c.properties.email === 'admin@example.com')?.id ?? '';
    const patch = await fetch(`${sandbox.url}/__sandbox/contacts/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ properties: { firstname: 'Admin' } }),
    });
    expect(await patch.json()).toMatchObject({ properties: { firstname: 'Admin' } });
    const company = sandbox.list('companies')[0]?.id ?? '';
    const put = await fetch(`${sandbox.url}/__sandbox/associations/${id}/${company}`, { method: 'PUT' });
    expect(put.status).toBe(200);
    expect(sandbox.associations(id)).toEqual([company]);
    const list: unknown = await (await fetch(`${sandbox.url}/__sandbox/contacts`)).json();
    expect(Array.isArray(list) && list.length).toBe(sandbox.list('contacts').length);
    const del = await fetch(`${sandbox.url}/__sandbox/contacts/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(sandbox.get('contacts', id)?.archived).toBe(true);
    const duplicate = await fetch(`${sandbox.url}/__sandbox/contacts`, {
      method: 'POST',
      body: JSON.stringify({ properties: { email: 'DUP@example.com' } }),
    });
    expect(duplicate.status).toBe(409);
    expect(sandbox.stats.total).toBe(calls);
  });
});

describe('HubSpot sandbox: v4 associations', () => {
  const clock = testClock();
  let sandbox: HubSpotSandbox;
  let hubspot: Client;

  beforeAll(async () => {
    sandbox = await startHubSpotSandbox({ now: clock.now });
    hubspot = clientFor(sandbox);
  });
  afterAll(() => sandbox.close());

  it('reads seeded contact→company links in both directions with HubSpot type ids', async () => {
    const linked = sandbox.list('contacts').find((c) => sandbox.associations(c.id).length > 0);
    const companyId = linked === undefined ? '' : (sandbox.associations(linked.id)[0] ?? '');
    const res = await hubspot.crm.associations.v4.batchApi.getPage('contacts', 'companies', {
      inputs: [{ id: linked?.id ?? '' }],
    });
    expect(res.results).toHaveLength(1);
    expect(res.results[0]?._from.id).toBe(linked?.id);
    // HubSpot prints v4 object ids as JSON numbers (the SDK types them string).
    expect(String(res.results[0]?.to[0]?.toObjectId)).toBe(companyId);
    expect(res.results[0]?.to[0]?.associationTypes).toEqual([
      { category: 'HUBSPOT_DEFINED', typeId: 1, label: 'Primary' },
      { category: 'HUBSPOT_DEFINED', typeId: 279, label: null },
    ]);
    const back = await hubspot.crm.associations.v4.basicApi.getPage('companies', companyId, 'contacts');
    const entry = back.results.find((r) => String(r.toObjectId) === linked?.id);
    expect(entry?.associationTypes.map((t) => t.typeId)).toEqual([2, 280]);
  });

  it('creates, reads and archives associations in batch without bumping lastmodifieddate', async () => {
    const contact = sandbox.create('contacts', { email: 'assoc@example.com' });
    const [c1, c2] = sandbox.list('companies');
    clock.advance(5_000);
    const created = await hubspot.crm.associations.v4.batchApi.create('contacts', 'companies', {
      inputs: [
        {
          _from: { id: contact.id },
          to: { id: c1?.id ?? '' },
          types: [
            {
              associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined,
              associationTypeId: 279,
            },
          ],
        },
      ],
    });
    expect(created.results).toMatchObject([{ fromObjectTypeId: '0-1', toObjectTypeId: '0-2', labels: [] }]);
    await hubspot.crm.associations.v4.batchApi.createDefault('contacts', 'companies', {
      inputs: [{ _from: { id: contact.id }, to: { id: c2?.id ?? '' } }],
    });
    expect(sandbox.associations(contact.id).sort()).toEqual([c1?.id, c2?.id].sort());
    expect(sandbox.get('contacts', contact.id)?.properties.lastmodifieddate).toBe(
      contact.properties.lastmodifieddate,
    );

    const unknown = await hubspot.crm.associations.v4.batchApi.getPage('contacts', 'companies', {
      inputs: [{ id: contact.id }, { id: '77777777' }],
    });
    expect(unknown.constructor.name).toBe('BatchResponsePublicAssociationMultiWithLabelWithErrors');
    expect('numErrors' in unknown && unknown.numErrors).toBe(1);
    expect(unknown.results[0]?.to.map((t) => String(t.toObjectId)).sort()).toEqual([c1?.id, c2?.id].sort());

    await hubspot.crm.associations.v4.batchApi.archive('contacts', 'companies', {
      inputs: [{ _from: { id: contact.id }, to: [{ id: c1?.id ?? '' }] }],
    });
    expect(sandbox.associations(contact.id)).toEqual([c2?.id]);
    await hubspot.crm.associations.v4.basicApi.archive('contacts', contact.id, 'companies', c2?.id ?? '');
    expect(sandbox.associations(contact.id)).toEqual([]);
    const single = await hubspot.crm.associations.v4.basicApi.createDefault(
      'contact',
      contact.id,
      'company',
      c1?.id ?? '',
    );
    expect(single.results).toHaveLength(2);
    expect(sandbox.associations(contact.id)).toEqual([c1?.id]);
    expect(sandbox.get('contacts', contact.id)?.updatedAt).toBe(contact.updatedAt);
    // One batch read here, one in the previous test.
    expect(sandbox.stats.get('POST /crm/v4/associations/contacts/companies/batch/read')).toBe(2);
  });

  it('creates a contact with a primary company association inline and shows it on v3 reads', async () => {
    const company = sandbox.list('companies')[2];
    const created = await hubspot.crm.contacts.basicApi.create({
      properties: { email: 'inline@example.com' },
      associations: [
        {
          to: { id: company?.id ?? '' },
          types: [
            {
              associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined,
              associationTypeId: 1,
            },
          ],
        },
      ],
    });
    const read = await hubspot.crm.contacts.basicApi.getById(created.id, ['email'], undefined, ['companies']);
    expect(read.associations?.companies?.results).toEqual([
      { id: company?.id, type: 'contact_to_company' },
      { id: company?.id, type: 'contact_to_company_unlabeled' },
    ]);
  });
});

describe('HubSpot sandbox: limits and faults', () => {
  it('answers past the ten-secondly limit with 429, headers and Retry-After, and recovers', async () => {
    const clock = testClock();
    const sandbox = await startHubSpotSandbox({ now: clock.now, tenSecondlyLimit: 3, dailyLimit: 100 });
    try {
      const hubspot = clientFor(sandbox);
      const raw = await fetch(`${sandbox.url}/crm/v3/objects/contacts?limit=1`, {
        headers: { Authorization: `Bearer ${sandbox.token}` },
      });
      expect(raw.headers.get('x-hubspot-ratelimit-max')).toBe('3');
      expect(raw.headers.get('x-hubspot-ratelimit-remaining')).toBe('2');
      expect(raw.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
      expect(raw.headers.get('x-hubspot-ratelimit-daily')).toBe('100');
      expect(raw.headers.get('x-hubspot-ratelimit-daily-remaining')).toBe('99');
      clock.advance(4_000);
      await hubspot.crm.contacts.basicApi.getPage(1);
      await hubspot.crm.companies.basicApi.getPage(1);
      const err = await failure(hubspot.crm.contacts.basicApi.getPage(1));
      expect(err.code).toBe(429);
      expect(err.body).toMatchObject({
        status: 'error',
        message: 'You have reached your ten_secondly_rolling limit.',
        errorType: 'RATE_LIMIT',
        policyName: 'TEN_SECONDLY_ROLLING',
      });
      expect(err.headers['x-hubspot-ratelimit-remaining']).toBe('0');
      expect(err.headers['retry-after']).toBe('6');
      clock.advance(6_000); // the first call leaves the rolling window
      const page = await hubspot.crm.contacts.basicApi.getPage(1);
      expect(page.results).toHaveLength(1);
      expect(sandbox.stats.get('GET /crm/v3/objects/contacts')).toBe(4);
    } finally {
      await sandbox.close();
    }
  });

  it('injects seeded 5xx faults', async () => {
    const sandbox = await startHubSpotSandbox({ seeded: false, faults: { seed: 7, rate5xx: 1 } });
    try {
      const err = await failure(clientFor(sandbox).crm.contacts.basicApi.getPage(1));
      expect(err.code).toBe(500);
    } finally {
      await sandbox.close();
    }
  });

  it('injects 429s with the policy the SDK retries on, per route kind', async () => {
    const sandbox = await startHubSpotSandbox({ seeded: false, faults: { rate429: 1 } });
    try {
      const hubspot = clientFor(sandbox);
      const plain = await failure(hubspot.crm.contacts.basicApi.getPage(1));
      expect(plain.code).toBe(429);
      expect(plain.body).toMatchObject({ policyName: 'TEN_SECONDLY_ROLLING' });
      const search = await failure(hubspot.crm.contacts.searchApi.doSearch({ limit: 1 }));
      expect(search.body).toMatchObject({ message: 'You have reached your secondly limit.' });
    } finally {
      await sandbox.close();
    }
  });

  it('stops at the daily limit with the DAILY policy', async () => {
    const sandbox = await startHubSpotSandbox({ seeded: false, dailyLimit: 2 });
    try {
      const hubspot = clientFor(sandbox);
      await hubspot.crm.contacts.basicApi.getPage(1);
      await hubspot.crm.contacts.searchApi.doSearch({ limit: 1 });
      const err = await failure(hubspot.crm.companies.basicApi.getPage(1));
      expect(err.code).toBe(429);
      expect(err.body).toMatchObject({ message: 'You have reached your daily limit.', policyName: 'DAILY' });
      expect(err.headers['x-hubspot-ratelimit-daily-remaining']).toBe('0');
    } finally {
      await sandbox.close();
    }
  });
});

describe('HubSpot sandbox: seed', () => {
  it('is deterministic and overlaps the Salesforce side by normalized email', async () => {
    const now = testClock().now;
    const a = await startHubSpotSandbox({ now, seed: 7, people: 40 });
    const b = await startHubSpotSandbox({ now, seed: 7, people: 40 });
    try {
      expect(a.list('contacts')).toEqual(b.list('contacts'));
      expect(a.list('companies')).toEqual(b.list('companies'));
      expect(a.list('contacts').map((c) => a.associations(c.id))).toEqual(
        b.list('contacts').map((c) => b.associations(c.id)),
      );
      const dataset = seedDataset({ seed: 7, people: 40, now: now() });
      expect(a.list('contacts')).toHaveLength(dataset.hubspot.people.length);
      expect(a.list('companies')).toHaveLength(dataset.hubspot.companies.length);
      const salesforce = new Set(dataset.salesforce.people.map((p) => normalEmail(p.record.email)));
      const hubspotEmails = a.list('contacts').map((c) => c.properties.email ?? '');
      const shared = hubspotEmails.filter((e) => salesforce.has(normalEmail(e)));
      expect(shared.length).toBeGreaterThan(0);
      expect(shared.length).toBeLessThan(hubspotEmails.length);
      // Some shared emails differ in case or whitespace, stored as given.
      expect(shared.some((e) => e !== normalEmail(e))).toBe(true);
      const seededPerson = dataset.hubspot.people[0];
      const first = a.list('contacts')[0];
      expect(first?.properties).toMatchObject({
        email: seededPerson?.record.email,
        firstname: seededPerson?.record.firstName,
        lastname: seededPerson?.record.lastName,
        lastmodifieddate: new Date(seededPerson?.modifiedAt ?? 0).toISOString(),
      });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
