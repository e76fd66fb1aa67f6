// `fieldsync plan`: a dry run over the local state under a (possibly changed) config. For each
// system and object: how many canonical records the next sync would create, update or delete there,
// and which fields. Reads the state only: no SaaS call, nothing written.
import type { ResolvedConfig } from '../../config/index.ts';
import { SYSTEMS, type SystemName } from '../../connectors/systems.ts';
import { type ObjectDef, type ObjectType, planWrite, repick } from '../../engine/index.ts';
import type { Store } from '../../runtime/store.ts';
import type { Out } from './format.ts';

export interface ObjectPlan {
  create: number;
  update: number;
  delete: number;
  /** Records whose write waits for an operator (ambiguous identity). */
  held: number;
  /** Records written per field. */
  fields: Record<string, number>;
  /** Of `fields`: writes that exist only because the config's policy or direction now picks another
   * system's value than the canonical record holds. */
  repicked: Record<string, number>;
}

export interface UnknownField {
  system: SystemName;
  object: ObjectType;
  /** Canonical field name and the system's native name. */
  field: string;
  native: string;
}

export interface PlanReport {
  /** Canonical records per object in the state. */
  records: Partial<Record<ObjectType, number>>;
  systems: Record<SystemName, Partial<Record<ObjectType, ObjectPlan>>>;
  /** Fields the config maps in a system whose values there no canonical record holds yet. */
  unknown: UnknownField[];
}

function emptyPlan(): ObjectPlan {
  return { create: 0, update: 0, delete: 0, held: 0, fields: {}, repicked: {} };
}

/** Fields a system's view maps (plain fields and references), canonical name -> native name. */
function mappedIn(config: ResolvedConfig, system: SystemName, object: ObjectType): Map<string, string> {
  const view = config.systems[system].objects[object];
  return new Map([
    ...(view?.fields ?? []).map((f) => [f.name, f.native] as const),
    ...(view?.refs ?? []).map((r) => [r.name, r.native] as const),
  ]);
}

export async function planCommandReport(store: Store, config: ResolvedConfig): Promise<PlanReport> {
  const report: PlanReport = {
    records: {},
    systems: { salesforce: {}, hubspot: {} },
    unknown: [],
  };
  for (const object of config.objects) {
    const def: ObjectDef | undefined = config.model[object];
    if (def === undefined) continue;
    const records = await store.listRecords(object);
    report.records[object] = records.length;
    for (const system of SYSTEMS) {
      const mapped = mappedIn(config, system, object);
      // A field the state has never seen in this system: its value there is unknown, so it is not
      // planned as a write (the next poll that reads the record learns it).
      const unknown = new Set<string>();
      if (records.length > 0)
        for (const [field, native] of mapped) {
          const seen = records.some(
            (r) => r.shadows[system] !== undefined && field in r.shadows[system].values,
          );
          const linked = records.some((r) => r.links[system] !== undefined);
          if (linked && !seen) {
            unknown.add(field);
            report.unknown.push({ system, object, field, native });
          }
        }
      const plan = emptyPlan();
      for (const record of records) {
        if (record.hold !== undefined) {
          plan.held++;
          continue;
        }
        const repicked = new Set<string>();
        const fields = { ...record.fields };
        for (const [field, fieldDef] of Object.entries(def.fields)) {
          const picked = repick(record, field, fieldDef, config.priority, SYSTEMS);
          if (picked === undefined) continue;
          fields[field] = picked;
          repicked.add(field);
        }
        // Fields of this system the state does not know are neither compared nor sent.
        const known: ObjectDef = {
          ...def,
          fields: Object.fromEntries(
            Object.entries(def.fields).filter(
              ([f]) => mapped.has(f) && !(unknown.has(f) && record.links[system] !== undefined),
            ),
          ),
        };
        const write = planWrite({ ...record, fields }, system, known);
        if (write.op === 'none') continue;
        if (write.op === 'delete') {
          plan.delete++;
          continue;
        }
        if (write.op === 'create') plan.create++;
        else plan.update++;
        for (const field of Object.keys(write.fields)) {
          plan.fields[field] = (plan.fields[field] ?? 0) + 1;
          if (repicked.has(field)) plan.repicked[field] = (plan.repicked[field] ?? 0) + 1;
        }
      }
      report.systems[system][object] = plan;
    }
  }
  return report;
}

export function formatPlan(report: PlanReport, config: ResolvedConfig): string[] {
  const lines: string[] = [];
  let writes = 0;
  for (const system of SYSTEMS) {
    for (const object of config.objects) {
      const p = report.systems[system][object];
      if (p === undefined) continue;
      const total = p.create + p.update + p.delete;
      writes += total;
      if (total === 0 && p.held === 0) continue;
      const native = config.systems[system].objects[object]?.native ?? object;
      lines.push(
        `${system} ${native}: ${p.create} to create, ${p.update} to update, ${p.delete} to delete${p.held > 0 ? ` (${p.held} held for an operator)` : ''}`,
      );
      const width = Math.max(0, ...Object.keys(p.fields).map((f) => f.length));
      for (const [field, n] of Object.entries(p.fields).sort(([a], [b]) => a.localeCompare(b))) {
        const repicked = p.repicked[field] ?? 0;
        lines.push(
          `  ${field.padEnd(width)}  ${n}${repicked > 0 ? ` (${repicked} because the config's policy now picks another system's value)` : ''}`,
        );
      }
    }
  }
  const counts = config.objects.map((o) => `${report.records[o] ?? 0} ${o}`).join(', ');
  lines.unshift(
    writes === 0
      ? `plan: nothing to write (local state: ${counts} canonical records)`
      : `plan: ${writes} record write(s) (local state: ${counts} canonical records)`,
  );
  for (const object of config.objects)
    if ((report.records[object] ?? 0) === 0) lines.push(`${object}: no records in the local state yet`);
  for (const u of report.unknown)
    lines.push(
      `${u.system} ${u.object}.${u.field} (${u.native}): newly mapped; values unknown until the next poll reads them`,
    );
  return lines;
}

export async function planCommand(
  store: Store,
  config: ResolvedConfig,
  json: boolean,
  out: Out,
): Promise<PlanReport> {
  const report = await planCommandReport(store, config);
  if (json) out(JSON.stringify(report, null, 2));
  else for (const line of formatPlan(report, config)) out(line);
  return report;
}
