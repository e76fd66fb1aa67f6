// The user's sync configuration (fieldsync.config.ts): objects, fields per system, types and
// transforms, policies, directions, match keys, delete policies and per-system filters.
// Validated once at load; an error names the key and what is wrong with it.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CountryCode } from 'libphonenumber-js';
import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import { SYSTEMS, type SystemName } from '../connectors/systems.ts';
import {
  type DeletePolicy,
  type Direction,
  type FieldDef,
  type FieldKind,
  type Model,
  OBJECT_TYPES,
  type ObjectDef,
  type ObjectType,
  type Policy,
} from '../engine/index.ts';
import { ConfigError as ConfigFileError } from '../runtime/config.ts';

/** Config errors are ConfigErrors: the CLI prints them as one line and exits 2. */
export { ConfigError as ConfigFileError } from '../runtime/config.ts';

const FIELD_KINDS = [
  'string',
  'email',
  'phone',
  'domain',
  'enum',
  'number',
  'date',
  'boolean',
  'reference',
] as const;
const DELETE_POLICIES = ['propagate', 'ignore', 'quarantine'] as const;
const FILTER_OPERATORS = ['eq', 'neq', 'in', 'notIn', 'hasValue'] as const;
const HUBSPOT_ASSOCIATION_TARGETS = ['companies', 'contacts', 'deals'] as const;

type PolicyInput = 'lastWriterWins' | `prefer:${SystemName}` | `always:${SystemName}`;
type DirectionInput = 'both' | 'none' | `to:${SystemName}`;

export interface FilterInput {
  /** Native field (Salesforce) or property (HubSpot) name. */
  field: string;
  operator: (typeof FILTER_OPERATORS)[number];
  value?: string | undefined;
  values?: string[] | undefined;
}

export interface FieldInput {
  type: FieldKind;
  /** For `reference`: the object it points at. */
  to?: ObjectType;
  /** Salesforce field name (for a reference: the lookup field, e.g. AccountId). Absent: not synced there. */
  salesforce?: string;
  /** HubSpot property name, or for a reference the association's target object type. */
  hubspot?: string | { association: (typeof HUBSPOT_ASSOCIATION_TARGETS)[number] };
  /** For `enum`: canonical value -> native value, per system. Unlisted values pass through unchanged. */
  values?: Partial<Record<SystemName, Record<string, string>>>;
  direction?: DirectionInput;
  policy?: PolicyInput;
}

export interface ObjectInput {
  salesforce: string;
  hubspot: string;
  matchKeys?: string[];
  deletes?: DeletePolicy;
  /** After a merge in one system: archive the other system's duplicate (default) or keep it, unsynced. */
  duplicates?: 'archive' | 'keep';
  /** Only records matching every filter of a system are synced from it. */
  filters?: Partial<Record<SystemName, FilterInput[]>>;
  fields: Record<string, FieldInput>;
}

export interface ConfigInput {
  /** Region for phone numbers typed without a country code (ISO 3166 alpha-2); default US. */
  defaultCountry?: string;
  /** Two different values for one field within this window are recorded as a conflict; default 5. */
  conflictWindowSeconds?: number;
  /** Tie-break on equal source times: higher wins. */
  priority?: Partial<Record<SystemName, number>>;
  objects: Partial<Record<ObjectType, ObjectInput>>;
}

