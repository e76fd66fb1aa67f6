// End to end under faults: the embedded stack against two sandboxes that fail calls (HubSpot 429s and
// 500s, Salesforce 503s) and deliver webhooks / Outbound Messages duplicated, reordered and dropped.
// A seeded batch of user edits on both sides must converge: every edit present or beaten by a later
// edit of the same field, no duplicate record, the systems agree, and a quiet cycle writes nothing.
// FIELDSYNC_FAULT_SEED=<n> replays a failing run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { ConnectorError } from '../connectors/errors.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import { normalizeEmail } from '../engine/index.ts';
import { type AgreementReport, checkAgreement } from '../local/agreement.ts';
import { cycle } from '../local/cli.ts';
import { type EmbeddedStack, startEmbedded } from '../local/stack.ts';
import { collect, type RunSummary } from '../local/summary.ts';
import { credentialsFrom } from '../runtime/config.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';
import { DEFAULT_ORGANIZATION_ID } from '../sandboxes/salesforce/outbound.ts';
import { prng } from '../sandboxes/seed.ts';

const SEED = Number(process.env.FIELDSYNC_FAULT_SEED ?? 4);
const PEOPLE = 24;
const MAX_ROUNDS = 8;
const CLIENT_SECRET = 'faults-hubspot-app-secret';
const OUTBOUND_SECRET = 'c0ffee5ecret0001';

let sf: SalesforceSandbox;
let hs: HubSpotSandbox;
let env: Record<string, string>;
let stack: EmbeddedStack;
let dir: string;

async function deliver(): Promise<void> {
  await hs.webhooks.flush();
  await sf.outbound.flush();
  await stack.drain({ timeoutMs: 45_000 });
}

async function round(): Promise<RunSummary> {
  const run = collect();
  try {
    await deliver();
    await cycle(stack);
  } finally {
    run.stop();
  }
  return run.summary;
}

/** The agreement check reads through the same faulty APIs: a call can fail after all client retries
 * (HubSpot: 13% per attempt, 3 attempts), so a failed check is tried again. */
async function agreement(): Promise<AgreementReport> {
  for (let attempt = 1; ; attempt++) {
    const connectors = {
      salesforce: CONNECTORS.salesforce(credentialsFrom(env), DEFAULT_CONFIG),
      hubspot: CONNECTORS.hubspot(credentialsFrom(env), DEFAULT_CONFIG),
    };
    try {
      return await checkAgreement(stack.store, connectors, DEFAULT_CONFIG.model);
    } catch (err) {
      if (!(err instanceof ConnectorError && err.retryable) || attempt === 3) throw err;
    }
  }
}

function pairs() {
  const byEmail = new Map(
    hs.list('contacts').map((c) => [normalizeEmail(String(c.properties.email ?? '')), c]),
  );
  return sf.list('Contact').flatMap((c) => {
    const twin = byEmail.get(normalizeEmail(String(c.Email ?? '')));
    return twin === undefined ? [] : [{ sf: c.Id, hs: twin.id }];
  });
}

/** What each side must end with: canonical field -> Salesforce field / HubSpot property. */
const FIELDS = {
  firstName: { sf: 'FirstName', hs: 'firstname' },
  lastName: { sf: 'LastName', hs: 'lastname' },
  title: { sf: 'Title', hs: 'jobtitle' },
} as const;
type Field = keyof typeof FIELDS;
interface Expectation {
  sf: string;
  hs: string;
  field: Field;
  value: string;
  why: string;
}

function unmet(expected: readonly Expectation[]): string[] {
  return expected.flatMap((e) => {
    const onSf = sf.get('Contact', e.sf)?.[FIELDS[e.field].sf];
    const onHs = hs.get('contacts', e.hs)?.properties[FIELDS[e.field].hs];
    return onSf === e.value && onHs === e.value
      ? []
      : [`${e.why}: ${e.field} want ${e.value}, salesforce ${String(onSf)}, hubspot ${String(onHs)}`];
  });
}

/** Normalized emails; a record without one would count as '' (and show up as a duplicate). */
function emails(): { sf: string[]; hs: string[] } {
  return {
    sf: sf.list('Contact').map((c) => normalizeEmail(String(c.Email ?? '')) ?? ''),
    hs: hs.list('contacts').map((c) => normalizeEmail(String(c.properties.email ?? '')) ?? ''),
  };
}

