// Bad input at the config boundary: arbitrary mutations of the project's fieldsync.config.ts object
// (wrong types, unknown keys, unknown fields, systems and policies, prototype names, huge and cyclic
// values, throwing getters) and broken config files (syntax errors, throwing modules, bad or missing
// default exports). Each is either a valid config or one ConfigError that names the file and the key,
// never another error or a stack trace. (The CLI's exit code 2 before any call: test/config.test.ts.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type ResolvedConfig, resolveConfig } from '../config/index.ts';
import { SYSTEMS } from '../connectors/systems.ts';
import projectConfig from '../fieldsync.config.ts';
import { ConfigError } from '../runtime/config.ts';
import { fuzzRuns } from './support/fuzz.ts';

const SOURCE = 'fieldsync.config.ts';
type Key = string | number;

function isContainer(v: unknown): v is Record<Key, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Every path in a JSON-like tree (objects and arrays), the root included. */
function pathsOf(value: unknown, at: Key[] = []): Key[][] {
  if (!isContainer(value)) return [at];
  return [
    at,
    ...Object.keys(value).flatMap((k) => pathsOf(value[k], [...at, Array.isArray(value) ? Number(k) : k])),
  ];
}

const PROJECT_PATHS = pathsOf(projectConfig);

/** Names that collide with Object.prototype members, and strings that look like config vocabulary. */
const TRICKY_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'prototype'];
const VOCABULARY = [
  'prefer:zoho',
  'always:',
  'prefer:salesforce',
  'always:hubspot',
  'to:nowhere',
  'to:hubspot',
  'lastWriterWins',
  'both',
  'none',
  'reference',
  'enum',
  'email',
  'Contact',
  'companies',
  'contact',
  'deal',
  'ticket',
  'quarantine',
  'XX',
  'DE',
  ...TRICKY_NAMES,
];

interface Mutation {
  kind: 'set' | 'delete' | 'add' | 'getter';
  path: Key[];
  describe: string;
}

/** Values of the wrong type, out-of-range numbers, huge and cyclic ones, and near-valid strings. */
const wrongValue: fc.Arbitrary<{ label: string; make: (root: unknown) => unknown }> = fc.oneof(
  fc
    .constantFrom<unknown>(
      null,
      undefined,
      true,
      0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1e300,
      '',
      ' ',
      [],
      {},
    )
    .map((v) => ({ label: String(v), make: () => v })),
  fc.constantFrom(...VOCABULARY).map((v) => ({ label: v, make: () => v })),
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ label: 'json', make: () => v })),
  fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 4 }).map((v) => ({ label: 'array', make: () => v })),
  fc.constant({ label: 'a 1 MB string', make: () => 'x'.repeat(1 << 20) }),
  fc.constant({ label: 'a bigint', make: () => 10n }),
  fc.constant({ label: 'a function', make: () => () => 'email' }),
  fc.constant({ label: 'a Date', make: () => new Date(0) }),
  fc.constant({ label: 'a Map', make: () => new Map([['email', 'x']]) }),
  fc.constant({ label: 'a symbol', make: () => Symbol('x') }),
  fc.constant({ label: 'the root (a cycle)', make: (root: unknown) => root }),
  fc.constant({
    label: 'an object holding itself',
    make: () => {
      const o: Record<string, unknown> = { type: 'string', salesforce: 'Title' };
      o.hubspot = o;
      return o;
    },
  }),
  fc.constant({
    label: '5,000 fields',
    make: () =>
      Object.fromEntries(
        Array.from({ length: 5_000 }, (_, i) => [
          `f${i}`,
          { type: 'string', salesforce: `F${i}__c`, hubspot: `f${i}` },
        ]),
      ),
  }),
);

