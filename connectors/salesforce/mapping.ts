// Salesforce <-> canonical field mapping (Contact, Account).
import { type FieldValue, MODEL, normalizeValue, type ObjectType } from '../../engine/index.ts';
import type { SourceChange, WriteOp } from '../types.ts';
import type { SalesforceRecord } from './types.ts';

export const SYSTEM = 'salesforce';
/** External-id field fieldsync stamps on records it creates, for idempotent upserts (create it in the org). */
export const FIELDSYNC_ID_FIELD = 'Fieldsync_Id__c';

export interface SalesforceObjectMapping {
  sobject: 'Contact' | 'Account';
  /** canonical field -> Salesforce field */
  fields: Readonly<Record<string, string>>;
  /** canonical reference field -> Salesforce lookup field */
  refs: Readonly<Record<string, string>>;
}

export const MAPPING: Readonly<Record<ObjectType, SalesforceObjectMapping>> = {
  contact: {
    sobject: 'Contact',
    fields: { email: 'Email', firstName: 'FirstName', lastName: 'LastName', phone: 'Phone', title: 'Title' },
    refs: { company: 'AccountId' },
  },
  company: {
    sobject: 'Account',
    fields: { name: 'Name', domain: 'Website', phone: 'Phone', industry: 'Industry' },
    refs: {},
  },
};

export function selectFields(object: ObjectType): string[] {
  const m = MAPPING[object];
  return ['Id', ...Object.values(m.fields), ...Object.values(m.refs), FIELDSYNC_ID_FIELD, 'SystemModstamp'];
}

/** Salesforce returns `2024-01-02T10:11:12.000+0000`; V8 parses it, but be explicit about the offset form. */
export function parseSalesforceDate(value: string): number {
  const iso = value.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`unparseable Salesforce datetime: ${value}`);
  return ms;
}

export function toChange(object: ObjectType, record: SalesforceRecord): SourceChange {
  const m = MAPPING[object];
  const fields: Record<string, FieldValue> = {};
  for (const [canonical, native] of Object.entries(m.fields)) {
    const kind = MODEL[object].fields[canonical]?.kind ?? 'string';
    fields[canonical] = normalizeValue(kind, record[native]);
  }
  const refs: Record<string, string | null> = {};
  for (const [canonical, native] of Object.entries(m.refs)) {
    const v = record[native];
    refs[canonical] = typeof v === 'string' && v !== '' ? v : null;
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

/** The Salesforce field values for a write op (no Id, no attributes). */
export function toNative(object: ObjectType, op: WriteOp): Record<string, string | null> {
  const m = MAPPING[object];
  const out: Record<string, string | null> = {};
  for (const [canonical, value] of Object.entries(op.fields)) {
    const native = m.fields[canonical];
    if (native !== undefined) out[native] = value;
  }
  for (const [canonical, value] of Object.entries(op.refs)) {
    const native = m.refs[canonical];
    if (native !== undefined) out[native] = value;
  }
  return out;
}
