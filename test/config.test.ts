// The config file: validated at load with errors naming the key; a broken config stops a sync
// before any call to either system.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { type ConfigInput, loadConfigFile, resolveConfig } from '../config/index.ts';
import { main, startSandboxes } from '../local/cli.ts';
import { ConfigError } from '../runtime/config.ts';

const base: ConfigInput = {
  objects: {
    company: {
      salesforce: 'Account',
      hubspot: 'companies',
      matchKeys: ['domain'],
      fields: {
        name: { type: 'string', salesforce: 'Name', hubspot: 'name' },
        domain: { type: 'domain', salesforce: 'Website', hubspot: 'domain' },
      },
    },
    contact: {
      salesforce: 'Contact',
      hubspot: 'contacts',
      matchKeys: ['email'],
      fields: {
        email: { type: 'email', salesforce: 'Email', hubspot: 'email' },
        company: {
          type: 'reference',
          to: 'company',
          salesforce: 'AccountId',
          hubspot: { association: 'companies' },
        },
      },
    },
  },
};

function broken(mutate: (c: ConfigInput & Record<string, unknown>) => void): () => unknown {
  const copy = structuredClone(base) as ConfigInput & Record<string, unknown>;
  mutate(copy);
  return () => resolveConfig(copy, 'test.config.ts');
}