const mutation: fc.Arbitrary<Mutation & { apply: (root: Record<Key, unknown>) => void }> = fc
  .tuple(
    fc.constantFrom(...PROJECT_PATHS),
    fc.constantFrom<Mutation['kind']>('set', 'delete', 'add', 'getter'),
    wrongValue,
    fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(...VOCABULARY)),
  )
  .map(([path, kind, value, key]) => {
    const parentPath = path.slice(0, -1);
    const last = path.at(-1);
    const target = kind === 'add' ? path : parentPath;
    const name = kind === 'add' ? key : last;
    return {
      kind: kind === 'add' || name !== undefined ? kind : 'add',
      path: name === undefined ? path : [...target, name],
      describe: `${kind} ${[...target, name ?? ''].join('.')} ${kind === 'delete' ? '' : value.label}`,
      apply: (root: Record<Key, unknown>) => {
        let parent: unknown = root;
        for (const k of target) {
          // Not through a getter an earlier mutation installed (that is the config's business, not ours).
          const d = isContainer(parent) ? Object.getOwnPropertyDescriptor(parent, k) : undefined;
          parent = d !== undefined && 'value' in d ? d.value : undefined;
        }
        if (!isContainer(parent) || name === undefined) return;
        if (kind === 'delete') delete parent[name];
        else if (kind === 'getter')
          Object.defineProperty(parent, name, {
            enumerable: true,
            configurable: true,
            get: () => {
              throw new Error(`getter at ${String(name)} failed`);
            },
          });
        else parent[name] = value.make(root);
      },
    };
  });

/** Paths semantic checks may name for a change elsewhere (a match key, a reference's target, a field's mapping). */
function relatedPath(named: string, mutations: readonly Mutation[]): boolean {
  const dotted = (p: readonly Key[]) => p.join('.');
  if (
    /(^|\.)(matchKeys|to|hubspot|values)$/.test(named) ||
    named === 'objects' ||
    /^objects\.\w+\.fields\.[^.]+$/.test(named)
  )
    return true;
  return mutations.some((m) => {
    const at = dotted(m.path);
    return (
      named === at || named.startsWith(`${at}.`) || at.startsWith(`${named}.`) || at === '' || named === ''
    );
  });
}

/** What a resolved config promises the engine and connectors. */
function expectCoherent(config: ResolvedConfig): void {
  const reserved = new Set(Object.getOwnPropertyNames(Object.prototype));
  for (const [object, def] of Object.entries(config.model)) {
    if (def === undefined) continue;
    for (const name of Object.keys(def.fields)) expect(reserved.has(name), `${object}.${name}`).toBe(false);
    for (const key of def.matchKeys) {
      expect(Object.hasOwn(def.fields, key), `${object}.matchKeys ${key}`).toBe(true);
      expect(def.fields[key]?.kind).not.toBe('reference');
    }
    for (const f of Object.values(def.fields)) {
      if (f.policy !== undefined && f.policy.kind !== 'lastWriterWins')
        expect(SYSTEMS).toContain(f.policy.system);
      if (f.direction?.kind === 'to') expect(SYSTEMS).toContain(f.direction.system);
      if (f.kind === 'reference') expect(config.objects).toContain(f.refObject);
    }
  }
  for (const view of Object.values(config.systems))
    for (const o of Object.values(view.objects)) {
      if (o === undefined) continue;
      for (const f of [...o.fields, ...o.refs]) expect(f.native).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
    }
  expect(config.fingerprint).toMatch(/^[0-9a-f]{16}$/);
}

function expectConfigError(err: unknown, source: string, mutations: readonly Mutation[]): void {
  if (!(err instanceof ConfigError)) throw new Error(`not a ConfigError: ${String(err)}`, { cause: err });
  const message = err.message;
  expect(message.startsWith(`${source}: `), message).toBe(true);
  expect(message).not.toMatch(/\n\s+at /);
  // `<source>: <key path>: <what is wrong>`, or a message about the whole object.
  const rest = message.slice(source.length + 2);
  const sep = rest.indexOf(': ');
  const named = sep < 0 ? '' : rest.slice(0, sep);
  if (named !== '' && !named.includes(' '))
    expect(
      relatedPath(named, mutations),
      `'${named}' for ${mutations.map((m) => m.describe).join(', ')}`,
    ).toBe(true);
  expect(rest.trim()).not.toBe('');
}

