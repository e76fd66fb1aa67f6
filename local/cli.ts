// The fieldsync command line: one-shot and continuous sync on the embedded stack, the sandbox demo.
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from '../config/default.ts';
import { loadConfigFile, type ResolvedConfig } from '../config/index.ts';
import { CONNECTORS } from '../connectors/registry.ts';
import { SYSTEMS, type SystemName } from '../connectors/systems.ts';
import type { Connector } from '../connectors/types.ts';
import { ConfigError, credentialsFrom, hasCredentials } from '../runtime/config.ts';
import { onTelemetry, type TelemetryEvent } from '../runtime/telemetry.ts';
import { type HubSpotSandbox, startHubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '../sandboxes/salesforce/index.ts';
import { type AgreementReport, checkAgreement } from './agreement.ts';
import { auditCommand, parseAuditTarget } from './commands/audit.ts';
import { configCheckCommand } from './commands/config-check.ts';
import { conflictsCommand } from './commands/conflicts.ts';
import { runDlq } from './commands/dlq.ts';
import { errorsCommand } from './commands/errors.ts';
import { exportCommand } from './commands/export.ts';
import { runForget } from './commands/forget.ts';
import { importCommand, openInput, readExportLines } from './commands/import.ts';
import { runLink } from './commands/link.ts';
import { planCommand } from './commands/plan.ts';
import { runQuarantine } from './commands/quarantine.ts';
import { runReconcile } from './commands/reconcile.ts';
import { runReport } from './commands/report.ts';
import { runRestore } from './commands/restore.ts';
import { runSecrets, secretsClient, terminalIo } from './commands/secrets.ts';
import { withState } from './commands/state.ts';
import { type EmbeddedStack, startEmbedded } from './stack.ts';
import { collect, formatTable, type RunSummary } from './summary.ts';

const USAGE = `fieldsync: two-way, field-level sync between Salesforce and HubSpot

usage:
  fieldsync start              with credentials in env: same as dev; without: the sandbox demo
  fieldsync sync --once [--json]
                               one full cycle (poll every system, drain the queues, write back), then exit
  fieldsync dev                sync continuously (poll every FIELDSYNC_POLL_INTERVAL_SECONDS, default 15)
  fieldsync sandbox            run the Salesforce and HubSpot sandboxes and print how to point fieldsync at them
  fieldsync audit <system>:<object>:<id> [--json]
                               a record's current fields and its field history (also takes a canonical id: contact_...)
  fieldsync conflicts [--json] fields edited on both sides (both values, which was kept) and ambiguous matches
  fieldsync errors [--json]    records a system refused for good: system, object, links, vendor code and message
  fieldsync dlq [list|replay] [--json]
                               messages in the queues' dead-letter queues; replay moves them back (then sync --once)
  fieldsync export [--out file]
                               the local state as JSON lines (stdout by default; progress on stderr)
  fieldsync import [--in file] read such JSON lines (stdin by default) into an empty state dir
  fieldsync config check [--json]
                               the config against both systems' field lists (unknown fields, types, enum values, id fields)
  fieldsync plan [--json]      dry run over the local state: what the next sync would create/update/delete, per field
                               (with --config: under that config; no SaaS call, nothing written)
  fieldsync quarantine [list] [--json]
                               deletes held by the quarantine policy; approve|reject <record> decides one
  fieldsync link <system>:<object>:<id> <canonicalId> [--archive-duplicate]
                               resolve an ambiguous match: merge the held record into that canonical record
  fieldsync restore <record> --at <ISO time>
                               put a record's fields back to their values at that time, in every system
  fieldsync forget <email> [--delete-everywhere]
                               erase a person: no personal data kept, never synced again (or deleted everywhere)
  fieldsync reconcile [--system s] [--object o] [--sample N] [--max-calls N] [--grace-seconds N] [--dry-run] [--json]
                               read records back from the systems (a rotating sample within N API calls per system),
                               report drift from the canonical state, and repair it through ingest and the writers
  fieldsync report [--since 24h|7d|<ISO time>] [--json] [--html [file]]
                               the audit report of the period (default 24h): records per object and system, changes,
                               conflicts and their resolution, errors, echoes, drift; --html writes a page with charts
  fieldsync secrets set <salesforce|hubspot> [--stage s] [--secret-id id] [--from-env]
                               put a system's credentials into the AWS Secrets Manager secret the functions read
  fieldsync help

environment:
  SALESFORCE_INSTANCE_URL, SALESFORCE_ACCESS_TOKEN   Salesforce org (REST API)
  HUBSPOT_ACCESS_TOKEN, HUBSPOT_BASE_URL             HubSpot portal (private app token; base URL defaults to the public API)
  HUBSPOT_REFRESH_TOKEN, HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET   or an OAuth app (refreshed before expiry)
  SALESFORCE_REFRESH_TOKEN, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET   Salesforce OAuth refresh
  HUBSPOT_CLIENT_SECRET, SALESFORCE_ORG_ID, SALESFORCE_OUTBOUND_SECRET        webhook checks (fieldsync dev)
  FIELDSYNC_PORT                                     port of the local webhook endpoint (fieldsync dev)
  FIELDSYNC_STATE_DIR                                local state: cursors, links, canonical records (default .fieldsync/)
  FIELDSYNC_QUEUE_VISIBILITY_SECONDS                 how long a batch a stopped runner held waits before it is retried (default 30)
`;

type Out = (line: string) => void;

/** `--config <path>` may stand anywhere; it becomes FIELDSYNC_CONFIG for the handlers too. */
function extractConfigFlag(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { args: string[]; env: NodeJS.ProcessEnv } {
  const args: string[] = [];
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--config') {
      path = argv[++i];
      if (path === undefined) throw new ConfigError('--config needs a path');
    } else if (a.startsWith('--config=')) path = a.slice('--config='.length);
    else args.push(a);
  }
  if (path === undefined && (env.FIELDSYNC_CONFIG ?? '') === '' && existsSync('fieldsync.config.ts'))
    path = 'fieldsync.config.ts';
  return { args, env: path === undefined ? env : { ...env, FIELDSYNC_CONFIG: resolve(path) } };
}

