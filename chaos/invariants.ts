// What must hold after every scenario, checked against the sandboxes themselves (what a user sees)
// and the canonical store (what fieldsync decided, and its audit):
//   (a) both systems equal the canonical state, field by field, for every mapped field;
//   (b) every user edit is present in both systems, or was overwritten in its own system by a later
//       user edit, or lost to a newer edit by policy with the audit showing it;
//   (c) no duplicate record in either system (by match key) nor in the canonical store;
//   (d) a quiet run afterwards makes no write call (checked by the scenario, see world.ts).
import { DEFAULT_CONFIG } from '../config/default.ts';
import { isSystemName, type SystemName } from '../connectors/systems.ts';
import { normalizeDomain, normalizeEmail } from '../engine/index.ts';
import type { AgreementReport } from '../local/agreement.ts';
import type { AuditRow, Store } from '../runtime/store.ts';
import type { HubSpotSandbox } from '../sandboxes/hubspot/index.ts';
import type { SalesforceSandbox } from '../sandboxes/salesforce/index.ts';
import { type ChaosObject, findRecord, keysIn, type LedgerEntry } from './edits.ts';

export type EditOutcome = 'present' | 'overwritten-at-source' | 'lost-to-newer-edit' | 'lost';

export interface LedgerReport {
  checked: number;
  outcomes: Record<EditOutcome, number>;
  /** One line per edit not accounted for (outcome 'lost'). */
  lost: string[];
}

const ACCEPTED = new Set<AuditRow['reason']>(['edit', 'conflict-won']);
const REFUSED = new Set<AuditRow['reason']>(['older', 'conflict-lost']);

interface Boxes {
  sf: SalesforceSandbox;
  hs: HubSpotSandbox;
}

/**
 * Which systems' values may carry their record's last-modified time rather than their own. The README's
 * policy: a record-level timestamp applies to every field that changed since fieldsync last read the
 * record (Salesforce has only SystemModstamp; the HubSpot connector reads no property history). The
 * design asks for HubSpot's per-property timestamps: the first-link scenario checks with Salesforce only.
 */
export type RecordDated = ReadonlySet<SystemName>;
export const RECORD_DATED_BOTH: RecordDated = new Set<SystemName>(['salesforce', 'hubspot']);

