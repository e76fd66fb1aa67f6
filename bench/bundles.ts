// Each Lambda function's bundle, built the way the CDK construct builds it, and its cold import time.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { SYSTEMS } from '../connectors/systems.ts';
import { noticeQueueEnv, writeQueueEnv } from '../runtime/config.ts';
import { median, round } from './stats.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** SaaS client packages: the webhook function must carry none (DESIGN: Budgets, Lambda). */
const SAAS_CLIENTS = ['jsforce', '@hubspot/api-client'] as const;

export interface BundleReport {
  function: string;
  bytes: number;
  gzip_bytes: number;
  /** The external source map beside it (read at import under --enable-source-maps, as on Lambda). */
  source_map_bytes: number;
  /** Input files from node_modules, and the SaaS clients among them. */
  node_modules_inputs: number;
  saas_clients: string[];
  /** The packages taking the most bytes of the bundle (esbuild's bytesInOutput), largest first. */
  top_packages: { package: string; bytes: number }[];
  /** Median of the spawns: `await import()` of the bundle in a fresh node, module init included. */
  cold_import_ms: number;
  cold_import_runs_ms: number[];
  /** From process start to the import done (node's own start-up included), median. */
  cold_process_ms: number;
  rss_after_import_mb: number;
  /** Set when the bundle could not be built or imported; the figures above are then 0. */
  error?: string;
}

/**
 * The esbuild options `SyncFunction` (lib/constructs/sync-function.ts) gives NodejsFunction, which
 * runs `esbuild --bundle <entry> --target=node24 --platform=node --format=esm --minify --sourcemap
 * --sources-content=false --main-fields=module,main --banner:js=...` with no externals (bundleAwsSDK).
 * Keep the two in step.
 */
const CONSTRUCT_BUILD = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  banner: {
    js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
  },
  external: [],
} as const;

/** Every `functions/*.ts` entry at run time (new functions are picked up without a change here). */
export function functionEntries(): string[] {
  const dir = join(repoRoot, 'functions');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort();
}

/**
 * What module init needs so a cold import does not fail, and nothing reachable: every endpoint is a
 * closed port on loopback, no secret ARN (credentials from env), no Lambda function name (no EMF).
 */
function stubEnv(stateDir: string): Record<string, string> {
  const closed = 'http://127.0.0.1:9';
  const queue = (name: string) => `${closed}/000000000000/${name}`;
  return {
    PATH: process.env.PATH ?? '',
    HOME: stateDir,
    // What SyncFunction sets (--enable-source-maps costs time at import: the maps are read then).
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: 'fieldsync',
    POWERTOOLS_METRICS_NAMESPACE: 'fieldsync',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    LOG_LEVEL: 'ERROR',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL: closed,
    TABLE_NAME: 'fieldsync-bench',
    INGEST_QUEUE_URL: queue('ingest'),
    ...Object.fromEntries(SYSTEMS.map((s) => [writeQueueEnv(s), queue(`write-${s}`)])),
    ...Object.fromEntries(SYSTEMS.map((s) => [noticeQueueEnv(s), queue(`notices-${s}`)])),
    SALESFORCE_INSTANCE_URL: closed,
    SALESFORCE_ACCESS_TOKEN: 'bench',
    HUBSPOT_BASE_URL: closed,
    HUBSPOT_ACCESS_TOKEN: 'bench',
    HUBSPOT_CLIENT_SECRET: 'bench',
    SALESFORCE_ORG_ID: '00D000000000001',
    SALESFORCE_OUTBOUND_SECRET: 'bench',
    WEBHOOK_BASE_URL: 'https://bench.invalid',
    FIELDSYNC_STATE_DIR: join(stateDir, 'state'),
  };
}

const PROBE = `
const t0 = performance.now();
await import(process.argv[1]);
const t1 = performance.now();
process.stdout.write(JSON.stringify({ importMs: t1 - t0, processMs: t1, rss: process.memoryUsage().rss }));
process.exit(0);
`;

interface Probe {
  importMs: number;
  processMs: number;
  rss: number;
}

function isProbe(v: unknown): v is Probe {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.importMs === 'number' && typeof o.processMs === 'number' && typeof o.rss === 'number';
}

async function probe(file: string, env: Record<string, string>, cwd: string): Promise<Probe> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE, pathToFileURL(file).href], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  // The probe's JSON is the last line: module init may have printed before it.
  const last = out.trim().split('\n').at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    parsed = undefined;
  }
  if (code !== 0 || !isProbe(parsed))
    throw new Error(`import failed (exit ${code}): ${(err.trim().split('\n')[0] ?? '').slice(0, 200)}`);
  return parsed;
}

/** `node_modules/@scope/name/...` → `@scope/name`; the project's own files count as `(fieldsync)`. */
function packageOf(path: string): string {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0) return '(fieldsync)';
  const parts = path.slice(i + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? path);
}

function topPackages(inputs: Record<string, { bytesInOutput: number }>, n = 5) {
  const by = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs))
    by.set(packageOf(path), (by.get(packageOf(path)) ?? 0) + bytesInOutput);
  return [...by.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([pkg, bytes]) => ({ package: pkg, bytes }));
}

/** Bundles every function into a temp dir, then imports each bundle `spawns` times in a fresh node. */
export async function measureBundles(spawns = 3): Promise<BundleReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fieldsync-bench-bundles-'));
  const reports: BundleReport[] = [];
  try {
    for (const file of functionEntries()) {
      const name = file.replace(/\.ts$/, '');
      const outfile = join(dir, name, 'index.mjs');
      const report: BundleReport = {
        function: name,
        bytes: 0,
        gzip_bytes: 0,
        source_map_bytes: 0,
        node_modules_inputs: 0,
        saas_clients: [],
        top_packages: [],
        cold_import_ms: 0,
        cold_import_runs_ms: [],
        cold_process_ms: 0,
        rss_after_import_mb: 0,
      };
      reports.push(report);
      try {
        const result = await build({
          ...CONSTRUCT_BUILD,
          mainFields: [...CONSTRUCT_BUILD.mainFields],
          external: [...CONSTRUCT_BUILD.external],
          entryPoints: [join(repoRoot, 'functions', file)],
          outfile,
          absWorkingDir: repoRoot,
          metafile: true,
          logLevel: 'silent',
        });
        const code = readFileSync(outfile);
        report.bytes = code.length;
        report.gzip_bytes = gzipSync(code, { level: 9 }).length;
        report.source_map_bytes = statSync(`${outfile}.map`).size;
        const inputs = Object.keys(result.metafile.inputs);
        report.node_modules_inputs = inputs.filter((p) => p.includes('node_modules/')).length;
        report.saas_clients = SAAS_CLIENTS.filter((pkg) =>
          inputs.some((p) => p.includes(`node_modules/${pkg}/`)),
        );
        const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'));
        report.top_packages = topPackages(output?.[1].inputs ?? {});
        const env = stubEnv(dir);
        const runs: Probe[] = [];
        for (let i = 0; i < spawns; i++) runs.push(await probe(outfile, env, dir));
        report.cold_import_runs_ms = runs.map((r) => Math.round(r.importMs));
        report.cold_import_ms = Math.round(median(runs.map((r) => r.importMs)));
        report.cold_process_ms = Math.round(median(runs.map((r) => r.processMs)));
        report.rss_after_import_mb = round(median(runs.map((r) => r.rss)) / 1e6);
      } catch (err) {
        report.error = err instanceof Error ? err.message : String(err);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return reports;
}
