// CRM search in the HubSpot sandbox through the real SDK: incremental-sync queries, paging, the
// 10,000 cap, eventual consistency, the per-second limit, and a property test against a reference.
import { Client } from '@hubspot/api-client';
import { FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { failure, testClock } from '../sandboxes/hubspot/testing.ts';

const clientFor = (sandbox: HubSpotSandbox) =>
  new Client({ accessToken: sandbox.token, basePath: sandbox.url, numberOfApiCallRetries: 1 });

const OPERATORS = {
  EQ: FilterOperatorEnum.Eq,
  NEQ: FilterOperatorEnum.Neq,
  LT: FilterOperatorEnum.Lt,
  LTE: FilterOperatorEnum.Lte,
  GT: FilterOperatorEnum.Gt,
  GTE: FilterOperatorEnum.Gte,
  BETWEEN: FilterOperatorEnum.Between,
  IN: FilterOperatorEnum.In,
  NOT_IN: FilterOperatorEnum.NotIn,
  HAS_PROPERTY: FilterOperatorEnum.HasProperty,
  NOT_HAS_PROPERTY: FilterOperatorEnum.NotHasProperty,
  CONTAINS_TOKEN: FilterOperatorEnum.ContainsToken,
} as const;
type Op = keyof typeof OPERATORS;

interface TestFilter {
  propertyName: string;
  operator: Op;
  value?: string;
  highValue?: string;
  values?: string[];
}

/** The SDK's request shape from plain filters. */
function request(
  groups: TestFilter[][],
  sorts: string[],
  limit: number,
  after: string,
  properties: string[],
) {
  return {
    filterGroups: groups.map((filters) => ({
      filters: filters.map((f) => ({ ...f, operator: OPERATORS[f.operator] })),
    })),
    sorts,
    properties,
    limit,
    after,
  };
}

/** Pages through a contacts search and returns the ids in order, with the number of pages. */
async function allPages(
  hubspot: Client,
  groups: TestFilter[][],
  sorts: string[],
  limit: number,
): Promise<{ ids: string[]; pages: number; total: number }> {
  const ids: string[] = [];
  let after = '0';
  let pages = 0;
  let total = 0;
  for (;;) {
    const page = await hubspot.crm.contacts.searchApi.doSearch(
      request(groups, sorts, limit, after, ['email']),
    );
    pages++;
    total = page.total;
    ids.push(...page.results.map((r) => r.id));
    const next = page.paging?.next?.after;
    if (next === undefined) return { ids, pages, total };
    after = next;
  }
}

describe('HubSpot sandbox: search', () => {
  const clock = testClock();
  let sandbox: HubSpotSandbox;
  let hubspot: Client;

  beforeAll(async () => {
    sandbox = await startHubSpotSandbox({ now: clock.now, people: 120, searchPerSecond: 1_000 });
    hubspot = clientFor(sandbox);
  });
  afterAll(() => sandbox.close());

  it('finds changes since a time with lastmodifieddate GTE, ascending, paging exactly and deterministically', async () => {
    const contacts = sandbox.list('contacts');
    const stamps = contacts.map((c) => Date.parse(c.properties.lastmodifieddate ?? '')).sort((a, b) => a - b);
    const since = stamps[Math.floor(stamps.length / 3)] ?? 0;
    // Two records share a timestamp, so the id tie-break is exercised.
    const [x, y] = contacts;
    clock.set(since + 1);
    sandbox.update('contacts', y?.id ?? '', { jobtitle: 'Tie B' });
    sandbox.update('contacts', x?.id ?? '', { jobtitle: 'Tie A' });
    const expected = sandbox
      .list('contacts')
      .filter((c) => Date.parse(c.properties.lastmodifieddate ?? '') >= since)
      .sort(
        (a, b) =>
          Date.parse(a.properties.lastmodifieddate ?? '') - Date.parse(b.properties.lastmodifieddate ?? '') ||
          Number(a.id) - Number(b.id),
      )
      .map((c) => c.id);
    const filter: TestFilter[][] = [
      [{ propertyName: 'lastmodifieddate', operator: 'GTE', value: String(since) }],
    ];
    const first = await allPages(hubspot, filter, ['lastmodifieddate'], 7);
    expect(first.ids).toEqual(expected);
    expect(first.total).toBe(expected.length);
    expect(first.pages).toBe(Math.ceil(expected.length / 7));
    expect(await allPages(hubspot, filter, ['lastmodifieddate'], 7)).toEqual(first);
    // ISO values are compared as the same instant.
    const iso = await allPages(
      hubspot,
      [[{ propertyName: 'lastmodifieddate', operator: 'GTE', value: new Date(since).toISOString() }]],
      ['lastmodifieddate'],
      50,
    );
    expect(iso.ids).toEqual(expected);
    const tie = first.ids.filter((id) => id === x?.id || id === y?.id);
    expect(tie).toEqual([x?.id, y?.id].sort((a, b) => Number(a) - Number(b)));
  });

  it('returns the default properties, no rate-limit headers, and paging after as an offset', async () => {
    const res = await fetch(`${sandbox.url}/crm/v3/objects/companies/search`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sandbox.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ limit: 2, sorts: [{ propertyName: 'hs_object_id', direction: 'DESCENDING' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
    expect([...res.headers.keys()].filter((h) => h.startsWith('x-hubspot-ratelimit'))).toEqual([]);
    const body: unknown = await res.json();
    const companies = sandbox.list('companies');
    const ids = companies.map((c) => c.id).sort((a, b) => Number(b) - Number(a));
    expect(body).toMatchObject({
      total: companies.length,
      results: [{ id: ids[0] }, { id: ids[1] }],
      paging: { next: { after: '2' } },
    });
    const page = await hubspot.crm.companies.searchApi.doSearch({ limit: 1, after: '0' });
    expect(Object.keys(page.results[0]?.properties ?? {}).sort()).toEqual([
      'createdate',
      'domain',
      'hs_lastmodifieddate',
      'hs_object_id',
      'name',
    ]);
  });

  it('supports the sort forms and the documented operators', async () => {
    const desc = await hubspot.crm.contacts.searchApi.doSearch({
      sorts: ['-createdate'],
      limit: 200,
      after: '0',
    });
    const created = desc.results.map((r) => Date.parse(r.properties.createdate ?? ''));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    const one = sandbox.list('companies')[0];
    const domain = one?.properties.domain ?? '';
    const byToken = await hubspot.crm.companies.searchApi.doSearch(
      request(
        [[{ propertyName: 'domain', operator: 'CONTAINS_TOKEN', value: `*${domain.slice(-7)}` }]],
        [],
        100,
        '0',
        ['domain'],
      ),
    );
    expect(byToken.results.map((r) => r.id)).toContain(one?.id);
    expect(
      byToken.results.every((r) =>
        (r.properties.domain ?? '').toLowerCase().endsWith(domain.slice(-7).toLowerCase()),
      ),
    ).toBe(true);

    const industries = ['Software', 'retail'];
    const inRes = await hubspot.crm.companies.searchApi.doSearch(
      request([[{ propertyName: 'industry', operator: 'IN', values: industries }]], [], 100, '0', [
        'industry',
      ]),
    );
    const expectedIn = sandbox
      .list('companies')
      .filter((c) => ['software', 'retail'].includes((c.properties.industry ?? '').toLowerCase()));
    expect(inRes.total).toBe(expectedIn.length);

    const noTitle = await hubspot.crm.contacts.searchApi.doSearch(
      request(
        [
          [{ propertyName: 'jobtitle', operator: 'NOT_HAS_PROPERTY' }],
          [{ propertyName: 'email', operator: 'EQ', value: 'nobody' }],
        ],
        [],
        200,
        '0',
        ['jobtitle'],
      ),
    );
    expect(noTitle.total).toBe(sandbox.list('contacts').filter((c) => c.properties.jobtitle === null).length);
    expect(noTitle.results.every((r) => r.properties.jobtitle === null)).toBe(true);

    const email = sandbox.list('contacts')[5]?.properties.email ?? '';
    const eq = await hubspot.crm.contacts.searchApi.doSearch(
      request(
        [[{ propertyName: 'email', operator: 'EQ', value: email.trim().toUpperCase() }]],
        [],
        10,
        '0',
        [],
      ),
    );
    expect(eq.results.map((r) => r.id)).toEqual([sandbox.list('contacts')[5]?.id]);
  });

  it('rejects a limit over 200, unknown properties and operators with 400', async () => {
    expect((await failure(hubspot.crm.contacts.searchApi.doSearch({ limit: 201 }))).code).toBe(400);
    const unknown = await failure(
      hubspot.crm.contacts.searchApi.doSearch(
        request([[{ propertyName: 'favourite_color', operator: 'EQ', value: 'red' }]], [], 10, '0', []),
      ),
    );
    expect(unknown.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    const res = await fetch(`${sandbox.url}/crm/v3/objects/contacts/search`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${sandbox.token}` },
      body: JSON.stringify({
        filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }],
      }),
    });
    expect(res.status).toBe(400);
  });
});

describe('HubSpot sandbox: search limits', () => {
  it('caps paging at 10,000 results with a 400', async () => {
    const sandbox = await startHubSpotSandbox({ people: 14_000, searchPerSecond: 1_000 });
    try {
      const hubspot = clientFor(sandbox);
      const count = sandbox.list('contacts').length;
      expect(count).toBeGreaterThan(10_000);
      const near = await hubspot.crm.contacts.searchApi.doSearch({
        limit: 200,
        after: '9800',
        sorts: ['hs_object_id'],
      });
      expect(near.total).toBe(count);
      expect(near.results).toHaveLength(200);
      expect(near.paging?.next?.after).toBe('10000');
      const past = await failure(hubspot.crm.contacts.searchApi.doSearch({ limit: 200, after: '10000' }));
      expect(past.code).toBe(400);
      expect(past.body).toMatchObject({ status: 'error', category: 'VALIDATION_ERROR' });
    } finally {
      await sandbox.close();
    }
  });

  it('hides a change from search until searchLagMs has passed', async () => {
    const clock = testClock();
    const sandbox = await startHubSpotSandbox({ now: clock.now, searchLagMs: 2_000, searchPerSecond: 1_000 });
    try {
      const hubspot = clientFor(sandbox);
      const target = sandbox.list('contacts')[3];
      const byName = (name: string) =>
        hubspot.crm.contacts.searchApi.doSearch(
          request([[{ propertyName: 'firstname', operator: 'EQ', value: name }]], [], 10, '0', ['firstname']),
        );
      clock.advance(1_000);
      sandbox.update('contacts', target?.id ?? '', { firstname: 'Zelda' });
      const fresh = sandbox.create('contacts', { email: 'lagging@example.com', firstname: 'Zelda' });
      expect((await byName('Zelda')).total).toBe(0);
      // The previous version is still what search sees.
      const old = await hubspot.crm.contacts.searchApi.doSearch(
        request([[{ propertyName: 'hs_object_id', operator: 'EQ', value: target?.id ?? '' }]], [], 10, '0', [
          'firstname',
        ]),
      );
      expect(old.results[0]?.properties.firstname).toBe(target?.properties.firstname);
      // Reads outside search are immediately consistent.
      expect(
        (await hubspot.crm.contacts.basicApi.getById(target?.id ?? '', ['firstname'])).properties.firstname,
      ).toBe('Zelda');
      clock.advance(1_999);
      expect((await byName('Zelda')).total).toBe(0);
      clock.advance(1);
      const visible = await byName('Zelda');
      expect(visible.results.map((r) => r.id)).toEqual([target?.id, fresh.id]);
      sandbox.archive('contacts', fresh.id);
      expect((await byName('Zelda')).total).toBe(2);
      clock.advance(2_000);
      expect((await byName('Zelda')).total).toBe(1);
    } finally {
      await sandbox.close();
    }
  });

  it('limits search per second with the SECONDLY 429 and no rate-limit headers', async () => {
    const clock = testClock();
    const sandbox = await startHubSpotSandbox({ now: clock.now, searchPerSecond: 2 });
    try {
      const hubspot = clientFor(sandbox);
      await hubspot.crm.contacts.searchApi.doSearch({ limit: 1 });
      await hubspot.crm.contacts.searchApi.doSearch({ limit: 1 });
      const err = await failure(hubspot.crm.contacts.searchApi.doSearch({ limit: 1 }));
      expect(err.code).toBe(429);
      expect(err.body).toMatchObject({
        status: 'error',
        message: 'You have reached your secondly limit.',
        errorType: 'RATE_LIMIT',
        policyName: 'SECONDLY',
      });
      expect(Object.keys(err.headers).filter((h) => h.startsWith('x-hubspot-ratelimit'))).toEqual([]);
      // Search does not use up the ten-secondly budget of the other routes.
      await hubspot.crm.contacts.basicApi.getPage(1);
      clock.advance(1_000);
      expect((await hubspot.crm.contacts.searchApi.doSearch({ limit: 1 })).results).toHaveLength(1);
      expect(sandbox.stats.get('POST /crm/v3/objects/contacts/search')).toBe(4);
    } finally {
      await sandbox.close();
    }
  });
});

// ---- property: filter + sort + paging equals a plain JS reference ----------------------------

interface Row {
  firstname: string | null;
  jobtitle: string | null;
  minute: number;
}

const BASE = Date.parse('2024-03-01T00:00:00.000Z');
const NAMES = ['Ada', 'ada', 'Alan', 'Grace', 'Linus'];

const rowArb: fc.Arbitrary<Row> = fc.record({
  firstname: fc.option(fc.constantFrom(...NAMES), { nil: null }),
  jobtitle: fc.option(fc.constantFrom('CTO', 'VP Sales'), { nil: null }),
  minute: fc.integer({ min: 0, max: 12 }),
});

const instant = (minute: number, asIso: boolean) =>
  asIso ? new Date(BASE + minute * 60_000).toISOString() : String(BASE + minute * 60_000);

const filterArb: fc.Arbitrary<TestFilter> = fc.oneof(
  fc
    .record({
      operator: fc.constantFrom<Op>('EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE'),
      minute: fc.integer({ min: -1, max: 13 }),
      asIso: fc.boolean(),
    })
    .map(({ operator, minute, asIso }) => ({
      propertyName: 'lastmodifieddate',
      operator,
      value: instant(minute, asIso),
    })),
  fc
    .record({ lo: fc.integer({ min: 0, max: 12 }), span: fc.integer({ min: 0, max: 6 }) })
    .map(({ lo, span }) => ({
      propertyName: 'lastmodifieddate',
      operator: 'BETWEEN' as const,
      value: instant(lo, false),
      highValue: instant(lo + span, true),
    })),
  fc
    .record({ operator: fc.constantFrom<Op>('EQ', 'NEQ'), value: fc.constantFrom(...NAMES, 'ADA') })
    .map(({ operator, value }) => ({ propertyName: 'firstname', operator, value })),
  fc
    .record({
      operator: fc.constantFrom<Op>('IN', 'NOT_IN'),
      values: fc.uniqueArray(fc.constantFrom('ada', 'alan', 'grace'), { minLength: 1, maxLength: 3 }),
    })
    .map(({ operator, values }) => ({ propertyName: 'firstname', operator, values })),
  fc
    .record({
      operator: fc.constantFrom<Op>('HAS_PROPERTY', 'NOT_HAS_PROPERTY'),
      propertyName: fc.constantFrom('jobtitle', 'firstname'),
    })
    .map(({ operator, propertyName }) => ({ propertyName, operator })),
);

const sortArb = fc.option(
  fc.record({
    propertyName: fc.constantFrom('lastmodifieddate', 'firstname', 'jobtitle', 'hs_object_id'),
    descending: fc.boolean(),
  }),
  { nil: undefined },
);

interface RefRecord {
  id: number;
  props: Record<string, string | null>;
}

function refValue(record: RefRecord, name: string): number | string | undefined {
  const raw = name === 'hs_object_id' ? String(record.id) : record.props[name];
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (name === 'lastmodifieddate') return Date.parse(raw);
  if (name === 'hs_object_id') return Number(raw);
  return raw.toLowerCase();
}

function refOperand(name: string, text: string): number | string {
  if (name === 'lastmodifieddate') return /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return text.toLowerCase();
}

function refMatches(record: RefRecord, f: TestFilter): boolean {
  const v = refValue(record, f.propertyName);
  const operand = f.value === undefined ? undefined : refOperand(f.propertyName, f.value);
  switch (f.operator) {
    case 'HAS_PROPERTY':
      return v !== undefined;
    case 'NOT_HAS_PROPERTY':
      return v === undefined;
    case 'NEQ':
      return v === undefined || v !== operand;
    case 'NOT_IN':
      return v === undefined || !(f.values ?? []).map((x) => refOperand(f.propertyName, x)).includes(v);
    default:
      break;
  }
  if (v === undefined) return false;
  switch (f.operator) {
    case 'EQ':
      return v === operand;
    case 'IN':
      return (f.values ?? []).map((x) => refOperand(f.propertyName, x)).includes(v);
    case 'BETWEEN':
      return (
        operand !== undefined &&
        f.highValue !== undefined &&
        v >= operand &&
        v <= refOperand(f.propertyName, f.highValue)
      );
    case 'LT':
      return operand !== undefined && v < operand;
    case 'LTE':
      return operand !== undefined && v <= operand;
    case 'GT':
      return operand !== undefined && v > operand;
    case 'GTE':
      return operand !== undefined && v >= operand;
    default:
      return false;
  }
}

function reference(
  records: RefRecord[],
  groups: TestFilter[][],
  sort: { propertyName: string; descending: boolean } | undefined,
): string[] {
  const hits = records.filter(
    (r) => groups.length === 0 || groups.some((g) => g.every((f) => refMatches(r, f))),
  );
  hits.sort((a, b) => {
    if (sort !== undefined) {
      const x = refValue(a, sort.propertyName);
      const y = refValue(b, sort.propertyName);
      // Missing values last when ascending, first when descending.
      let c = 0;
      if (x === undefined || y === undefined) c = x === y ? 0 : x === undefined ? 1 : -1;
      else c = x < y ? -1 : x > y ? 1 : 0;
      if (c !== 0) return sort.descending ? -c : c;
    }
    return a.id - b.id;
  });
  return hits.map((r) => String(r.id));
}

describe('HubSpot sandbox: search property', () => {
  it('filter + sort + paging equals the JS reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowArb, { maxLength: 25 }),
        fc.array(fc.array(filterArb, { minLength: 1, maxLength: 3 }), { maxLength: 3 }),
        sortArb,
        fc.integer({ min: 1, max: 6 }),
        async (rows, groups, sort, limit) => {
          const clock = testClock(BASE);
          const sandbox = await startHubSpotSandbox({
            now: clock.now,
            seeded: false,
            searchPerSecond: 100_000,
          });
          try {
            const records = rows.map((row, i) => {
              clock.set(BASE + row.minute * 60_000);
              const created = sandbox.create('contacts', {
                email: `p${i}@example.com`,
                firstname: row.firstname,
                jobtitle: row.jobtitle,
              });
              return { id: Number(created.id), props: created.properties };
            });
            const sorts = sort === undefined ? [] : [`${sort.descending ? '-' : ''}${sort.propertyName}`];
            const got = await allPages(clientFor(sandbox), groups, sorts, limit);
            const expected = reference(records, groups, sort);
            expect(got.ids).toEqual(expected);
            expect(got.total).toBe(expected.length);
            expect(got.pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
          } finally {
            await sandbox.close();
          }
        },
      ),
      { numRuns: 60, seed: 20240601 },
    );
  });
});
