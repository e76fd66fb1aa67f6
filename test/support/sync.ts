// Shared by the end-to-end tests: one sync cycle with its summary, write-call counts, agreement.
import { DEFAULT_CONFIG } from '../../config/default.ts';
import { CONNECTORS } from '../../connectors/registry.ts';
import { checkAgreement } from '../../local/agreement.ts';
import { cycle } from '../../local/cli.ts';
import type { EmbeddedStack } from '../../local/stack.ts';
import { collect, type RunSummary } from '../../local/summary.ts';
import { credentialsFrom } from '../../runtime/config.ts';

/** Poll every system and drain the queues, collecting what the handlers reported. */
export async function syncCycle(stack: EmbeddedStack): Promise<RunSummary> {
  const c = collect();
  try {
    await cycle(stack);
  } finally {
    c.stop();
  }
  return c.summary;
}

export function writeCallsBySystem(s: RunSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(s.systems).map(([name, v]) => [name, v.writeCalls]));
}

export function totalWriteCalls(s: RunSummary): number {
  return Object.values(s.systems).reduce((n, v) => n + v.writeCalls, 0);
}

/** Do both sandboxes agree with the canonical state (read through fresh connectors, project config)? */
export function agreementOf(stack: EmbeddedStack, env: Record<string, string>) {
  const creds = credentialsFrom(env);
  const connectors = {
    salesforce: CONNECTORS.salesforce(creds, DEFAULT_CONFIG),
    hubspot: CONNECTORS.hubspot(creds, DEFAULT_CONFIG),
  };
  return checkAgreement(stack.store, connectors, DEFAULT_CONFIG.model);
}
