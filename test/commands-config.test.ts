// `fieldsync config check` against the sandboxes' own field lists, and `fieldsync plan` as a dry run
// over a state built by real syncs (child processes of bin/fieldsync.ts, one config each).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../config/index.ts';
import { normalizeEmail } from '../engine/index.ts';
import projectConfig from '../fieldsync.config.ts';
import { main, startSandboxes } from '../local/cli.ts';
import type { PlanReport } from '../local/commands/plan.ts';
import { withState } from '../local/commands/state.ts';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'fieldsync.ts');

let boxes: Awaited<ReturnType<typeof startSandboxes>>;
let dir: string;
let stateDir: string;

function baseEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SALESFORCE|HUBSPOT|FIELDSYNC)_/.test(k)),
  );
  return { ...env, ...boxes.env, FIELDSYNC_STATE_DIR: stateDir };
}

/** The project config, changed by `mutate`, as a config file in the temp dir. */
function writeConfig(name: string, mutate: (c: ConfigInput) => void = () => undefined): string {
  const config = structuredClone(projectConfig);
  mutate(config);
  const file = join(dir, `${name}.config.ts`);
  writeFileSync(
    file,
    `import { defineConfig } from '${join(root, 'config', 'index.ts')}';\nexport default defineConfig(${JSON.stringify(config, null, 2)});\n`,
  );
  return file;
}

function contactFields(c: ConfigInput) {
  const contact = c.objects.contact;
  if (contact === undefined) throw new Error('the project config has no contact');
  return contact.fields;
}

/** Run the CLI in this process, collecting its stdout lines. */
async function cli_(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await main(args, baseEnv(), (l) => lines.push(l));
  return { code, lines };
}

async function syncWith(config: string): Promise<{ errors: number }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [cli, 'sync', '--once', '--json', '--config', config],
    { env: baseEnv() },
  );
  return JSON.parse(stdout);
}

async function plan(config: string): Promise<PlanReport> {
  const { code, lines } = await cli_(['plan', '--json', '--config', config]);
  expect(code).toBe(0);
  return JSON.parse(lines.join('\n'));
}

function totalWrites(report: PlanReport): number {
  return Object.values(report.systems)
    .flatMap((objects) => Object.values(objects))
    .reduce((n, p) => n + p.create + p.update + p.delete, 0);
}

async function storedRecords(): Promise<string> {
  return withState(stateDir, {}, async (s) =>
    JSON.stringify(
      await Promise.all(
        (['company', 'contact', 'deal'] as const).map(async (o) =>
          (await s.store.listRecords(o)).sort((a, b) => a.id.localeCompare(b.id)),
        ),
      ),
    ),
  );
}

beforeAll(async () => {
  boxes = await startSandboxes({ seed: 3, people: 12 });
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-cmd-config-'));
  stateDir = join(dir, 'state');
});

afterAll(async () => {
  await boxes?.close();
  rmSync(dir, { recursive: true, force: true });
});

const region = {
  type: 'enum',
  salesforce: 'Region__c',
  hubspot: 'region',
  values: {
    salesforce: { europe: 'EMEA', americas: 'Americas' },
    hubspot: { europe: 'emea', americas: 'amer' },
  },
} as const;

describe('fieldsync config check', () => {
  it('passes the project config: every field, enum value and unique id field exists in both sandboxes', async () => {
    const { code, lines } = await cli_(['config', 'check']);
    expect(lines).toEqual(['config check: every mapped field exists in both systems with a compatible type']);
    expect(code).toBe(0);
  });

  it('reports a custom field on both sides until it is created there', async () => {
    const file = writeConfig('region', (c) => {
      contactFields(c).region = structuredClone(region);
    });
    const before = await cli_(['config', 'check', '--config', file]);
    expect(before.code).toBe(1);
    expect(before.lines).toEqual([
      'config check: 2 problem(s)',
      '  salesforce Contact.Region__c: unknown field',
      '  hubspot contacts.region: unknown field',
    ]);

    boxes.salesforce.addField('Contact', {
      name: 'Region__c',
      type: 'picklist',
      picklistValues: ['EMEA', 'Americas', 'APAC'],
    });
    boxes.hubspot.addProperty('contacts', { name: 'region', type: 'enumeration', options: ['emea', 'amer'] });
    const after = await cli_(['config', 'check', '--config', file]);
    expect(after.lines).toEqual([
      'config check: every mapped field exists in both systems with a compatible type',
    ]);
    expect(after.code).toBe(0);
  });

  it('reports type mismatches and enum values a system does not allow', async () => {
    const file = writeConfig('mismatch', (c) => {
      const company = c.objects.company;
      if (company === undefined) throw new Error('no company');
      company.fields.employees = { type: 'number', salesforce: 'Name', hubspot: 'name' };
      contactFields(c).region = {
        ...structuredClone(region),
        values: { hubspot: { europe: 'emea', asia: 'apac' } },
      };
    });
    const { code, lines } = await cli_(['config', 'check', '--json', '--config', file]);
    expect(code).toBe(1);
    const report = JSON.parse(lines.join('\n'));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      {
        system: 'salesforce',
        object: 'Account',
        field: 'Name',
        problem: expect.stringMatching(/^type mismatch: config says number, salesforce says string/),
      },
      {
        system: 'hubspot',
        object: 'companies',
        field: 'name',
        problem: expect.stringMatching(/^type mismatch: config says number, hubspot says string/),
      },
      {
        system: 'hubspot',
        object: 'contacts',
        field: 'region',
        problem: 'enum values not allowed by hubspot: apac',
      },
    ]);
  });
});