/** Typed identity: gives editors completion and type errors for fieldsync.config.ts. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}

const systemEnum = z.enum(SYSTEMS);
const policySchema = z
  .string()
  .refine((v) => v === 'lastWriterWins' || SYSTEMS.some((s) => v === `prefer:${s}` || v === `always:${s}`), {
    message: `expected 'lastWriterWins', 'prefer:<system>' or 'always:<system>' with a system among ${SYSTEMS.join(', ')}`,
  });
const directionSchema = z
  .string()
  .refine((v) => v === 'both' || v === 'none' || SYSTEMS.some((s) => v === `to:${s}`), {
    message: `expected 'both', 'none' or 'to:<system>' with a system among ${SYSTEMS.join(', ')}`,
  });
const nativeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a field or property name');
const filterSchema = z
  .object({
    field: nativeName,
    operator: z.enum(FILTER_OPERATORS),
    value: z.string().optional(),
    values: z.array(z.string()).min(1).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const needsList = f.operator === 'in' || f.operator === 'notIn';
    if (needsList && f.values === undefined)
      ctx.addIssue({ code: 'custom', path: ['values'], message: `is required for '${f.operator}'` });
    if ((f.operator === 'eq' || f.operator === 'neq') && f.value === undefined)
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is required for '${f.operator}'` });
  });
const fieldSchema = z
  .object({
    type: z.enum(FIELD_KINDS),
    to: z.enum(OBJECT_TYPES).optional(),
    salesforce: nativeName.optional(),
    hubspot: z
      .union([nativeName, z.object({ association: z.enum(HUBSPOT_ASSOCIATION_TARGETS) }).strict()])
      .optional(),
    values: z.partialRecord(systemEnum, z.record(z.string(), z.string())).optional(),
    direction: directionSchema.optional(),
    policy: policySchema.optional(),
  })
  .strict();
const objectSchema = z
  .object({
    salesforce: nativeName,
    hubspot: nativeName,
    matchKeys: z.array(z.string()).optional(),
    deletes: z.enum(DELETE_POLICIES).optional(),
    duplicates: z.enum(['archive', 'keep']).optional(),
    filters: z.partialRecord(systemEnum, z.array(filterSchema)).optional(),
    fields: z.record(
      z
        .string()
        .regex(/^[a-z][A-Za-z0-9]*$/, 'field names are camelCase identifiers')
        // A record's `fields.toString` would be Object.prototype's: such a field would never sync.
        .refine((name) => !(name in Object.prototype), 'is a reserved name (a member of Object.prototype)'),
      fieldSchema,
    ),
  })
  .strict();
const configSchema = z
  .object({
    defaultCountry: z
      .string()
      .refine((c) => isSupportedCountry(c), 'expected an ISO 3166 alpha-2 country code such as US or DE')
      .optional(),
    conflictWindowSeconds: z.number().min(0).max(3600).optional(),
    priority: z.partialRecord(systemEnum, z.number().int()).optional(),
    objects: z.partialRecord(z.enum(OBJECT_TYPES), objectSchema),
  })
  .strict();

function semanticIssues(config: z.infer<typeof configSchema>): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const declared = Object.keys(config.objects);
  if (declared.length === 0) issues.push({ path: 'objects', message: 'declares no object to sync' });
  for (const [object, o] of Object.entries(config.objects)) {
    if (o === undefined) continue;
    const at = `objects.${object}`;
    for (const key of o.matchKeys ?? []) {
      const f = Object.hasOwn(o.fields, key) ? o.fields[key] : undefined;
      if (f === undefined)
        issues.push({
          path: `${at}.matchKeys`,
          message: `names '${key}', which is not a field of ${object}`,
        });
      else if (f.type === 'reference')
        issues.push({
          path: `${at}.matchKeys`,
          message: `'${key}' is a reference and cannot be a match key`,
        });
    }
    for (const [name, f] of Object.entries(o.fields)) {
      const fat = `${at}.fields.${name}`;
      if (f.type === 'reference') {
        if (f.to === undefined) issues.push({ path: `${fat}.to`, message: 'is required for a reference' });
        else if (!declared.includes(f.to))
          issues.push({
            path: `${fat}.to`,
            message: `points at '${f.to}', which is not declared under objects`,
          });
        if (typeof f.hubspot === 'string')
          issues.push({
            path: `${fat}.hubspot`,
            message:
              'a reference is carried by an association in HubSpot: use { association: "<object type>" }',
          });
      } else {
        if (f.to !== undefined)
          issues.push({ path: `${fat}.to`, message: `only a reference has 'to' (type is ${f.type})` });
        if (typeof f.hubspot === 'object')
          issues.push({
            path: `${fat}.hubspot`,
            message: `only a reference is an association (type is ${f.type})`,
          });
      }
      if (f.values !== undefined && f.type !== 'enum')
        issues.push({ path: `${fat}.values`, message: `only an enum has value maps (type is ${f.type})` });
      if (f.salesforce === undefined && f.hubspot === undefined)
        issues.push({ path: fat, message: 'maps to no system: give its salesforce and/or hubspot name' });
    }
  }
  return issues;
}

export interface SystemField {
  name: string;
  kind: FieldKind;
  native: string;
  /** canonical -> native (enum maps). */
  values?: Readonly<Record<string, string>>;
}

export interface SystemRef {
  name: string;
  refObject: ObjectType;
  /** Salesforce: the lookup field. HubSpot: the associated object type. */
  native: string;
}

export interface SystemObject {
  native: string;
  fields: readonly SystemField[];
  refs: readonly SystemRef[];
  filters: readonly FilterInput[];
}

/** One system's view of the config: what its connector reads and writes. */
export interface SystemView {
  objects: Readonly<Partial<Record<ObjectType, SystemObject>>>;
  defaultCountry: CountryCode;
}

export interface ResolvedConfig {
  model: Model;
  priority: Readonly<Record<string, number>>;
  skewMs: number;
  systems: Readonly<Record<SystemName, SystemView>>;
  objects: readonly ObjectType[];
  /** Changes whenever the model (fields, policies, directions, keys) or the priorities change. */
  fingerprint: string;
  /** Per system: changes when what is read from it changes (objects, fields, filters). */
  viewFingerprints: Readonly<Record<SystemName, string>>;
}

function parsePolicy(input: string | undefined): Policy | undefined {
  if (input === undefined || input === 'lastWriterWins') return undefined;
  const [kind, system = ''] = input.split(':');
  return kind === 'prefer' ? { kind: 'prefer', system } : { kind: 'always', system };
}

