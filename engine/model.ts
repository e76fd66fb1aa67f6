// The canonical model: which objects and fields fieldsync keeps, their kinds, policies, directions
// and match keys. It comes from the user's config (config/); DEFAULT_MODEL is the built-in one.
// Connectors map their native fields onto these names; the engine knows nothing else.

export const OBJECT_TYPES = ['company', 'contact', 'deal'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export type FieldKind =
  | 'string'
  | 'email'
  | 'phone'
  | 'domain'
  | 'enum'
  | 'number'
  | 'date'
  | 'boolean'
  | 'reference';

/** Who wins a field: the last writer; one system unless its value is blank; or one system only. */
export type Policy =
  | { kind: 'lastWriterWins' }
  | { kind: 'prefer'; system: string }
  | { kind: 'always'; system: string };
/** Where a field flows: everywhere, only into one system, or nowhere. */
export type Direction = { kind: 'both' } | { kind: 'to'; system: string } | { kind: 'none' };

export type DeletePolicy = 'propagate' | 'ignore' | 'quarantine';

export interface FieldDef {
  kind: FieldKind;
  /** For references: the object the value points at (a canonical id of that object). */
  refObject?: ObjectType;
  policy?: Policy;
  direction?: Direction;
}

export interface ObjectDef {
  fields: Readonly<Record<string, FieldDef>>;
  /** Fields whose normalized value identifies a record across systems. */
  matchKeys: readonly string[];
  deletes?: DeletePolicy;
  /** After a merge in one system, the other system's duplicate is archived (default) or kept unsynced. */
  duplicates?: 'archive' | 'keep';
}

export type Model = Readonly<Partial<Record<ObjectType, ObjectDef>>>;

const LWW: Policy = { kind: 'lastWriterWins' };
const BOTH: Direction = { kind: 'both' };

export const DEFAULT_MODEL = {
  company: {
    fields: {
      name: { kind: 'string' },
      domain: { kind: 'domain' },
      phone: { kind: 'phone' },
      industry: { kind: 'string' },
    },
    matchKeys: ['domain'],
  },
  contact: {
    fields: {
      email: { kind: 'email' },
      firstName: { kind: 'string' },
      lastName: { kind: 'string' },
      phone: { kind: 'phone' },
      title: { kind: 'string' },
      company: { kind: 'reference', refObject: 'company' },
    },
    matchKeys: ['email'],
  },
} as const satisfies Model;

/** The built-in model (contacts and companies), used when no definition is passed. */
export const MODEL: Model = DEFAULT_MODEL;

export function isObjectType(value: unknown): value is ObjectType {
  return typeof value === 'string' && (OBJECT_TYPES as readonly string[]).includes(value);
}

/** The definition of an object in the default model; throws for an object it does not declare. */
export function defaultDef(object: ObjectType): ObjectDef {
  const def = MODEL[object];
  if (def === undefined) throw new Error(`the default model has no ${object}`);
  return def;
}

export function fieldNames(def: ObjectDef | ObjectType): string[] {
  return Object.keys(resolveDef(def).fields);
}

export function resolveDef(def: ObjectDef | ObjectType): ObjectDef {
  return typeof def === 'string' ? defaultDef(def) : def;
}

/** Objects of a model in dependency order: a referenced object comes before the objects that point at it. */
export function objectsInDependencyOrder(model: Model = MODEL): ObjectType[] {
  const declared = OBJECT_TYPES.filter((o) => model[o] !== undefined);
  const out: ObjectType[] = [];
  const visit = (o: ObjectType, path: ObjectType[]) => {
    if (out.includes(o) || path.includes(o)) return;
    const def = model[o];
    for (const f of Object.values(def?.fields ?? {}))
      if (f.refObject !== undefined && f.refObject !== o) visit(f.refObject, [...path, o]);
    if (!out.includes(o)) out.push(o);
  };
  for (const o of declared) visit(o, []);
  return out.filter((o) => model[o] !== undefined);
}

export function policyOf(field: FieldDef): Policy {
  return field.policy ?? LWW;
}

export function directionOf(field: FieldDef): Direction {
  return field.direction ?? BOTH;
}

/** May changes from `system` set this field? Blocked by a one-way direction into it, `none`, or `always: other`. */
export function acceptsFrom(field: FieldDef, system: string): boolean {
  const d = directionOf(field);
  if (d.kind === 'none' || (d.kind === 'to' && d.system === system)) return false;
  const p = policyOf(field);
  return p.kind !== 'always' || p.system === system;
}

/** Is this field written to `system`? */
export function writesTo(field: FieldDef, system: string): boolean {
  const d = directionOf(field);
  if (d.kind === 'none' || (d.kind === 'to' && d.system !== system)) return false;
  const p = policyOf(field);
  return p.kind !== 'always' || p.system !== system;
}