describe('fieldsync plan', () => {
  it('shows nothing to write right after a sync under the same config', async () => {
    const project = writeConfig('project');
    expect((await syncWith(project)).errors).toBe(0);
    const report = await plan(project);
    expect(totalWrites(report)).toBe(0);
    expect(report.unknown).toEqual([]);
    expect(report.records.contact).toBeGreaterThan(0);
    const text = await cli_(['plan', '--config', project]);
    expect(text.lines[0]).toMatch(/^plan: nothing to write \(local state: \d+ company, \d+ contact, 0 deal/);
  });

  it('shows the Salesforce title updates a change to always:hubspot implies, and writes nothing', async () => {
    // HubSpot users retitle three contacts while titles are not synced: the systems now differ.
    const hsByEmail = new Map(
      boxes.hubspot.list('contacts').map((c) => [normalizeEmail(String(c.properties.email)), c]),
    );
    const pairs = boxes.salesforce
      .list('Contact')
      .map((c) => hsByEmail.get(normalizeEmail(String(c.Email))))
      .filter((c) => c !== undefined)
      .slice(0, 3);
    expect(pairs).toHaveLength(3);
    pairs.forEach((c, i) => {
      boxes.hubspot.update('contacts', c.id, { jobtitle: `HubSpot Title ${i}` });
    });
    const unsynced = writeConfig('title-none', (c) => {
      contactFields(c).title = {
        type: 'string',
        salesforce: 'Title',
        hubspot: 'jobtitle',
        direction: 'none',
      };
    });
    expect((await syncWith(unsynced)).errors).toBe(0);
    expect(pairs.map((c) => boxes.hubspot.get('contacts', c.id)?.properties.jobtitle)).toEqual([
      'HubSpot Title 0',
      'HubSpot Title 1',
      'HubSpot Title 2',
    ]);
    // Nothing pending under that config: the HubSpot edits stay in HubSpot.
    expect(totalWrites(await plan(unsynced))).toBe(0);

    const always = writeConfig('title-always-hubspot', (c) => {
      contactFields(c).title = {
        type: 'string',
        salesforce: 'Title',
        hubspot: 'jobtitle',
        policy: 'always:hubspot',
      };
    });
    const stats = [boxes.salesforce.stats.total, boxes.hubspot.stats.total];
    const state = await storedRecords();

    const report = await plan(always);
    expect(report.systems.salesforce.contact).toMatchObject({
      create: 0,
      update: 3,
      delete: 0,
      fields: { title: 3 },
      repicked: { title: 3 },
    });
    expect(report.systems.hubspot.contact).toMatchObject({ create: 0, update: 0, delete: 0 });
    expect(totalWrites(report)).toBe(3);
    const text = await cli_(['plan', '--config', always]);
    expect(text.lines).toContain('salesforce Contact: 0 to create, 3 to update, 0 to delete');
    expect(text.lines.some((l) => /^ {2}title {2}3 \(3 because/.test(l))).toBe(true);

    // A dry run: neither system saw a call, the state is as it was.
    expect([boxes.salesforce.stats.total, boxes.hubspot.stats.total]).toEqual(stats);
    expect(await storedRecords()).toBe(state);
  });

  it('lists fields newly mapped in the config as unknown until the next poll', async () => {
    const file = writeConfig('plan-region', (c) => {
      contactFields(c).region = structuredClone(region);
    });
    const report = await plan(file);
    expect(report.unknown).toEqual([
      { system: 'salesforce', object: 'contact', field: 'region', native: 'Region__c' },
      { system: 'hubspot', object: 'contact', field: 'region', native: 'region' },
    ]);
    expect(report.systems.salesforce.contact?.fields.region).toBeUndefined();
    const text = await cli_(['plan', '--config', file]);
    expect(text.lines).toContain(
      'hubspot contact.region (region): newly mapped; values unknown until the next poll reads them',
    );
  });

  it('needs a state, not credentials', async () => {
    const lines: string[] = [];
    const env = { PATH: process.env.PATH, FIELDSYNC_STATE_DIR: join(dir, 'none') };
    expect(await main(['plan'], env, (l) => lines.push(l))).toBe(2);
  });
});