describe('config validation', () => {
  it('resolves the project config into a model and one view per system', () => {
    expect(DEFAULT_CONFIG.objects).toEqual(expect.arrayContaining(['company', 'contact']));
    expect(DEFAULT_CONFIG.model.contact?.fields.company).toEqual({ kind: 'reference', refObject: 'company' });
    expect(DEFAULT_CONFIG.systems.salesforce.objects.contact?.native).toBe('Contact');
    expect(DEFAULT_CONFIG.systems.hubspot.objects.contact?.refs).toEqual([
      { name: 'company', refObject: 'company', native: 'companies' },
    ]);
  });

  it.each([
    [
      'a bad policy',
      (c: ConfigInput) => Object.assign(c.objects.contact?.fields.email ?? {}, { policy: 'prefer:zoho' }),
      /objects\.contact\.fields\.email\.policy: expected 'lastWriterWins', 'prefer:<system>'/,
    ],
    [
      'a bad direction',
      (c: ConfigInput) => Object.assign(c.objects.contact?.fields.email ?? {}, { direction: 'to:nowhere' }),
      /objects\.contact\.fields\.email\.direction: expected 'both', 'none' or 'to:<system>'/,
    ],
    [
      'an unknown field type',
      (c: ConfigInput) => Object.assign(c.objects.contact?.fields.email ?? {}, { type: 'text' }),
      /objects\.contact\.fields\.email\.type/,
    ],
    [
      'a typo in a key',
      (c: ConfigInput) => Object.assign(c.objects.contact ?? {}, { matchkeys: ['email'] }),
      /objects\.contact: .*matchkeys/i,
    ],
    [
      'a match key that is no field',
      (c: ConfigInput) => Object.assign(c.objects.contact ?? {}, { matchKeys: ['mail'] }),
      /objects\.contact\.matchKeys: names 'mail', which is not a field of contact/,
    ],
    [
      'a reference to an undeclared object',
      (c: ConfigInput) => Object.assign(c.objects.contact?.fields.company ?? {}, { to: 'deal' }),
      /objects\.contact\.fields\.company\.to: points at 'deal', which is not declared/,
    ],
    [
      'a reference mapped to a HubSpot property',
      (c: ConfigInput) => Object.assign(c.objects.contact?.fields.company ?? {}, { hubspot: 'company' }),
      /objects\.contact\.fields\.company\.hubspot: a reference is carried by an association/,
    ],
    [
      'value maps on a non-enum',
      (c: ConfigInput) =>
        Object.assign(c.objects.contact?.fields.email ?? {}, { values: { hubspot: { a: 'b' } } }),
      /objects\.contact\.fields\.email\.values: only an enum has value maps/,
    ],
    [
      'a bad country',
      (c: ConfigInput) => Object.assign(c, { defaultCountry: 'XX' }),
      /defaultCountry: expected an ISO 3166/,
    ],
    [
      'a bad filter',
      (c: ConfigInput) =>
        Object.assign(c.objects.contact ?? {}, {
          filters: { hubspot: [{ field: 'lifecyclestage', operator: 'in' }] },
        }),
      /objects\.contact\.filters\.hubspot\.0\.values: is required for 'in'/,
    ],
  ])('names the key for %s', (_name, mutate, message) => {
    const run = broken(mutate);
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });

  it('maps a custom field with config alone, with an enum map per system', () => {
    const config = resolveConfig({
      ...base,
      objects: {
        ...base.objects,
        contact: {
          salesforce: 'Contact',
          hubspot: 'contacts',
          matchKeys: ['email'],
          fields: {
            email: { type: 'email', salesforce: 'Email', hubspot: 'email' },
            region: {
              type: 'enum',
              salesforce: 'Region__c',
              hubspot: 'region',
              values: { hubspot: { EMEA: 'emea', Americas: 'americas' } },
              policy: 'prefer:salesforce',
            },
          },
        },
      },
    });
    expect(config.model.contact?.fields.region).toEqual({
      kind: 'enum',
      policy: { kind: 'prefer', system: 'salesforce' },
    });
    expect(config.systems.salesforce.objects.contact?.fields.find((f) => f.name === 'region')).toEqual({
      name: 'region',
      kind: 'enum',
      native: 'Region__c',
    });
    expect(config.systems.hubspot.objects.contact?.fields.find((f) => f.name === 'region')?.values).toEqual({
      EMEA: 'emea',
      Americas: 'americas',
    });
  });

  it('reports a missing file and a file without a default export', async () => {
    await expect(loadConfigFile('/nonexistent/fieldsync.config.ts')).rejects.toThrow(/config file not found/);
    const dir = mkdtempSync(join(tmpdir(), 'fieldsync-config-'));
    try {
      writeFileSync(join(dir, 'empty.config.ts'), 'export const x = 1;\n');
      await expect(loadConfigFile(join(dir, 'empty.config.ts'))).rejects.toThrow(/has no default export/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a broken config stops fieldsync sync before any write', () => {
  let boxes: Awaited<ReturnType<typeof startSandboxes>>;
  let dir: string;
  beforeAll(async () => {
    boxes = await startSandboxes({ people: 10 });
    dir = mkdtempSync(join(tmpdir(), 'fieldsync-broken-'));
  });
  afterAll(async () => {
    await boxes.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 with one line naming the key, and neither system saw a call', async () => {
    const file = join(dir, 'broken.config.ts');
    const root = join(import.meta.dirname, '..');
    writeFileSync(
      file,
      `import { defineConfig } from '${join(root, 'config', 'index.ts')}';\nexport default defineConfig(${JSON.stringify(
        {
          ...base,
          objects: {
            ...base.objects,
            contact: {
              ...base.objects.contact,
              fields: {
                email: { type: 'email', salesforce: 'Email', hubspot: 'email', policy: 'always:zoho' },
              },
            },
          },
        },
      )});\n`,
    );
    const env = { ...process.env, ...boxes.env, FIELDSYNC_STATE_DIR: join(dir, 'state') };
    const result = await promisify(execFile)(
      process.execPath,
      [join(root, 'bin', 'fieldsync.ts'), 'sync', '--once', '--config', file],
      { env },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/broken\.config\.ts: objects\.contact\.fields\.email\.policy: expected/);
    expect(boxes.salesforce.stats.total).toBe(0);
    expect(boxes.hubspot.stats.total).toBe(0);
  });

  const configModule = join(import.meta.dirname, '..', 'config', 'index.ts');
  it.each([
    [
      'a syntax error',
      `import { defineConfig } from '${configModule}';\nexport default defineConfig({ objects: { contact: { salesforce: 'Contact' hubspot: 'contacts' } } });\n`,
      // In-process the test runner's transform loads the file (no line number; the binary's test has it).
      /: cannot be loaded: /,
    ],
    [
      'a module that throws',
      "throw new Error('config module failed');\n",
      /: cannot be loaded: config module failed$/,
    ],
    ['no default export', 'export const config = {};\n', /: has no default export/],
    [
      'a getter that throws',
      "export default { get objects() { throw new Error('getter failed'); } };\n",
      /: cannot be read: getter failed$/,
    ],
    ['an unknown key', 'export default { objects: {}, objectz: {} };\n', /: Unrecognized key: "objectz"$/],
  ])('config check and sync --once exit 2 on %s, with one line and no call', async (name, text, message) => {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.config.ts`);
    writeFileSync(file, text);
    const env = { ...process.env, ...boxes.env, FIELDSYNC_STATE_DIR: join(dir, 'state') };
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    try {
      for (const argv of [
        ['config', 'check', '--config', file],
        ['sync', '--once', '--config', file],
      ]) {
        errors.length = 0;
        expect(await main(argv, env, () => {})).toBe(2);
        expect(errors).toHaveLength(1);
        expect(errors[0]?.split('\n')).toHaveLength(1);
        expect(errors[0]).toMatch(new RegExp(`^fieldsync: ${file}`));
        expect(errors[0]).toMatch(message);
      }
    } finally {
      spy.mockRestore();
    }
    expect(boxes.salesforce.stats.total).toBe(0);
    expect(boxes.hubspot.stats.total).toBe(0);
  });

  it('the real binary: config check on a file that does not parse exits 2 with the line, no call', async () => {
    const file = join(dir, 'unparsable.config.ts');
    writeFileSync(
      file,
      "export default {\n  objects: {\n    contact: { salesforce: 'Contact' hubspot: 1 },\n  },\n};\n",
    );
    const root = join(import.meta.dirname, '..');
    const env = { ...process.env, ...boxes.env, FIELDSYNC_STATE_DIR: join(dir, 'state') };
    const result = await promisify(execFile)(
      process.execPath,
      [join(root, 'bin', 'fieldsync.ts'), 'config', 'check', '--config', file],
      { env },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^fieldsync: ${file}:3: cannot be loaded: .+\n$`));
    expect(boxes.salesforce.stats.total).toBe(0);
    expect(boxes.hubspot.stats.total).toBe(0);
  });
});
