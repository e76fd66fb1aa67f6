// Deletes and merges end to end on the embedded stack, with the project config
// (contacts: deletes propagate; companies: deletes are quarantined).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEmail } from '../engine/index.ts';
import { startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { agreementOf, syncCycle as runCycle, totalWriteCalls } from './support/sync.ts';

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack;
let stateDir: string;

const syncCycle = () => runCycle(stack);
const writeCalls = totalWriteCalls;
const agreement = () => agreementOf(stack, boxes.env);

async function canonicalOf(system: 'salesforce' | 'hubspot', object: 'contact' | 'company', id: string) {
  const cid = (await stack.store.getLinks(system, object, [id])).get(id);
  if (cid === undefined) throw new Error(`${system} ${object} ${id} is not linked`);
  const record = (await stack.store.getRecords(object, [cid])).get(cid);
  if (record === undefined) throw new Error(`no canonical record ${cid}`);
  return record;
}

/** A Salesforce contact and its HubSpot twin, by normalized email. */
function pairs() {
  const hs = new Map(
    boxes.hubspot.list('contacts').map((c) => [normalizeEmail(String(c.properties.email ?? '')), c]),
  );
  return boxes.salesforce.list('Contact').flatMap((c) => {
    const twin = hs.get(normalizeEmail(String(c.Email ?? '')));
    return twin === undefined ? [] : [{ sf: c, hs: twin }];
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'fieldsync-lifecycle-'));
  boxes = await startSandboxes({ seed: 11, people: 24 });
  stack = await startEmbedded({ stateDir, credentials: boxes.env });
  await syncCycle();
  await syncCycle();
});

afterAll(async () => {
  await stack?.stop();
  await boxes?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('deletes', () => {
  it('propagate: a contact deleted in HubSpot is deleted in Salesforce, once', async () => {
    const [pair] = pairs();
    if (pair === undefined) throw new Error('no synced pair');
    boxes.hubspot.archive('contacts', pair.hs.id);
    const s = await syncCycle();
    expect(boxes.salesforce.get('Contact', pair.sf.Id)?.IsDeleted ?? true).toBe(true);
    expect(boxes.salesforce.list('Contact').some((c) => c.Id === pair.sf.Id)).toBe(false);
    const record = await canonicalOf('salesforce', 'contact', pair.sf.Id);
    expect(record.tombstone).toMatchObject({ status: 'deleted', system: 'hubspot' });
    expect(Object.keys(record.gone ?? {}).sort()).toEqual(['hubspot', 'salesforce']);
    expect(s.systems.salesforce?.calls.delete).toBe(1);
    // The Salesforce delete comes back as a change: nothing more to do.
    expect(writeCalls(await syncCycle())).toBe(0);
    expect(writeCalls(await syncCycle())).toBe(0);
  });

  it('quarantine: a company deleted in Salesforce is held, and stays in HubSpot', async () => {
    // A company with no contacts (deleting an Account in Salesforce deletes its contacts too).
    const account = boxes.salesforce.create('Account', {
      Name: 'Short Lived Ltd',
      Website: 'https://short-lived.example',
    });
    await syncCycle();
    const record = await canonicalOf('salesforce', 'company', account.Id);
    const hsId = record.links.hubspot;
    if (hsId === undefined) throw new Error('company not in HubSpot');
    boxes.salesforce.delete('Account', account.Id);
    const s = await syncCycle();
    expect(boxes.hubspot.get('companies', hsId)?.archived).toBe(false);
    const after = await canonicalOf('salesforce', 'company', account.Id);
    expect(after.tombstone).toMatchObject({ status: 'quarantined', system: 'salesforce' });
    expect(writeCalls(s)).toBe(0);
    const audit = await stack.store.audit(after.id);
    expect(audit.some((r) => r.reason === 'quarantined')).toBe(true);
  });
});

describe('merges', () => {
  it('a merge in Salesforce merges the canonical records and archives the HubSpot duplicate', async () => {
    const [a, b] = pairs();
    if (a === undefined || b === undefined) throw new Error('need two synced pairs');
    const winner = await canonicalOf('salesforce', 'contact', a.sf.Id);
    const loser = await canonicalOf('salesforce', 'contact', b.sf.Id);
    boxes.salesforce.merge('Contact', a.sf.Id, [b.sf.Id]);
    await syncCycle();
    await syncCycle();
    const loserAfter = (await stack.store.getRecords('contact', [loser.id])).get(loser.id);
    expect(loserAfter?.tombstone).toMatchObject({ status: 'merged', mergedInto: winner.id });
    expect(boxes.hubspot.get('contacts', b.hs.id)?.archived).toBe(true);
    expect(boxes.hubspot.get('contacts', a.hs.id)?.archived).toBe(false);
    // The loser's Salesforce id now resolves to the winner.
    expect((await stack.store.getLinks('salesforce', 'contact', [b.sf.Id])).get(b.sf.Id)).toBe(winner.id);
    const report = await agreement();
    expect(report.objects.contact?.mismatches).toEqual([]);
  });

  it('a merge in HubSpot (a new record id) continues the canonical record and deletes the Salesforce duplicate', async () => {
    const live = pairs();
    const a = live[2];
    const b = live[3];
    if (a === undefined || b === undefined) throw new Error('need two more synced pairs');
    const first = await canonicalOf('hubspot', 'contact', a.hs.id);
    const second = await canonicalOf('hubspot', 'contact', b.hs.id);
    const merged = boxes.hubspot.merge('contacts', a.hs.id, b.hs.id);
    await syncCycle();
    await syncCycle();
    const survivor = await canonicalOf('hubspot', 'contact', merged.id);
    expect([first.id, second.id]).toContain(survivor.id);
    const other = survivor.id === first.id ? second : first;
    const otherAfter = (await stack.store.getRecords('contact', [other.id])).get(other.id);
    expect(otherAfter?.tombstone).toMatchObject({ status: 'merged', mergedInto: survivor.id });
    // Exactly one of the two Salesforce contacts is left: the duplicate was deleted.
    const sfLeft = [a.sf.Id, b.sf.Id].filter((id) =>
      boxes.salesforce.list('Contact').some((c) => c.Id === id),
    );
    expect(sfLeft).toHaveLength(1);
    expect(survivor.links.salesforce).toBe(sfLeft[0]);
    const report = await agreement();
    expect(report.objects.contact?.mismatches).toEqual([]);
    expect(writeCalls(await syncCycle())).toBe(0);
  });
});