/** (b): classify every ledger entry; anything not accounted for is 'lost', with the evidence. */
export async function checkLedger(
  boxes: Boxes,
  store: Store,
  ledger: readonly LedgerEntry[],
  recordDated: RecordDated = RECORD_DATED_BOTH,
): Promise<LedgerReport> {
  const report: LedgerReport = {
    checked: 0,
    outcomes: { present: 0, 'overwritten-at-source': 0, 'lost-to-newer-edit': 0, lost: 0 },
    lost: [],
  };
  const audits = new Map<string, AuditRow[]>();
  const seen = new Map<string, ReturnType<typeof findRecord>>();
  const look = (system: SystemName, object: ChaosObject, key: string) => {
    const k = `${system} ${object} ${key}`;
    const found = seen.get(k) ?? findRecord(boxes, system, object, key);
    seen.set(k, found);
    return found;
  };
  for (const e of ledger) {
    report.checked++;
    const held = (['salesforce', 'hubspot'] as const).map((s) => {
      const records = look(s, e.object, e.key);
      return { system: s, values: records.map((r) => r.values[e.field] ?? null) };
    });
    if (held.every((h) => h.values.length === 1 && h.values[0] === e.value)) {
      report.outcomes.present++;
      continue;
    }
    const later = ledger.find(
      (o) =>
        o.seq > e.seq &&
        o.system === e.system &&
        o.nativeId === e.nativeId &&
        o.object === e.object &&
        o.field === e.field,
    );
    if (later !== undefined) {
      report.outcomes['overwritten-at-source']++;
      continue;
    }
    const canonicalId = (await store.getLinks(e.system, e.object, [e.nativeId])).get(e.nativeId);
    const where = held.map((h) => `${h.system} ${JSON.stringify(h.values)}`).join(', ');
    const what = `edit #${e.seq} (${e.kind}) ${e.system} ${e.object} ${e.nativeId} <${e.key}> ${e.field}=${JSON.stringify(e.value)} at ${new Date(e.at).toISOString()}`;
    if (canonicalId === undefined) {
      report.outcomes.lost++;
      report.lost.push(`${what}: the record is linked to no canonical record; now ${where}`);
      continue;
    }
    const rows = audits.get(canonicalId) ?? (await store.audit(canonicalId));
    audits.set(canonicalId, rows);
    const field = rows.filter((r) => r.field === e.field);
    const own = field.filter((r) => r.source === e.system && r.new === e.value);
    const refused = own.find((r) => REFUSED.has(r.reason));
    const accepted = own.find((r) => ACCEPTED.has(r.reason));
    // Accepted, then replaced by a value with a newer (or policy-ranked) provenance.
    const replaced =
      accepted === undefined
        ? undefined
        : field.find(
            (r) =>
              r.at >= accepted.at &&
              r !== accepted &&
              ACCEPTED.has(r.reason) &&
              r.kept !== e.value &&
              r.sourceTime >= accepted.sourceTime,
          );
    // What the canonical record holds now must rank at least as high as the lost edit (same policy, so at
    // least as recent): a newer edit refused for an older value is a lost edit, audit row or not.
    const lostRow = refused ?? accepted;
    const winner = (await store.getRecords(e.object, [canonicalId])).get(canonicalId)?.fields[e.field];
    const newer = winner !== undefined && lostRow !== undefined && winner.sourceTime >= lostRow.sourceTime;
    // And by the ground truth: what both systems hold now wins over this edit by its modification time
    // (or the same time and a higher priority) - dated, where the policy dates by record, as late as a
    // later user edit of the same record in the same system. Not, say, fieldsync's own earlier write
    // come back looking newer, or a stale value no user touched.
    const final = held[0]?.values.length === 1 ? held[0].values[0] : undefined;
    const beaten =
      ledger.some(
        (w) =>
          w !== e &&
          w.object === e.object &&
          w.key === e.key &&
          w.field === e.field &&
          w.value === final &&
          beats({ ...w, sourceTime: latestDating(ledger, w, recordDated) }, e),
      ) ||
      // A value no edit of the scenario made (the seeded one) was there before all of them.
      (ledger.every((w) => w.value !== final) && seededValueBeats(ledger, e, winner?.source, recordDated));
    if ((refused !== undefined || replaced !== undefined) && newer && beaten) {
      report.outcomes['lost-to-newer-edit']++;
      continue;
    }
    report.outcomes.lost++;
    const trail = field
      .slice(-6)
      .map(
        (r) =>
          `${new Date(r.at).toISOString()} ${r.reason} ${r.source}@${new Date(r.sourceTime).toISOString()} ${JSON.stringify(r.old)}->${JSON.stringify(r.new)} kept ${JSON.stringify(r.kept)}`,
      )
      .join('; ');
    const why =
      refused !== undefined || replaced !== undefined
        ? `lost to a value no newer user edit made (canonical now ${JSON.stringify(winner?.value)} from ${winner?.source} at ${winner === undefined ? '?' : new Date(winner.sourceTime).toISOString()}; this edit stamped ${new Date(e.sourceTime).toISOString()})`
        : 'no audit row shows it lost to a newer edit';
    report.lost.push(
      `${what}: not in both systems (${where}) and ${why}; canonical ${canonicalId}, audit of ${e.field}: ${trail || 'none'}`,
    );
    if (process.env.FIELDSYNC_CHAOS_DEBUG === '1')
      report.lost.push(
        `  full audit of ${canonicalId}: ${rows.map((r) => `${new Date(r.at).toISOString()} ${r.field} ${r.reason} ${r.source}@${new Date(r.sourceTime).toISOString()} ${JSON.stringify(r.old)}->${JSON.stringify(r.new)} kept ${JSON.stringify(r.kept)}`).join('\n    ')}`,
      );
  }
  return report;
}

/** Deals per system and name. Deals have no match key (the config matches them by link only), so a deal
 * seeded on both sides is synced as two; what must not happen is a deal created once more later. */
