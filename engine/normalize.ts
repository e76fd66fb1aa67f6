// Value normalization: one canonical spelling per value, so equal data compares equal
// across systems (and a system's echo equals its shadow).
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { FieldKind } from './model.ts';

export type FieldValue = string | null;

export function normalizeEmail(raw: string): string | null {
  const v = raw.trim().toLowerCase();
  return v === '' ? null : v;
}

/** `https://www.Acme.com/about` -> `acme.com`. */
export function normalizeDomain(raw: string): string | null {
  let v = raw.toLowerCase();
  // One pass can expose more to strip (`www.www.a.com`, `a.com:80.`, `a.com /x`), so repeat until
  // nothing changes: the result is then a fixed point, and an echo of a written domain equals its shadow.
  // Every step only removes characters, so this terminates.
  let prev: string;
  do {
    prev = v;
    v = v.trim();
    v = v.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
    v = v.replace(/^[^@/]*@/, '');
    v = v.split(/[/?#]/, 1)[0] ?? '';
    v = v.replace(/:\d+$/, '').replace(/\.+$/, '');
    if (v.startsWith('www.')) v = v.slice(4);
  } while (v !== prev);
  return v === '' ? null : v;
}

export interface NormalizeOptions {
  /** Region assumed for phone numbers written without a country code (ISO 3166 alpha-2). */
  defaultCountry?: CountryCode;
}

/** E.164 when the number parses (libphonenumber's metadata), else the trimmed text as typed. */
export function normalizePhone(raw: string, defaultCountry: CountryCode = 'US'): string | null {
  const v = raw.trim();
  if (v === '') return null;
  const parsed = parsePhoneNumberFromString(v, defaultCountry);
  return parsed?.isPossible() === true ? parsed.number : v;
}

/** A decimal number in its shortest canonical spelling (`1200.50` -> `1200.5`), or the trimmed text. */
export function normalizeNumber(raw: string): string | null {
  const v = raw.trim().replace(/,/g, '');
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? String(n) : raw.trim();
}

/** A calendar date `YYYY-MM-DD` from a date, an ISO date-time or a ms-epoch; else the trimmed text. */
export function normalizeDate(raw: string): string | null {
  const v = raw.trim();
  if (v === '') return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isNaN(ms) ? v : new Date(ms).toISOString().slice(0, 10);
}

export function normalizeBoolean(raw: unknown): string | null {
  if (typeof raw === 'boolean') return raw ? 'true' : 'false';
  const v = String(raw).trim().toLowerCase();
  if (v === '') return null;
  if (['true', '1', 'yes', 'y'].includes(v)) return 'true';
  if (['false', '0', 'no', 'n'].includes(v)) return 'false';
  return v;
}

export function normalizeValue(kind: FieldKind, raw: unknown, options: NormalizeOptions = {}): FieldValue {
  if (raw === null || raw === undefined) return null;
  if (kind === 'boolean') return normalizeBoolean(raw);
  const text = typeof raw === 'string' ? raw : String(raw);
  switch (kind) {
    case 'email':
      return normalizeEmail(text);
    case 'domain':
      return normalizeDomain(text);
    case 'phone':
      return normalizePhone(text, options.defaultCountry);
    case 'number':
      return normalizeNumber(text);
    case 'date':
      return normalizeDate(text);
    case 'string':
    case 'enum':
    case 'reference': {
      const v = text.trim();
      return v === '' ? null : v;
    }
  }
}
