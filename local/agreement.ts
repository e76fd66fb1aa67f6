// Do the systems agree? Reads every record of every system through its connector (the real API),
// and checks each against the canonical store: linked, and equal field by field.
import { SYSTEMS, type SystemName } from '../connectors/systems.ts';
import type { Connector, SourceChange } from '../connectors/types.ts';
import {
  fieldNames,
  type Model,
  type ObjectType,
  objectsInDependencyOrder,
  referenceFields,
  writesTo,
} from '../engine/index.ts';
import type { Store } from '../runtime/store.ts';

export interface ObjectAgreement {
  records: Record<string, number>;
  canonical: number;
  mismatches: string[];
}

export interface AgreementReport {
  agree: boolean;
  objects: Record<string, ObjectAgreement>;
}

async function readAll(connector: Connector, object: ObjectType): Promise<SourceChange[]> {
  const out: SourceChange[] = [];
  // Polls carry deleted records too (queryAll, the archived list): only live ones count here.
  for await (const page of connector.poll(object, undefined))
    out.push(...page.changes.filter((c) => c.deleted === undefined));
  return out;
}

export async function checkAgreement(
  store: Store,
  connectors: Readonly<Record<SystemName, Connector>>,
  model: Model,
  maxMismatches = 20,
): Promise<AgreementReport> {
  const report: AgreementReport = { agree: true, objects: {} };
  for (const object of objectsInDependencyOrder(model)) {
    const def = model[object];
    if (def === undefined) continue;
    const canonical = await store.listRecords(object);
    const result: ObjectAgreement = { records: {}, canonical: canonical.length, mismatches: [] };
    const note = (m: string) => {
      report.agree = false;
      if (result.mismatches.length < maxMismatches) result.mismatches.push(m);
    };
    for (const system of SYSTEMS) {
      const rows = await readAll(connectors[system], object);
      result.records[system] = rows.length;
      const byId = new Map(rows.map((r) => [r.externalId, r]));
      const links = await store.getLinks(
        system,
        object,
        rows.map((r) => r.externalId),
      );
      for (const r of rows)
        if (!links.has(r.externalId))
          note(`${system} ${object} ${r.externalId} is not linked to any canonical record`);
      // Reference values: native ids -> canonical ids.
      const refCanonical = new Map<string, string>();
      for (const { refObject } of referenceFields(def)) {
        const natives = rows.flatMap((r) => Object.values(r.refs).filter((v): v is string => v !== null));
        for (const [n, c] of await store.getLinks(system, refObject, natives)) refCanonical.set(n, c);
      }
      for (const record of canonical) {
        const externalId = record.links[system];
        const row = externalId === undefined ? undefined : byId.get(externalId);
        // Held records wait for an operator; a quarantined delete keeps the record where it still is.
        if (record.hold !== undefined || record.tombstone?.status === 'quarantined') continue;
        if (record.tombstone !== undefined || record.gone?.[system] !== undefined) {
          if (row !== undefined && record.tombstone !== undefined)
            note(`${object} ${record.id} is ${record.tombstone.status} but still in ${system}`);
          continue;
        }
        if (row === undefined) {
          note(`${object} ${record.id} is missing in ${system}`);
          continue;
        }
        for (const field of fieldNames(def)) {
          const fieldDef = def.fields[field];
          // A field that does not flow into this system may rightly differ there.
          if (
            fieldDef === undefined ||
            !writesTo(fieldDef, system) ||
            !(field in row.fields || field in row.refs)
          )
            continue;
          const want = record.fields[field]?.value ?? null;
          const isRef = referenceFields(def).some((r) => r.field === field);
          const native = isRef ? (row.refs[field] ?? null) : undefined;
          const got = isRef
            ? native === null || native === undefined
              ? null
              : (refCanonical.get(native) ?? `unlinked:${native}`)
            : (row.fields[field] ?? null);
          if (got !== want)
            note(
              `${object} ${record.id} ${field}: canonical ${JSON.stringify(want)}, ${system} ${JSON.stringify(got)}`,
            );
        }
      }
    }
    report.objects[object] = result;
  }
  return report;
}
