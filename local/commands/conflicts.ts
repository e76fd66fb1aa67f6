// fieldsync conflicts: same-field concurrent edits (audit reasons conflict-won / conflict-lost) across
// all records, with both competing values and which one was kept; and ambiguous identity matches.
import type { CanonicalRecord, ObjectType } from '../../engine/index.ts';
import type { AuditRow, Store } from '../../runtime/store.ts';
import { describeLinks, isoTime, type Out, plural, showValue, table } from './format.ts';

export interface Competitor {
  value: string | null;
  /** Unknown (null) when the row that set the value is no longer in the audit (TTL). */
  source: string | null;
  sourceTime: number | null;
}

export interface ConflictEntry {
  canonicalId: string;
  object: ObjectType;
  links: Record<string, string>;
  field: string;
  /** When fieldsync merged the later of the two edits. */
  at: number;
  /** The two competing values, earlier source time first. */
  values: Competitor[];
  kept: string | null;
  keptSource: string | null;
}

export interface AmbiguousEntry {
  canonicalId: string;
  object: ObjectType;
  links: Record<string, string>;
  /** The match key that more than one record holds, e.g. email. */
  field: string;
  value: string | null;
  source: string;
  sourceTime: number;
  at: number;
}

export interface ConflictsReport {
  conflicts: ConflictEntry[];
  ambiguous: AmbiguousEntry[];
}

/** Reasons of rows whose incoming value became the canonical one. */
const SETS_VALUE: ReadonlySet<string> = new Set(['edit', 'conflict-won', 'created']);

/**
 * A conflict row carries the incoming value (`new`, `source`, `sourceTime`) and the value it met
 * (`old`). Where `old` came from is the latest earlier row of that record and field that kept it.
 */
function competitorOf(
  row: AuditRow,
  history: readonly AuditRow[],
  record: CanonicalRecord | undefined,
): Competitor {
  const at = history.indexOf(row);
  for (let i = (at === -1 ? history.length : at) - 1; i >= 0; i--) {
    const h = history[i];
    if (h === undefined || h.field !== row.field || !SETS_VALUE.has(h.reason)) continue;
    if (h.new === row.old && h.kept === row.old)
      return { value: row.old, source: h.source, sourceTime: h.sourceTime };
  }
  const now = record?.fields[row.field];
  if (now !== undefined && now.value === row.old)
    return { value: row.old, source: now.source, sourceTime: now.sourceTime };
  return { value: row.old, source: null, sourceTime: null };
}

export async function loadConflicts(store: Store): Promise<ConflictsReport> {
  const rows = await store.scanAudit(['conflict-won', 'conflict-lost', 'ambiguous']);
  const records = new Map<string, CanonicalRecord>();
  const byObject = new Map<ObjectType, Set<string>>();
  for (const r of rows)
    byObject.set(r.object, (byObject.get(r.object) ?? new Set<string>()).add(r.canonicalId));
  for (const [object, ids] of byObject)
    for (const [id, record] of await store.getRecords(object, [...ids])) records.set(id, record);

  const histories = new Map<string, AuditRow[]>();
  const conflicts: ConflictEntry[] = [];
  const ambiguous: AmbiguousEntry[] = [];
  for (const row of rows) {
    const record = records.get(row.canonicalId);
    const links = record?.links ?? {};
    if (row.reason === 'ambiguous') {
      ambiguous.push({
        canonicalId: row.canonicalId,
        object: row.object,
        links,
        field: row.field,
        value: row.new,
        source: row.source,
        sourceTime: row.sourceTime,
        at: row.at,
      });
      continue;
    }
    let history = histories.get(row.canonicalId);
    if (history === undefined) {
      history = await store.audit(row.canonicalId);
      histories.set(row.canonicalId, history);
    }
    const same = history.find(
      (h) => h.at === row.at && h.field === row.field && h.reason === row.reason && h.new === row.new,
    );
    const incoming: Competitor = { value: row.new, source: row.source, sourceTime: row.sourceTime };
    const other = competitorOf(same ?? row, history, record);
    const values = [other, incoming].sort((a, b) => (a.sourceTime ?? 0) - (b.sourceTime ?? 0));
    conflicts.push({
      canonicalId: row.canonicalId,
      object: row.object,
      links,
      field: row.field,
      at: row.at,
      values,
      kept: row.kept,
      keptSource: row.kept === row.new ? row.source : other.source,
    });
  }
  const byTime = (a: { at: number; canonicalId: string }, b: { at: number; canonicalId: string }) =>
    a.at - b.at || (a.canonicalId < b.canonicalId ? -1 : a.canonicalId > b.canonicalId ? 1 : 0);
  conflicts.sort(byTime);
  ambiguous.sort(byTime);
  return { conflicts, ambiguous };
}

export function formatConflicts({ conflicts, ambiguous }: ConflictsReport, out: Out): void {
  out(`${plural(conflicts.length, 'conflict')} (one field edited on both sides within the skew window)`);
  for (const c of conflicts) {
    out('');
    out(`${c.object} ${c.canonicalId} (${describeLinks(c.links)})  ${c.field}  merged ${isoTime(c.at)}`);
    for (const l of table(
      ['source', 'source time', 'value', ''],
      c.values.map((v) => [
        v.source ?? '?',
        isoTime(v.sourceTime),
        showValue(v.value),
        v.value === c.kept && v.source === c.keptSource ? 'kept' : '',
      ]),
      '    ',
    ))
      out(l);
  }
  out('');
  out(`${plural(ambiguous.length, 'ambiguous match', 'ambiguous matches')} (kept apart, not merged)`);
  if (ambiguous.length > 0)
    for (const l of table(
      ['record', 'links', 'key', 'value', 'source', 'source time'],
      ambiguous.map((a) => [
        `${a.object} ${a.canonicalId}`,
        describeLinks(a.links),
        a.field,
        showValue(a.value),
        a.source,
        isoTime(a.sourceTime),
      ]),
    ))
      out(l);
}

export async function conflictsCommand(store: Store, json: boolean, out: Out): Promise<void> {
  const report = await loadConflicts(store);
  if (json) out(JSON.stringify(report, null, 2));
  else formatConflicts(report, out);
}
