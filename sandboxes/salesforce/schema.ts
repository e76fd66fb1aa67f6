// The sObjects the sandbox knows (Account, Contact, Opportunity), with the describe metadata
// jsforce and our connector read. Each org holds its own copy (OrgSchema) so custom fields can be
// added at runtime without leaking into other sandboxes in the same process.
import type { FieldKind, SoqlObjectSchema } from './soql.ts';

export type SObjectName = 'Contact' | 'Account' | 'Opportunity';
export const SOBJECT_NAMES: readonly SObjectName[] = ['Account', 'Contact', 'Opportunity'];
/** Objects Salesforce can merge (of ours; Leads and Cases can be merged too). */
export type MergeableSObject = 'Account' | 'Contact';

export type FieldType =
  | 'id'
  | 'string'
  | 'email'
  | 'phone'
  | 'url'
  | 'picklist'
  | 'reference'
  | 'datetime'
  | 'date'
  | 'currency'
  | 'double'
  | 'textarea'
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
  /** Describe's relationshipName; defaults to referenceTo. */
  relationshipName?: string;
  /** Values of a picklist, in order. */
  picklistValues?: readonly string[];
  /** A restricted picklist rejects values outside `picklistValues`. */
  restrictedPicklist?: boolean;
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

function picklist(name: string, label: string, values: readonly string[], restricted = false): FieldDef {
  return { ...text(name, label, 255, 'picklist'), picklistValues: values, restrictedPicklist: restricted };
}

function lookup(name: string, label: string, target: SObjectName, relationshipName: string): FieldDef {
  return { ...text(name, label, 18, 'reference'), referenceTo: target, relationshipName };
}

/** Set on the losers of a merge (read-only; null on live records). */
function masterRecord(target: SObjectName): FieldDef {
  return {
    ...system('MasterRecordId', `Master Record ID`, 'reference'),
    nillable: true,
    referenceTo: target,
    relationshipName: 'MasterRecord',
    length: 18,
  };
}

/** The standard Opportunity stages of a new org ("Opportunity" object reference, StageName). */
export const OPPORTUNITY_STAGES: readonly string[] = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Value Proposition',
  'Id. Decision Makers',
  'Perception Analysis',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
];

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
      // The standard values of a new org; unrestricted, so other values are stored as given.
      picklist('Industry', 'Industry', [
        'Agriculture',
        'Apparel',
        'Banking',
        'Biotechnology',
        'Chemicals',
        'Communications',
        'Construction',
        'Consulting',
        'Education',
        'Electronics',
        'Energy',
        'Engineering',
        'Entertainment',
        'Environmental',
        'Finance',
        'Food & Beverage',
        'Government',
        'Healthcare',
        'Hospitality',
        'Insurance',
        'Machinery',
        'Manufacturing',
        'Media',
        'Not For Profit',
        'Other',
        'Recreation',
        'Retail',
        'Shipping',
        'Technology',
        'Telecommunications',
        'Transportation',
        'Utilities',
      ]),
      FIELDSYNC_ID,
      masterRecord('Account'),
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
      lookup('AccountId', 'Account ID', 'Account', 'Account'),
      FIELDSYNC_ID,
      masterRecord('Contact'),
      ...AUDIT,
    ],
  },
  Opportunity: {
    name: 'Opportunity',
    label: 'Opportunity',
    labelPlural: 'Opportunities',
    keyPrefix: '006',
    fields: [
      system('Id', 'Opportunity ID', 'id'),
      required(text('Name', 'Name', 120)),
      required(picklist('StageName', 'Stage', OPPORTUNITY_STAGES)),
      text('Amount', 'Amount', 0, 'currency'),
      required(text('CloseDate', 'Close Date', 0, 'date')),
      lookup('AccountId', 'Account ID', 'Account', 'Account'),
      // Derived from the primary contact role: settable on create only (API 46.0+).
      { ...lookup('ContactId', 'Contact ID', 'Contact', 'Contact'), updateable: false },
      FIELDSYNC_ID,
      ...AUDIT,
    ],
  },
};

export function isSObjectName(name: string): name is SObjectName {
  return name === 'Contact' || name === 'Account' || name === 'Opportunity';
}

export const CUSTOM_FIELD_TYPES = [
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'boolean',
  'date',
  'datetime',
  'currency',
  'double',
] as const;
export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];