function parseDirection(input: string | undefined): Direction | undefined {
  if (input === undefined || input === 'both') return undefined;
  if (input === 'none') return { kind: 'none' };
  return { kind: 'to', system: input.slice(3) };
}

/** Validate a config object (the default export of fieldsync.config.ts) and derive the model and system views. */
export function resolveConfig(input: unknown, source = 'fieldsync.config.ts'): ResolvedConfig {
  let parsed: ReturnType<typeof configSchema.safeParse>;
  try {
    parsed = configSchema.safeParse(input);
  } catch (err) {
    // A getter or Proxy trap in the exported object threw while it was read.
    throw new ConfigFileError(`${source}: cannot be read: ${firstLine(err)}`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new ConfigFileError(`${source}: ${path === '' ? '' : `${path}: `}${issue?.message ?? 'invalid'}`);
  }
  const config = parsed.data;
  const first = semanticIssues(config)[0];
  if (first !== undefined) throw new ConfigFileError(`${source}: ${first.path}: ${first.message}`);

  const defaultCountry = (config.defaultCountry ?? 'US') as CountryCode;
  const model: Partial<Record<ObjectType, ObjectDef>> = {};
  const views = Object.fromEntries(
    SYSTEMS.map((s) => [s, { objects: {} as Partial<Record<ObjectType, SystemObject>>, defaultCountry }]),
  );
  for (const object of OBJECT_TYPES) {
    const o = config.objects[object];
    if (o === undefined) continue;
    const fields: Record<string, FieldDef> = {};
    for (const [name, f] of Object.entries(o.fields)) {
      const policy = parsePolicy(f.policy);
      const direction = parseDirection(f.direction);
      fields[name] = {
        kind: f.type,
        ...(f.to !== undefined ? { refObject: f.to } : {}),
        ...(policy !== undefined ? { policy } : {}),
        ...(direction !== undefined ? { direction } : {}),
      };
    }
    model[object] = {
      fields,
      matchKeys: o.matchKeys ?? [],
      deletes: o.deletes ?? 'ignore',
      duplicates: o.duplicates ?? 'archive',
    };
    for (const system of SYSTEMS) {
      const systemFields: SystemField[] = [];
      const refs: SystemRef[] = [];
      for (const [name, f] of Object.entries(o.fields)) {
        const native = f[system];
        if (native === undefined) continue;
        if (f.type === 'reference' && f.to !== undefined) {
          refs.push({
            name,
            refObject: f.to,
            native: typeof native === 'string' ? native : native.association,
          });
        } else if (typeof native === 'string') {
          const values = f.values?.[system];
          systemFields.push({ name, kind: f.type, native, ...(values !== undefined ? { values } : {}) });
        }
      }
      const view = views[system];
      if (view !== undefined)
        view.objects[object] = {
          native: o[system],
          fields: systemFields,
          refs,
          filters: o.filters?.[system] ?? [],
        };
    }
  }
  const priority: Record<string, number> = { salesforce: 2, hubspot: 1, ...config.priority };
  return {
    model,
    priority,
    skewMs: (config.conflictWindowSeconds ?? 5) * 1000,
    systems: {
      salesforce: views.salesforce ?? { objects: {}, defaultCountry },
      hubspot: views.hubspot ?? { objects: {}, defaultCountry },
    },
    objects: OBJECT_TYPES.filter((o) => model[o] !== undefined),
    fingerprint: createHash('sha256').update(JSON.stringify({ model, priority })).digest('hex').slice(0, 16),
    viewFingerprints: {
      salesforce: createHash('sha256')
        .update(JSON.stringify(views.salesforce ?? {}))
        .digest('hex')
        .slice(0, 16),
      hubspot: createHash('sha256')
        .update(JSON.stringify(views.hubspot ?? {}))
        .digest('hex')
        .slice(0, 16),
    },
  };
}

/** The first line of an error's message (a loader's may add a code frame), for one-line CLI errors. */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what is stripped.
  const lines = text.replace(/\u001b\[[0-9;]*m/g, '').split(/\r?\n/);
  return lines.find((l) => l.trim() !== '')?.trim() ?? text;
}

/** Load and validate a config file (a module whose default export is the config). */
export async function loadConfigFile(path: string): Promise<ResolvedConfig> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigFileError(`config file not found: ${abs}`);
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (err) {
    // Node starts a TypeScript syntax error's stack with `<file>:<line>`: name the line too.
    const stack = err instanceof Error ? (err.stack ?? '') : '';
    const line = stack.startsWith(`${abs}:`) ? /^\d+/.exec(stack.slice(abs.length + 1))?.[0] : undefined;
    throw new ConfigFileError(
      `${path}${line === undefined ? '' : `:${line}`}: cannot be loaded: ${firstLine(err)}`,
    );
  }
  const config = typeof mod === 'object' && mod !== null && 'default' in mod ? mod.default : undefined;
  if (config === undefined)
    throw new ConfigFileError(`${path}: has no default export (export default defineConfig({...}))`);
  return resolveConfig(config, path);
}
