// Command-line options of `npm run bench`, validated up front so a typo fails in a line, not after a
// ten-minute backfill.
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Distinct people across both systems; each side then holds about 1.1 × this many records. */
  people: number;
  json: boolean;
  /** Also write the JSON report to this file. */
  out: string | undefined;
  /** Webhook stream: mean edits per second (Poisson arrivals) and latency samples to take. */
  webhookRatePerS: number;
  webhookSamples: number;
  /** Polling-only stream: the pollers' interval, mean edits per second and samples. */
  pollIntervalMs: number;
  pollRatePerS: number;
  pollSamples: number;
  /** Added to every API call of both sandboxes in the second burst against the naive writer (a WAN round trip). */
  apiLatencyMs: number;
  /** Seed of the data set and of the edit streams (printed, so a run can be replayed). */
  seed: number;
  /** Skip the Lambda bundle stage (esbuild and cold imports). */
  bundles: boolean;
}

export const USAGE = `usage: npm run bench -- [--size N] [--json] [--out file.json] [--seed N]
  [--webhook-rate N] [--webhook-samples N] [--poll-interval-ms N] [--poll-rate N] [--poll-samples N]
  [--api-latency-ms N] [--no-bundles]
  --size N   people across both systems (default 20000: about 22,000 records a side); 500 is a quick check`;

export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

function int(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new BenchUsageError(
      `--${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  return n;
}

function num(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new BenchUsageError(
      `--${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        size: { type: 'string', default: '20000' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        seed: { type: 'string', default: '1' },
        'webhook-rate': { type: 'string', default: '10' },
        'webhook-samples': { type: 'string', default: '200' },
        'poll-interval-ms': { type: 'string', default: '3000' },
        'poll-rate': { type: 'string', default: '2' },
        'poll-samples': { type: 'string', default: '30' },
        'api-latency-ms': { type: 'string', default: '100' },
        'no-bundles': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new BenchUsageError(err instanceof Error ? err.message : String(err));
  }
  const str = (k: string) => String(values[k]);
  const out = values.out;
  if (out !== undefined && (typeof out !== 'string' || out.trim() === ''))
    throw new BenchUsageError('--out must name a file');
  return {
    // Below 100 people the latency streams would keep reusing the same few records.
    people: int('size', str('size'), 100, 1_000_000),
    json: values.json === true,
    out: typeof out === 'string' ? out : undefined,
    seed: int('seed', str('seed'), 0, 2 ** 31),
    webhookRatePerS: num('webhook-rate', str('webhook-rate'), 0.1, 200),
    webhookSamples: int('webhook-samples', str('webhook-samples'), 1, 100_000),
    pollIntervalMs: int('poll-interval-ms', str('poll-interval-ms'), 200, 600_000),
    pollRatePerS: num('poll-rate', str('poll-rate'), 0.1, 200),
    pollSamples: int('poll-samples', str('poll-samples'), 1, 100_000),
    apiLatencyMs: int('api-latency-ms', str('api-latency-ms'), 1, 10_000),
    bundles: values['no-bundles'] !== true,
  };
}

/** The command that reproduces a run with these options (for the report and the README). */
export function commandLine(o: BenchOptions): string {
  const d = parseBenchArgs([]);
  const parts = ['npm run bench --', `--size ${o.people}`];
  if (o.seed !== d.seed) parts.push(`--seed ${o.seed}`);
  if (o.webhookRatePerS !== d.webhookRatePerS) parts.push(`--webhook-rate ${o.webhookRatePerS}`);
  if (o.webhookSamples !== d.webhookSamples) parts.push(`--webhook-samples ${o.webhookSamples}`);
  if (o.pollIntervalMs !== d.pollIntervalMs) parts.push(`--poll-interval-ms ${o.pollIntervalMs}`);
  if (o.pollRatePerS !== d.pollRatePerS) parts.push(`--poll-rate ${o.pollRatePerS}`);
  if (o.pollSamples !== d.pollSamples) parts.push(`--poll-samples ${o.pollSamples}`);
  if (o.apiLatencyMs !== d.apiLatencyMs) parts.push(`--api-latency-ms ${o.apiLatencyMs}`);
  if (!o.bundles) parts.push('--no-bundles');
  if (o.json) parts.push('--json');
  return parts.join(' ');
}
