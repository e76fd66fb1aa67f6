// Identity and the canonical model: deterministic canonical ids, match keys, reference order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIdFor,
  defaultDef,
  fieldNames,
  isObjectType,
  matchKeysOf,
  OBJECT_TYPES,
  type ObjectType,
  objectsInDependencyOrder,
  referenceFields,
} from '../engine/index.ts';

describe('canonicalIdFor', () => {
  it('is pinned: stored ids must never change derivation', () => {
    expect(canonicalIdFor('salesforce', 'contact', '0035g00000AbCdEAAZ')).toBe(
      'contact_c81ce21342471aee4bc9620a',
    );
    expect(canonicalIdFor('hubspot', 'company', '9001')).toBe('company_06cbcee139c9d52403595de5');
  });

  it('is deterministic, shaped, and distinct for distinct (system, object, externalId)', () => {
    // System names are identifiers without NUL (the separator); ids may hold anything.
    const systemArb = fc.oneof(
      fc.constantFrom('salesforce', 'hubspot', 'sf', 'salesforce2', ''),
      fc.string({ maxLength: 6 }).filter((s) => !s.includes('\u0000')),
    );
    const externalIdArb = fc.oneof(
      fc.constantFrom('1', '01', '001', 'a', 'A', ''),
      fc.string({ unit: 'binary', maxLength: 8 }),
    );
    const linkArb = fc.tuple(systemArb, fc.constantFrom(...OBJECT_TYPES), externalIdArb);
    fc.assert(
      fc.property(linkArb, linkArb, ([s1, o1, x1], [s2, o2, x2]) => {
        const a = canonicalIdFor(s1, o1, x1);
        const b = canonicalIdFor(s2, o2, x2);
        expect(canonicalIdFor(s1, o1, x1)).toBe(a);
        expect(a).toMatch(new RegExp(`^${o1}_[0-9a-f]{24}$`));
        expect(a === b).toBe(s1 === s2 && o1 === o2 && x1 === x2);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('matchKeysOf', () => {
  it('examples', () => {
    expect(matchKeysOf('contact', { email: 'x' })).toEqual([{ field: 'email', value: 'x' }]);
    expect(matchKeysOf('contact', { email: 'ada@example.com', firstName: 'Ada' })).toEqual([
      { field: 'email', value: 'ada@example.com' },
    ]);
    expect(matchKeysOf('company', { domain: 'acme.com', name: 'Acme' })).toEqual([
      { field: 'domain', value: 'acme.com' },
    ]);
    expect(matchKeysOf('contact', { email: null })).toEqual([]);
    expect(matchKeysOf('contact', { email: '' })).toEqual([]);
    expect(matchKeysOf('contact', {})).toEqual([]);
    expect(matchKeysOf('contact', { domain: 'acme.com' })).toEqual([]);
  });

  it('carries exactly the non-blank match-key fields of the object', () => {
    const valueArb = fc.constantFrom<string | null>(null, '', 'x', 'acme.com', 'ada@example.com');
    fc.assert(
      fc.property(
        fc.constantFrom<ObjectType>('company', 'contact'),
        fc.dictionary(fc.constantFrom('email', 'domain', 'name', 'firstName', 'phone'), valueArb),
        (object: ObjectType, fields) => {
          const expected = defaultDef(object).matchKeys.flatMap((field) => {
            const value = fields[field];
            return typeof value === 'string' && value !== '' ? [{ field, value }] : [];
          });
          expect(matchKeysOf(object, fields)).toEqual(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('the canonical model', () => {
  it('lists references, and orders referenced objects first', () => {
    expect(referenceFields('contact')).toEqual([{ field: 'company', refObject: 'company' }]);
    expect(referenceFields('company')).toEqual([]);
    const order = objectsInDependencyOrder();
    expect([...order].sort()).toEqual(['company', 'contact']);
    for (const object of order)
      for (const { refObject } of referenceFields(object))
        expect(order.indexOf(refObject)).toBeLessThan(order.indexOf(object));
  });

  it('knows its object types and their fields', () => {
    expect(OBJECT_TYPES.every(isObjectType)).toBe(true);
    for (const other of ['Contact', 'opportunity', '', 1, null, undefined])
      expect(isObjectType(other)).toBe(false);
    expect(fieldNames('contact')).toEqual(['email', 'firstName', 'lastName', 'phone', 'title', 'company']);
    for (const object of ['company', 'contact'] as const)
      for (const key of defaultDef(object).matchKeys) expect(fieldNames(object)).toContain(key);
  });
});
