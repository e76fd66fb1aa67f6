// Fault injection shared by the sandboxes: the options in force (changeable while the server runs, so
// a test can turn faults on for a while and heal them), the seeded dice, and a count of every fault
// injected by kind.
import { setTimeout as sleep } from 'node:timers/promises';
import { prng } from './seed.ts';

/** Injected faults so far, by kind (e.g. '429', '5xx', 'slow'). */
export type FaultCounts = Readonly<Record<string, number>>;

export class FaultSwitch<T extends { seed?: number }> {
  private current: T | undefined;
  private dice: () => number;
  private readonly counts: Record<string, number> = {};

  constructor(options: T | undefined) {
    this.current = options;
    this.dice = prng(options?.seed ?? 1);
  }

  /** The options in force; undefined when faults are off. */
  get options(): T | undefined {
    return this.current;
  }

  /** Replace the options (undefined: no faults); the dice restart from the new seed. Counts are kept. */
  configure(options: T | undefined): void {
    this.current = options;
    this.dice = prng(options?.seed ?? 1);
  }

  /** The next seeded number in [0, 1). */
  rand(): number {
    return this.dice();
  }

  count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  stats(): FaultCounts {
    return { ...this.counts };
  }

  /**
   * The long tail: with probability `rate` (drawn only when `rate` > 0, so seeds without it replay as
   * before) the call waits `ms` more, counted as 'slow'.
   */
  async slowTail(rate: number | undefined, ms: number | undefined): Promise<void> {
    if ((rate ?? 0) <= 0 || (ms ?? 0) <= 0) return;
    if (this.dice() >= (rate ?? 0)) return;
    this.count('slow');
    await sleep(ms ?? 0);
  }
}

/** What a sandbox exposes of its fault switch. */
export type SandboxFaults<T extends { seed?: number }> = Pick<
  FaultSwitch<T>,
  'options' | 'configure' | 'stats'
>;
