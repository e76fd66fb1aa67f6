// Small text helpers shared by the operator commands.
import { isSystemName, SYSTEMS } from '../../connectors/systems.ts';

export type Out = (line: string) => void;

export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** A field value as the operator should read it: quoted, so blanks and nulls are visible. */
export function showValue(value: unknown): string {
  return value === null || value === undefined ? 'null' : JSON.stringify(value);
}

export function describeLinks(links: Readonly<Record<string, string>>): string {
  const rank = (s: string) => (isSystemName(s) ? SYSTEMS.indexOf(s) : SYSTEMS.length);
  const parts = Object.entries(links)
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([system, id]) => `${system} ${id}`);
  return parts.length === 0 ? 'no links' : parts.join(', ');
}

/** Left-aligned columns, two spaces apart, each line indented. */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `${indent}${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
