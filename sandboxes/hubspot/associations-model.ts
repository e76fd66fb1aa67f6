// The association types the sandbox knows, as HubSpot defines them (CRM v4 "Associations" guide,
// "Association type IDs" table): contact↔company (unlabeled 279/280, primary 1/2),
// deal↔company (unlabeled 341/342, primary 5/6), deal↔contact (3/4, no primary label).
// In each pair the "owner" side holds the primary label: a contact or a deal has at most one
// primary company.
import { validationError } from './errors.ts';
import type { HsObjectType } from './schema.ts';
import type { AssociationLink } from './store.ts';

interface DirectionTypes {
  unlabeled: number;
  primary: number | undefined;
  /** v3 `associations.<type>.results[].type` names. */
  unlabeledName: string;
  primaryName: string | undefined;
}

export interface AssociationPair {
  owner: HsObjectType;
  other: HsObjectType;
  forward: DirectionTypes;
  backward: DirectionTypes;
}

export const ASSOCIATION_PAIRS: readonly AssociationPair[] = [
  {
    owner: 'contacts',
    other: 'companies',
    forward: {
      unlabeled: 279,
      primary: 1,
      unlabeledName: 'contact_to_company_unlabeled',
      primaryName: 'contact_to_company',
    },
    backward: {
      unlabeled: 280,
      primary: 2,
      unlabeledName: 'company_to_contact_unlabeled',
      primaryName: 'company_to_contact',
    },
  },
  {
    owner: 'deals',
    other: 'companies',
    forward: {
      unlabeled: 341,
      primary: 5,
      unlabeledName: 'deal_to_company_unlabeled',
      primaryName: 'deal_to_company',
    },
    backward: {
      unlabeled: 342,
      primary: 6,
      unlabeledName: 'company_to_deal_unlabeled',
      primaryName: 'company_to_deal',
    },
  },
  {
    owner: 'deals',
    other: 'contacts',
    forward: { unlabeled: 3, primary: undefined, unlabeledName: 'deal_to_contact', primaryName: undefined },
    backward: { unlabeled: 4, primary: undefined, unlabeledName: 'contact_to_deal', primaryName: undefined },
  },
];

/** The pair linking two object types, and whether `from` is its owner side. */
export function pairOf(
  from: HsObjectType,
  to: HsObjectType,
): { pair: AssociationPair; forward: boolean } | undefined {
  for (const pair of ASSOCIATION_PAIRS) {
    if (pair.owner === from && pair.other === to) return { pair, forward: true };
    if (pair.other === from && pair.owner === to) return { pair, forward: false };
  }
  return undefined;
}

/** The types usable from `from` to `to`; a VALIDATION_ERROR when no association exists. */
export function directionTypes(from: HsObjectType, to: HsObjectType): DirectionTypes {
  const found = pairOf(from, to);
  if (found === undefined) throw validationError(`No association type exists from ${from} to ${to}`);
  return found.forward ? found.pair.forward : found.pair.backward;
}

/** Object types `type` can be associated with. */
export function associatedTypes(type: HsObjectType): HsObjectType[] {
  return ASSOCIATION_PAIRS.flatMap((p) => (p.owner === type ? [p.other] : p.other === type ? [p.owner] : []));
}

export interface AssociationSpecInput {
  associationCategory: string;
  associationTypeId: number;
}

/** Which label an association spec names from `from` to `to`; any other type is a 400. */
export function specKind(
  from: HsObjectType,
  to: HsObjectType,
  spec: AssociationSpecInput,
): 'primary' | 'unlabeled' {
  const ids = directionTypes(from, to);
  if (spec.associationCategory === 'HUBSPOT_DEFINED') {
    if (spec.associationTypeId === ids.unlabeled) return 'unlabeled';
    if (ids.primary !== undefined && spec.associationTypeId === ids.primary) return 'primary';
  }
  throw validationError(
    `${spec.associationCategory}/${spec.associationTypeId} is not a valid association type from ${from} to ${to}`,
  );
}

/** The target type of a create-with-associations spec: the type whose association type id it is. */
export function specTarget(
  from: HsObjectType,
  spec: AssociationSpecInput,
): { to: HsObjectType; kind: 'primary' | 'unlabeled' } {
  if (spec.associationCategory === 'HUBSPOT_DEFINED') {
    for (const to of associatedTypes(from)) {
      const ids = directionTypes(from, to);
      if (spec.associationTypeId === ids.unlabeled) return { to, kind: 'unlabeled' };
      if (ids.primary !== undefined && spec.associationTypeId === ids.primary) return { to, kind: 'primary' };
    }
  }
  throw validationError(
    `${spec.associationCategory}/${spec.associationTypeId} is not a valid association type from ${from}`,
  );
}

/** v4 `associationTypes` of one link, primary first. */
export function v4Types(
  from: HsObjectType,
  to: HsObjectType,
  link: AssociationLink,
): Record<string, unknown>[] {
  const ids = directionTypes(from, to);
  const unlabeled = { category: 'HUBSPOT_DEFINED', typeId: ids.unlabeled, label: null };
  return link.primary && ids.primary !== undefined
    ? [{ category: 'HUBSPOT_DEFINED', typeId: ids.primary, label: 'Primary' }, unlabeled]
    : [unlabeled];
}

/** v3 `associations.<type>.results` entries of one link. */
export function v3Entries(
  from: HsObjectType,
  to: HsObjectType,
  link: AssociationLink,
): { id: string; type: string }[] {
  const names = directionTypes(from, to);
  const unlabeled = { id: link.id, type: names.unlabeledName };
  return link.primary && names.primaryName !== undefined
    ? [{ id: link.id, type: names.primaryName }, unlabeled]
    : [unlabeled];
}
