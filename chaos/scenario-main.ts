// One scenario in its own process (the embedded stack is one per process, and each scenario starts
// from fresh sandboxes and state): `node chaos/scenario-main.ts <name> <seed> <size>`. Prints its
// result as the last stdout line, prefixed with RESULT_PREFIX.
import type { EditOutcome } from './invariants.ts';
import { scenarioNamed } from './scenarios.ts';
import { closeWorld, openWorld, SIZES, type Size } from './world.ts';

export const RESULT_PREFIX = 'CHAOS-RESULT ';

export interface ScenarioResult {
  scenario: string;
  seed: number;
  size: Size;
  passed: boolean;
  /** Faults injected, by kind (sandbox faults prefixed with the system). */
  faults: Record<string, number>;
  /** User actions (one edit, two racing edits, or a create) and the field edits they made. */
  actions: Record<string, number>;
  edits: number;
  checked: number;
  outcomes: Record<EditOutcome, number>;
  lost: number;
  settleRounds: number;
  quietWrites: Record<string, number>;
  durationMs: number;
  failures: string[];
  /** The scenario's progress log (its last lines on failure). */
  log: string[];
}

export function replayCommand(scenario: string, seed: number, size: Size): string {
  return `npm run chaos -- --seed ${seed} --scenario ${scenario}${size === 'small' ? '' : ` --size ${size}`}`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, seedText, sizeText = 'small'] = argv;
  const seed = Number(seedText);
  if (name === undefined || !Number.isInteger(seed) || (sizeText !== 'small' && sizeText !== 'large')) {
    console.error('usage: node chaos/scenario-main.ts <scenario> <seed> <small|large>');
    return 2;
  }
  const size: Size = sizeText;
  const scenario = scenarioNamed(name);
  const started = Date.now();
  const world = await openWorld(seed, SIZES[size]);
  let result: ScenarioResult;
  try {
    const verdict = await scenario.run(world);
    const faults: Record<string, number> = {};
    for (const [kind, n] of Object.entries(world.sf.faults.stats())) faults[`salesforce ${kind}`] = n;
    for (const [kind, n] of Object.entries(world.hs.faults.stats())) faults[`hubspot ${kind}`] = n;
    for (const [kind, n] of Object.entries(world.injected)) if (n > 0) faults[kind] = n;
    result = {
      scenario: name,
      seed,
      size,
      passed: verdict.passed,
      faults,
      actions: { ...world.editor.kinds },
      edits: world.editor.ledger.length,
      checked: verdict.ledger.checked,
      outcomes: verdict.ledger.outcomes,
      lost: verdict.ledger.outcomes.lost,
      settleRounds: verdict.rounds,
      quietWrites: verdict.quietWrites,
      durationMs: Date.now() - started,
      failures: verdict.failures,
      log: verdict.passed ? [] : world.lines.slice(-30),
    };
  } catch (err) {
    result = {
      scenario: name,
      seed,
      size,
      passed: false,
      faults: {},
      actions: { ...world.editor.kinds },
      edits: world.editor.ledger.length,
      checked: 0,
      outcomes: { present: 0, 'overwritten-at-source': 0, 'lost-to-newer-edit': 0, lost: 0 },
      lost: 0,
      settleRounds: 0,
      quietWrites: {},
      durationMs: Date.now() - started,
      failures: [`the scenario crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`],
      log: world.lines.slice(-30),
    };
  } finally {
    await closeWorld(world);
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  return result.passed ? 0 : 1;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // SaaS clients keep idle connections open; the result is written, so end here.
  process.exit(code);
}
