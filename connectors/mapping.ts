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
