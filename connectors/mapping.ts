// Value transforms shared by connectors: enum maps and native types in both directions.
import type { SystemField, SystemView } from '../config/index.ts';
import { type FieldValue, normalizeValue } from '../engine/index.ts';

/** A native value before normalization: enum values mapped back to canonical ones. */
export function fromNative(field: SystemField, raw: unknown): unknown {
  if (field.kind !== 'enum' || field.values === undefined || raw === null || raw === undefined) return raw;
  const text = String(raw);
  for (const [canonical, native] of Object.entries(field.values)) if (native === text) return canonical;
  return text;
}

/** A native value (a record's, or one from the system's change history) as the canonical field value. */
export function canonicalValue(field: SystemField, raw: unknown, view: SystemView): FieldValue {
  return normalizeValue(field.kind, fromNative(field, raw), { defaultCountry: view.defaultCountry });
}

/**
 * A canonical value as the system wants it: enum values mapped; with `json`, numbers and booleans as
 * JSON types (Salesforce), otherwise as strings (HubSpot properties are strings; blank clears).
 */
export function toNativeValue(
  field: SystemField,
  value: FieldValue,
  mode: 'json' | 'string',
): string | number | boolean | null {
  if (value === null) return mode === 'json' ? null : '';
  if (field.kind === 'enum') return field.values?.[value] ?? value;
  if (mode === 'string') return value;
  if (field.kind === 'number') {
    const n = Number(value);
    return Number.isFinite(n) ? n : value;
  }
  if (field.kind === 'boolean') return value === 'true';
  return value;
}

/** One change of a field in the system's own history: the canonical value, when (ms), and who made it. */
export interface FieldVersion {
  value: FieldValue;
  at: number;
  by: string;
}

/**
 * What a write of `written` replaced, from one field's history in order (oldest first): the write's own
 * entry is the last holding the written value from `from` on (none: the write changed nothing). The last,
 * not the first: two writers racing on a record both pass the check, and a user's edit between their
 * two entries was replaced by the second. The replaced value is the last entry before it made by someone
 * else than that entry's author (never fieldsync's own writes), to another value than the written one
 * and than `known` (what fieldsync already saw the system hold). A value merged twice this way changes
 * nothing more: the merge is idempotent.
 */
export function replacedVersion(
  versions: readonly FieldVersion[],
  written: FieldValue,
  from: number,
  known?: FieldValue,
): FieldVersion | undefined {
  const i = versions.findLastIndex((v) => v.value === written && v.at >= from);
  const ours = versions[i];
  if (ours === undefined) return undefined;
  return versions
    .slice(0, i)
    .filter((v) => v.by !== ours.by && v.value !== written && v.value !== known)
    .at(-1);
}
