// The Salesforce connector against the sandbox, through the real jsforce client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { AuthError } from '../connectors/errors.ts';
import { SalesforceConnector } from '../connectors/salesforce/index.ts';
import type { Cursor, SourceChange, WriteOp } from '../connectors/types.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';

const VIEW = DEFAULT_CONFIG.systems.salesforce;
let sandbox: SalesforceSandbox;
let connector: SalesforceConnector;

beforeAll(async () => {
  sandbox = await startSalesforceSandbox({ seed: 3, people: 30, pageSize: 7 });
  connector = new SalesforceConnector(
    { instanceUrl: sandbox.url, accessToken: sandbox.token, overlapMs: 0 },
    VIEW,
  );
});
afterAll(() => sandbox.close());

async function pollAll(c: SalesforceConnector, object: 'contact' | 'company', cursor?: Cursor) {
  const changes: SourceChange[] = [];
  let last: Cursor | undefined = cursor;
  let pages = 0;
  for await (const page of c.poll(object, cursor)) {
    changes.push(...page.changes);
    last = page.cursor;
    pages++;
  }
  return { changes, cursor: last, pages };
}

function op(canonicalId: string, fields: Record<string, string | null>, externalId?: string): WriteOp {
  return {
    canonicalId,
    ...(externalId === undefined ? {} : { externalId }),
    fields,
    refs: {},
    previousRefs: {},
  };
}

describe('SalesforceConnector', () => {
  it('polls every contact once, in (SystemModstamp, Id) order, across query pages', async () => {
    const before = connector.stats().calls.query ?? 0;
    const { changes, pages } = await pollAll(connector, 'contact');
    const contacts = sandbox.list('Contact');
    expect(changes.map((c) => c.externalId).sort()).toEqual(contacts.map((c) => c.Id).sort());
    expect(pages).toBe(Math.ceil(contacts.length / 7));
    expect((connector.stats().calls.query ?? 0) - before).toBe(pages);
    const keys = changes.map((c) => [c.modifiedAt, c.externalId] as const);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
    expect(keys).toEqual(sorted);
    // Normalized and mapped: emails lower case, the account as a reference.
    const withAccount = changes.find((c) => c.refs.company !== null);
    expect(withAccount?.refs.company).toMatch(/^001/);
    for (const c of changes) expect(c.fields.email).toBe(c.fields.email?.trim().toLowerCase());
  });

  it('continues exactly after its cursor, even when many records share a SystemModstamp', async () => {
    const { cursor } = await pollAll(connector, 'contact');
    // Twelve edits within one second: one SystemModstamp across two pages of 7.
    const ids = sandbox
      .list('Contact')
      .slice(0, 12)
      .map((c) => c.Id);
    for (const id of ids) sandbox.update('Contact', id, { Title: 'Same second' });
    const next = await pollAll(connector, 'contact', cursor);
    expect(next.changes.map((c) => c.externalId).sort()).toEqual([...ids].sort());
    const again = await pollAll(connector, 'contact', next.cursor);
    expect(again.changes).toEqual([]);
  });

  it('writes updates through collections of 200 with per-record results', async () => {
    const contacts = sandbox.list('Contact');
    const ops = Array.from({ length: 450 }, (_, i) => {
      const c = contacts[i % contacts.length];
      if (c === undefined) throw new Error('no contact');
      return op(`cid-${i}`, { title: `Bulk ${i % contacts.length}` }, c.Id);
    });
    const before = connector.stats().calls['write:update'] ?? 0;
    const outcomes = await connector.write('contact', ops);
    expect((connector.stats().calls['write:update'] ?? 0) - before).toBe(3); // 200 + 200 + 50
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(sandbox.get('Contact', contacts[0]?.Id ?? '')?.Title).toMatch(/^Bulk /);
  });

  it('creates idempotently by upsert on Fieldsync_Id__c, and fails one bad record alone', async () => {
    const ops = [
      op('co_new_1', { name: 'Fresh Co', domain: 'fresh.example' }),
      op('co_new_2', { domain: 'no-name.example' }),
    ];
    const first = await connector.write('company', ops);
    expect(first[0]).toMatchObject({ ok: true, created: true });
    expect(first[1]).toMatchObject({ ok: false, retryable: false, code: 'REQUIRED_FIELD_MISSING' });
    const retry = await connector.write('company', [ops[0] ?? op('x', {})]);
    expect(retry[0]).toMatchObject({ ok: true, created: false });
    expect(retry[0]?.ok && first[0]?.ok && retry[0].externalId === first[0].externalId).toBe(true);
    expect(sandbox.list('Account').filter((a) => a.Name === 'Fresh Co')).toHaveLength(1);
  });

  it('reads records by id in one collections call', async () => {
    const ids = sandbox
      .list('Account')
      .slice(0, 3)
      .map((a) => a.Id);
    const read = await connector.read('company', [...ids, '001SB000009999ZZZZ']);
    expect(read.map((r) => r.externalId).sort()).toEqual([...ids].sort());
  });

  it('turns a bad session into a non-retryable AuthError', async () => {
    const bad = new SalesforceConnector({ instanceUrl: sandbox.url, accessToken: 'wrong' }, VIEW);
    await expect(pollAll(bad, 'company')).rejects.toBeInstanceOf(AuthError);
    const outcomes = await bad.write('company', [op('c1', { name: 'X' })]);
    expect(outcomes[0]).toMatchObject({ ok: false, retryable: false, code: 'INVALID_SESSION_ID' });
  });
});
