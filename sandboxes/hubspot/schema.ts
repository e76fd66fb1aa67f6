// The sandbox portal's property model: which properties exist on contacts and companies, which
// are read-only or unique, and how search compares them. HubSpot CRM v3 "Properties" semantics.

export type HsObjectType = 'contacts' | 'companies';

export const OBJECT_TYPES: readonly HsObjectType[] = ['contacts', 'companies'];

/** How search filters and sorts compare a property's values. */
export type PropertyKind = 'string' | 'number' | 'datetime';

export interface PropertyDef {
  kind: PropertyKind;
  /** Set by the portal; a write is a VALIDATION_ERROR (READ_ONLY_VALUE). */
  readOnly: boolean;
  /** At most one live record holds a value (compared case-insensitively, trimmed, for email). */
  unique: boolean;
}

export interface ObjectSchema {
  type: HsObjectType;
  /** Object type id as HubSpot prints it (`0-1` contacts, `0-2` companies). */
  typeId: string;
  /** Upper-case singular used in error messages (`CONTACT`). */
  label: string;
  properties: ReadonlyMap<string, PropertyDef>;
  /** `lastmodifieddate` on contacts, `hs_lastmodifieddate` on companies. */
  modifiedProperty: string;
  /** Returned when a read names no properties (HubSpot "Search" and "Objects" guides). */
  defaultProperties: readonly string[];
  /** Always returned, requested or not. */
  alwaysProperties: readonly string[];
  /** Properties the search `query` string looks into. */
  queryProperties: readonly string[];
}

const str = (unique = false): PropertyDef => ({ kind: 'string', readOnly: false, unique });
const system = (kind: PropertyKind): PropertyDef => ({ kind, readOnly: true, unique: false });

export const SCHEMAS: Readonly<Record<HsObjectType, ObjectSchema>> = {
  contacts: {
    type: 'contacts',
    typeId: '0-1',
    label: 'CONTACT',
    properties: new Map([
      ['email', str(true)],
      ['firstname', str()],
      ['lastname', str()],
      ['phone', str()],
      ['jobtitle', str()],
      ['fieldsync_id', str(true)],
      ['createdate', system('datetime')],
      ['lastmodifieddate', system('datetime')],
      ['hs_object_id', system('number')],
    ]),
    modifiedProperty: 'lastmodifieddate',
    defaultProperties: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
    alwaysProperties: ['createdate', 'hs_object_id', 'lastmodifieddate'],
    queryProperties: ['email', 'firstname', 'lastname', 'phone'],
  },
  companies: {
    type: 'companies',
    typeId: '0-2',
    label: 'COMPANY',
    properties: new Map([
      ['name', str()],
      ['domain', str()],
      ['phone', str()],
      ['industry', str()],
      ['fieldsync_id', str(true)],
      ['createdate', system('datetime')],
      ['hs_lastmodifieddate', system('datetime')],
      ['hs_object_id', system('number')],
    ]),
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
    alwaysProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    queryProperties: ['name', 'domain', 'phone'],
  },
};

const ALIASES: ReadonlyMap<string, HsObjectType> = new Map([
  ['contacts', 'contacts'],
  ['contact', 'contacts'],
  ['0-1', 'contacts'],
  ['companies', 'companies'],
  ['company', 'companies'],
  ['0-2', 'companies'],
]);

/** Resolves an object type as it appears in a path (`contacts`, `contact`, `0-1`, ...). */
export function objectTypeFrom(segment: string): HsObjectType | undefined {
  return ALIASES.get(segment.toLowerCase());
}

export function isObjectType(value: string): value is HsObjectType {
  return value === 'contacts' || value === 'companies';
}

export function otherType(type: HsObjectType): HsObjectType {
  return type === 'contacts' ? 'companies' : 'contacts';
}

/** How a unique property's values are compared: email ignores case and surrounding space. */
export function uniqueKey(property: string, value: string): string {
  return property === 'email' ? value.trim().toLowerCase() : value;
}
