// A changed config applies to the records already synced: the next sync re-settles the fields whose
// policy now picks another system's value (what `fieldsync plan` announced), once.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEmail } from '../engine/index.ts';
import { startSandboxes } from '../local/cli.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let dir: string;

function configWithTitle(name: string, rule: string): string {
  const file = join(dir, `${name}.config.ts`);
  writeFileSync(
    file,
    `import base from '${join(root, 'fieldsync.config.ts')}';
import { defineConfig } from '${join(root, 'config', 'index.ts')}';
const contact = base.objects.contact;
if (contact === undefined) throw new Error('no contact');
export default defineConfig({ ...base, objects: { company: base.objects.company, contact: { ...contact, fields: { ...contact.fields, title: { ...contact.fields.title, type: 'string', ${rule} } } } } });
`,
  );
  return file;
}

async function cli(args: string[]): Promise<string> {
  const env = { ...process.env, ...boxes.env, FIELDSYNC_STATE_DIR: join(dir, 'state') };
  return (await run(process.execPath, [join(root, 'bin', 'fieldsync.ts'), ...args], { env })).stdout;
}

async function sync(config: string) {
  return JSON.parse(await cli(['sync', '--once', '--json', '--config', config]));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-change-'));
  boxes = await startSandboxes({ seed: 21, people: 14 });
});

afterAll(async () => {
  await boxes.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a config change', () => {
  it('re-settles existing records by the new policy, as plan announced, once', async () => {
    const oneWay = configWithTitle('one-way', "direction: 'to:hubspot'");
    const hubspotWins = configWithTitle('hubspot-wins', "policy: 'always:hubspot'");
    await sync(oneWay);
    await sync(oneWay);

    // A HubSpot title edit stays in HubSpot while the field flows one way into HubSpot.
    const hs = boxes.hubspot.list('contacts').find((c) => typeof c.properties.email === 'string');
    if (hs === undefined) throw new Error('no contact');
    const sf = () =>
      boxes.salesforce
        .list('Contact')
        .find((c) => normalizeEmail(String(c.Email)) === normalizeEmail(String(hs.properties.email)));
    const before = sf()?.Title ?? null;
    await new Promise((r) => setTimeout(r, 1100));
    boxes.hubspot.update('contacts', hs.id, { jobtitle: 'Chosen in HubSpot' });
    await sync(oneWay);
    expect(sf()?.Title ?? null).toBe(before);

    const plan = JSON.parse(await cli(['plan', '--json', '--config', hubspotWins]));
    expect(JSON.stringify(plan)).toMatch(/title/);

    const applied = await sync(hubspotWins);
    expect(sf()?.Title).toBe('Chosen in HubSpot');
    expect(applied.written.salesforce.updated).toBeGreaterThanOrEqual(1);
    // Applied once: the next run under the same config writes nothing.
    const again = await sync(hubspotWins);
    expect(again.written.salesforce.calls + again.written.hubspot.calls).toBe(0);
  });
});
