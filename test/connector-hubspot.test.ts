// The HubSpot connector against the sandbox, through the real @hubspot/api-client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { AuthError, RateLimitError } from '../connectors/errors.ts';
import { HubSpotConnector, translateError } from '../connectors/hubspot/index.ts';
import type { Cursor, SourceChange, WriteOp } from '../connectors/types.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';

const VIEW = DEFAULT_CONFIG.systems.hubspot;
let sandbox: HubSpotSandbox;
let connector: HubSpotConnector;

beforeAll(async () => {
  sandbox = await startHubSpotSandbox({ seed: 5, people: 400 });
  connector = new HubSpotConnector({ accessToken: sandbox.token, baseUrl: sandbox.url, overlapMs: 0 }, VIEW);
});
afterAll(() => sandbox.close());

async function pollAll(c: HubSpotConnector, object: 'contact' | 'company', cursor?: Cursor) {
  const changes: SourceChange[] = [];
  let last: Cursor | undefined = cursor;
  for await (const page of c.poll(object, cursor)) {
    changes.push(...page.changes);
    last = page.cursor;
  }
  return { changes, cursor: last };
}

function op(
  canonicalId: string,
  fields: Record<string, string | null>,
  extra: Partial<WriteOp> = {},
): WriteOp {
  return { canonicalId, fields, refs: {}, previousRefs: {}, ...extra };
}

describe('HubSpotConnector', () => {
  it('polls contacts with their company association, then only what changed after the cursor', async () => {
    const { changes, cursor } = await pollAll(connector, 'contact');
    expect(changes.map((c) => c.externalId).sort()).toEqual(
      sandbox
        .list('contacts')
        .map((c) => c.id)
        .sort(),
    );
    for (const c of changes) {
      const assoc = sandbox.associations(c.externalId);
      expect(c.refs.company).toBe(assoc[0] ?? null);
      expect(c.fields.email).toBe(c.fields.email?.trim().toLowerCase());
    }
    const target = changes[3];
    if (target === undefined) throw new Error('no contact');
    await new Promise((r) => setTimeout(r, 5));
    sandbox.update('contacts', target.externalId, { jobtitle: 'Changed' });
    const next = await pollAll(connector, 'contact', cursor);
    expect(next.changes.map((c) => c.externalId)).toEqual([target.externalId]);
    expect(next.changes[0]?.fields.title).toBe('Changed');
  });

  it('updates in batches of 100 and creates idempotently by upsert on fieldsync_id', async () => {
    const contacts = sandbox.list('contacts');
    const ops = Array.from({ length: 230 }, (_, i) => {
      const c = contacts[i % contacts.length];
      if (c === undefined) throw new Error('no contact');
      return op(
        `cid-${i}`,
        { phone: `+1 415 555 ${String(i % contacts.length).padStart(4, '0')}` },
        { externalId: c.id },
      );
    });
    const before = connector.stats().calls['write:update'] ?? 0;
    const outcomes = await connector.write('contact', ops);
    expect((connector.stats().calls['write:update'] ?? 0) - before).toBe(3);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(230);

    const company = op('co_hs_new', { name: 'Upserted Inc', domain: 'upserted.example' });
    const first = await connector.write('company', [company]);
    const second = await connector.write('company', [company]);
    expect(first[0]?.ok).toBe(true);
    expect(second[0]?.ok && first[0]?.ok && second[0].externalId === first[0].externalId).toBe(true);
    expect(sandbox.list('companies').filter((c) => c.properties.name === 'Upserted Inc')).toHaveLength(1);
  });

  it('reports a per-record failure from a 207 without failing the others', async () => {
    const [a] = sandbox.list('contacts');
    if (a === undefined) throw new Error('no contact');
    const outcomes = await connector.write('contact', [
      op('ok', { title: 'Fine' }, { externalId: a.id }),
      op('gone', { title: 'Nobody' }, { externalId: '999999999' }),
    ]);
    expect(outcomes.find((o) => o.canonicalId === 'ok')).toMatchObject({ ok: true });
    expect(outcomes.find((o) => o.canonicalId === 'gone')).toMatchObject({ ok: false, retryable: false });
  });

  it('moves a contact to another company: archives the old association, creates the new one', async () => {
    const contact = sandbox.list('contacts').find((c) => sandbox.associations(c.id).length === 1);
    if (contact === undefined) throw new Error('no associated contact');
    const old = sandbox.associations(contact.id)[0] ?? null;
    const other = sandbox.list('companies').find((c) => c.id !== old);
    if (other === undefined) throw new Error('no other company');
    const [outcome] = await connector.write('contact', [
      op('move', {}, { externalId: contact.id, refs: { company: other.id }, previousRefs: { company: old } }),
    ]);
    expect(outcome?.ok).toBe(true);
    expect(sandbox.associations(contact.id)).toEqual([other.id]);
  });

  it('translates vendor errors: 401 to AuthError, 429 to RateLimitError with its delay', async () => {
    const bad = new HubSpotConnector({ accessToken: 'wrong', baseUrl: sandbox.url }, VIEW);
    await expect(pollAll(bad, 'company')).rejects.toBeInstanceOf(AuthError);
    const limited = translateError({
      code: 429,
      body: { policyName: 'TEN_SECONDLY_ROLLING', message: 'limit' },
      headers: { 'retry-after': '3' },
    });
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(limited).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(
      translateError({ code: 400, body: { category: 'VALIDATION_ERROR', message: 'bad' } }),
    ).toMatchObject({ retryable: false, code: 'VALIDATION_ERROR' });
  });
});
