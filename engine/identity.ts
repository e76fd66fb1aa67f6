// Identity: deterministic canonical ids and the match keys that pair records across systems.
import { createHash } from 'node:crypto';
import { type ObjectDef, type ObjectType, resolveDef } from './model.ts';
import type { FieldValue } from './normalize.ts';

/** Derived from the first link, so a retried ingest of the same record creates nothing twice. */
export function canonicalIdFor(system: string, object: ObjectType, externalId: string): string {
  const digest = createHash('sha256').update(`${system}\u0000${object}\u0000${externalId}`).digest('hex');
  return `${object}_${digest.slice(0, 24)}`;
}

export interface MatchKey {
  field: string;
  value: string;
}

/** The match keys a snapshot carries (normalized values; blanks carry none). */
export function matchKeysOf(
  def: ObjectDef | ObjectType,
  fields: Readonly<Record<string, FieldValue>>,
): MatchKey[] {
  const keys: MatchKey[] = [];
  for (const field of resolveDef(def).matchKeys) {
    const value = fields[field];
    if (typeof value === 'string' && value !== '') keys.push({ field, value });
  }
  return keys;
}
