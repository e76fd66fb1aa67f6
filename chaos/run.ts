// npm run chaos -- [--size small|large] [--seed N] [--scenario name[,name]|all] [--seeds K]
//                  [--concurrency C] [--json]
// Runs the chaos scenarios (default: all of the suite, one seed each at the small size, three at the
// large), prints each scenario's seed with its replay command at start, a report per scenario, and a
// summary. Exit 1 if any invariant failed.
import { parseArgs } from 'node:util';
import { describeResult, runChaos, summaryTable } from './runner.ts';
import { replayCommand } from './scenario-main.ts';
import { KNOWN_ISSUES, SCENARIOS } from './scenarios.ts';
import type { Size } from './world.ts';

function fail(message: string): never {
  console.error(`chaos: ${message}`);
  process.exit(2);
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number >= 0, got '${raw}'`);
  return n;
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'small' },
    seed: { type: 'string' },
    scenario: { type: 'string' },
    seeds: { type: 'string' },
    concurrency: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.size !== 'small' && values.size !== 'large')
  fail(`--size must be small or large, got '${values.size}'`);
const size: Size = values.size;
const known = [...SCENARIOS, ...KNOWN_ISSUES].map((s) => s.name);
const scenarios =
  values.scenario === undefined
    ? SCENARIOS.map((s) => s.name)
    : values.scenario === 'all'
      ? known
      : values.scenario.split(',').map((s) => s.trim());
for (const s of scenarios)
  if (!known.includes(s)) fail(`unknown scenario '${s}' (one of: ${known.join(', ')}, all)`);
const seed = positiveInt(
  'seed',
  values.seed ?? process.env.FIELDSYNC_CHAOS_SEED,
  Math.floor(Math.random() * 1_000_000),
);
const seeds = Math.max(1, positiveInt('seeds', values.seeds, size === 'large' ? 3 : 1));
const concurrency = Math.max(1, positiveInt('concurrency', values.concurrency, 2));
const options = {
  size,
  seed,
  scenarios,
  seeds,
  concurrency,
  timeoutMs: size === 'large' ? 30 * 60_000 : 3 * 60_000,
};

const log = (line: string) => {
  if (!values.json) console.log(line);
};
log(
  `chaos: size ${size}, ${scenarios.length} scenario(s) x ${seeds} seed(s) from seed ${seed}, ${concurrency} at a time`,
);
const started = Date.now();
const results = await runChaos(options, {
  onStart: (job) =>
    log(
      `start ${job.scenario} seed ${job.seed} (replay with: ${replayCommand(job.scenario, job.seed, size)})`,
    ),
  onResult: (r) => {
    for (const line of describeResult(r)) log(line);
  },
});
if (values.json) console.log(JSON.stringify({ options, durationMs: Date.now() - started, results }, null, 2));
else {
  log('');
  for (const line of summaryTable(results)) log(line);
  log(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
process.exit(results.every((r) => r.passed) ? 0 : 1);
