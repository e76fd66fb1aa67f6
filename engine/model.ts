// The canonical model: which objects and fields fieldsync keeps, their kinds and match keys.
// Connectors map their native fields onto these names; the engine knows nothing else.

export const OBJECT_TYPES = ['company', 'contact'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export type FieldKind = 'string' | 'email' | 'domain' | 'phone' | 'reference';

export interface FieldDef {
  kind: FieldKind;
  /** For references: the object the value points at (a canonical id of that object). */
  refObject?: ObjectType;
}

export interface ObjectDef {
  fields: Readonly<Record<string, FieldDef>>;
  /** Fields whose normalized value identifies a record across systems. */
  matchKeys: readonly string[];
}

export const MODEL: Readonly<Record<ObjectType, ObjectDef>> = {
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
};

export function isObjectType(value: unknown): value is ObjectType {
  return typeof value === 'string' && (OBJECT_TYPES as readonly string[]).includes(value);
}

export function fieldNames(object: ObjectType): string[] {
  return Object.keys(MODEL[object].fields);
}

/** Objects in dependency order: a referenced object comes before the objects that point at it. */
export function objectsInDependencyOrder(): ObjectType[] {
  const referencing = (o: ObjectType) =>
    Object.values(MODEL[o].fields).some((f) => f.refObject !== undefined);
  return [...OBJECT_TYPES].sort((a, b) => Number(referencing(a)) - Number(referencing(b)));
}
