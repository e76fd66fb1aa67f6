// Contact↔company association types as HubSpot defines them (CRM v4 "Associations" guide):
// unlabeled 279 / primary 1 from contacts, 280 / 2 from companies.
import { validationError } from './errors.ts';
import type { HsObjectType } from './schema.ts';
import type { AssociationLink } from './store.ts';

export const ASSOCIATION_TYPE_IDS: Readonly<Record<HsObjectType, { unlabeled: number; primary: number }>> = {
  contacts: { unlabeled: 279, primary: 1 },
  companies: { unlabeled: 280, primary: 2 },
};

/** v3 `associations` type names, by direction. */
const V3_NAMES: Readonly<Record<HsObjectType, { unlabeled: string; primary: string }>> = {
  contacts: { unlabeled: 'contact_to_company_unlabeled', primary: 'contact_to_company' },
  companies: { unlabeled: 'company_to_contact_unlabeled', primary: 'company_to_contact' },
};

export interface AssociationSpecInput {
  associationCategory: string;
  associationTypeId: number;
}

/** Which label an association spec names; anything but the two HubSpot-defined types is a 400. */
export function specKind(fromType: HsObjectType, spec: AssociationSpecInput): 'primary' | 'unlabeled' {
  const ids = ASSOCIATION_TYPE_IDS[fromType];
  if (spec.associationCategory === 'HUBSPOT_DEFINED') {
    if (spec.associationTypeId === ids.unlabeled) return 'unlabeled';
    if (spec.associationTypeId === ids.primary) return 'primary';
  }
  throw validationError(
    `${spec.associationCategory}/${spec.associationTypeId} is not a valid association type from ${fromType}`,
  );
}

/** v4 `associationTypes` of one link, primary first. */
export function v4Types(fromType: HsObjectType, link: AssociationLink): Record<string, unknown>[] {
  const ids = ASSOCIATION_TYPE_IDS[fromType];
  const unlabeled = { category: 'HUBSPOT_DEFINED', typeId: ids.unlabeled, label: null };
  return link.primary
    ? [{ category: 'HUBSPOT_DEFINED', typeId: ids.primary, label: 'Primary' }, unlabeled]
    : [unlabeled];
}

/** v3 `associations.<type>.results` entries of one link. */
export function v3Entries(fromType: HsObjectType, link: AssociationLink): { id: string; type: string }[] {
  const names = V3_NAMES[fromType];
  const unlabeled = { id: link.id, type: names.unlabeled };
  return link.primary ? [{ id: link.id, type: names.primary }, unlabeled] : [unlabeled];
}
