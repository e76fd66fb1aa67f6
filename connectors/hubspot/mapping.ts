// HubSpot <-> canonical property mapping (contacts, companies).
import { type FieldValue, MODEL, normalizeValue, type ObjectType } from '../../engine/index.ts';
import type { SourceChange, WriteOp } from '../types.ts';

export const SYSTEM = 'hubspot';
/** Custom property (unique values) fieldsync stamps on records it creates, for idempotent batch upserts. */
export const FIELDSYNC_ID_PROPERTY = 'fieldsync_id';

export interface HubSpotObjectMapping {
  objectType: 'contacts' | 'companies';
  /** canonical field -> HubSpot property */
  properties: Readonly<Record<string, string>>;
  /** The last-modified property search can filter on: contacts use `lastmodifieddate`, other objects
   * `hs_lastmodifieddate` (CRM search guide, default properties). */
  modifiedProperty: string;
}

export const MAPPING: Readonly<Record<ObjectType, HubSpotObjectMapping>> = {
  contact: {
    objectType: 'contacts',
    properties: {
      email: 'email',
      firstName: 'firstname',
      lastName: 'lastname',
      phone: 'phone',
      title: 'jobtitle',
    },
    modifiedProperty: 'lastmodifieddate',
  },
  company: {
    objectType: 'companies',
    properties: { name: 'name', domain: 'domain', phone: 'phone', industry: 'industry' },
    modifiedProperty: 'hs_lastmodifieddate',
  },
};

/** Reference fields carried as v4 associations: canonical field -> target object type. */
export const ASSOCIATIONS: Readonly<Partial<Record<ObjectType, Record<string, 'companies'>>>> = {
  contact: { company: 'companies' },
};

export function readProperties(object: ObjectType): string[] {
  const m = MAPPING[object];
  return [...Object.values(m.properties), FIELDSYNC_ID_PROPERTY, m.modifiedProperty];
}

export interface HubSpotObject {
  id: string;
  properties: Record<string, string | null | undefined>;
  updatedAt?: Date | string | undefined;
}

export function modifiedAtOf(object: ObjectType, record: HubSpotObject): number {
  const raw = record.properties[MAPPING[object].modifiedProperty];
  const fromProperty = typeof raw === 'string' ? parseHubSpotTime(raw) : Number.NaN;
  if (!Number.isNaN(fromProperty)) return fromProperty;
  const updated =
    record.updatedAt instanceof Date ? record.updatedAt.getTime() : Date.parse(String(record.updatedAt));
  if (Number.isNaN(updated)) throw new Error(`hubspot ${object} ${record.id} has no modification time`);
  return updated;
}

/** HubSpot datetime properties are ISO strings or ms-epoch strings. */
export function parseHubSpotTime(raw: string): number {
  return /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
}

export function toChange(
  object: ObjectType,
  record: HubSpotObject,
  refs: Record<string, string | null>,
): SourceChange {
  const fields: Record<string, FieldValue> = {};
  for (const [canonical, property] of Object.entries(MAPPING[object].properties)) {
    const kind = MODEL[object].fields[canonical]?.kind ?? 'string';
    fields[canonical] = normalizeValue(kind, record.properties[property]);
  }
  const fieldsyncId = record.properties[FIELDSYNC_ID_PROPERTY];
  return {
    system: SYSTEM,
    object,
    externalId: record.id,
    modifiedAt: modifiedAtOf(object, record),
    fields,
    refs,
    ...(typeof fieldsyncId === 'string' && fieldsyncId !== '' ? { fieldsyncId } : {}),
  };
}

/** HubSpot property values for a write op. HubSpot clears a property on an empty string. */
export function toProperties(object: ObjectType, op: WriteOp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [canonical, value] of Object.entries(op.fields)) {
    const property = MAPPING[object].properties[canonical];
    if (property !== undefined) out[property] = value ?? '';
  }
  return out;
}