/** So that a "later" edit has a later Salesforce stamp too (whole seconds). */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100 - (Date.now() % 1000)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fieldsync-faults-'));
  sf = await startSalesforceSandbox({ seed: SEED, people: PEOPLE, faults: { seed: SEED, rate5xx: 0.03 } });
  hs = await startHubSpotSandbox({
    seed: SEED,
    people: PEOPLE,
    // The secondly 429 body: the SDK retries it after 1 s × attempt (a ten-secondly one waits 10 s).
    faults: { seed: SEED, rate429: 0.1, rate5xx: 0.03, fault429: 'secondly' },
  });
  env = {
    SALESFORCE_INSTANCE_URL: sf.url,
    SALESFORCE_ACCESS_TOKEN: sf.token,
    HUBSPOT_BASE_URL: hs.url,
    HUBSPOT_ACCESS_TOKEN: hs.token,
  };
  stack = await startEmbedded({
    stateDir: dir,
    credentials: {
      ...env,
      HUBSPOT_CLIENT_SECRET: CLIENT_SECRET,
      SALESFORCE_ORG_ID: DEFAULT_ORGANIZATION_ID,
      SALESFORCE_OUTBOUND_SECRET: OUTBOUND_SECRET,
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await sf?.close();
  await hs?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sync under API faults and unreliable webhooks', () => {
  const log: string[] = [];
  const hooks = (faults: { seed: number; duplicateRate: number; reorder: boolean; dropRate: number }) => {
    hs.webhooks.configure({
      targetUrl: `${stack.webhookUrl}/webhooks/hubspot`,
      clientSecret: CLIENT_SECRET,
      batchMs: 10,
      retry: { attempts: 3, baseMs: 20 },
      faults,
    });
    sf.outbound.configure({
      endpointUrl: `${stack.webhookUrl}/webhooks/salesforce/${OUTBOUND_SECRET}`,
      organizationId: DEFAULT_ORGANIZATION_ID,
      batchMs: 10,
      retry: { attempts: 3, baseMs: 20 },
      faults: { ...faults, seed: faults.seed + 1 },
    });
  };
  let report: AgreementReport | undefined;
  /** Rounds (deliver, poll, drain) until the systems agree and every expectation holds, or the bound. */
  async function converge(
    phase: string,
    expected: readonly Expectation[],
    rounds = MAX_ROUNDS,
  ): Promise<string[]> {
    let missing: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const s = await round();
      report = await agreement();
      missing = unmet(expected);
      log.push(
        `${phase} round ${i}: errors ${s.errors}, conflicts ${s.conflicts}, agree ${report.agree}, unmet ${JSON.stringify(missing)}`,
      );
      if (report.agree && missing.length === 0) break;
    }
    log.push(`webhooks ${JSON.stringify(hs.webhooks.stats)}, outbound ${JSON.stringify(sf.outbound.stats)}`);
    return missing;
  }
  let shuffled: { sf: string; hs: string }[] = [];
  const take = (n: number) => {
    const got = shuffled.splice(0, n);
    if (got.length < n) throw new Error('not enough synced pairs');
    return got;
  };

  it('converges on every edit, creates nothing twice, and then writes nothing', async ({ onTestFailed }) => {
    onTestFailed(() => {
      console.error(`e2e-faults failed with FIELDSYNC_FAULT_SEED=${SEED}\n${log.join('\n')}`);
    });

    // Initial sync through the API faults, polling only.
    expect(await converge('initial', [])).toEqual([]);
    expect(report?.agree, JSON.stringify(report?.objects)).toBe(true);
    const rand = prng(SEED);
    shuffled = pairs()
      .map((p) => ({ p, k: rand() }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.p);

    // Phase 1, deliveries duplicated, reordered and dropped: edits that do not race on one field.
    hooks({ seed: SEED, duplicateRate: 0.3, reorder: true, dropRate: 0.2 });
    const expected: Expectation[] = [];
    const edits: (() => void)[] = [];
    // Different fields of one record on both sides: both survive.
    for (const [i, p] of take(4).entries()) {
      const title = `Title S${SEED}-${i}`;
      const first = `First H${SEED}-${i}`;
      edits.push(() => sf.update('Contact', p.sf, { Title: title }));
      edits.push(() => hs.update('contacts', p.hs, { firstname: first }));
      expected.push({ ...p, field: 'title', value: title, why: 'salesforce edit' });
      expected.push({ ...p, field: 'firstName', value: first, why: 'hubspot edit' });
    }
    // One side edits a field twice: the second value stands.
    for (const [i, p] of take(2).entries()) {
      const final = `Twice ${SEED}-${i}`;
      edits.push(() => hs.update('contacts', p.hs, { jobtitle: `Once ${SEED}-${i}` }));
      edits.push(() => hs.update('contacts', p.hs, { jobtitle: final }));
      expected.push({ ...p, field: 'title', value: final, why: 'hubspot edited twice' });
    }
    for (const [i, p] of take(2).entries()) {
      const final = `Last ${SEED}-${i}`;
      edits.push(() => sf.update('Contact', p.sf, { LastName: `First try ${SEED}-${i}` }));
      edits.push(() => sf.update('Contact', p.sf, { LastName: final }));
      expected.push({ ...p, field: 'lastName', value: final, why: 'salesforce edited twice' });
    }
    const newSf = `new.sf.${SEED}@faults.example`;
    const newHs = `new.hs.${SEED}@faults.example`;
    edits.push(() => sf.create('Contact', { FirstName: 'New', LastName: 'FromSf', Email: newSf }));
    edits.push(() => hs.create('contacts', { firstname: 'New', lastname: 'FromHs', email: newHs }));
    const before = emails();
    for (const edit of edits) edit();

    expect(await converge('phase 1', expected)).toEqual([]);
    expect(report?.agree, JSON.stringify(report?.objects)).toBe(true);
    expect(hs.webhooks.stats.duplicated + sf.outbound.stats.duplicated).toBeGreaterThan(0);
    expect(hs.webhooks.stats.dropped + sf.outbound.stats.dropped).toBeGreaterThan(0);

    // No duplicates: one record per normalized email on each side, the two new ones included.
    const after = emails();
    for (const list of [after.sf, after.hs]) {
      expect(new Set(list).size).toBe(list.length);
      expect(list.length).toBe(new Set([...before.sf, ...before.hs, newSf, newHs]).size);
    }
    expect(new Set(after.sf)).toEqual(new Set(after.hs));
    expect(hs.list('contacts').find((c) => c.properties.email === newSf)?.properties.lastname).toBe('FromSf');
    expect(sf.list('Contact').find((c) => c.Email === newHs)?.LastName).toBe('FromHs');

    // Phase 2, deliveries duplicated and reordered (none lost): one field edited on both sides, a
    // second apart; the later edit wins on both, whichever side made it.
    hooks({ seed: SEED + 10, duplicateRate: 0.3, reorder: true, dropRate: 0 });
    const conflicts: Expectation[] = [];
    const earlier: (() => void)[] = [];
    const later: (() => void)[] = [];
    for (const [i, p] of take(4).entries()) {
      const sfLater = i % 2 === 0;
      const sfName = `Sf${SEED}x${i}`;
      const hsName = `Hs${SEED}x${i}`;
      (sfLater ? earlier : later).push(() => hs.update('contacts', p.hs, { lastname: hsName }));
      (sfLater ? later : earlier).push(() => sf.update('Contact', p.sf, { LastName: sfName }));
      conflicts.push({
        ...p,
        field: 'lastName',
        value: sfLater ? sfName : hsName,
        why: `conflict, ${sfLater ? 'salesforce' : 'hubspot'} later`,
      });
    }
    await nextSecond();
    for (const edit of earlier) edit();
    await nextSecond();
    for (const edit of later) edit();
    expect(await converge('phase 2', [...expected, ...conflicts])).toEqual([]);
    expect(report?.agree, JSON.stringify(report?.objects)).toBe(true);

    // Quiet: the echoes of the last writes come back (webhooks and polls) and nothing is written.
    const quiet = await round();
    expect(
      Object.fromEntries(Object.entries(quiet.systems).map(([name, v]) => [name, v.writeCalls])),
    ).toEqual({ salesforce: 0, hubspot: 0 });
  }, 120_000);

  // Lost notices must not lose edits: the writer reads modification times before it updates, and a
  // record changed since fieldsync last merged it is read and merged first (read-before-write).
  it('keeps the later edit when its notice is lost and the other side edited the field earlier', async () => {
    hooks({ seed: SEED + 20, duplicateRate: 0, reorder: false, dropRate: 0 });
    sf.outbound.configure({ faults: { seed: SEED + 21, dropRate: 1 } });
    const [p] = take(1);
    if (p === undefined) throw new Error('no pair');
    await nextSecond();
    hs.update('contacts', p.hs, { lastname: 'Earlier in HubSpot' });
    await nextSecond();
    sf.update('Contact', p.sf, { LastName: 'Later in Salesforce' });
    expect(
      await converge(
        'lost update',
        [{ ...p, field: 'lastName', value: 'Later in Salesforce', why: 'later edit' }],
        2,
      ),
    ).toEqual([]);
  }, 60_000);
});