describe('config objects', () => {
  it('the project config resolves and is coherent', () => {
    expectCoherent(resolveConfig(structuredClone(projectConfig), SOURCE));
  });

  it('any mutation of the project config is a coherent config or a ConfigError naming the key', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        const root: unknown = structuredClone(projectConfig);
        if (!isContainer(root)) throw new Error('the project config is not an object');
        for (const m of mutations) m.apply(root);
        let resolved: ResolvedConfig | undefined;
        try {
          resolved = resolveConfig(root, SOURCE);
        } catch (err) {
          expectConfigError(err, SOURCE, mutations);
          return;
        }
        expectCoherent(resolved);
      }),
      fuzzRuns(400),
    );
  });

  it.each(TRICKY_NAMES.filter((n) => n in Object.prototype && /^[a-z]/.test(n)))(
    "a field or match key named '%s' (an Object.prototype member) is refused",
    (name) => {
      const asField = structuredClone(projectConfig);
      const title = asField.objects.contact?.fields.title;
      if (asField.objects.contact === undefined || title === undefined) throw new Error('no contact title');
      asField.objects.contact.fields = { ...asField.objects.contact.fields, [name]: title };
      expect(() => resolveConfig(asField, SOURCE)).toThrow(
        new RegExp(`^${SOURCE}: objects\\.contact\\.fields\\.${name}: `),
      );
      const asKey = structuredClone(projectConfig);
      if (asKey.objects.contact === undefined) throw new Error('no contact');
      asKey.objects.contact.matchKeys = [name];
      expect(() => resolveConfig(asKey, SOURCE)).toThrow(
        `${SOURCE}: objects.contact.matchKeys: names '${name}'`,
      );
    },
  );
});

// ---- files ----------------------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'fieldsync-fuzz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CONFIG_MODULE = join(import.meta.dirname, '..', 'config', 'index.ts');
const PROJECT_TEXT = `import { defineConfig } from '${CONFIG_MODULE}';\nexport default defineConfig(${JSON.stringify(projectConfig, null, 2)});\n`;
const LINE_STARTS = [...PROJECT_TEXT.matchAll(/\n/g)].map((m) => m.index + 1);
let fileNo = 0;

/** File contents that must not load, by what is wrong with them. */
const brokenFile: fc.Arbitrary<{ name: string; text: string | Buffer }> = fc.oneof(
  fc
    .integer({ min: 1, max: PROJECT_TEXT.length - 10 })
    .map((n) => ({ name: `cut after ${n} characters`, text: PROJECT_TEXT.slice(0, n) })),
  fc
    .tuple(
      fc.constantFrom(...LINE_STARTS),
      fc.constantFrom('}', '{', ',,', ')', '"', "'", 'const', ':', '=>', '@', '#', '\\'),
    )
    .map(([at, junk]) => ({
      // At the start of a line, never inside a string literal, where it would be a valid value.
      name: `'${junk}' at ${at}`,
      text: `${PROJECT_TEXT.slice(0, at)}${junk}${PROJECT_TEXT.slice(at)}`,
    })),
  fc
    .constantFrom(
      'new Error("config module failed")',
      'new TypeError("x is not a function")',
      '42',
      'null',
      'undefined',
      '"a string"',
      '{ message: 1 }',
    )
    .map((v) => ({ name: `throw ${v}`, text: `throw ${v};\nexport default {};\n` })),
  fc
    .constantFrom(
      'null',
      '42',
      '"contact"',
      '[]',
      'true',
      '() => ({ objects: {} })',
      'class {}',
      'Promise.resolve({ objects: {} })',
      'new Map()',
      'Symbol("x")',
    )
    .map((v) => ({ name: `export default ${v}`, text: `export default ${v};\n` })),
  fc
    .constantFrom('export const config = {};\n', '', '// nothing here\n', 'export {};\n')
    .map((text) => ({ name: 'no default export', text })),
  fc.constant({ name: 'a missing import', text: `import x from './not-there.ts';\nexport default x;\n` }),
  fc.constant({
    name: 'a throwing getter',
    text: 'export default { get objects() { throw new Error("getter failed"); } };\n',
  }),
  fc.constant({
    name: 'a Proxy that throws',
    text: 'export default new Proxy({}, { get() { throw new Error("trap"); }, ownKeys() { throw new Error("trap"); } });\n',
  }),
  fc
    .constantFrom(
      'enum Mode { A }\n',
      'namespace N { export const x = 1; }\n',
      'class C { constructor(private x: number) {} }\n',
    )
    .map((ts) => ({
      name: `TypeScript strip-only mode cannot run: ${ts.trim()}`,
      text: `${ts}export default { objects: {} };\n`,
    })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
    name: 'bytes that are not UTF-8',
    text: Buffer.concat([Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(bytes)]),
  })),
  fc.constant({
    name: 'a valid file with a bad policy',
    text: PROJECT_TEXT.replace("matchKeys: ['email']", "matchKeys: ['email'], deletes: 'purge'").replace(
      '"deletes": "propagate"',
      '"deletes": "purge"',
    ),
  }),
);

