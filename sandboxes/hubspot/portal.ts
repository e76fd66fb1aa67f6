// The direct ("user edits in the portal") API: what tests and the demo call in-process and what
// the admin HTTP routes expose. Not counted, not rate limited; same validation as the API.
import { notFoundError } from './errors.ts';
import type { HsObjectType } from './schema.ts';
import type { HsRecord, HubSpotStore } from './store.ts';

export interface PortalApi {
  list(object: HsObjectType): HsRecord[];
  get(object: HsObjectType, id: string): HsRecord | undefined;
  create(object: HsObjectType, properties: Record<string, string | null>): HsRecord;
  /** Bumps `lastmodifieddate` / `hs_lastmodifieddate`. */
  update(object: HsObjectType, id: string, properties: Record<string, string | null>): HsRecord;
  archive(object: HsObjectType, id: string): void;
  associate(contactId: string, companyId: string): void;
  dissociate(contactId: string, companyId: string): void;
  /** Company ids associated with a contact, in id order. */
  associations(contactId: string): string[];
}

export function portalApi(store: HubSpotStore): PortalApi {
  return {
    list: (object) => store.live(object).map((r) => store.toHsRecord(r)),
    get: (object, id) => {
      const record = store.byId(object, id);
      return record === undefined ? undefined : store.toHsRecord(record);
    },
    create: (object, properties) =>
      store.toHsRecord(store.create(object, store.validateWrites(object, properties))),
    update: (object, id, properties) =>
      store.toHsRecord(store.update(object, id, store.validateWrites(object, properties))),
    archive: (object, id) => {
      if (!store.archive(object, id)) throw notFoundError(`No live ${object} record with ID ${id}`);
    },
    associate: (contactId, companyId) => store.associate('contacts', contactId, companyId),
    dissociate: (contactId, companyId) => store.dissociate('contacts', contactId, companyId),
    associations: (contactId) => store.links('contacts', contactId).map((l) => l.id),
  };
}
