// The runner killed mid-batch: `fieldsync sync --once` as a child process on the world's state dir
// against the sandboxes in this process, SIGKILLed when it has made a seeded number of API calls
// (so the kill lands inside its polls, reads and write batches, not during start-up), restarted on
// the same state, and finally left to finish.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { count, initialSyncDone, type World } from './world.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'fieldsync.ts');
const VISIBILITY_SECONDS = 2;

export interface ChildRun {
  killed: boolean;
  /** API calls the sandboxes served while it ran. */
  calls: number;
  exitCode: number | null;
  /** The last lines of its output, for the failure report. */
  tail: string;
}

function apiCalls(world: World): number {
  return world.sf.stats.total + world.hs.stats.total;
}

/** Run `fieldsync sync --once`; with `killAfterCalls`, SIGKILL it once the sandboxes served that many calls
 * to it (plus a seeded pause of up to 20 ms, so it dies anywhere inside the handling of that answer). */
export async function runSyncOnce(world: World, killAfterCalls?: number): Promise<ChildRun> {
  const env = {
    ...process.env,
    ...world.env,
    FIELDSYNC_STATE_DIR: world.stateDir,
    // A batch the killed runner held comes back after this (SQS's visibility timeout), not 30 s.
    FIELDSYNC_QUEUE_VISIBILITY_SECONDS: String(VISIBILITY_SECONDS),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  const start = apiCalls(world);
  const jitter = Math.floor(world.rand() * 20);
  const child: ChildProcess = spawn(process.execPath, [CLI, 'sync', '--once', '--json'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let killed = false;
  const watch =
    killAfterCalls === undefined
      ? undefined
      : setInterval(() => {
          if (killed || apiCalls(world) - start < killAfterCalls) return;
          killed = true;
          clearInterval(watch);
          setTimeout(() => child.kill('SIGKILL'), jitter);
        }, 1);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
  if (watch !== undefined) clearInterval(watch);
  // A kill that came after it had exited by itself is no kill.
  const wasKilled = killed && exitCode === null;
  if (wasKilled) count(world, 'runner SIGKILLed mid-run');
  return {
    killed: wasKilled,
    calls: apiCalls(world) - start,
    exitCode,
    tail: output.trim().split('\n').slice(-8).join('\n'),
  };
}

/** The initial sync: one `sync --once` run to the end (its API calls scale where the kills land). */
export async function initialRun(world: World): Promise<{ calls: number; problems: string[] }> {
  const first = await runSyncOnce(world);
  initialSyncDone(world);
  return {
    calls: first.calls,
    problems: first.exitCode === 0 ? [] : [`the initial sync --once exited ${first.exitCode}: ${first.tail}`],
  };
}

/**
 * Kill the runner `kills` times at seeded points while `streaming()` edits arrive, then run it to the end.
 * `initialCalls`: API calls of the initial sync, to scale where the first kills land.
 */
export async function killAndRestart(
  world: World,
  kills: number,
  initialCalls: number,
  streaming: () => boolean,
): Promise<string[]> {
  const problems: string[] = [];
  let scale = Math.max(4, Math.round(initialCalls / 2));
  let made = 0;
  for (let attempt = 0; made < kills && attempt < kills * 3; attempt++) {
    const at = 1 + Math.floor(world.rand() * scale);
    const run = await runSyncOnce(world, at);
    world.log(
      `sync --once ${run.killed ? `killed after ${run.calls} API calls` : `finished (${run.calls} calls)`}`,
    );
    if (run.killed) made++;
    else {
      if (run.exitCode !== 0) problems.push(`a sync --once exited ${run.exitCode}: ${run.tail}`);
      scale = Math.max(4, run.calls);
    }
  }
  // Let the edit stream finish, then a run on the same state that is not killed must complete.
  while (streaming()) await new Promise((r) => setTimeout(r, 50));
  const last = await runSyncOnce(world);
  world.log(`final sync --once exited ${last.exitCode} after ${last.calls} API calls`);
  if (last.exitCode !== 0)
    problems.push(`the sync --once after the kills exited ${last.exitCode}: ${last.tail}`);
  return problems;
}
