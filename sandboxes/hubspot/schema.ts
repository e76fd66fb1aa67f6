// The sandbox portal's property model: which properties exist on contacts, companies and deals,
// their types and options, which are read-only or unique, and how search compares them. HubSpot
// CRM v3 "Properties" semantics. SCHEMAS is the pristine definition; each portal (store) works on
// its own copy so custom properties added at runtime stay in that sandbox.

export type HsObjectType = 'contacts' | 'companies' | 'deals';

export const OBJECT_TYPES: readonly HsObjectType[] = ['contacts', 'companies', 'deals'];

/** How search filters and sorts compare a property's values. */
export type PropertyKind = 'string' | 'number' | 'datetime';

/** The property `type` of the Properties API. */
export type PropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';
export const PROPERTY_TYPES: readonly PropertyType[] = [
  'string',
  'number',
  'date',
  'datetime',
  'enumeration',
  'bool',
];

export interface PropertyOption {
  label: string;
  value: string;
}

export interface PropertyDef {
  kind: PropertyKind;
  /** Set by the portal; a write is a VALIDATION_ERROR (READ_ONLY_VALUE). */
  readOnly: boolean;
  /** At most one live record holds a value (compared case-insensitively, trimmed, for email). */
  unique: boolean;
  label: string;
  type: PropertyType;
  /** `text`, `textarea`, `number`, `date`, `select`, `radio`, `checkbox`, `booleancheckbox`, ... */
  fieldType: string;
  /** Allowed values of an enumeration (and of bool: true/false); writes outside them are INVALID_OPTION. */
  options?: readonly PropertyOption[];
  groupName: string;
  description: string;
  /** Created by the portal's users (or us), not HubSpot-defined. */
  custom: boolean;
  /** ms; HubSpot-defined properties carry a fixed old date. */
  createdAt?: number;
}

export interface ObjectSchema {
  type: HsObjectType;
  /** Object type id as HubSpot prints it (`0-1` contacts, `0-2` companies, `0-3` deals). */
  typeId: string;
  /** Upper-case singular used in error messages (`CONTACT`). */
  label: string;
  properties: ReadonlyMap<string, PropertyDef>;
  /** `lastmodifieddate` on contacts, `hs_lastmodifieddate` on companies and deals. */
  modifiedProperty: string;
  /** Returned when a read names no properties (HubSpot "Search" and "Objects" guides). */
  defaultProperties: readonly string[];
  /** Always returned, requested or not. */
  alwaysProperties: readonly string[];
  /** Properties the search `query` string looks into. */
  queryProperties: readonly string[];
  /** Property group of the object's standard properties. */
  groupName: string;
}

export function kindOfType(type: PropertyType): PropertyKind {
  return type === 'number' ? 'number' : type === 'date' || type === 'datetime' ? 'datetime' : 'string';
}

export function defaultFieldType(type: PropertyType): string {
  switch (type) {
    case 'string':
      return 'text';
    case 'number':
      return 'number';
    case 'date':
    case 'datetime':
      return 'date';
    case 'enumeration':
      return 'select';
    case 'bool':
      return 'booleancheckbox';
  }
}

export const BOOL_OPTIONS: readonly PropertyOption[] = [
  { label: 'Yes', value: 'true' },
  { label: 'No', value: 'false' },
];

function prop(
  groupName: string,
  label: string,
  type: PropertyType = 'string',
  extra: Partial<PropertyDef> = {},
): PropertyDef {
  return {
    kind: kindOfType(type),
    readOnly: false,
    unique: false,
    label,
    type,
    fieldType: defaultFieldType(type),
    groupName,
    description: '',
    custom: false,
    ...(type === 'bool' ? { options: BOOL_OPTIONS } : {}),
    ...extra,
  };
}

function system(groupName: string, label: string, type: PropertyType): PropertyDef {
  return prop(groupName, label, type, { readOnly: true });
}

const options = (pairs: ReadonlyArray<readonly [string, string]>): PropertyOption[] =>
  pairs.map(([value, label]) => ({ label, value }));

/** Standard lifecycle stages ("Contact properties": lifecyclestage). */
export const LIFECYCLE_STAGES: readonly PropertyOption[] = options([
  ['subscriber', 'Subscriber'],
  ['lead', 'Lead'],
  ['marketingqualifiedlead', 'Marketing Qualified Lead'],
  ['salesqualifiedlead', 'Sales Qualified Lead'],
  ['opportunity', 'Opportunity'],
  ['customer', 'Customer'],
  ['evangelist', 'Evangelist'],
  ['other', 'Other'],
]);

/** The stages of the default sales pipeline, by internal value. */
export const DEAL_STAGE_OPTIONS: readonly PropertyOption[] = options([
  ['appointmentscheduled', 'Appointment Scheduled'],
  ['qualifiedtobuy', 'Qualified To Buy'],
  ['presentationscheduled', 'Presentation Scheduled'],
  ['decisionmakerboughtin', 'Decision Maker Bought-In'],
  ['contractsent', 'Contract Sent'],
  ['closedwon', 'Closed Won'],
  ['closedlost', 'Closed Lost'],
]);

export const DEFAULT_PIPELINE = 'default';

