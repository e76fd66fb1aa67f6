// Contract tests: deals, the Properties API, custom properties, merges and archived reads in the
// HubSpot sandbox, through the unmodified @hubspot/api-client.
import { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import {
  PropertyCreateFieldTypeEnum,
  PropertyCreateTypeEnum,
} from '@hubspot/api-client/lib/codegen/crm/properties/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type HubSpotSandbox,
  type HubSpotSandboxOptions,
  startHubSpotSandbox,
} from '../sandboxes/hubspot/index.ts';
import { failure, testClock } from '../sandboxes/hubspot/testing.ts';
import { seedDataset } from '../sandboxes/seed.ts';

const HUBSPOT_DEFINED = AssociationSpecAssociationCategoryEnum.HubspotDefined;

const open: HubSpotSandbox[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(
  options: HubSpotSandboxOptions = {},
): Promise<{ sandbox: HubSpotSandbox; hubspot: Client }> {
  const sandbox = await startHubSpotSandbox(options);
  open.push(sandbox);
  return {
    sandbox,
    hubspot: new Client({ accessToken: sandbox.token, basePath: sandbox.url, numberOfApiCallRetries: 1 }),
  };
}

describe('HubSpot sandbox: deals', () => {
  it('creates, reads, validates and searches deals', async () => {
    const clock = testClock();
    const { sandbox, hubspot } = await start({ seeded: false, now: clock.now });
    const deal = await hubspot.crm.deals.basicApi.create({
      properties: {
        dealname: 'Acme Renewal',
        dealstage: 'qualifiedtobuy',
        amount: '1500.50',
        closedate: '2024-09-30',
      },
      associations: [],
    });
    expect(deal.properties).toMatchObject({
      dealname: 'Acme Renewal',
      dealstage: 'qualifiedtobuy',
      amount: '1500.5',
      closedate: '2024-09-30T00:00:00.000Z',
      hs_lastmodifieddate: '2024-06-01T00:00:00.000Z',
    });
    const read = await hubspot.crm.deals.basicApi.getById(deal.id);
    expect(read.properties.pipeline).toBe('default');
    expect(Object.keys(read.properties).sort()).toEqual([
      'amount',
      'closedate',
      'createdate',
      'dealname',
      'dealstage',
      'hs_lastmodifieddate',
      'hs_object_id',
      'pipeline',
    ]);
    // The generic objects API knows deals as `deals`, `deal` and `0-3`.
    const generic = await hubspot.crm.objects.basicApi.getById('0-3', deal.id, ['dealname']);
    expect(generic.properties.dealname).toBe('Acme Renewal');

    const bad = await failure(
      hubspot.crm.deals.basicApi.update(deal.id, { properties: { dealstage: 'won-ish', amount: 'lots' } }),
    );
    expect(bad.code).toBe(400);
    expect(bad.body).toMatchObject({
      category: 'VALIDATION_ERROR',
      errors: [
        { code: 'INVALID_OPTION', in: 'dealstage' },
        { code: 'INVALID_FLOAT', in: 'amount' },
      ],
    });

    sandbox.create('deals', { dealname: 'Small', amount: '100', dealstage: 'closedlost' });
    const found = await hubspot.crm.deals.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'amount', operator: FilterOperatorEnum.Gt, value: '1000' }] },
      ],
      sorts: ['-amount'],
      properties: ['dealname', 'amount'],
      limit: 10,
      after: '0',
    });
    expect(found.results.map((r) => r.properties.dealname)).toEqual(['Acme Renewal']);
  });

  it('associates deals with companies (341/342, primary 5) and contacts (3/4) through v4 and inline', async () => {
    const { sandbox, hubspot } = await start({ seeded: false });
    const company = sandbox.create('companies', { name: 'Acme', domain: 'acme.com' });
    const contact = sandbox.create('contacts', { email: 'ada@acme.com' });
    const deal = await hubspot.crm.deals.basicApi.create({
      properties: { dealname: 'Inline', dealstage: 'appointmentscheduled' },
      associations: [
        { to: { id: company.id }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 5 }] },
        { to: { id: contact.id }, types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 3 }] },
      ],
    });
    const toCompanies = await hubspot.crm.associations.v4.basicApi.getPage('deals', deal.id, 'companies');
    expect(toCompanies.results).toMatchObject([
      {
        toObjectId: Number(company.id),
        associationTypes: [
          { category: 'HUBSPOT_DEFINED', typeId: 5, label: 'Primary' },
          { category: 'HUBSPOT_DEFINED', typeId: 341 },
        ],
      },
    ]);
    const fromCompany = await hubspot.crm.associations.v4.basicApi.getPage('companies', company.id, 'deals');
    expect(fromCompany.results).toMatchObject([
      { toObjectId: Number(deal.id), associationTypes: [{ typeId: 6 }, { typeId: 342 }] },
    ]);
    const fromContact = await hubspot.crm.associations.v4.batchApi.getPage('contacts', 'deals', {
      inputs: [{ id: contact.id }],
    });
    expect(fromContact.results).toMatchObject([
      { _from: { id: contact.id }, to: [{ toObjectId: Number(deal.id), associationTypes: [{ typeId: 4 }] }] },
    ]);

    const other = sandbox.create('deals', { dealname: 'Later' });
    await hubspot.crm.associations.v4.basicApi.create('deals', other.id, 'companies', company.id, [
      { associationCategory: HUBSPOT_DEFINED, associationTypeId: 341 },
    ]);
    await hubspot.crm.associations.v4.batchApi.create('contacts', 'deals', {
      inputs: [
        {
          _from: { id: contact.id },
          to: { id: other.id },
          types: [{ associationCategory: HUBSPOT_DEFINED, associationTypeId: 4 }],
        },
      ],
    });
    expect(sandbox.associationsOf('companies', company.id, 'deals')).toEqual([deal.id, other.id]);
    expect(sandbox.associationsOf('deals', other.id, 'contacts')).toEqual([contact.id]);
    const v3 = await hubspot.crm.deals.basicApi.getById(deal.id, undefined, undefined, [
      'companies',
      'contacts',
    ]);
    expect(v3.associations?.companies?.results).toEqual([
      { id: company.id, type: 'deal_to_company' },
      { id: company.id, type: 'deal_to_company_unlabeled' },
    ]);
    expect(v3.associations?.contacts?.results).toEqual([{ id: contact.id, type: 'deal_to_contact' }]);
    // The deal→contact pair has no primary label; the contact↔company pair still works as before.
    const wrong = await failure(
      hubspot.crm.associations.v4.basicApi.create('deals', other.id, 'contacts', contact.id, [
        { associationCategory: HUBSPOT_DEFINED, associationTypeId: 1 },
      ]),
    );
    expect(wrong.code).toBe(400);
    sandbox.associate(contact.id, company.id);
    expect(sandbox.associations(contact.id)).toEqual([company.id]);
    sandbox.dissociateObjects('deals', other.id, 'contacts', contact.id);
    expect(sandbox.associationsOf('contacts', contact.id, 'deals')).toEqual([deal.id]);
  });

  it('seeds deals only when asked, with their company and contact associations', async () => {
    const now = () => Date.parse('2024-06-01T00:00:00.000Z');
    const { sandbox: plain } = await start({ now });
    expect(plain.list('deals')).toEqual([]);
    const { sandbox } = await start({ now, deals: 30 });
    expect(sandbox.list('contacts')).toEqual(plain.list('contacts'));
    const deals = sandbox.list('deals');
    const expected = seedDataset({ now: now(), deals: 30 }).hubspot.deals ?? [];
    expect(deals.map((d) => d.properties.dealname)).toEqual(expected.map((d) => d.record.name));
    for (const d of deals) {
      expect(sandbox.associationsOf('deals', d.id, 'companies')).toHaveLength(1);
      expect(d.properties.pipeline).toBe('default');
    }
    expect(deals.some((d) => sandbox.associationsOf('deals', d.id, 'contacts').length === 1)).toBe(true);
  });
});

