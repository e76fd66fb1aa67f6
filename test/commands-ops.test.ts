// The operator commands (audit, conflicts, export, import) as child processes of bin/fieldsync.ts,
// against a state built by a real sync on the embedded stack, with one same-field conflict in it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEmail } from '../engine/index.ts';
import { cycle, startSandboxes } from '../local/cli.ts';
import { progressEvery } from '../local/commands/export.ts';
import { openState } from '../local/commands/state.ts';
import { startEmbedded } from '../local/stack.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');
const SEED = 11;
const PEOPLE = 12;

let root: string;
let stateDir: string;
let sfId: string;
let hsId: string;
let canonicalId: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], dir: string, input?: string): Promise<Result> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(SALESFORCE|HUBSPOT|FIELDSYNC)_/.test(k)),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...env, FIELDSYNC_STATE_DIR: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
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
    child.stdin.end(input ?? '');
  });
}

/** Salesforce stamps whole seconds: wait into the next one so a later edit has a later timestamp. */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): Record<string, unknown> {
  const v: unknown = JSON.parse(text);
  if (!isRecord(v)) throw new Error('expected a JSON object');
  return v;
}

function list(v: unknown): Record<string, unknown>[] {
  if (!Array.isArray(v)) throw new Error('expected an array');
  return v.filter(isRecord);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fieldsync-commands-'));
  stateDir = join(root, 'state');
  const boxes = await startSandboxes({ seed: SEED, people: PEOPLE });
  const stack = await startEmbedded({ stateDir, credentials: boxes.env });
  try {
    await cycle(stack);
    await cycle(stack); // our own writes come back as echoes
    const sf = boxes.salesforce.list('Contact')[1];
    if (sf === undefined) throw new Error('no contact');
    const hs = boxes.hubspot
      .list('contacts')
      .find((c) => normalizeEmail(String(c.properties.email)) === normalizeEmail(String(sf.Email)));
    if (hs === undefined) throw new Error('contact not synced');
    sfId = sf.Id;
    hsId = hs.id;
    // The same field on both sides: Salesforce first, HubSpot a second later, so HubSpot's value wins.
    await nextSecond();
    boxes.salesforce.update('Contact', sfId, { LastName: 'EarlierSF' });
    await nextSecond();
    boxes.hubspot.update('contacts', hsId, { lastname: 'LaterHS' });
    await cycle(stack);
    expect(boxes.salesforce.get('Contact', sfId)?.LastName).toBe('LaterHS');
    const link = (await stack.store.getLinks('salesforce', 'contact', [sfId])).get(sfId);
    if (link === undefined) throw new Error('no link');
    canonicalId = link;
  } finally {
    await stack.stop();
    await boxes.close();
  }
});

