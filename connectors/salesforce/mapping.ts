// Salesforce <-> canonical field mapping, driven by the config's Salesforce view.
import type { FilterInput, SystemObject, SystemView } from '../../config/index.ts';
import type { FieldValue, ObjectType } from '../../engine/index.ts';
import { BadResponseError } from '../errors.ts';
import { canonicalValue, toNativeValue } from '../mapping.ts';
import type { SourceChange, WriteOp } from '../types.ts';
import type { SalesforceRecord } from './types.ts';

export const SYSTEM = 'salesforce';
/** External-id field fieldsync stamps on records it creates, for idempotent upserts (create it in the org). */
export const FIELDSYNC_ID_FIELD = 'Fieldsync_Id__c';

export function objectView(view: SystemView, object: ObjectType): SystemObject {
  const o = view.objects[object];
  if (o === undefined) throw new Error(`salesforce: the config does not sync ${object}`);
  return o;
}

/** Objects Salesforce can merge; their deleted losers carry MasterRecordId. */
const MERGEABLE = new Set(['Account', 'Contact', 'Lead', 'Case']);

export function selectFields(o: SystemObject, withDeletes = false): string[] {
  const names = [
    'Id',
    ...o.fields.map((f) => f.native),
    ...o.refs.map((r) => r.native),
    FIELDSYNC_ID_FIELD,
    'SystemModstamp',
  ];
  if (withDeletes) names.push('IsDeleted', ...(MERGEABLE.has(o.native) ? ['MasterRecordId'] : []));
  return [...new Set(names)];
}

export function soqlLiteral(value: string): string {
  return `'${value.replace(/[\\']/g, '\\$&')}'`;
}

const SOQL_CONDITION: Record<FilterInput['operator'], (f: FilterInput) => string> = {
  eq: (f) => `${f.field} = ${soqlLiteral(f.value ?? '')}`,
  neq: (f) => `${f.field} != ${soqlLiteral(f.value ?? '')}`,
  in: (f) => `${f.field} IN (${(f.values ?? []).map(soqlLiteral).join(', ')})`,
  notIn: (f) => `${f.field} NOT IN (${(f.values ?? []).map(soqlLiteral).join(', ')})`,
  hasValue: (f) => `${f.field} != null`,
};

/** The config's Salesforce filters as SOQL conditions (AND-ed). */
export function filterConditions(filters: readonly FilterInput[]): string[] {
  return filters.map((f) => SOQL_CONDITION[f.operator](f));
}

/** Salesforce returns `2024-01-02T10:11:12.000+0000`; V8 parses it, but be explicit about the offset form. */
export function parseSalesforceDate(value: string): number {
  const iso = value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new BadResponseError(SYSTEM, `unparseable Salesforce datetime: ${value}`);
  return ms;
}

/**
 * A selected field of a row: a JSON scalar or null. SOQL and sObject Collections answer every selected
 * field, so a missing one, an object or an array is a malformed answer: refused, rather than taken as a
 * blank (which would clear the value everywhere) or as the text `[object Object]`.
 */
function selected(o: SystemObject, record: SalesforceRecord, name: string): string | number | boolean | null {
  if (!Object.hasOwn(record, name))
    throw new BadResponseError(SYSTEM, `${o.native} ${record.Id}: the answer has no ${name}`);
  const v = record[name];
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new BadResponseError(
    SYSTEM,
    `${o.native} ${record.Id}: ${name} is ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}, not a field value`,
  );
}

/** The field history object of each synced sObject (field history tracking), and its record field. */
export const HISTORY_OBJECTS: Readonly<Record<string, { name: string; parentField: string }>> = {
  Account: { name: 'AccountHistory', parentField: 'AccountId' },
  Contact: { name: 'ContactHistory', parentField: 'ContactId' },
  Opportunity: { name: 'OpportunityFieldHistory', parentField: 'OpportunityId' },
};

export function toChange(
  object: ObjectType,
  o: SystemObject,
  record: SalesforceRecord,
  view: SystemView,
): SourceChange {
  if (record.IsDeleted === true) {
    // A deleted row from queryAll: a merge loser names its master in MasterRecordId.
    const master = record.MasterRecordId;
    const at = parseSalesforceDate(record.SystemModstamp);
    return {
      system: SYSTEM,
      object,
      externalId: record.Id,
      modifiedAt: at,
      fields: {},
      refs: {},
      deleted: { at, ...(typeof master === 'string' && master !== '' ? { mergedInto: master } : {}) },
    };
  }
  const fields: Record<string, FieldValue> = {};
  for (const f of o.fields) {
    fields[f.name] = canonicalValue(f, selected(o, record, f.native), view);
  }
  const refs: Record<string, string | null> = {};
  for (const r of o.refs) {
    const v = selected(o, record, r.native);
    if (v !== null && typeof v !== 'string')
      throw new BadResponseError(SYSTEM, `${o.native} ${record.Id}: ${r.native} is a ${typeof v}, not an Id`);
    refs[r.name] = v === null || v === '' ? null : v;
  }
  const fieldsyncId = record[FIELDSYNC_ID_FIELD];
  return {
    system: SYSTEM,
    object,
    externalId: record.Id,
    modifiedAt: parseSalesforceDate(record.SystemModstamp),
    fields,
    refs,
    ...(typeof fieldsyncId === 'string' && fieldsyncId !== '' ? { fieldsyncId } : {}),
  };
}

/** The Salesforce field values for a write op (no Id, no attributes): numbers and booleans as JSON types. */
export function toNative(o: SystemObject, op: WriteOp): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(op.fields)) {
    const f = o.fields.find((x) => x.name === name);
    if (f !== undefined) out[f.native] = toNativeValue(f, value, 'json');
  }
  for (const [name, value] of Object.entries(op.refs)) {
    const r = o.refs.find((x) => x.name === name);
    if (r !== undefined) out[r.native] = value;
  }
  return out;
}
