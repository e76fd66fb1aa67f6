// The direct ("user edits in the portal") API: what tests and the demo call in-process and what
// the admin HTTP routes expose. Not counted, not rate limited; same validation as the API.
import { notFoundError } from './errors.ts';
import { listProperties, type PropertySpec, propertyDefFrom } from './properties.ts';
import type { HsObjectType } from './schema.ts';
import type { HsRecord, HubSpotStore } from './store.ts';

export interface PortalApi {
  list(object: HsObjectType): HsRecord[];
  /** A live or archived record by its own id (no merge redirect). */
  get(object: HsObjectType, id: string): HsRecord | undefined;
  create(object: HsObjectType, properties: Record<string, string | null>): HsRecord;
  /** Bumps `lastmodifieddate` / `hs_lastmodifieddate`. */
  update(object: HsObjectType, id: string, properties: Record<string, string | null>): HsRecord;
  archive(object: HsObjectType, id: string): void;
  /**
   * A change no poll or webhook sees (a restore from backup, a value the portal altered): the
   * last-modified time is kept (or set to `modifiedAt`), no webhook is sent. For reconciliation tests.
   */
  silentUpdate(
    object: HsObjectType,
    id: string,
    properties: Record<string, string | null>,
    options?: { modifiedAt?: number },
  ): HsRecord;
  /** Contact ↔ company (kept for older callers; same as associateObjects('contacts', ...)). */
  associate(contactId: string, companyId: string): void;
  dissociate(contactId: string, companyId: string): void;
  /** Company ids associated with a contact, in id order. */
  associations(contactId: string): string[];
  /**
   * Any supported pair: contacts↔companies, deals↔companies, deals↔contacts. `primary` sets the
   * primary label where the pair has one (a contact's or deal's primary company).
   */
  associateObjects(
    fromType: HsObjectType,
    fromId: string,
    toType: HsObjectType,
    toId: string,
    primary?: boolean,
  ): void;
  dissociateObjects(fromType: HsObjectType, fromId: string, toType: HsObjectType, toId: string): void;
  /** Ids of live `toType` records associated with a record, in id order. */
  associationsOf(fromType: HsObjectType, fromId: string, toType: HsObjectType): string[];
  /** Same as `POST /crm/v3/objects/{object}/merge`; returns the merged record. */
  merge(object: HsObjectType, primaryId: string, secondaryId: string): HsRecord;
  /** Adds a custom property; reads, writes, search and the Properties API accept it at once. */
  addProperty(object: HsObjectType, spec: PropertySpec): void;
  /** The Properties API's `Property` objects of an object type. */
  properties(object: HsObjectType): Record<string, unknown>[];
}

export function portalApi(store: HubSpotStore, now: () => number): PortalApi {
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
    silentUpdate: (object, id, properties, options = {}) =>
      store.toHsRecord(
        store.silentUpdate(object, id, store.validateWrites(object, properties), options.modifiedAt),
      ),
    archive: (object, id) => {
      if (!store.archive(object, id)) throw notFoundError(`No live ${object} record with ID ${id}`);
    },
    associate: (contactId, companyId) => store.associate('contacts', contactId, 'companies', companyId),
    dissociate: (contactId, companyId) => store.dissociate('contacts', contactId, 'companies', companyId),
    associations: (contactId) => store.links('contacts', contactId, 'companies').map((l) => l.id),
    associateObjects: (fromType, fromId, toType, toId, primary = false) =>
      store.associate(fromType, fromId, toType, toId, primary),
    dissociateObjects: (fromType, fromId, toType, toId) => store.dissociate(fromType, fromId, toType, toId),
    associationsOf: (fromType, fromId, toType) => store.links(fromType, fromId, toType).map((l) => l.id),
    merge: (object, primaryId, secondaryId) => store.toHsRecord(store.merge(object, primaryId, secondaryId)),
    addProperty: (object, spec) => store.addProperty(object, spec.name, propertyDefFrom(object, spec, now())),
    properties: (object) => listProperties(store, object),
  };
}
