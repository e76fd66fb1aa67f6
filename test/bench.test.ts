// The bench's own logic, without running it (tests time nothing): arguments, percentiles, the
// budget verdicts and the Lambda bundle entries.
import { describe, expect, it } from 'vitest';
import { functionEntries } from '../bench/bundles.ts';
import { BenchUsageError, commandLine, parseBenchArgs } from '../bench/options.ts';
import { nearIdeal } from '../bench/report.ts';
import { exponentialGaps, median, percentiles } from '../bench/stats.ts';
import { prng } from '../sandboxes/seed.ts';

describe('bench arguments', () => {
  it('defaults to 20,000 people and the stream sizes the issue asks for', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({
      people: 20_000,
      json: false,
      webhookSamples: 200,
      pollSamples: 30,
      pollIntervalMs: 3000,
      bundles: true,
    });
    expect(commandLine(o)).toBe('npm run bench -- --size 20000');
  });

  it('reads every option and gives them back as a command', () => {
    const o = parseBenchArgs([
      '--size',
      '500',
      '--json',
      '--seed',
      '7',
      '--webhook-rate',
      '2.5',
      '--poll-samples',
      '40',
      '--api-latency-ms',
      '50',
      '--no-bundles',
      '--out',
      'r.json',
    ]);
    expect(o).toMatchObject({ people: 500, json: true, seed: 7, webhookRatePerS: 2.5, pollSamples: 40 });
    expect(o.out).toBe('r.json');
    expect(commandLine(o)).toBe(
      'npm run bench -- --size 500 --seed 7 --webhook-rate 2.5 --poll-samples 40 --api-latency-ms 50 --no-bundles --json',
    );
  });

  it.each([
    [['--size', '50'], /--size must be an integer from 100/],
    [['--size', '2e4'], /--size must be an integer/],
    [['--webhook-rate', '0'], /--webhook-rate must be a number from 0.1/],
    [['--poll-interval-ms', 'soon'], /--poll-interval-ms must be an integer/],
    [['--sise', '500'], /Unknown option '--sise'/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j with a clear message', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(BenchUsageError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});

describe('bench statistics', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 200 }, (_, i) => i + 1); // 1..200
    expect(percentiles(values)).toEqual({ samples: 200, p50_ms: 100, p95_ms: 190, p99_ms: 198, max_ms: 200 });
    expect(percentiles([])).toEqual({ samples: 0, p50_ms: 0, p95_ms: 0, p99_ms: 0, max_ms: 0 });
    expect(percentiles([7.4])).toMatchObject({ p50_ms: 7, p99_ms: 7 });
  });

  it('takes medians of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('draws Poisson gaps whose mean is one over the rate', () => {
    const gap = exponentialGaps(prng(3), 10);
    const gaps = Array.from({ length: 5000 }, gap);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(gaps.every((g) => g >= 0)).toBe(true);
    expect(mean).toBeGreaterThan(90);
    expect(mean).toBeLessThan(110);
  });
});

describe('bench budgets', () => {
  it('calls writes near the ideal within a quarter, plus a partial call per object and operation', () => {
    expect(nearIdeal(100, 100)).toBe(true);
    expect(nearIdeal(131, 100)).toBe(true);
    expect(nearIdeal(132, 100)).toBe(false);
    expect(nearIdeal(9, 4)).toBe(true);
    expect(nearIdeal(200, 4)).toBe(false);
  });

  it('bundles every function file there is', () => {
    const entries = functionEntries();
    expect(entries).toContain('webhook.ts');
    expect(entries).toContain('write-hubspot.ts');
    expect(entries.every((f) => f.endsWith('.ts'))).toBe(true);
  });
});