export async function main(
  argv: readonly string[],
  baseEnv: NodeJS.ProcessEnv = process.env,
  out: Out = console.log,
): Promise<number> {
  let env = baseEnv;
  try {
    const parsed = extractConfigFlag(argv, baseEnv);
    env = parsed.env;
    const [command = 'help', ...rest] = parsed.args;
    switch (command) {
      case 'start':
        return hasCredentials(env) ? await dev(env, out) : await demo(env, out);
      case 'sync': {
        const { values } = parseArgs({
          args: [...rest],
          options: { once: { type: 'boolean' }, json: { type: 'boolean' } },
          strict: true,
        });
        if (values.once !== true)
          throw new ConfigError('sync needs --once (for continuous sync use: fieldsync dev)');
        return await syncOnce(env, values.json === true, out);
      }
      case 'dev':
        parseArgs({ args: [...rest], options: {}, strict: true });
        return await dev(env, out);
      case 'sandbox':
        return await sandbox(out);
      case 'audit': {
        const { values, positionals } = parseArgs({
          args: [...rest],
          options: { json: { type: 'boolean' } },
          allowPositionals: true,
          strict: true,
        });
        const [arg, ...extra] = positionals;
        if (arg === undefined || extra.length > 0)
          throw new ConfigError(
            'audit needs one record: <system>:<object>:<id> or a canonical id (contact_...)',
          );
        const target = parseAuditTarget(arg);
        await withState(stateDir(env), {}, (s) => auditCommand(s.store, target, values.json === true, out));
        return 0;
      }
      case 'conflicts': {
        const { values } = parseArgs({
          args: [...rest],
          options: { json: { type: 'boolean' } },
          strict: true,
        });
        await withState(stateDir(env), {}, (s) => conflictsCommand(s.store, values.json === true, out));
        return 0;
      }
      case 'errors': {
        const { values } = parseArgs({
          args: [...rest],
          options: { json: { type: 'boolean' } },
          strict: true,
        });
        await withState(stateDir(env), {}, (s) => errorsCommand(s.store, values.json === true, out));
        return 0;
      }
      case 'dlq':
        return await runDlq(rest, env, out);
      case 'export': {
        const { values } = parseArgs({ args: [...rest], options: { out: { type: 'string' } }, strict: true });
        const target =
          values.out === undefined ? { stdout: process.stdout } : { outFile: resolve(values.out) };
        await withState(stateDir(env), {}, (s) => exportCommand(s.store, target, console.error));
        return 0;
      }
      case 'import': {
        const { values } = parseArgs({ args: [...rest], options: { in: { type: 'string' } }, strict: true });
        const input = openInput(values.in, process.stdin);
        const items = await readExportLines(input.stream, input.name);
        const dir = stateDir(env);
        await withState(dir, { create: true }, (s) => importCommand(s.store, items, dir, console.error));
        return 0;
      }
      case 'config': {
        const { values, positionals } = parseArgs({
          args: [...rest],
          options: { json: { type: 'boolean' } },
          allowPositionals: true,
          strict: true,
        });
        if (positionals.length !== 1 || positionals[0] !== 'check')
          throw new ConfigError('usage: fieldsync config check [--config file] [--json]');
        const { creds, config } = await requireSettings(env);
        return await configCheckCommand(config, freshConnectors(creds, config), values.json === true, out);
      }
      case 'plan': {
        const { values } = parseArgs({
          args: [...rest],
          options: { json: { type: 'boolean' } },
          strict: true,
        });
        const config = await cliConfig(env);
        await withState(stateDir(env), {}, (s) => planCommand(s.store, config, values.json === true, out));
        return 0;
      }
      case 'quarantine':
        return await runQuarantine(rest, env, out);
      case 'link':
        return await runLink(rest, env, out);
      case 'restore':
        return await runRestore(rest, env, out);
      case 'forget':
        return await runForget(rest, env, out);
      case 'reconcile':
        return await runReconcile(rest, env, out);
      case 'report':
        return await runReport(rest, env, out);
      case 'secrets':
        return await runSecrets(rest, env, { ...terminalIo(out), client: secretsClient() });
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return 0;
      default:
        throw new ConfigError(`unknown command '${command}' (try: fieldsync help)`);
    }
  } catch (err) {
    if (
      err instanceof ConfigError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      console.error(`fieldsync: ${err.message}`);
      return 2;
    }
    console.error(`fieldsync: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    if (env.FIELDSYNC_DEBUG === '1' && err instanceof Error) console.error(err.stack);
    return 1;
  }
}

/** FIELDSYNC_PORT: where `fieldsync dev` serves the webhook endpoint (0 or unset: any free port). */
function webhookPort(env: NodeJS.ProcessEnv): number {
  const raw = env.FIELDSYNC_PORT ?? '0';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`FIELDSYNC_PORT must be a port number, got '${raw}'`);
  return port;
}

/** FIELDSYNC_QUEUE_VISIBILITY_SECONDS: how long a batch held by a runner that died stays invisible (default 30). */
function queueVisibility(env: NodeJS.ProcessEnv): number {
  const raw = env.FIELDSYNC_QUEUE_VISIBILITY_SECONDS ?? '30';
  const seconds = Number(raw);
  // SQS takes 0 to 43,200 seconds (12 hours).
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200)
    throw new ConfigError(
      `FIELDSYNC_QUEUE_VISIBILITY_SECONDS must be whole seconds from 0 to 43200, got '${raw}'`,
    );
  return seconds;
}

function stateDir(env: NodeJS.ProcessEnv): string {
  return resolve(env.FIELDSYNC_STATE_DIR ?? '.fieldsync');
}

function credentialEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const keys = [
    'SALESFORCE_INSTANCE_URL',
    'SALESFORCE_ACCESS_TOKEN',
    'SALESFORCE_REFRESH_TOKEN',
    'SALESFORCE_CLIENT_ID',
    'SALESFORCE_CLIENT_SECRET',
    'SALESFORCE_LOGIN_URL',
    'SALESFORCE_API_VERSION',
    'HUBSPOT_ACCESS_TOKEN',
    'HUBSPOT_REFRESH_TOKEN',
    'HUBSPOT_CLIENT_ID',
    'HUBSPOT_CLIENT_SECRET',
    'HUBSPOT_ACCESS_TOKEN_EXPIRES_AT',
    'HUBSPOT_BASE_URL',
    'HUBSPOT_WEBHOOK_ALLOW_V1V2',
    'SALESFORCE_ORG_ID',
    'SALESFORCE_OUTBOUND_SECRET',
    'WEBHOOK_BASE_URL',
    'FIELDSYNC_POLL_OVERLAP_SECONDS',
  ];
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = env[k];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/** Validate the settings and the config before anything starts: one clear line on a bad value. */
export async function requireSettings(
  env: NodeJS.ProcessEnv,
): Promise<{ creds: Record<string, string>; config: ResolvedConfig }> {
  const config = await cliConfig(env);
  const creds = credentialEnv(env);
  credentialsFrom(creds);
  return { creds: withConfigPath(creds, env), config };
}

/** The config named by --config / FIELDSYNC_CONFIG, else the built-in one; validated. */
export async function cliConfig(env: NodeJS.ProcessEnv): Promise<ResolvedConfig> {
  const path = env.FIELDSYNC_CONFIG;
  return path === undefined || path === '' ? DEFAULT_CONFIG : loadConfigFile(path);
}

/** The handlers load the same config file: pass its path on with the credentials. */
function withConfigPath(vars: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  const path = env.FIELDSYNC_CONFIG;
  return path === undefined || path === '' ? vars : { ...vars, FIELDSYNC_CONFIG: path };
}

async function syncOnce(env: NodeJS.ProcessEnv, json: boolean, out: Out): Promise<number> {
  const { creds } = await requireSettings(env);
  const stack = await startEmbedded({
    stateDir: stateDir(env),
    credentials: creds,
    visibilityTimeoutSeconds: queueVisibility(env),
  });
  const run = collect();
  try {
    await cycle(stack);
  } finally {
    run.stop();
    await stack.stop();
  }
  out(json ? JSON.stringify(toJson(run.summary), null, 2) : formatTable(run.summary));
  return 0;
}

export async function cycle(stack: EmbeddedStack): Promise<void> {
  await stack.pollAll();
  await stack.drain();
}

export function toJson(summary: RunSummary) {
  return {
    polled: Object.fromEntries(Object.entries(summary.systems).map(([s, v]) => [s, v.polled])),
    written: Object.fromEntries(
      Object.entries(summary.systems).map(([s, v]) => [
        s,
        { created: v.created, updated: v.updated, records: v.created + v.updated, calls: v.writeCalls },
      ]),
    ),
    apiCalls: Object.fromEntries(Object.entries(summary.systems).map(([s, v]) => [s, v.calls])),
    ingested: summary.ingested,
    recordsStored: summary.recordsStored,
    conflicts: summary.conflicts,
    ambiguous: summary.ambiguous,
    errors: summary.errors,
    durationMs: summary.durationMs,
  };
}

function progressLine(e: TelemetryEvent): string | undefined {
  switch (e.kind) {
    case 'poll': {
      const parts = Object.entries(e.report.polled).map(([o, n]) => `${o} ${n}`);
      return `  poll   ${e.system.padEnd(10)} ${parts.join(', ')}`;
    }
    case 'ingest':
      return e.report.changes === 0
        ? undefined
        : `  ingest ${String(e.report.changes).padStart(5)} changes -> ${e.report.recordsStored} canonical writes, ${e.report.unchanged} unchanged fields, ${e.report.conflicts} conflicts`;
    case 'write': {
      const calls = Object.entries(e.calls).filter(
        ([k]) => k.startsWith('write:') || k.startsWith('associations:'),
      );
      if (e.report.signalled === 0) return undefined;
      return `  write  ${e.system.padEnd(10)} ${e.report.created} created, ${e.report.updated} updated, ${e.report.failed} failed, ${e.report.waiting} waiting (${calls.map(([k, v]) => `${k} ${v}`).join(', ') || 'no API call'})`;
    }
  }
}

async function dev(env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { creds } = await requireSettings(env);
  const intervalSeconds = Number(env.FIELDSYNC_POLL_INTERVAL_SECONDS ?? 15);
  if (!Number.isFinite(intervalSeconds) || intervalSeconds < 1)
    throw new ConfigError('FIELDSYNC_POLL_INTERVAL_SECONDS must be a number of seconds >= 1');
  const stack = await startEmbedded({
    stateDir: stateDir(env),
    credentials: creds,
    webhookPort: webhookPort(env),
    visibilityTimeoutSeconds: queueVisibility(env),
  });
  const run = collect();
  const off = onTelemetry((e) => {
    const line = progressLine(e);
    if (line !== undefined) out(line);
  });
  out(`fieldsync dev: polling every ${intervalSeconds} s, state in ${stateDir(env)}; Ctrl-C to stop`);
  out(
    `webhooks: POST ${stack.webhookUrl}/webhooks/hubspot and ${stack.webhookUrl}/webhooks/salesforce/<secret>`,
  );
  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let nextPoll = 0;
    while (!stopping) {
      if (Date.now() >= nextPoll) {
        nextPoll = Date.now() + intervalSeconds * 1000;
        await stack.pollAll();
      }
      if ((await stack.pumpOnce()) === 0) await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    off();
    run.stop();
    await stack.stop();
  }
  out(formatTable(run.summary));
  return 0;
}

interface Sandboxes {
  salesforce: SalesforceSandbox;
  hubspot: HubSpotSandbox;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startSandboxes(
  options: { people?: number; seed?: number; deals?: number } = {},
): Promise<Sandboxes> {
  const salesforce = await startSalesforceSandbox(options);
  const hubspot = await startHubSpotSandbox(options);
  return {
    salesforce,
    hubspot,
    env: {
      SALESFORCE_INSTANCE_URL: salesforce.url,
      SALESFORCE_ACCESS_TOKEN: salesforce.token,
      HUBSPOT_BASE_URL: hubspot.url,
      HUBSPOT_ACCESS_TOKEN: hubspot.token,
    },
    close: async () => {
      await salesforce.close();
      await hubspot.close();
    },
  };
}

async function sandbox(out: Out): Promise<number> {
  const boxes = await startSandboxes();
  out('Sandboxes running on 127.0.0.1 (seeded). In another terminal:');
  for (const [k, v] of Object.entries(boxes.env)) out(`  export ${k}=${v}`);
  out('  npx fieldsync sync --once');
  out(
    `Make user edits over HTTP: ${boxes.salesforce.url}/__sandbox/Contact and ${boxes.hubspot.url}/__sandbox/contacts (GET, POST, PATCH /:id, DELETE /:id)`,
  );
  out('Ctrl-C to stop.');
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
  await boxes.close();
  return 0;
}

function freshConnectors(
  creds: Record<string, string>,
  config: ResolvedConfig,
): Record<SystemName, Connector> {
  const c = credentialsFrom(creds);
  return { salesforce: CONNECTORS.salesforce(c, config), hubspot: CONNECTORS.hubspot(c, config) };
}

function describeAgreement(report: AgreementReport): string[] {
  const lines: string[] = [];
  for (const [object, r] of Object.entries(report.objects)) {
    const counts = SYSTEMS.map((s) => `${s} ${r.records[s] ?? 0}`).join(', ');
    lines.push(
      `  ${object.padEnd(8)} canonical ${r.canonical}, ${counts}${r.mismatches.length > 0 ? `, ${r.mismatches.length}+ mismatches` : ''}`,
    );
    for (const m of r.mismatches.slice(0, 5)) lines.push(`    ${m}`);
  }
  return lines;
}

/** `npm start` without credentials: seeded sandboxes, sync until they agree, a round of user edits, a summary. */
async function demo(env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  out('No SaaS credentials in the environment: starting the Salesforce and HubSpot sandboxes on 127.0.0.1.');
  const people = Number(env.FIELDSYNC_DEMO_PEOPLE ?? 60);
  const boxes = await startSandboxes({ people, deals: Math.max(2, Math.round(people / 6)) });
  const dir = join(stateDir(env), 'demo');
  // The sandboxes start fresh every time, so the demo's state does too.
  rmSync(dir, { recursive: true, force: true });
  const sf = boxes.salesforce;
  const hs = boxes.hubspot;
  out(
    `  salesforce ${sf.url}: ${sf.list('Account').length} accounts, ${sf.list('Contact').length} contacts, ${sf.list('Opportunity').length} opportunities`,
  );
  out(
    `  hubspot    ${hs.url}: ${hs.list('companies').length} companies, ${hs.list('contacts').length} contacts, ${hs.list('deals').length} deals`,
  );
  out(`  state in ${dir}`);
  const config = await cliConfig(env);
  const stack = await startEmbedded({ stateDir: dir, credentials: withConfigPath(boxes.env, env) });
  const run = collect();
  const off = onTelemetry((e) => {
    const line = progressLine(e);
    if (line !== undefined) out(line);
  });
  const connectors = freshConnectors(boxes.env, config);
  let report: AgreementReport | undefined;
  try {
    report = await syncUntilAgreed(stack, connectors, config, out, 'initial sync');

    out('');
    out('User edits: the same contact edited in both systems, different fields and one field on both sides.');
    const edited = editBothSides(sf, hs);
    if (edited !== undefined) {
      out(
        `  salesforce: ${edited.sfId} Title -> ${JSON.stringify(edited.title)}, LastName -> ${JSON.stringify(edited.sfLast)}`,
      );
      out(
        `  hubspot:    ${edited.hsId} phone -> ${JSON.stringify(edited.phone)}, lastname -> ${JSON.stringify(edited.hsLast)} (later)`,
      );
      report = await syncUntilAgreed(stack, connectors, config, out, 'after edits');
      const after = sf.get('Contact', edited.sfId);
      out(
        `  now in salesforce: Title ${JSON.stringify(after?.Title)}, Phone ${JSON.stringify(after?.Phone)}, LastName ${JSON.stringify(after?.LastName)}`,
      );
    }
  } finally {
    off();
    run.stop();
    await stack.stop();
    await boxes.close();
  }
  out('');
  out(formatTable(run.summary));
  out('');
  out(report?.agree === true ? 'Both sandboxes agree, field by field:' : 'The sandboxes do NOT agree:');
  for (const l of report === undefined ? [] : describeAgreement(report)) out(l);
  return report?.agree === true ? 0 : 1;
}

async function syncUntilAgreed(
  stack: EmbeddedStack,
  connectors: Record<SystemName, Connector>,
  config: ResolvedConfig,
  out: Out,
  label: string,
): Promise<AgreementReport> {
  let report: AgreementReport | undefined;
  for (let round = 1; round <= 5; round++) {
    out(`[${label}, cycle ${round}]`);
    await cycle(stack);
    report = await checkAgreement(stack.store, connectors, config.model);
    if (report.agree) {
      out(`  both systems agree after cycle ${round}`);
      return report;
    }
  }
  if (report === undefined) throw new Error('no sync cycle ran');
  return report;
}

interface Edited {
  sfId: string;
  hsId: string;
  title: string;
  phone: string;
  sfLast: string;
  hsLast: string;
}

/** Pick a contact present on both sides and edit it like two users would. */
function editBothSides(sf: SalesforceSandbox, hs: HubSpotSandbox): Edited | undefined {
  const hsByEmail = new Map(
    hs.list('contacts').map((c) => [
      String(c.properties.email ?? '')
        .trim()
        .toLowerCase(),
      c,
    ]),
  );
  for (const c of sf.list('Contact')) {
    const email = typeof c.Email === 'string' ? c.Email.trim().toLowerCase() : '';
    const other = hsByEmail.get(email);
    if (email === '' || other === undefined) continue;
    const edited: Edited = {
      sfId: c.Id,
      hsId: other.id,
      title: 'Chief Data Officer',
      phone: '+1 415 555 0100',
      sfLast: 'Salesforce-Edit',
      hsLast: 'HubSpot-Edit',
    };
    sf.update('Contact', c.Id, { Title: edited.title, LastName: edited.sfLast });
    // The HubSpot edit is a moment later, so its lastname wins.
    const until = Date.now() + 1100;
    while (Date.now() < until) {
      /* Salesforce stamps whole seconds: let the clock pass one. */
    }
    hs.update('contacts', other.id, { phone: edited.phone, lastname: edited.hsLast });
    return edited;
  }
  return undefined;
}
