// Value normalization: one canonical spelling per value, so equal data compares equal
// across systems (and a system's echo equals its shadow).
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

export function normalizeValue(kind: FieldKind, raw: unknown): FieldValue {
  if (raw === null || raw === undefined) return null;
  const text = typeof raw === 'string' ? raw : String(raw);
  switch (kind) {
    case 'email':
      return normalizeEmail(text);
    case 'domain':
      return normalizeDomain(text);
    case 'string':
    case 'phone':
    case 'reference': {
      const v = text.trim();
      return v === '' ? null : v;
    }
  }
}
