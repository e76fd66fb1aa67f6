// The lifecycle operator commands (restore, quarantine, link, forget) as child processes of
// bin/fieldsync.ts, against a state built by a real sync with the sandboxes still running, so each
// command's writes reach both systems. Quarantined and held records are made through the store.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyDelete,
  type CanonicalRecord,
  canonicalIdFor,
  type FieldValue,
  normalizeEmail,
} from '../engine/index.ts';
import { cycle, startSandboxes } from '../local/cli.ts';
import { openState } from '../local/commands/state.ts';
import { startEmbedded } from '../local/stack.ts';
import type { DynamoStore } from '../runtime/store.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');
const SEED = 23;
const PEOPLE = 12;

interface Pair {
  canonicalId: string;
  sfId: string;
  hsId: string;
  email: string;
}

let root: string;
let stateDir: string;
let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let pairs: Pair[];
let beforeEdit: number;
let originalTitle: string;
/** A held duplicate of pairs[3] in Salesforce, and a held Salesforce record for a HubSpot-only target. */
let dupSfId: string;
let heldSfId: string;
let hubspotOnly: { canonicalId: string; hsId: string };

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Result> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SALESFORCE|HUBSPOT|FIELDSYNC)_/.test(k)),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...env, ...boxes.env, FIELDSYNC_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Read the state between commands (one process at a time may hold it). */
async function withStore<T>(fn: (store: DynamoStore) => Promise<T>): Promise<T> {
  const state = await openState(stateDir);
  try {
    return await fn(state.store);
  } finally {
    await state.close();
  }
}

async function record(id: string): Promise<CanonicalRecord | undefined> {
  return withStore(async (store) => (await store.getRecords('contact', [id])).get(id));
}

const sfContact = (id: string) => boxes.salesforce.list('Contact').find((c) => c.Id === id);
const hsContact = (id: string) => boxes.hubspot.list('contacts').find((c) => c.id === id);

async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

/** A record as ingest would store one seen in a single system (optionally held as ambiguous). */
function oneSided(
  system: string,
  externalId: string,
  values: Record<string, FieldValue>,
  at: number,
  hold?: string,
): CanonicalRecord {
  const fields = Object.fromEntries(
    Object.entries(values).map(([k, value]) => [k, { value, source: system, sourceTime: at, seenAt: at }]),
  );
  return {
    id: canonicalIdFor(system, 'contact', externalId),
    object: 'contact',
    version: 1,
    fields,
    links: { [system]: externalId },
    shadows: { [system]: { values, asOf: at } },
    ...(hold === undefined ? {} : { hold: { reason: 'ambiguous' as const, detail: hold } }),
  };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fieldsync-lifecycle-'));
  stateDir = join(root, 'state');
  boxes = await startSandboxes({ seed: SEED, people: PEOPLE });
  const stack = await startEmbedded({ stateDir, credentials: boxes.env });
  try {
    await cycle(stack);
    await cycle(stack); // our own writes come back as echoes
    const records = await stack.store.listRecords('contact');
    pairs = records.flatMap((r) => {
      const { salesforce: sfId, hubspot: hsId } = r.links;
      const email = r.fields.email?.value;
      return sfId === undefined || hsId === undefined || typeof email !== 'string'
        ? []
        : [{ canonicalId: r.id, sfId, hsId, email }];
    });
    expect(pairs.length).toBeGreaterThanOrEqual(7);
    const pair = (i: number): Pair => {
      const p = pairs[i];
      if (p === undefined) throw new Error(`no contact ${i}`);
      return p;
    };

    // restore: a bad edit of a title in Salesforce, synced to HubSpot.
    originalTitle = String(sfContact(pair(0).sfId)?.Title ?? '');
    await nextSecond();
    beforeEdit = Date.now();
    await nextSecond();
    boxes.salesforce.update('Contact', pair(0).sfId, { Title: 'Bad Edit' });
    await cycle(stack);
    expect(hsContact(pair(0).hsId)?.properties.jobtitle).toBe('Bad Edit');

    // quarantine: pairs 1 and 2 deleted in HubSpot, held by the quarantine policy.
    const now = Date.now();
    for (const p of [pair(1), pair(2)]) {
      boxes.hubspot.archive('contacts', p.hsId);
      const current = (await stack.store.getRecords('contact', [p.canonicalId])).get(p.canonicalId);
      if (current === undefined) throw new Error('not stored');
      const { record: deleted } = applyDelete(current, 'hubspot', now, 'quarantine');
      await stack.store.putRecord({ ...deleted, version: current.version + 1 });
    }

    // link, duplicate: a second Salesforce contact with pairs[3]'s email, held as ambiguous.
    const dup = boxes.salesforce.create('Contact', {
      FirstName: 'Second',
      LastName: 'Copy',
      Email: pair(3).email,
      Title: 'VP Duplicates',
    });
    dupSfId = dup.Id;
    const dupHeld = oneSided(
      'salesforce',
      dup.Id,
      { email: pair(3).email, firstName: 'Second', lastName: 'Copy', title: 'VP Duplicates' },
      Date.now(),
      `email ${pair(3).email} also matches ${pair(3).canonicalId} (salesforce ${pair(3).sfId})`,
    );
    // link, no duplicate: a HubSpot-only record and a held Salesforce record of the same person.
    const hs = boxes.hubspot.create('contacts', {
      email: 'dana.held@example.org',
      firstname: 'Dana',
      lastname: 'Held',
    });
    const target = oneSided(
      'hubspot',
      hs.id,
      { email: 'dana.held@example.org', firstName: 'Dana', lastName: 'Held' },
      Date.now(),
    );
    hubspotOnly = { canonicalId: target.id, hsId: hs.id };
    await nextSecond();
    const sf = boxes.salesforce.create('Contact', {
      FirstName: 'Dana',
      LastName: 'Held-Smith',
      Email: 'dana.held@example.org',
      Title: 'Buyer',
    });
    heldSfId = sf.Id;
    const held = oneSided(
      'salesforce',
      sf.Id,
      { email: 'dana.held@example.org', firstName: 'Dana', lastName: 'Held-Smith', title: 'Buyer' },
      Date.now(),
      'email dana.held@example.org also matches another record',
    );
    for (const r of [dupHeld, target, held]) {
      await stack.store.putRecord(r);
      for (const [system, externalId] of Object.entries(r.links))
        await stack.store.putLink(system, 'contact', externalId, r.id);
    }
  } finally {
    await stack.stop();
  }
});

