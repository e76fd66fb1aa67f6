// The two sObjects the sandbox knows, with the describe metadata jsforce and our connector read.
import type { FieldKind, SoqlObjectSchema } from './soql.ts';

export type SObjectName = 'Contact' | 'Account';
export const SOBJECT_NAMES: readonly SObjectName[] = ['Account', 'Contact'];

export type FieldType =
  | 'id'
  | 'string'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'reference'
  | 'datetime'
  | 'boolean';

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  /** Max length for text types, 0 otherwise. */
  length: number;
  createable: boolean;
  updateable: boolean;
  nillable: boolean;
  externalId: boolean;
  unique: boolean;
  referenceTo?: SObjectName;
}

export interface ObjectDef {
  name: SObjectName;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  fields: readonly FieldDef[];
}

function text(name: string, label: string, length: number, type: FieldType = 'string'): FieldDef {
  return {
    name,
    label,
    type,
    length,
    createable: true,
    updateable: true,
    nillable: true,
    externalId: false,
    unique: false,
  };
}

function required(field: FieldDef): FieldDef {
  return { ...field, nillable: false };
}

function system(name: string, label: string, type: FieldType): FieldDef {
  return {
    name,
    label,
    type,
    length: type === 'id' ? 18 : 0,
    createable: false,
    updateable: false,
    nillable: false,
    externalId: false,
    unique: false,
  };
}

/** Our external id: unique, case-insensitive (the Salesforce default for unique text fields). */
const FIELDSYNC_ID: FieldDef = {
  ...text('Fieldsync_Id__c', 'Fieldsync Id', 64),
  externalId: true,
  unique: true,
};

const AUDIT: readonly FieldDef[] = [
  system('CreatedDate', 'Created Date', 'datetime'),
  system('LastModifiedDate', 'Last Modified Date', 'datetime'),
  system('SystemModstamp', 'System Modstamp', 'datetime'),
  system('IsDeleted', 'Deleted', 'boolean'),
];

export const OBJECTS: Readonly<Record<SObjectName, ObjectDef>> = {
  Account: {
    name: 'Account',
    label: 'Account',
    labelPlural: 'Accounts',
    keyPrefix: '001',
    fields: [
      system('Id', 'Account ID', 'id'),
      required(text('Name', 'Account Name', 255)),
      text('Website', 'Website', 255, 'url'),
      text('Phone', 'Account Phone', 40, 'phone'),
      text('Industry', 'Industry', 255, 'picklist'),
      FIELDSYNC_ID,
      ...AUDIT,
    ],
  },
  Contact: {
    name: 'Contact',
    label: 'Contact',
    labelPlural: 'Contacts',
    keyPrefix: '003',
    fields: [
      system('Id', 'Contact ID', 'id'),
      text('FirstName', 'First Name', 40),
      required(text('LastName', 'Last Name', 80)),
      text('Email', 'Email', 80, 'email'),
      text('Phone', 'Business Phone', 40, 'phone'),
      text('Title', 'Title', 128),
      { ...text('AccountId', 'Account ID', 18, 'reference'), referenceTo: 'Account' },
      FIELDSYNC_ID,
      ...AUDIT,
    ],
  },
};

export function isSObjectName(name: string): name is SObjectName {
  return name === 'Contact' || name === 'Account';
}

/** Object names are case-insensitive in URLs and SOQL. */
export function resolveObject(name: string): ObjectDef | undefined {
  const lower = name.toLowerCase();
  return SOBJECT_NAMES.map((n) => OBJECTS[n]).find((o) => o.name.toLowerCase() === lower);
}

/** Field names are case-insensitive too; this returns the canonical definition. */
export function resolveField(object: ObjectDef, name: string): FieldDef | undefined {
  const lower = name.toLowerCase();
  return object.fields.find((f) => f.name.toLowerCase() === lower);
}

export function objectForId(id: string): ObjectDef | undefined {
  return SOBJECT_NAMES.map((n) => OBJECTS[n]).find((o) => id.startsWith(o.keyPrefix));
}

function kindOf(type: FieldType): FieldKind {
  switch (type) {
    case 'id':
    case 'reference':
      return 'id';
    case 'datetime':
      return 'datetime';
    case 'boolean':
      return 'boolean';
    default:
      return 'text';
  }
}

/** The view of the schema the SOQL evaluator needs. */
export const SOQL_SCHEMA: readonly SoqlObjectSchema[] = SOBJECT_NAMES.map((n) => ({
  name: n,
  fields: OBJECTS[n].fields.map((f) => ({ name: f.name, kind: kindOf(f.type) })),
}));

/** Body of `GET /sobjects/:type/describe` (the subset of DescribeSObjectResult we fill in). */
export function describeObject(object: ObjectDef, version: string): Record<string, unknown> {
  return {
    ...describeGlobalEntry(object, version),
    fields: object.fields.map((f) => ({
      name: f.name,
      label: f.label,
      type: f.type,
      length: f.length,
      soapType:
        f.type === 'datetime'
          ? 'xsd:dateTime'
          : f.type === 'boolean'
            ? 'xsd:boolean'
            : f.type === 'id' || f.type === 'reference'
              ? 'tns:ID'
              : 'xsd:string',
      createable: f.createable,
      updateable: f.updateable,
      nillable: f.nillable,
      defaultedOnCreate: !f.createable,
      externalId: f.externalId,
      unique: f.unique,
      caseSensitive: false,
      idLookup: f.type === 'id' || f.externalId,
      filterable: true,
      sortable: true,
      custom: f.name.endsWith('__c'),
      referenceTo: f.referenceTo === undefined ? [] : [f.referenceTo],
      relationshipName: f.referenceTo ?? null,
      picklistValues: [],
    })),
    recordTypeInfos: [],
    childRelationships: [],
  };
}

function urls(object: ObjectDef, version: string): Record<string, string> {
  const base = `/services/data/v${version}/sobjects/${object.name}`;
  return { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` };
}

/** One entry of `GET /sobjects` (describeGlobal). */
export function describeGlobalEntry(object: ObjectDef, version: string): Record<string, unknown> {
  return {
    name: object.name,
    label: object.label,
    labelPlural: object.labelPlural,
    keyPrefix: object.keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    replicateable: true,
    searchable: true,
    urls: urls(object, version),
  };
}
