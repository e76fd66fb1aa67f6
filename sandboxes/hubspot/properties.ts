// CRM v3 Properties API (`client.crm.properties.coreApi`): read the property definitions of
// contacts, companies and deals, and create custom properties. Custom properties are at once
// readable, writable, searchable and validated (enumeration options, number and date formats).
import { z } from 'zod';
import { notFoundError, validationError } from './errors.ts';
import { type Call, param, parseBody, type Reply, type Route, typeParam } from './routes.ts';
import {
  BOOL_OPTIONS,
  defaultFieldType,
  type HsObjectType,
  kindOfType,
  PROPERTY_TYPES,
  type PropertyDef,
  type PropertyOption,
  type PropertyType,
  SCHEMAS,
} from './schema.ts';
import type { HubSpotStore } from './store.ts';

/** HubSpot-defined properties report an old fixed creation date [GUESS on the exact value]. */
const BUILT_IN_AT = Date.parse('2019-08-06T02:41:52.000Z');

/** A custom property, as `addProperty` and `POST /crm/v3/properties/{objectType}` take it. */
export interface PropertySpec {
  /** Internal name: lower case letters, digits and `_`, starting with a letter. */
  name: string;
  label?: string;
  type: PropertyType;
  /** Defaults by type: text, number, date, select, booleancheckbox. */
  fieldType?: string;
  /** Required for enumeration; plain strings are used as both label and value. */
  options?: ReadonlyArray<PropertyOption | string>;
  hasUniqueValue?: boolean;
  groupName?: string;
  description?: string;
}

/** Validates a spec and builds the definition; a VALIDATION_ERROR for a bad one. */
export function propertyDefFrom(type: HsObjectType, spec: PropertySpec, now: number): PropertyDef {
  if (!/^[a-z][a-z0-9_]*$/.test(spec.name))
    throw validationError(
      `Property name '${spec.name}' is invalid: use lower case letters, numbers and underscores, starting with a letter`,
    );
  if (!PROPERTY_TYPES.includes(spec.type)) throw validationError(`Unknown property type: ${spec.type}`);
  const options = (spec.options ?? []).map((o) => (typeof o === 'string' ? { label: o, value: o } : o));
  if (spec.type === 'enumeration' && options.length === 0)
    throw validationError(`Enumeration property '${spec.name}' needs at least one option`);
  if (new Set(options.map((o) => o.value)).size !== options.length)
    throw validationError(`Property '${spec.name}' has duplicate option values`);
  return {
    kind: kindOfType(spec.type),
    readOnly: false,
    unique: spec.hasUniqueValue === true,
    label: spec.label ?? spec.name,
    type: spec.type,
    fieldType: spec.fieldType ?? defaultFieldType(spec.type),
    ...(spec.type === 'enumeration' ? { options } : spec.type === 'bool' ? { options: BOOL_OPTIONS } : {}),
    groupName: spec.groupName ?? SCHEMAS[type].groupName,
    description: spec.description ?? '',
    custom: true,
    createdAt: now,
  };
}

/** The `Property` model of the Properties API. */
export function propertyJson(name: string, def: PropertyDef, displayOrder: number): Record<string, unknown> {
  const at = new Date(def.createdAt ?? BUILT_IN_AT).toISOString();
  return {
    name,
    label: def.label,
    type: def.type,
    fieldType: def.fieldType,
    description: def.description,
    groupName: def.groupName,
    options: (def.options ?? []).map((o, i) => ({
      label: o.label,
      value: o.value,
      displayOrder: i,
      hidden: false,
    })),
    displayOrder: def.custom ? -1 : displayOrder,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: def.unique,
    hidden: false,
    ...(def.custom ? {} : { hubspotDefined: true }),
    modificationMetadata: {
      archivable: def.custom,
      readOnlyDefinition: !def.custom,
      readOnlyValue: def.readOnly,
    },
    formField: !def.readOnly,
    createdAt: at,
    updatedAt: at,
    archived: false,
  };
}

export function listProperties(store: HubSpotStore, type: HsObjectType): Record<string, unknown>[] {
  return [...store.schema(type).properties].map(([name, def], i) => propertyJson(name, def, i));
}

const createBody = z.object({
  name: z.string(),
  label: z.string(),
  type: z.string(),
  fieldType: z.string(),
  groupName: z.string(),
  description: z.string().optional(),
  hasUniqueValue: z.boolean().optional(),
  options: z
    .array(
      z.object({
        label: z.string(),
        value: z.string(),
        displayOrder: z.number().optional(),
        hidden: z.boolean().optional(),
      }),
    )
    .optional(),
});

function getAll(call: Call): Reply {
  return { status: 200, body: { results: listProperties(call.store, typeParam(call)) } };
}

function getOne(call: Call): Reply {
  const type = typeParam(call);
  const name = param(call, 'name');
  const index = [...call.store.schema(type).properties.keys()].indexOf(name);
  const def = call.store.property(type, name);
  if (def === undefined)
    throw notFoundError(`Unable to find property ${name} for object type ${SCHEMAS[type].typeId}`);
  return { status: 200, body: propertyJson(name, def, index) };
}

function create(call: Call): Reply {
  const type = typeParam(call);
  const input = parseBody(createBody, call.body);
  const propertyType = PROPERTY_TYPES.find((t) => t === input.type);
  if (propertyType === undefined) throw validationError(`Unknown property type: ${input.type}`);
  const def = propertyDefFrom(
    type,
    {
      name: input.name,
      label: input.label,
      type: propertyType,
      fieldType: input.fieldType,
      groupName: input.groupName,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.hasUniqueValue === undefined ? {} : { hasUniqueValue: input.hasUniqueValue }),
      ...(input.options === undefined
        ? {}
        : { options: input.options.map((o) => ({ label: o.label, value: o.value })) }),
    },
    call.now(),
  );
  call.store.addProperty(type, input.name, def);
  return { status: 201, body: propertyJson(input.name, def, -1) };
}

export const propertyRoutes: Route[] = [
  { method: 'GET', pattern: '/crm/v3/properties/:type', handler: getAll },
  { method: 'POST', pattern: '/crm/v3/properties/:type', handler: create },
  { method: 'GET', pattern: '/crm/v3/properties/:type/:name', handler: getOne },
];
