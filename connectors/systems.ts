// The systems fieldsync syncs, without their SaaS clients (so the ingest function stays small).
// Adding a system: one name here and one factory line in registry.ts.

export const SYSTEMS = ['salesforce', 'hubspot'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export function isSystemName(value: unknown): value is SystemName {
  return typeof value === 'string' && (SYSTEMS as readonly string[]).includes(value);
}

/** Tie-break on equal source times: higher wins. Every replica uses the same table, so all pick the same winner. */
export const SYSTEM_PRIORITY: Readonly<Record<SystemName, number>> = { salesforce: 2, hubspot: 1 };