/** A custom field added at runtime (Setup → Object Manager → Fields, or the Metadata API). */
export interface CustomFieldSpec {
  /** API name; must end in `__c`. */
  name: string;
  label?: string;
  type: CustomFieldType;
  /** Text length; default 255 for text types. */
  length?: number;
  picklistValues?: readonly string[];
  /** Restricted picklist: values outside picklistValues fail with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST. */
  restricted?: boolean;
  required?: boolean;
  externalId?: boolean;
  unique?: boolean;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
  readonly errorCode: string;
  constructor(errorCode: string, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

const TEXT_TYPES: ReadonlySet<FieldType> = new Set([
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
]);

/** One org's schema: the standard objects plus the custom fields added to it. */
export class OrgSchema {
  private readonly objects: Record<SObjectName, ObjectDef> = { ...OBJECTS };
  private soqlCache: SoqlObjectSchema[] | undefined;

  object(name: SObjectName): ObjectDef {
    return this.objects[name];
  }

  all(): ObjectDef[] {
    return SOBJECT_NAMES.map((n) => this.objects[n]);
  }

  /** Object names are case-insensitive in URLs and SOQL. */
  resolve(name: string): ObjectDef | undefined {
    const lower = name.toLowerCase();
    return this.all().find((o) => o.name.toLowerCase() === lower);
  }

  /** The view of the schema the SOQL evaluator needs. */
  soql(): readonly SoqlObjectSchema[] {
    this.soqlCache ??= this.all().map((o) => ({
      name: o.name,
      fields: o.fields.map((f) => ({ name: f.name, kind: kindOf(f.type) })),
    }));
    return this.soqlCache;
  }

  addField(sobject: SObjectName, spec: CustomFieldSpec): FieldDef {
    const object = this.objects[sobject];
    if (!/^[A-Za-z][A-Za-z0-9_]*__c$/.test(spec.name) || spec.name.includes('___'))
      throw new SchemaError('INVALID_FIELD', `Custom field names must end in __c: ${spec.name}`);
    if (resolveField(object, spec.name) !== undefined)
      throw new SchemaError(
        'DUPLICATE_DEVELOPER_NAME',
        `A field named ${spec.name} already exists on ${sobject}`,
      );
    if (spec.type === 'picklist' && (spec.picklistValues ?? []).length === 0)
      throw new SchemaError('FIELD_INTEGRITY_EXCEPTION', `Picklist ${spec.name} needs picklistValues`);
    const isText = TEXT_TYPES.has(spec.type);
    const field: FieldDef = {
      ...text(
        spec.name,
        spec.label ?? spec.name.slice(0, -3).replace(/_/g, ' '),
        isText ? (spec.length ?? 255) : 0,
        spec.type,
      ),
      nillable: spec.required !== true && spec.type !== 'boolean',
      externalId: spec.externalId === true,
      unique: spec.unique === true,
      ...(spec.type === 'picklist'
        ? { picklistValues: [...(spec.picklistValues ?? [])], restrictedPicklist: spec.restricted === true }
        : {}),
    };
    // Custom fields go before the audit fields, as describe lists them.
    const at = object.fields.findIndex((f) => f.name === 'CreatedDate');
    const fields = [...object.fields];
    fields.splice(at < 0 ? fields.length : at, 0, field);
    this.objects[sobject] = { ...object, fields };
    this.soqlCache = undefined;
    return field;
  }
}

/** Object names are case-insensitive in URLs and SOQL (standard objects only). */
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
    case 'date':
      return 'date';
    case 'currency':
    case 'double':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'text';
  }
}

function soapType(type: FieldType): string {
  switch (type) {
    case 'datetime':
      return 'xsd:dateTime';
    case 'date':
      return 'xsd:date';
    case 'boolean':
      return 'xsd:boolean';
    case 'currency':
    case 'double':
      return 'xsd:double';
    case 'id':
    case 'reference':
      return 'tns:ID';
    default:
      return 'xsd:string';
  }
}

/** Body of `GET /sobjects/:type/describe` (the subset of DescribeSObjectResult we fill in). */
export function describeObject(object: ObjectDef, version: string): Record<string, unknown> {
  return {
    ...describeGlobalEntry(object, version),
    fields: object.fields.map((f) => ({
      name: f.name,
      label: f.label,
      type: f.type,
      length: f.length,
      soapType: soapType(f.type),
      precision: f.type === 'currency' || f.type === 'double' ? 18 : 0,
      scale: f.type === 'currency' || f.type === 'double' ? 2 : 0,
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
      relationshipName: f.relationshipName ?? f.referenceTo ?? null,
      restrictedPicklist: f.restrictedPicklist === true,
      dependentPicklist: false,
      picklistValues: (f.picklistValues ?? []).map((value) => ({
        active: true,
        defaultValue: false,
        label: value,
        validFor: null,
        value,
      })),
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
