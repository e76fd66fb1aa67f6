// `fieldsync config check`: the config against each system's own field lists (Salesforce describe,
// HubSpot properties API): unknown fields, type mismatches, enum values the system does not allow,
// and the id fields fieldsync needs for idempotent creates.
import type { ResolvedConfig, SystemField } from '../../config/index.ts';
import { FIELDSYNC_ID_PROPERTY } from '../../connectors/hubspot/mapping.ts';
import { FIELDSYNC_ID_FIELD } from '../../connectors/salesforce/mapping.ts';
import { SYSTEMS, type SystemName } from '../../connectors/systems.ts';
import type { Connector, NativeField } from '../../connectors/types.ts';
import type { FieldKind } from '../../engine/index.ts';

/** Native types each canonical kind may map onto, per system. */
const COMPATIBLE: Record<SystemName, Record<Exclude<FieldKind, 'reference'>, readonly string[]>> = {
  salesforce: {
    string: ['string', 'textarea', 'picklist', 'url', 'email', 'phone', 'combobox'],
    email: ['email', 'string'],
    phone: ['phone', 'string'],
    domain: ['url', 'string'],
    enum: ['picklist', 'string', 'combobox'],
    number: ['double', 'currency', 'int', 'percent', 'long'],
    date: ['date', 'datetime'],
    boolean: ['boolean'],
  },
  hubspot: {
    string: ['string', 'enumeration', 'phone_number'],
    email: ['string'],
    phone: ['string', 'phone_number'],
    domain: ['string'],
    enum: ['enumeration', 'string'],
    number: ['number'],
    date: ['date', 'datetime'],
    boolean: ['bool', 'enumeration'],
  },
};

const ID_FIELD: Record<SystemName, string> = {
  salesforce: FIELDSYNC_ID_FIELD,
  hubspot: FIELDSYNC_ID_PROPERTY,
};

export interface CheckProblem {
  system: SystemName;
  object: string;
  field: string;
  problem: string;
}

function find(fields: readonly NativeField[], name: string, system: SystemName): NativeField | undefined {
  // Salesforce field names are case-insensitive; HubSpot property names are not.
  return system === 'salesforce'
    ? fields.find((f) => f.name.toLowerCase() === name.toLowerCase())
    : fields.find((f) => f.name === name);
}

function checkField(
  system: SystemName,
  native: NativeField | undefined,
  field: SystemField,
): string | undefined {
  if (native === undefined) return 'unknown field';
  if (field.kind === 'reference') return undefined;
  const allowed = COMPATIBLE[system][field.kind];
  if (!allowed.includes(native.type))
    return `type mismatch: config says ${field.kind}, ${system} says ${native.type} (expected one of ${allowed.join(', ')})`;
  if (field.kind === 'enum' && native.options !== undefined) {
    const mapped = Object.values(field.values ?? {});
    const missing = mapped.filter((v) => !native.options?.includes(v));
    if (missing.length > 0) return `enum values not allowed by ${system}: ${missing.join(', ')}`;
  }
  return undefined;
}

export async function checkConfig(
  config: ResolvedConfig,
  connectors: Readonly<Record<SystemName, Connector>>,
): Promise<CheckProblem[]> {
  const problems: CheckProblem[] = [];
  for (const system of SYSTEMS) {
    for (const object of config.objects) {
      const view = config.systems[system].objects[object];
      if (view === undefined) continue;
      let fields: NativeField[];
      try {
        fields = await connectors[system].describe(object);
      } catch (err) {
        problems.push({
          system,
          object: view.native,
          field: '*',
          problem: `cannot describe: ${err instanceof Error ? err.message : String(err)}`,
        });
        continue;
      }
      for (const f of view.fields) {
        const problem = checkField(system, find(fields, f.native, system), f);
        if (problem !== undefined) problems.push({ system, object: view.native, field: f.native, problem });
      }
      if (system === 'salesforce') {
        for (const r of view.refs) {
          const native = find(fields, r.native, system);
          if (native === undefined)
            problems.push({ system, object: view.native, field: r.native, problem: 'unknown field' });
          else if (native.type !== 'reference')
            problems.push({
              system,
              object: view.native,
              field: r.native,
              problem: `type mismatch: a reference needs a lookup, ${system} says ${native.type}`,
            });
        }
      }
      for (const filter of view.filters) {
        if (find(fields, filter.field, system) === undefined)
          problems.push({
            system,
            object: view.native,
            field: filter.field,
            problem: 'unknown field in a filter',
          });
      }
      const idField = find(fields, ID_FIELD[system], system);
      if (idField === undefined || idField.unique !== true) {
        problems.push({
          system,
          object: view.native,
          field: ID_FIELD[system],
          problem: 'missing: fieldsync needs this unique id field for idempotent creates (see README)',
        });
      }
    }
  }
  return problems;
}

export function formatProblems(problems: readonly CheckProblem[]): string[] {
  if (problems.length === 0)
    return ['config check: every mapped field exists in both systems with a compatible type'];
  return [
    `config check: ${problems.length} problem(s)`,
    ...problems.map((p) => `  ${p.system} ${p.object}.${p.field}: ${p.problem}`),
  ];
}

/** `fieldsync config check`: prints the problems (or that there are none); 0 when clean, 1 otherwise. */
export async function configCheckCommand(
  config: ResolvedConfig,
  connectors: Readonly<Record<SystemName, Connector>>,
  json: boolean,
  out: (line: string) => void,
): Promise<number> {
  const problems = await checkConfig(config, connectors);
  if (json) out(JSON.stringify({ ok: problems.length === 0, problems }, null, 2));
  else for (const line of formatProblems(problems)) out(line);
  return problems.length === 0 ? 0 : 1;
}