describe('HubSpot sandbox: properties', () => {
  it('describes contacts, companies and deals through the Properties API', async () => {
    const { hubspot } = await start({ seeded: false });
    const contacts = await hubspot.crm.properties.coreApi.getAll('contacts');
    const byName = new Map(contacts.results.map((p) => [p.name, p]));
    expect(byName.get('email')).toMatchObject({ type: 'string', fieldType: 'text', hasUniqueValue: true });
    expect(byName.get('lastmodifieddate')).toMatchObject({
      type: 'datetime',
      modificationMetadata: { readOnlyValue: true },
    });
    expect(byName.get('lifecyclestage')).toMatchObject({ type: 'enumeration', fieldType: 'radio' });
    expect(byName.get('lifecyclestage')?.options.map((o) => o.value)).toEqual([
      'subscriber',
      'lead',
      'marketingqualifiedlead',
      'salesqualifiedlead',
      'opportunity',
      'customer',
      'evangelist',
      'other',
    ]);
    const stage = await hubspot.crm.properties.coreApi.getByName('deals', 'dealstage');
    expect(stage.options.map((o) => o.value)).toContain('closedwon');
    const amount = await hubspot.crm.properties.coreApi.getByName('0-3', 'amount');
    expect(amount).toMatchObject({ type: 'number', hubspotDefined: true });
    const companies = await hubspot.crm.properties.coreApi.getAll('companies');
    expect(companies.results.find((p) => p.name === 'fieldsync_id')).toMatchObject({ hasUniqueValue: true });
    const missing = await failure(hubspot.crm.properties.coreApi.getByName('contacts', 'nope'));
    expect(missing.code).toBe(404);
  });

  it('adds custom properties (option, direct, API); writes check enumeration options', async () => {
    const { sandbox, hubspot } = await start({
      seeded: false,
      customProperties: { contacts: [{ name: 'region', type: 'enumeration', options: ['emea', 'amer'] }] },
    });
    sandbox.addProperty('deals', { name: 'renewal_date', type: 'date' });
    const created = await hubspot.crm.properties.coreApi.create('companies', {
      name: 'tier',
      label: 'Tier',
      type: PropertyCreateTypeEnum.Enumeration,
      fieldType: PropertyCreateFieldTypeEnum.Select,
      groupName: 'companyinformation',
      options: [
        { label: 'Gold', value: 'gold', hidden: false, displayOrder: 0 },
        { label: 'Silver', value: 'silver', hidden: false, displayOrder: 1 },
      ],
    });
    expect(created).toMatchObject({ name: 'tier', type: 'enumeration', hasUniqueValue: false });
    const dup = await failure(
      hubspot.crm.properties.coreApi.create('companies', {
        name: 'tier',
        label: 'Tier',
        type: PropertyCreateTypeEnum.String,
        fieldType: PropertyCreateFieldTypeEnum.Text,
        groupName: 'companyinformation',
      }),
    );
    expect(dup.code).toBe(409);

    const ok = await hubspot.crm.contacts.basicApi.create({
      properties: { email: 'r@example.com', region: 'emea', lifecyclestage: 'lead' },
      associations: [],
    });
    expect(ok.properties).toMatchObject({ region: 'emea', lifecyclestage: 'lead' });
    const bad = await failure(
      hubspot.crm.contacts.basicApi.create({
        properties: { email: 'x@example.com', region: 'apac' },
        associations: [],
      }),
    );
    expect(bad.code).toBe(400);
    expect(bad.body).toMatchObject({
      category: 'VALIDATION_ERROR',
      errors: [{ code: 'INVALID_OPTION', in: 'region' }],
    });
    expect(JSON.stringify(bad.body)).toContain('INVALID_OPTION');
    const company = await hubspot.crm.companies.basicApi.create({
      properties: { name: 'G', tier: 'gold' },
      associations: [],
    });
    expect(company.properties.tier).toBe('gold');
    const deal = sandbox.create('deals', { dealname: 'R', renewal_date: '2025-01-31' });
    expect(deal.properties.renewal_date).toBe('2025-01-31');

    const found = await hubspot.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'region', operator: FilterOperatorEnum.Eq, value: 'emea' }] },
      ],
      properties: ['region'],
      limit: 10,
      after: '0',
      sorts: [],
    });
    expect(found.results.map((r) => r.id)).toEqual([ok.id]);
    const page = await hubspot.crm.contacts.basicApi.getPage(10, undefined, ['region']);
    expect(page.results[0]?.properties.region).toBe('emea');
  });

  it('leaves lifecyclestage unset on seeded contacts unless lifecycleStages is set', async () => {
    const { sandbox: plain } = await start({ people: 20 });
    expect(plain.list('contacts').every((c) => c.properties.lifecyclestage === null)).toBe(true);
    const { sandbox, hubspot } = await start({ people: 20, lifecycleStages: true });
    const stages = sandbox.list('contacts').map((c) => c.properties.lifecyclestage);
    expect(stages.every((s) => s !== null)).toBe(true);
    expect(new Set(stages).size).toBeGreaterThan(3);
    const leads = await hubspot.crm.contacts.searchApi.doSearch({
      filterGroups: [
        { filters: [{ propertyName: 'lifecyclestage', operator: FilterOperatorEnum.Eq, value: 'lead' }] },
      ],
      properties: ['lifecyclestage'],
      limit: 100,
      after: '0',
      sorts: [],
    });
    expect(leads.total).toBe(stages.filter((s) => s === 'lead').length);
  });
});

