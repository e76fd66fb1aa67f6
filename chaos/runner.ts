// Runs chaos scenarios, each in its own process (chaos/scenario-main.ts), a few at a time, and
// reports per scenario: seed, faults injected by kind, edits made and checked, lost, duration.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { RESULT_PREFIX, replayCommand, type ScenarioResult } from './scenario-main.ts';
import type { Size } from './world.ts';

export interface ChaosOptions {
  size: Size;
  /** The first scenario's seed; the others follow (seed + 1, ...), so each can be replayed alone. */
  seed: number;
  scenarios: readonly string[];
  /** Seeds per scenario. */
  seeds: number;
  /** Scenarios running at once (each is its own process). */
  concurrency: number;
  /** Bound on one scenario's process. */
  timeoutMs: number;
}

export interface ChaosJob {
  scenario: string;
  seed: number;
}

/** Job k (scenario i of round j) gets seed + k: `--seed <that> --scenario <name>` replays it exactly. */
export function plan(options: Pick<ChaosOptions, 'seed' | 'scenarios' | 'seeds'>): ChaosJob[] {
  const jobs: ChaosJob[] = [];
  for (let j = 0; j < options.seeds; j++)
    for (const scenario of options.scenarios) jobs.push({ scenario, seed: options.seed + jobs.length });
  return jobs;
}

const MAIN = join(import.meta.dirname, 'scenario-main.ts');

function failed(job: ChaosJob, size: Size, durationMs: number, why: string, log: string[]): ScenarioResult {
  return {
    scenario: job.scenario,
    seed: job.seed,
    size,
    passed: false,
    faults: {},
    actions: {},
    edits: 0,
    checked: 0,
    outcomes: { present: 0, 'overwritten-at-source': 0, 'lost-to-newer-edit': 0, lost: 0 },
    lost: 0,
    settleRounds: 0,
    quietWrites: {},
    durationMs,
    failures: [why],
    log,
  };
}

export async function runScenario(job: ChaosJob, size: Size, timeoutMs: number): Promise<ScenarioResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN, job.scenario, String(job.seed), size], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  const verbose = process.env.FIELDSYNC_CHAOS_VERBOSE === '1';
  child.stderr.on('data', (c: Buffer) => {
    const text = c.toString('utf8');
    stderr = (stderr + text).slice(-8000);
    if (verbose)
      for (const line of text.split('\n'))
        if (line.startsWith('[')) process.stderr.write(`${job.scenario} ${job.seed} ${line}\n`);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  const tail = stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('Request failed with status code'))
    .slice(-20);
  if (line !== undefined) return JSON.parse(line.slice(RESULT_PREFIX.length)) as ScenarioResult;
  return failed(
    job,
    size,
    Date.now() - started,
    timedOut
      ? `the scenario did not finish within its bound of ${Math.round(timeoutMs / 1000)} s`
      : `the scenario process exited ${code} without a result`,
    tail,
  );
}

/** Every job, `concurrency` at a time; `onStart`/`onResult` as they happen. */
export async function runChaos(
  options: ChaosOptions,
  hooks: { onStart?: (job: ChaosJob) => void; onResult?: (r: ScenarioResult) => void } = {},
): Promise<ScenarioResult[]> {
  const jobs = plan(options);
  const results: ScenarioResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    for (let k = next++; k < jobs.length; k = next++) {
      const job = jobs[k];
      if (job === undefined) continue;
      hooks.onStart?.(job);
      const result = await runScenario(job, options.size, options.timeoutMs);
      results[k] = result;
      hooks.onResult?.(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, jobs.length)) }, worker));
  return results;
}

export function totalFaults(r: ScenarioResult): number {
  return Object.values(r.faults).reduce((a, b) => a + b, 0);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One result: a summary line, the faults by kind, and on failure the failures and the replay command. */
export function describeResult(r: ScenarioResult): string[] {
  const faults = Object.entries(r.faults)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `${r.passed ? 'PASS' : 'FAIL'} ${r.scenario} seed ${r.seed}: ${totalFaults(r)} faults injected, ${r.edits} edits made, ${r.checked} checked, ${r.lost} lost, ${seconds(r.durationMs)}`,
    `     faults: ${faults || 'none'}`,
    `     edits: ${r.outcomes.present} present in both systems, ${r.outcomes['lost-to-newer-edit']} lost to a newer edit (audited), ${r.outcomes['overwritten-at-source']} overwritten at source by a later user edit; quiet cycle writes ${JSON.stringify(r.quietWrites)}; settle rounds ${r.settleRounds}`,
  ];
  if (!r.passed) {
    lines.push(...r.failures.slice(0, 25).map((f) => `     ${f}`));
    if (r.failures.length > 25) lines.push(`     ... and ${r.failures.length - 25} more`);
    if (r.log.length > 0) lines.push('     log:', ...r.log.map((l) => `       ${l}`));
    lines.push(`     replay with: ${replayCommand(r.scenario, r.seed, r.size)}`);
  }
  return lines;
}

export function summaryTable(results: readonly ScenarioResult[]): string[] {
  const rows = results.map((r) => [
    r.scenario,
    String(r.seed),
    String(totalFaults(r)),
    String(r.edits),
    String(r.checked),
    String(r.lost),
    r.passed ? 'pass' : 'FAIL',
    seconds(r.durationMs),
  ]);
  const head = ['scenario', 'seed', 'faults', 'edits', 'checked', 'lost', 'result', 'duration'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmt = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === 0 || i === 6 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  const total = {
    faults: results.reduce((n, r) => n + totalFaults(r), 0),
    edits: results.reduce((n, r) => n + r.edits, 0),
    checked: results.reduce((n, r) => n + r.checked, 0),
    lost: results.reduce((n, r) => n + r.lost, 0),
    failed: results.filter((r) => !r.passed).length,
  };
  return [
    fmt(head),
    ...rows.map(fmt),
    `${results.length} scenario runs, ${total.failed} failed; ${total.faults} faults injected, ${total.edits} edits made, ${total.checked} checked, ${total.lost} lost`,
  ];
}
