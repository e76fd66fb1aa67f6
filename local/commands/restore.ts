// fieldsync restore <record> --at <ISO time>: put a record's canonical fields back to the values they
// held at that time, read from its audit history, as fieldsync's own edit (so they win), and write
// them to every system. Undoes a bad edit or a bad import without touching other records.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CHANGE_REASONS, type FieldState, type FieldValue } from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import type { AuditRow } from '../../runtime/store.ts';
import { isoTime, type Out, plural, showValue, table } from './format.ts';
import {
  describeRef,
  loadRecord,
  type Operator,
  operatorRow,
  parseRecordRef,
  type RecordRef,
  updateRecord,
  withStack,
} from './operate.ts';

const atSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'must be an ISO time such as 2026-03-01T09:30:00Z',
});

/** Parse `--at` (checked before anything starts). */
export function parseAt(raw: string | undefined): number {
  if (raw === undefined)
    throw new ConfigError('restore needs --at <ISO time>, e.g. --at 2026-03-01T09:30:00Z');
  const parsed = atSchema.safeParse(raw.trim());
  if (!parsed.success)
    throw new ConfigError(`restore: --at '${raw}' ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return Date.parse(parsed.data);
}

/** Audit reasons whose `old`/`kept` are values of the field itself (not record-level events). */
const FIELD_REASONS: ReadonlySet<string> = new Set([...CHANGE_REASONS, 'restored']);

/**
 * The value each field held at time `at`, from the record's history in time order: the `kept` of its
 * last row at or before `at`; a field with no such row held the `old` of its first row after `at`,
 * and a field with no row either way has not changed since (absent from the result).
 */
export function valuesAt(
  history: readonly AuditRow[],
  fields: readonly string[],
  at: number,
): Map<string, FieldValue> {
  const out = new Map<string, FieldValue>();
  for (const field of fields) {
    const rows = history.filter((r) => r.field === field && FIELD_REASONS.has(r.reason));
    const before = rows.filter((r) => r.at <= at).at(-1);
    const after = rows.find((r) => r.at > at);
    if (before !== undefined) out.set(field, before.kept);
    else if (after !== undefined) out.set(field, after.old);
  }
  return out;
}

export interface RestoredField {
  field: string;
  from: FieldValue;
  to: FieldValue;
}

export async function restoreCommand(op: Operator, ref: RecordRef, at: number, out: Out): Promise<void> {
  const name = describeRef(ref);
  const now = op.now();
  if (at > now) throw new ConfigError(`restore: --at ${isoTime(at)} is in the future`);
  const found = await loadRecord(op.store, ref, 'restore');
  if (found.tombstone !== undefined)
    throw new ConfigError(`restore: ${name} is ${found.tombstone.status}; there is nothing to restore into`);
  // Stored in key order (time, then position in its batch); a stable sort on time keeps that order.
  const history = (await op.store.audit(found.id)).sort((a, b) => a.at - b.at);
  const first = history[0];
  if (first === undefined) throw new ConfigError(`restore: ${name} has no history to restore from`);
  if (at < first.at)
    throw new ConfigError(
      `restore: --at ${isoTime(at)} is before ${name} existed (first seen ${isoTime(first.at)})`,
    );
  const def = op.def(found.object);
  const wanted = valuesAt(history, Object.keys(def.fields), at);

  let restored: RestoredField[] = [];
  await updateRecord(op.store, found.object, found.id, (current) => {
    restored = [];
    const fields: Record<string, FieldState> = { ...current.fields };
    for (const [field, value] of wanted) {
      const from = current.fields[field]?.value ?? null;
      if (from === value) continue;
      fields[field] = { value, source: 'fieldsync', sourceTime: now, seenAt: now };
      restored.push({ field, from, to: value });
    }
    return restored.length === 0 ? undefined : { ...current, fields };
  });
  if (restored.length === 0) {
    out(`${found.object} ${found.id} already holds its values of ${isoTime(at)}: nothing to restore`);
    return;
  }
  await op.audit(restored.map((r) => operatorRow(found, now, 'restored', r.field, r.from, r.to)));
  await op.signal(found.object, [found.id]);
  out(`restored ${plural(restored.length, 'field')} of ${found.object} ${found.id} to ${isoTime(at)}:`);
  for (const l of table(
    ['field', 'was', 'now'],
    restored.map((r) => [r.field, showValue(r.from), showValue(r.to)]),
  ))
    out(l);
}

/** `fieldsync restore <system>:<object>:<id>|<canonicalId> --at <ISO time>` */
export async function runRestore(args: readonly string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { at: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [record, ...extra] = positionals;
  if (extra.length > 0)
    throw new ConfigError('usage: fieldsync restore <system>:<object>:<id> --at <ISO time>');
  const ref = parseRecordRef('restore', record);
  const at = parseAt(values.at);
  if (at > Date.now()) throw new ConfigError(`restore: --at ${isoTime(at)} is in the future`);
  const { code } = await withStack(env, out, (op) => restoreCommand(op, ref, at, out));
  return code;
}