export function dealCounts(boxes: Boxes): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (system: string, name: unknown) => {
    const key = `${system} ${String(name ?? '')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (const r of boxes.sf.list('Opportunity')) add('salesforce', r.Name);
  for (const r of boxes.hs.list('deals')) add('hubspot', r.properties.dealname);
  return counts;
}

/** The latest time fieldsync may have dated the value `w` put in its system: its own time, or where that
 * system is dated by record, that of a later user edit of the same record there (if fieldsync read both
 * at once). */
function latestDating(ledger: readonly LedgerEntry[], w: LedgerEntry, recordDated: RecordDated): number {
  if (!recordDated.has(w.system)) return w.sourceTime;
  const later = ledger.filter(
    (o) => o.system === w.system && o.object === w.object && o.key === w.key && o.seq > w.seq,
  );
  return Math.max(w.sourceTime, ...later.map((o) => o.sourceTime));
}

/** Can a value that was in `source` before the scenario's edits (its seed value) beat `e`? Only dated by
 * a later user edit of that record there. */
function seededValueBeats(
  ledger: readonly LedgerEntry[],
  e: LedgerEntry,
  source: string | undefined,
  recordDated: RecordDated,
): boolean {
  if (source === undefined || !isSystemName(source) || source === e.system) return false;
  const seeded: LedgerEntry = { ...e, system: source, seq: -1, sourceTime: 0 };
  return beats({ ...seeded, sourceTime: latestDating(ledger, seeded, recordDated) }, e);
}

/** Does user edit `w` win over `e` under last-writer-wins (the project config: every edited field is
 * lastWriterWins; ties on time go to the higher priority, then the greater system name)? */
function beats(w: LedgerEntry, e: LedgerEntry): boolean {
  if (w.system === e.system) return w.seq > e.seq;
  if (w.sourceTime !== e.sourceTime) return w.sourceTime > e.sourceTime;
  const pw = DEFAULT_CONFIG.priority[w.system] ?? 0;
  const pe = DEFAULT_CONFIG.priority[e.system] ?? 0;
  return pw !== pe ? pw > pe : w.system > e.system;
}

/** (c): one record per match key in each system (contacts by email, companies by domain), no deal more
 * than after the initial sync (`dealsBefore`), and one live canonical record per match key. */
export async function findDuplicates(
  boxes: Boxes,
  store: Store,
  dealsBefore: ReadonlyMap<string, number>,
): Promise<string[]> {
  const out: string[] = [];
  const dupes = (label: string, keys: readonly string[]) => {
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const [k, n] of counts) if (n > 1) out.push(`${label}: ${n} records with key ${JSON.stringify(k)}`);
  };
  for (const system of ['salesforce', 'hubspot'] as const)
    for (const object of ['contact', 'company'] as const) {
      const before = out.length;
      dupes(`${system} ${object}`, keysIn(boxes, system, object));
      // Which canonical records the duplicates belong to, and where those are linked.
      for (const line of out.slice(before)) {
        const key = JSON.parse(line.slice(line.indexOf('key ') + 4)) as string;
        const ids = findRecord(boxes, system, object, key).map((r) => r.id);
        const links = await store.getLinks(system, object, ids);
        const records = await store.getRecords(object, [...new Set(links.values())]);
        const detail = ids
          .map((id) => {
            const c = links.get(id);
            const rec = c === undefined ? undefined : records.get(c);
            return `${id} -> ${c ?? 'unlinked'} ${rec === undefined ? '' : JSON.stringify(rec.links)}`;
          })
          .join('; ');
        out[out.indexOf(line)] = `${line} (${detail})`;
      }
    }
  for (const [key, n] of dealCounts(boxes)) {
    const before = dealsBefore.get(key) ?? 0;
    if (n > Math.max(1, before))
      out.push(`${key.replace(' ', ' deal ')}: ${n} records, ${before} after the initial sync`);
  }
  const canonical = [
    ['contact', 'email', normalizeEmail],
    ['company', 'domain', normalizeDomain],
  ] as const;
  for (const [object, field, norm] of canonical) {
    const live = (await store.listRecords(object)).filter(
      (r) => r.tombstone === undefined && r.hold === undefined,
    );
    dupes(
      `canonical ${object}`,
      live.flatMap((r) => {
        const v = r.fields[field]?.value;
        return typeof v === 'string' ? [norm(v) ?? v] : [];
      }),
    );
  }
  return out;
}

/** (a) as lines: every mismatch the agreement check found. */
export function disagreements(report: AgreementReport): string[] {
  return Object.entries(report.objects).flatMap(([object, r]) =>
    r.mismatches.map((m) => (m.startsWith(object) ? m : `${object}: ${m}`)),
  );
}