afterAll(async () => {
  await boxes?.close();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

const at = (i: number): Pair => {
  const p = pairs[i];
  if (p === undefined) throw new Error(`no contact ${i}`);
  return p;
};

describe('fieldsync restore', () => {
  it('puts a field back to its value before a bad edit, in both systems', async () => {
    const p = at(0);
    const res = await run([
      'restore',
      `salesforce:contact:${p.sfId}`,
      '--at',
      new Date(beforeEdit).toISOString(),
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^restored 1 field of contact /);
    expect(res.stdout).toMatch(/title +"Bad Edit" +"/);
    expect(res.stdout).toMatch(/^written: salesforce 1 updated; hubspot 1 updated$/m);
    expect(sfContact(p.sfId)?.Title ?? '').toBe(originalTitle);
    expect(hsContact(p.hsId)?.properties.jobtitle ?? '').toBe(originalTitle);
    const history = await withStore((s) => s.audit(p.canonicalId));
    expect(history).toContainEqual(
      expect.objectContaining({ field: 'title', reason: 'restored', old: 'Bad Edit', source: 'fieldsync' }),
    );
  });

  it('refuses a time in the future or before the record existed, in one line', async () => {
    const p = at(0);
    const future = await run(['restore', `hubspot:contact:${p.hsId}`, '--at', '2999-01-01T00:00:00Z']);
    expect(future.code).toBe(2);
    expect(future.stderr).toBe('fieldsync: restore: --at 2999-01-01T00:00:00.000Z is in the future\n');
    const early = await run(['restore', p.canonicalId, '--at', '2001-01-01T00:00:00Z']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(
      /^fieldsync: restore: --at 2001-01-01T00:00:00\.000Z is before contact_\w+ existed \(first seen \S+\)\n$/,
    );
  });
});

describe('fieldsync quarantine', () => {
  it('lists the held deletes with the deleting system and links', async () => {
    const res = await run(['quarantine', '--json']);
    expect(res.code).toBe(0);
    const listed: unknown = JSON.parse(res.stdout);
    expect(listed).toEqual({
      quarantined: expect.arrayContaining(
        [at(1), at(2)].map((p) =>
          expect.objectContaining({
            object: 'contact',
            canonicalId: p.canonicalId,
            deletedIn: 'hubspot',
            links: { salesforce: p.sfId, hubspot: p.hsId },
            fields: expect.objectContaining({ email: p.email }),
          }),
        ),
      ),
    });
    const text = await run(['quarantine', 'list']);
    expect(text.stdout).toMatch(/^2 quarantined deletes/);
  });

  it('approve: the delete propagates to Salesforce', async () => {
    const p = at(1);
    const res = await run(['quarantine', 'approve', `salesforce:contact:${p.sfId}`]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^written: salesforce 1 deleted$/m);
    expect(sfContact(p.sfId)).toBeUndefined();
    const r = await record(p.canonicalId);
    expect(r?.tombstone).toMatchObject({ status: 'deleted', system: 'hubspot' });
    expect(r?.gone).toEqual({ hubspot: expect.any(Number), salesforce: expect.any(Number) });
  });

  it('reject: the record comes back, created again in HubSpot', async () => {
    const p = at(2);
    const res = await run(['quarantine', 'reject', p.canonicalId]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^written: hubspot 1 created$/m);
    const back = boxes.hubspot
      .list('contacts')
      .filter((c) => normalizeEmail(String(c.properties.email)) === p.email);
    expect(back).toHaveLength(1);
    expect(back[0]?.id).not.toBe(p.hsId);
    expect(sfContact(p.sfId)).toBeDefined();
    const r = await record(p.canonicalId);
    expect(r?.tombstone).toBeUndefined();
    expect(r?.links).toEqual({ salesforce: p.sfId, hubspot: back[0]?.id });
    const { audit, oldLink } = await withStore(async (s) => ({
      audit: await s.audit(p.canonicalId),
      oldLink: (await s.getLinks('hubspot', 'contact', [p.hsId])).get(p.hsId),
    }));
    expect(audit.map((a) => a.reason)).toContain('rejected');
    // The deleted HubSpot record no longer leads to it: a repeated delete notice cannot quarantine it again.
    expect(oldLink).toBeUndefined();

    const again = await run(['quarantine', 'approve', p.canonicalId]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`fieldsync: quarantine approve: ${p.canonicalId} is not quarantined\n`);
  });
});

describe('fieldsync link', () => {
  it('refuses a missing target, a target of another object, a record that is not held', async () => {
    const company = await withStore(async (s) => (await s.listRecords('company'))[0]?.id ?? '');
    const missing = await run(['link', `salesforce:contact:${heldSfId}`, 'contact_000000000000000000000000']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('fieldsync: link: no record contact_000000000000000000000000\n');
    const other = await run(['link', `salesforce:contact:${heldSfId}`, company]);
    expect(other.stderr).toBe(`fieldsync: link: ${company} is a company, not a contact\n`);
    const notHeld = await run(['link', `salesforce:contact:${at(4).sfId}`, at(5).canonicalId]);
    expect(notHeld.code).toBe(2);
    expect(notHeld.stderr).toMatch(/is not held as an ambiguous match/);
  });

  it('merges a held record into a target not yet in that system; the link moves, both systems agree', async () => {
    const res = await run(['link', `salesforce:contact:${heldSfId}`, hubspotOnly.canonicalId]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    // The chosen record's values stand (lastName); the held one fills its blanks (title).
    expect(res.stdout).toMatch(/^written: salesforce 1 updated; hubspot 1 updated$/m);
    expect(hsContact(hubspotOnly.hsId)?.properties).toMatchObject({ lastname: 'Held', jobtitle: 'Buyer' });
    expect(sfContact(heldSfId)).toMatchObject({ LastName: 'Held', Title: 'Buyer' });
    const linked = await withStore(async (s) => ({
      link: (await s.getLinks('salesforce', 'contact', [heldSfId])).get(heldSfId),
      target: (await s.getRecords('contact', [hubspotOnly.canonicalId])).get(hubspotOnly.canonicalId),
      held: (await s.getRecords('contact', [canonicalIdFor('salesforce', 'contact', heldSfId)])).get(
        canonicalIdFor('salesforce', 'contact', heldSfId),
      ),
    }));
    expect(linked.link).toBe(hubspotOnly.canonicalId);
    expect(linked.target?.links).toEqual({ hubspot: hubspotOnly.hsId, salesforce: heldSfId });
    expect(linked.target?.hold).toBeUndefined();
    expect(linked.held).toMatchObject({
      links: {},
      tombstone: { status: 'merged', mergedInto: hubspotOnly.canonicalId },
    });
    expect(linked.held?.hold).toBeUndefined();
  });

  it('a duplicate in the same system is archived only with --archive-duplicate', async () => {
    const p = at(3);
    const titles = [sfContact(p.sfId)?.Title, hsContact(p.hsId)?.properties.jobtitle];
    const refused = await run(['link', `salesforce:contact:${dupSfId}`, p.canonicalId]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `fieldsync: link: ${p.canonicalId} is already linked in salesforce, so salesforce ${dupSfId} would be a duplicate there; add --archive-duplicate to merge and archive it\n`,
    );
    expect(sfContact(dupSfId)).toBeDefined();

    const res = await run(['link', `salesforce:contact:${dupSfId}`, p.canonicalId, '--archive-duplicate']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`salesforce ${dupSfId} is a duplicate there: archived`);
    expect(res.stdout).toMatch(/^written: salesforce 1 deleted$/m);
    expect(sfContact(dupSfId)).toBeUndefined();
    // The chosen record's values stand; the duplicate's title does not overwrite them.
    expect([sfContact(p.sfId)?.Title, hsContact(p.hsId)?.properties.jobtitle]).toEqual(titles);
    const link = await withStore(async (s) =>
      (await s.getLinks('salesforce', 'contact', [dupSfId])).get(dupSfId),
    );
    // The duplicate's link stays with the merged tombstone, so its delete notice cannot reach the target.
    expect(link).toBe(canonicalIdFor('salesforce', 'contact', dupSfId));
  });
});

describe('fieldsync forget', () => {
  it('without --delete-everywhere: nothing written, the records stay, no personal value kept', async () => {
    const p = at(5);
    const sfBefore = sfContact(p.sfId);
    const hsBefore = hsContact(p.hsId);
    const res = await run(['forget', `  ${p.email.toUpperCase()} `]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^written: nothing$/m);
    expect(res.stdout).not.toContain(p.email);
    expect(sfContact(p.sfId)).toEqual(sfBefore);
    expect(hsContact(p.hsId)).toEqual(hsBefore);
    const r = await record(p.canonicalId);
    expect(r).toMatchObject({
      fields: {},
      shadows: {},
      tombstone: { status: 'forgotten', system: 'fieldsync' },
    });
    expect(Object.keys(r?.gone ?? {}).sort()).toEqual(['hubspot', 'salesforce']);

    const exported = await run(['export']);
    expect(exported.code).toBe(0);
    expect(exported.stdout.toLowerCase()).not.toContain(p.email);
    const own = exported.stdout
      .trimEnd()
      .split('\n')
      .map((l): Record<string, unknown> => JSON.parse(l))
      .filter((i) => i.canonicalId === p.canonicalId && i.kind === 'audit');
    expect(own.length).toBeGreaterThan(1);
    for (const row of own) expect([row.old, row.new, row.kept]).toEqual([null, null, null]);
  });

  it('--delete-everywhere: gone from both systems, no key, blank audit, and a sync does not bring it back', async () => {
    const p = at(6);
    const res = await run(['forget', p.email, '--delete-everywhere']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^written: salesforce 1 deleted; hubspot 1 deleted$/m);
    expect(sfContact(p.sfId)).toBeUndefined();
    expect(hsContact(p.hsId)).toBeUndefined();
    const state = await withStore(async (s) => ({
      key: await s.getKey('contact', 'email', p.email),
      audit: await s.audit(p.canonicalId),
    }));
    expect(state.key).toBeUndefined();
    expect(state.audit.length).toBeGreaterThan(1);
    for (const row of state.audit) expect([row.old, row.new, row.kept]).toEqual([null, null, null]);
    expect(state.audit.map((r) => r.reason)).toContain('forgotten');

    const sync = await run(['sync', '--once', '--json']);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    expect(sfContact(p.sfId)).toBeUndefined();
    expect(
      boxes.salesforce.list('Contact').filter((c) => normalizeEmail(String(c.Email)) === p.email),
    ).toEqual([]);
    expect(
      boxes.hubspot.list('contacts').filter((c) => normalizeEmail(String(c.properties.email)) === p.email),
    ).toEqual([]);
    expect(await record(p.canonicalId)).toMatchObject({ fields: {}, tombstone: { status: 'forgotten' } });

    const twice = await run(['forget', p.email]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toBe(
      'fieldsync: forget: no contact has that email (never synced, or already forgotten)\n',
    );
  });
});
