// The SaaS systems fieldsync deploys a poller and a writer for come from the one list in
// connectors/systems.ts; the compiler then points at `perSystem` and at the handler files it needs.

import { SYSTEMS, type SystemName } from '../../connectors/systems.ts';
import { noticeQueueEnv, writeQueueEnv } from '../../runtime/config.ts';

export { SYSTEMS, type SystemName };

export type Stage = 'dev' | 'prod';
export function isStage(value: unknown): value is Stage {
  return value === 'dev' || value === 'prod';
}

/** Env var through which a function receives the write queue URL of `system`. */
export function writeQueueEnvName(system: SystemName): string {
  return writeQueueEnv(system);
}

/** Env var through which a function receives the webhook-notice queue URL of `system`. */
export function noticeQueueEnvName(system: SystemName): string {
  return noticeQueueEnv(system);
}

/** Builds a record keyed by system name, so callers never index with a loose string. */
export function perSystem<T>(make: (system: SystemName) => T): Record<SystemName, T> {
  return { salesforce: make('salesforce'), hubspot: make('hubspot') };
}

/** 'salesforce' -> 'Salesforce', for construct ids and output names. */
export function pascal(system: SystemName): string {
  return system.charAt(0).toUpperCase() + system.slice(1);
}