describe('HubSpot sandbox: merges and archived records', () => {
  it('merges contacts into a new record; old ids redirect; associations move; archived reads', async () => {
    const clock = testClock();
    const { sandbox, hubspot } = await start({ seeded: false, now: clock.now });
    const acme = sandbox.create('companies', { name: 'Acme' });
    const globex = sandbox.create('companies', { name: 'Globex' });
    const primary = sandbox.create('contacts', { email: 'ada@acme.com', firstname: 'Ada' });
    const secondary = sandbox.create('contacts', {
      email: 'ada@globex.com',
      lastname: 'Lovelace',
      phone: '1',
    });
    const deal = sandbox.create('deals', { dealname: 'D' });
    sandbox.associateObjects('contacts', primary.id, 'companies', acme.id, true);
    sandbox.associateObjects('contacts', secondary.id, 'companies', globex.id, true);
    sandbox.associateObjects('deals', deal.id, 'contacts', secondary.id);

    clock.advance(60_000);
    const merged = await hubspot.crm.contacts.basicApi.merge({
      primaryObjectId: primary.id,
      objectIdToMerge: secondary.id,
    });
    expect(merged.id).not.toBe(primary.id);
    expect(merged.properties).toMatchObject({
      hs_merged_object_ids: `${primary.id};${secondary.id}`,
      lastmodifieddate: '2024-06-01T00:01:00.000Z',
    });
    const full = sandbox.get('contacts', merged.id);
    expect(full?.properties).toMatchObject({
      email: 'ada@acme.com',
      firstname: 'Ada',
      lastname: 'Lovelace',
      phone: '1',
    });
    // Primary label from the primary wins; the secondary's company stays, unlabeled.
    const companies = await hubspot.crm.associations.v4.basicApi.getPage('contacts', merged.id, 'companies');
    expect(
      companies.results.map((r) => [String(r.toObjectId), r.associationTypes.map((t) => t.typeId)]),
    ).toEqual([
      [acme.id, [1, 279]],
      [globex.id, [279]],
    ]);
    expect(sandbox.associationsOf('deals', deal.id, 'contacts')).toEqual([merged.id]);

    // Reads by the old ids resolve to the merged record.
    const byOld = await hubspot.crm.contacts.basicApi.getById(secondary.id, ['email']);
    expect(byOld.id).toBe(merged.id);
    const batch = await hubspot.crm.contacts.batchApi.read({
      inputs: [{ id: primary.id }],
      properties: ['email'],
      propertiesWithHistory: [],
    });
    expect(batch.results.map((r) => r.id)).toEqual([merged.id]);

    // The inputs are archived: visible with archived=true, never in search.
    const archived = await hubspot.crm.contacts.basicApi.getById(
      secondary.id,
      ['email'],
      undefined,
      undefined,
      true,
    );
    expect(archived).toMatchObject({ id: secondary.id, archived: true });
    expect(archived.archivedAt).toBeInstanceOf(Date);
    const archivedBatch = await hubspot.crm.contacts.batchApi.read(
      {
        inputs: [{ id: primary.id }, { id: secondary.id }],
        properties: ['email'],
        propertiesWithHistory: [],
      },
      true,
    );
    expect(archivedBatch.results.map((r) => r.id).sort()).toEqual([primary.id, secondary.id].sort());
    const list = await hubspot.crm.contacts.basicApi.getPage(
      10,
      undefined,
      ['email'],
      undefined,
      undefined,
      true,
    );
    expect(list.results.map((r) => r.id)).toEqual([primary.id, secondary.id]);
    expect(list.results.every((r) => r.archivedAt instanceof Date)).toBe(true);
    const search = await hubspot.crm.contacts.searchApi.doSearch({
      filterGroups: [],
      properties: ['email'],
      limit: 10,
      after: '0',
      sorts: [],
    });
    expect(search.results.map((r) => r.id)).toEqual([merged.id]);

    const again = await failure(
      hubspot.crm.contacts.basicApi.merge({ primaryObjectId: merged.id, objectIdToMerge: secondary.id }),
    );
    expect(again.code).toBe(404);
  });

  it("keeps the primary's id in keep-primary mode; merges companies and deals too", async () => {
    const clock = testClock();
    const { sandbox, hubspot } = await start({ seeded: false, now: clock.now, mergeMode: 'keep-primary' });
    const a = sandbox.create('companies', { name: 'Acme', domain: 'acme.com' });
    const b = sandbox.create('companies', { name: 'ACME Inc', industry: 'Software' });
    const contact = sandbox.create('contacts', { email: 'k@acme.com' });
    sandbox.associateObjects('contacts', contact.id, 'companies', b.id, true);
    clock.advance(1000);
    const merged = await hubspot.crm.companies.basicApi.merge({
      primaryObjectId: a.id,
      objectIdToMerge: b.id,
    });
    expect(merged.id).toBe(a.id);
    expect(merged.properties.hs_merged_object_ids).toBe(b.id);
    expect(merged.properties.hs_lastmodifieddate).toBe('2024-06-01T00:00:01.000Z');
    expect(sandbox.get('companies', a.id)?.properties).toMatchObject({ name: 'Acme', industry: 'Software' });
    expect(sandbox.associationsOf('contacts', contact.id, 'companies')).toEqual([a.id]);
    const redirected = await hubspot.crm.companies.basicApi.getById(b.id);
    expect(redirected.id).toBe(a.id);

    const d1 = sandbox.create('deals', { dealname: 'One', amount: '10' });
    const d2 = sandbox.create('deals', { dealname: 'Two', dealstage: 'closedwon' });
    const deal = sandbox.merge('deals', d1.id, d2.id);
    expect(deal.properties).toMatchObject({ dealname: 'One', amount: '10', dealstage: 'closedwon' });
  });
});