afterAll(() => {
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

describe('fieldsync audit', () => {
  it('shows the current fields and the history with the conflict, the later value kept', async () => {
    const { code, stdout, stderr } = await run(['audit', `salesforce:contact:${sfId}`], stateDir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`contact ${canonicalId}`);
    expect(stdout).toContain(`links: salesforce ${sfId}, hubspot ${hsId}`);
    expect(stdout).toMatch(/^ {2}lastName +"LaterHS" +hubspot /m);
    expect(stdout).toMatch(/lastName +"EarlierSF" → "LaterHS" +hubspot +\S+ +conflict-won +"LaterHS"$/m);
    expect(stdout).toMatch(/lastName +"\S+" → "EarlierSF" +salesforce +\S+ +edit +"EarlierSF"$/m);
  });

  it('takes a HubSpot link or a canonical id, and --json gives the record and its history in time order', async () => {
    const byHubSpot = await run(['audit', `hubspot:contact:${hsId}`, '--json'], stateDir);
    const byId = await run(['audit', canonicalId, '--json'], stateDir);
    expect(byId.code).toBe(0);
    expect(byHubSpot.stdout).toBe(byId.stdout);
    const report = parseJson(byId.stdout);
    const record = isRecord(report.record) ? report.record : {};
    expect(record.id).toBe(canonicalId);
    expect(record.links).toEqual({ salesforce: sfId, hubspot: hsId });
    expect(record.fields).toMatchObject({ lastName: { value: 'LaterHS', source: 'hubspot' } });
    const history = list(report.history);
    const times = history.map((r) => Number(r.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const conflict = history.filter((r) => String(r.reason).startsWith('conflict'));
    expect(conflict).toEqual([
      expect.objectContaining({
        field: 'lastName',
        old: 'EarlierSF',
        new: 'LaterHS',
        kept: 'LaterHS',
        source: 'hubspot',
        reason: 'conflict-won',
      }),
    ]);
  });

  it('rejects an unknown record or a malformed argument with one line, exit 2', async () => {
    // Only the first two open the state; one process at a time may hold it.
    const unknown = await run(['audit', 'salesforce:contact:003NOPE'], stateDir);
    const noId = await run(['audit', 'contact_000000000000000000000000'], stateDir);
    const [system, missing] = await Promise.all([
      run(['audit', 'pipedrive:contact:1'], stateDir),
      run(['audit'], stateDir),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('fieldsync: audit: no record linked to salesforce:contact:003NOPE\n');
    expect(noId.code).toBe(2);
    expect(noId.stderr).toBe('fieldsync: audit: no record contact_000000000000000000000000\n');
    expect(system.code).toBe(2);
    expect(system.stderr).toBe(
      "fieldsync: audit: 'pipedrive:contact:1': system must be one of salesforce, hubspot\n",
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('fieldsync conflicts', () => {
  it('lists the same-field edit with both values and the later one kept', async () => {
    const json = await run(['conflicts', '--json'], stateDir);
    expect(json.code).toBe(0);
    const report = parseJson(json.stdout);
    expect(list(report.ambiguous)).toEqual([]);
    const conflicts = list(report.conflicts);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      canonicalId,
      object: 'contact',
      links: { salesforce: sfId, hubspot: hsId },
      field: 'lastName',
      values: [
        { value: 'EarlierSF', source: 'salesforce' },
        { value: 'LaterHS', source: 'hubspot' },
      ],
      kept: 'LaterHS',
      keptSource: 'hubspot',
    });
    const [earlier, later] = list(conflicts[0]?.values);
    expect(Number(later?.sourceTime) - Number(earlier?.sourceTime)).toBeGreaterThanOrEqual(1000);

    const text = await run(['conflicts'], stateDir);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^1 conflict /);
    expect(text.stdout).toContain(`contact ${canonicalId} (salesforce ${sfId}, hubspot ${hsId})  lastName`);
    expect(text.stdout).toMatch(/salesforce +\S+ +"EarlierSF"\n/);
    expect(text.stdout).toMatch(/hubspot +\S+ +"LaterHS" +kept\n/);
    expect(text.stdout).toMatch(/^0 ambiguous matches/m);
  });
});

describe('fieldsync export and import', () => {
  let exported: string;

  it('exports every item kind as sorted JSON lines, the same on stdout and with --out', async () => {
    const out = join(root, 'export.jsonl');
    const toFile = await run(['export', '--out', out], stateDir);
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(toFile.stderr).toMatch(
      /^export: \d+ items \(\d+ record, \d+ link, \d+ key, \d+ cursor, \d+ meta, \d+ audit\) to /,
    );
    const toStdout = await run(['export'], stateDir);
    expect(toStdout.code).toBe(0);
    exported = readFileSync(out, 'utf8');
    expect(toStdout.stdout).toBe(exported);
    expect(existsSync(`${out}.partial`)).toBe(false);

    const lines = exported.trimEnd().split('\n');
    const items = lines.map(parseJson);
    const order = ['record', 'link', 'key', 'cursor', 'meta', 'audit', 'error'];
    const ranks = items.map((i) => order.indexOf(String(i.kind)));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(ranks).not.toContain(-1);
    for (const l of lines) expect(l.startsWith('{"kind":')).toBe(true);
    const record = items.find(
      (i) => i.kind === 'record' && isRecord(i.record) && i.record.id === canonicalId,
    );
    expect(record?.record).toMatchObject({
      object: 'contact',
      links: { salesforce: sfId, hubspot: hsId },
      fields: { lastName: { value: 'LaterHS' } },
      shadows: {
        salesforce: { values: { lastName: 'LaterHS' } },
        hubspot: { values: { lastName: 'LaterHS' } },
      },
    });
    expect(items).toContainEqual(
      expect.objectContaining({ kind: 'link', system: 'hubspot', externalId: hsId, canonicalId }),
    );
    expect(items).toContainEqual(
      expect.objectContaining({ kind: 'audit', canonicalId, reason: 'conflict-won', kept: 'LaterHS' }),
    );
  });

  it('imports into a fresh state dir, and exporting that gives the identical bytes', async () => {
    const fresh = join(root, 'fresh');
    const imported = await run(['import'], fresh, exported);
    expect(imported.stderr).toMatch(/^import: \d+ items .* into /m);
    expect(imported.code).toBe(0);
    const again = await run(['export'], fresh);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(exported);
    // The imported state answers like the original (map keys may come back in another order).
    const audit = await run(['audit', `salesforce:contact:${sfId}`, '--json'], fresh);
    const original = await run(['audit', `salesforce:contact:${sfId}`, '--json'], stateDir);
    expect(parseJson(audit.stdout)).toEqual(parseJson(original.stdout));
  });

  it('refuses to import into a store that holds data, and changes nothing', async () => {
    const res = await run(['import'], stateDir, exported);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /^fieldsync: import: the store in .* already holds data; import only into an empty state dir/,
    );
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect((await run(['export'], stateDir)).stdout).toBe(exported);
  });

  it('reports the first malformed line by number and writes nothing', async () => {
    const lines = exported.trimEnd().split('\n');
    const bad = [...lines];
    bad[3] = '{"kind":"record","record":{"id":"x"}}';
    bad[7] = 'not json';
    const file = join(root, 'bad.jsonl');
    writeFileSync(file, `${bad.join('\n')}\n`);
    const dir = join(root, 'bad');
    // Validation fails before any state is opened, so these may run side by side.
    const [fromFile, fromStdin, duplicate, unknownField, missingFile] = await Promise.all([
      run(['import', '--in', file], dir),
      run(['import'], dir, `${lines.slice(0, 6).join('\n')}\nnot json\n`),
      run(['import'], dir, [...lines.slice(0, 5), lines[2]].join('\n')),
      run(['import'], dir, lines[0]?.replace('{"kind":"record",', '{"kind":"record","note":1,')),
      run(['import', '--in', join(root, 'missing.jsonl')], dir),
    ]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toMatch(
      /^fieldsync: import: \S+bad\.jsonl line 4: record\.object: .*; nothing imported\n$/,
    );
    expect(fromStdin.code).toBe(2);
    expect(fromStdin.stderr).toMatch(
      /^fieldsync: import: stdin line 7: not JSON \(.*\); nothing imported\n$/,
    );
    expect(duplicate.stderr).toMatch(/^fieldsync: import: stdin line 6: duplicate of line 3 \(REC#/);
    expect(unknownField.stderr).toBe(
      'fieldsync: import: stdin line 1: unknown field note; nothing imported\n',
    );
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toMatch(/^fieldsync: import: cannot read \S+missing\.jsonl \(ENOENT\)\n$/);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('opening the state', () => {
  it('says so in one line when there is no state, or when another process holds it', async () => {
    const none = await run(['conflicts'], join(root, 'nothing-here'));
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^fieldsync: no fieldsync state in .*nothing-here/);
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);

    const held = await openState(stateDir); // as a running `fieldsync dev` would
    try {
      const locked = await run(['export'], stateDir);
      expect(locked.code).toBe(2);
      expect(locked.stdout).toBe('');
      expect(locked.stderr).toMatch(/^fieldsync: the state in .* is in use by another fieldsync process/);
      expect(locked.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await held.close();
    }
  });
});

describe('export progress', () => {
  it('reports once per 1,000 items, however the counts arrive', () => {
    const seen: number[] = [];
    const tick = progressEvery((n) => seen.push(n));
    for (const n of [10, 999, 1000, 1500, 2600, 2601, 3000]) tick(n);
    expect(seen).toEqual([1000, 2600, 3000]);
  });
});