/** Our external id: a custom unique property on every object. */
const fieldsyncId = (groupName: string) =>
  prop(groupName, 'Fieldsync Id', 'string', { unique: true, custom: true });

/** Ids of records merged into this one, `;`-separated (read-only). */
const mergedIds = (groupName: string, label: string) =>
  system(groupName, `Merged ${label} IDs`, 'enumeration');

const CONTACT = 'contactinformation';
const COMPANY = 'companyinformation';
const DEAL = 'dealinformation';

export const SCHEMAS: Readonly<Record<HsObjectType, ObjectSchema>> = {
  contacts: {
    type: 'contacts',
    typeId: '0-1',
    label: 'CONTACT',
    groupName: CONTACT,
    properties: new Map([
      ['email', prop(CONTACT, 'Email', 'string', { unique: true })],
      ['firstname', prop(CONTACT, 'First Name')],
      ['lastname', prop(CONTACT, 'Last Name')],
      ['phone', prop(CONTACT, 'Phone Number')],
      ['jobtitle', prop(CONTACT, 'Job Title')],
      [
        'lifecyclestage',
        prop(CONTACT, 'Lifecycle Stage', 'enumeration', { fieldType: 'radio', options: LIFECYCLE_STAGES }),
      ],
      ['fieldsync_id', fieldsyncId(CONTACT)],
      ['hs_merged_object_ids', mergedIds(CONTACT, 'Contact')],
      ['createdate', system(CONTACT, 'Create Date', 'datetime')],
      ['lastmodifieddate', system(CONTACT, 'Last Modified Date', 'datetime')],
      ['hs_object_id', system(CONTACT, 'Record ID', 'number')],
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
    groupName: COMPANY,
    properties: new Map([
      ['name', prop(COMPANY, 'Company name')],
      ['domain', prop(COMPANY, 'Company Domain Name')],
      ['phone', prop(COMPANY, 'Phone Number')],
      ['industry', prop(COMPANY, 'Industry')],
      ['fieldsync_id', fieldsyncId(COMPANY)],
      ['hs_merged_object_ids', mergedIds(COMPANY, 'Company')],
      ['createdate', system(COMPANY, 'Create Date', 'datetime')],
      ['hs_lastmodifieddate', system(COMPANY, 'Last Modified Date', 'datetime')],
      ['hs_object_id', system(COMPANY, 'Record ID', 'number')],
    ]),
    modifiedProperty: 'hs_lastmodifieddate',
    defaultProperties: ['createdate', 'domain', 'hs_lastmodifieddate', 'hs_object_id', 'name'],
    alwaysProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    queryProperties: ['name', 'domain', 'phone'],
  },
  deals: {
    type: 'deals',
    typeId: '0-3',
    label: 'DEAL',
    groupName: DEAL,
    properties: new Map([
      ['dealname', prop(DEAL, 'Deal Name')],
      [
        'dealstage',
        prop(DEAL, 'Deal Stage', 'enumeration', { fieldType: 'radio', options: DEAL_STAGE_OPTIONS }),
      ],
      [
        'pipeline',
        prop(DEAL, 'Pipeline', 'enumeration', {
          fieldType: 'select',
          options: [{ label: 'Sales Pipeline', value: DEFAULT_PIPELINE }],
        }),
      ],
      ['amount', prop(DEAL, 'Amount', 'number', { fieldType: 'number' })],
      ['closedate', prop(DEAL, 'Close Date', 'datetime')],
      ['fieldsync_id', fieldsyncId(DEAL)],
      ['hs_merged_object_ids', mergedIds(DEAL, 'Deal')],
      ['createdate', system(DEAL, 'Create Date', 'datetime')],
      ['hs_lastmodifieddate', system(DEAL, 'Last Modified Date', 'datetime')],
      ['hs_object_id', system(DEAL, 'Record ID', 'number')],
    ]),
    modifiedProperty: 'hs_lastmodifieddate',
    // HubSpot "Search" guide: deals default to these.
    defaultProperties: [
      'amount',
      'closedate',
      'createdate',
      'dealname',
      'dealstage',
      'hs_lastmodifieddate',
      'hs_object_id',
      'pipeline',
    ],
    alwaysProperties: ['createdate', 'hs_lastmodifieddate', 'hs_object_id'],
    queryProperties: ['dealname', 'pipeline', 'dealstage'],
  },
};

const ALIASES: ReadonlyMap<string, HsObjectType> = new Map([
  ['contacts', 'contacts'],
  ['contact', 'contacts'],
  ['0-1', 'contacts'],
  ['companies', 'companies'],
  ['company', 'companies'],
  ['0-2', 'companies'],
  ['deals', 'deals'],
  ['deal', 'deals'],
  ['0-3', 'deals'],
]);

/** Resolves an object type as it appears in a path (`contacts`, `contact`, `0-1`, ...). */
export function objectTypeFrom(segment: string): HsObjectType | undefined {
  return ALIASES.get(segment.toLowerCase());
}

export function isObjectType(value: string): value is HsObjectType {
  return value === 'contacts' || value === 'companies' || value === 'deals';
}

/** How a unique property's values are compared: email ignores case and surrounding space. */
export function uniqueKey(property: string, value: string): string {
  return property === 'email' ? value.trim().toLowerCase() : value;
}