/**
 * Config files are loaded the way the CLI loads them: by Node itself (type stripping), in a worker
 * thread, not through the test runner's own module transform (whose errors read differently).
 */
function startLoader() {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
    parentPort.on('message', async ({ id, path, module }) => {
      try {
        const { loadConfigFile } = await import(module);
        const config = await loadConfigFile(path);
        parentPort.postMessage({ id, result: { ok: true, fingerprint: config.fingerprint } });
      } catch (e) {
        parentPort.postMessage({ id, result: { ok: false, name: e?.name, message: String(e?.message ?? e) } });
      }
    });`,
    { eval: true },
  );
  const pending = new Map<number, (r: LoadResult) => void>();
  worker.on('message', (r: { id: number; result: LoadResult }) => pending.get(r.id)?.(r.result));
  let next = 0;
  return {
    load: (path: string) =>
      new Promise<LoadResult>((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        worker.postMessage({ id, path, module: pathToFileURL(CONFIG_MODULE).href });
      }),
    close: () => worker.terminate(),
  };
}

type LoadResult = { ok: true; fingerprint: string } | { ok: false; name: string; message: string };

describe('config files', () => {
  const loader = startLoader();
  afterAll(() => loader.close());

  it('a broken file is one ConfigError naming the file, whatever is broken', async () => {
    await fc.assert(
      fc.asyncProperty(brokenFile, async (f) => {
        const path = join(dir, `broken-${fileNo++}.config.ts`);
        writeFileSync(path, f.text);
        const result = await loader.load(path);
        if (result.ok) throw new Error(`loaded: ${f.name}`);
        expect(result.name, result.message).toBe('ConfigError');
        expect(result.message.startsWith(path), result.message).toBe(true);
        expect(result.message.split('\n'), result.message).toHaveLength(1);
      }),
      fuzzRuns(60),
    );
  });

  it('a TypeScript syntax error names the line', async () => {
    const path = join(dir, 'syntax.config.ts');
    writeFileSync(path, PROJECT_TEXT.replace('"contacts",', '"contacts" hubspot: 1,'));
    const result = await loader.load(path);
    const line = PROJECT_TEXT.split('\n').findIndex((l) => l.includes('"contacts",')) + 1;
    expect(result).toEqual({
      ok: false,
      name: 'ConfigError',
      message: expect.stringMatching(new RegExp(`^${path}:${line}: cannot be loaded: `)),
    });
  });

  it('the project config loads from a file, with a BOM and CRLF line ends too', async () => {
    const plain = join(dir, 'project.config.ts');
    writeFileSync(plain, PROJECT_TEXT);
    const crlf = join(dir, 'project-crlf.config.ts');
    writeFileSync(crlf, `\uFEFF${PROJECT_TEXT.replace(/\n/g, '\r\n')}`);
    const expected = resolveConfig(structuredClone(projectConfig)).fingerprint;
    expect(await loader.load(plain)).toEqual({ ok: true, fingerprint: expected });
    expect(await loader.load(crlf)).toEqual({ ok: true, fingerprint: expected });
  });
});
