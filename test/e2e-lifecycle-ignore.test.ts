// The `ignore` delete policy and ambiguous identity matches, end to end, with a config file of
// its own (contacts: deletes ignored).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEmail } from '../engine/index.ts';
import { startSandboxes } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { syncCycle as runCycle, totalWriteCalls } from './support/sync.ts';

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let stack: EmbeddedStack;
let dir: string;

const syncCycle = () => runCycle(stack);
const writeCalls = totalWriteCalls;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-ignore-'));
  const root = join(import.meta.dirname, '..');
  const file = join(dir, 'ignore.config.ts');
  writeFileSync(
    file,
    `import base from '${join(root, 'fieldsync.config.ts')}';
import { defineConfig } from '${join(root, 'config', 'index.ts')}';
const contact = base.objects.contact;
if (contact === undefined) throw new Error('the project config has no contact');
export default defineConfig({ ...base, objects: { company: base.objects.company, contact: { ...contact, deletes: 'ignore' } } });
`,
  );
  boxes = await startSandboxes({ seed: 5, people: 16 });
  stack = await startEmbedded({
    stateDir: join(dir, 'state'),
    credentials: { ...boxes.env, FIELDSYNC_CONFIG: file },
  });
  await syncCycle();
  await syncCycle();
});

afterAll(async () => {
  await stack?.stop();
  await boxes?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ignore and ambiguity', () => {
  it('ignore: a contact deleted in HubSpot stays in Salesforce and is never recreated in HubSpot', async () => {
    const hs = boxes.hubspot.list('contacts')[0];
    if (hs === undefined) throw new Error('no contact');
    const email = normalizeEmail(String(hs.properties.email));
    const sfBefore = boxes.salesforce.list('Contact').find((c) => normalizeEmail(String(c.Email)) === email);
    expect(sfBefore).toBeDefined();
    boxes.hubspot.archive('contacts', hs.id);
    const s = await syncCycle();
    expect(writeCalls(s)).toBe(0);
    expect(boxes.salesforce.list('Contact').some((c) => c.Id === sfBefore?.Id)).toBe(true);
    // An edit in Salesforce later updates nothing in HubSpot, and creates nothing there.
    boxes.salesforce.update('Contact', sfBefore?.Id ?? '', { Title: 'Still here' });
    const after = await syncCycle();
    expect(writeCalls(after)).toBe(0);
    expect(
      boxes.hubspot.list('contacts').some((c) => normalizeEmail(String(c.properties.email)) === email),
    ).toBe(false);
  });

  it('ambiguous: a second Salesforce contact with an email already linked is held, synced nowhere, and audited', async () => {
    const linked = boxes.salesforce
      .list('Contact')
      .find((c) => typeof c.Email === 'string' && c.Email !== '');
    if (linked === undefined) throw new Error('no contact with an email');
    const hsBefore = boxes.hubspot.list('contacts').length;
    const twin = boxes.salesforce.create('Contact', {
      LastName: 'Twin',
      Email: String(linked.Email).toUpperCase(),
    });
    const s = await syncCycle();
    expect(s.ambiguous).toBe(1);
    expect(writeCalls(s)).toBe(0);
    expect(boxes.hubspot.list('contacts')).toHaveLength(hsBefore);
    const id = (await stack.store.getLinks('salesforce', 'contact', [twin.Id])).get(twin.Id);
    if (id === undefined) throw new Error('the twin is not stored');
    const record = (await stack.store.getRecords('contact', [id])).get(id);
    expect(record?.hold?.reason).toBe('ambiguous');
    expect((await stack.store.audit(id)).some((r) => r.reason === 'ambiguous')).toBe(true);
    expect(writeCalls(await syncCycle())).toBe(0);
  });
});
