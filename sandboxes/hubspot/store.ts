// In-memory HubSpot portal: contacts, companies and deals with HubSpot's property rules (unknown
// and read-only properties rejected, typed values and enumeration options checked, unique email and
// fieldsync_id), custom properties, associations (contact↔company, deal↔company, deal↔contact),
// merges, and a search index that lags the live data by `searchLagMs` like HubSpot's eventually
// consistent search.
import { DEAL_STAGES, type SeedDataset } from '../seed.ts';
import { ASSOCIATION_PAIRS, type AssociationPair, associatedTypes, pairOf } from './associations-model.ts';
import {
  conflictError,
  type HsErrorDetail,
  HubSpotApiError,
  notFoundError,
  validationError,
} from './errors.ts';
import {
  DEFAULT_PIPELINE,
  type HsObjectType,
  LIFECYCLE_STAGES,
  type ObjectSchema,
  type PropertyDef,
  SCHEMAS,
  uniqueKey,
} from './schema.ts';

/** A record as the direct API and the admin API hand it out: every property, `null` when empty. */
export interface HsRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface StoredRecord {
  readonly id: string;
  readonly type: HsObjectType;
  /** Writable properties that hold a value (never ''). */
  readonly values: Map<string, string>;
  createdAt: number;
  updatedAt: number;
  archivedAt: number | undefined;
  /** Set when the record was archived by a merge: the id of the record it became. */
  mergedInto?: string;
  /** Property → its changes, oldest first (`propertiesWithHistory`). */
  readonly history: Map<string, PropertyVersion[]>;
}

/** One change of a property (`ValueWithTimestamp`): '' is a cleared value. */
export interface PropertyVersion {
  value: string;
  timestamp: number;
  sourceType: ChangeSource;
}

/** Validated property writes: `null` clears. */
export type PropertyWrites = ReadonlyMap<string, string | null>;

export type RawPropertyValue = string | number | boolean | null;

interface IndexVersion {
  /** When the change happened; it becomes searchable at `at + searchLagMs`. */
  at: number;
  record: StoredRecord | undefined;
}

/** Who made a change, as webhooks report it (`changeSource`): the API, or a user in the portal. */
export type ChangeSource = 'INTEGRATION' | 'CRM_UI';

/** A change to the portal's data, for the webhook sender. Seeding and a merge's inner steps emit none. */
export type StoreChange = ChangeBody & { at: number; source: ChangeSource };

type ChangeBody =
  | { kind: 'creation'; type: HsObjectType; id: string }
  | { kind: 'propertyChange'; type: HsObjectType; id: string; name: string; value: string | null }
  | { kind: 'deletion'; type: HsObjectType; id: string }
  | {
      kind: 'merge';
      type: HsObjectType;
      primaryId: string;
      secondaryId: string;
      resultId: string;
      propertiesMoved: number;
    }
  | {
      kind: 'association';
      /** The pair's owner side (contact or deal) and the other side. */
      ownerType: HsObjectType;
      ownerId: string;
      otherType: HsObjectType;
      otherId: string;
      primary: boolean;
      removed: boolean;
    };

export interface AssociationLink {
  id: string;
  primary: boolean;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export function isLive(record: StoredRecord): boolean {
  return record.archivedAt === undefined;
}

/**
 * `new-id`: the merge result is a new record with a new id, both inputs are archived (HubSpot since
 * its "Updated merge functionality for contacts and companies" changelog; other objects always did).
 * `keep-primary`: the primary keeps its id and only the secondary is archived (the older behaviour).
 */
export type MergeMode = 'new-id' | 'keep-primary';

export interface StoreOptions {
  now: () => number;
  searchLagMs: number;
  mergeMode?: MergeMode;
  /** First id handed out; ids are one sequence across object types, so a wrong-type lookup misses. */
  firstId?: number;
}

export class HubSpotStore {
  private readonly now: () => number;
  private readonly searchLagMs: number;
  private readonly mergeMode: MergeMode;
  private nextId: number;
  private readonly records: Record<HsObjectType, Map<string, StoredRecord>> = {
    contacts: new Map(),
    companies: new Map(),
    deals: new Map(),
  };
  /** This portal's properties per object: the standard ones plus custom ones added to it. */
  private readonly props: Record<HsObjectType, Map<string, PropertyDef>> = {
    contacts: new Map(SCHEMAS.contacts.properties),
    companies: new Map(SCHEMAS.companies.properties),
    deals: new Map(SCHEMAS.deals.properties),
  };
  /** `type:property` → unique key → id of the live record holding it. */
  private readonly unique = new Map<string, Map<string, string>>();
  private readonly versions: Record<HsObjectType, Map<string, IndexVersion[]>> = {
    contacts: new Map(),
    companies: new Map(),
    deals: new Map(),
  };
  /** Per association pair: owner id → other id → primary?, and other id → owner ids. */
  private readonly assoc = new Map<
    AssociationPair,
    { forward: Map<string, Map<string, boolean>>; backward: Map<string, Set<string>> }
  >(ASSOCIATION_PAIRS.map((p) => [p, { forward: new Map(), backward: new Map() }]));
  private readonly listeners = new Set<(change: StoreChange) => void>();
  /** > 0 while a merge runs: its archive/create/associate steps are one `merge` change. */
  private muted = 0;
  private source: ChangeSource = 'CRM_UI';

  constructor(options: StoreOptions) {
    this.now = options.now;
    this.searchLagMs = options.searchLagMs;
    this.mergeMode = options.mergeMode ?? 'new-id';
    this.nextId = options.firstId ?? 101;
  }

  // ---- change notifications ------------------------------------------------------------------

  /** Calls `listener` after each change; returns the unsubscribe function. */
  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `fn` with its changes attributed to `source` (the API routes run as 'INTEGRATION'). */
  withSource<T>(source: ChangeSource, fn: () => T): T {
    const previous = this.source;
    this.source = source;
    try {
      return fn();
    } finally {
      this.source = previous;
    }
  }

  private emit(body: ChangeBody): void {
    if (this.muted > 0 || this.listeners.size === 0) return;
    const change: StoreChange = { ...body, at: this.now(), source: this.source };
    for (const listener of this.listeners) listener(change);
  }

  // ---- properties ----------------------------------------------------------------------------

  /** The object's schema in this portal (custom properties included). */
  schema(type: HsObjectType): ObjectSchema {
    return { ...SCHEMAS[type], properties: this.props[type] };
  }

  property(type: HsObjectType, name: string): PropertyDef | undefined {
    return this.props[type].get(name);
  }

  /** Adds a custom property; 409 CONFLICT when the name is taken. */
  addProperty(type: HsObjectType, name: string, def: PropertyDef): void {
    if (this.props[type].has(name))
      throw new HubSpotApiError(409, 'CONFLICT', `Property named '${name}' already exists.`);
    this.props[type].set(name, def);
  }

  /** A value as HubSpot stores it, or an error verdict (INVALID_OPTION, INVALID_FLOAT, ...). */
  private checkValue(def: PropertyDef, text: string): { value: string } | { error: string; message: string } {
    switch (def.type) {
      case 'number': {
        const n = Number(text.trim());
        if (text.trim() === '' || !Number.isFinite(n))
          return { error: 'INVALID_FLOAT', message: `${text} was not a valid number.` };
        return { value: String(n) };
      }
      case 'datetime':
      case 'date': {
        const t = text.trim();
        const ms = /^-?\d+$/.test(t)
          ? Number(t)
          : /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(t)
            ? Date.parse(t)
            : Number.NaN;
        if (!Number.isFinite(ms))
          return { error: 'INVALID_DATE', message: `${text} is not a valid date or datetime value.` };
        if (def.type === 'date') {
          if (ms % 86_400_000 !== 0)
            return {
              error: 'INVALID_DATE',
              message: `${text} is not midnight UTC; date properties take dates only.`,
            };
          return { value: new Date(ms).toISOString().slice(0, 10) };
        }
        return { value: new Date(ms).toISOString() };
      }
      case 'bool': {
        const b = text.trim().toLowerCase();
        if (b !== 'true' && b !== 'false')
          return { error: 'INVALID_BOOLEAN', message: `${text} is not a valid boolean value.` };
        return { value: b };
      }
      case 'enumeration': {
        const allowed = def.options ?? [];
        // Multiple checkboxes take `;`-separated values.
        const parts = def.fieldType === 'checkbox' ? text.split(';').filter((p) => p !== '') : [text];
        const bad = parts.find((p) => !allowed.some((o) => o.value === p));
        if (bad !== undefined)
          return {
            error: 'INVALID_OPTION',
            message: `${bad} was not one of the allowed options: [${allowed.map((o) => o.value).join(', ')}]`,
          };
        return { value: text };
      }
      case 'string':
        return { value: text };
    }
  }

  /** Checks property names and normalises values: numbers and booleans become strings, '' clears. */
  validateWrites(type: HsObjectType, raw: Readonly<Record<string, RawPropertyValue>>): PropertyWrites {
    const writes = new Map<string, string | null>();
    const invalid: { name: string; error: string; message: string }[] = [];
    for (const [name, value] of Object.entries(raw)) {
      const def = this.props[type].get(name);
      if (def === undefined) {
        invalid.push({ name, error: 'PROPERTY_DOESNT_EXIST', message: `Property "${name}" does not exist` });
      } else if (def.readOnly) {
        invalid.push({ name, error: 'READ_ONLY_VALUE', message: `"${name}" is a read only property` });
      } else {
        const text = value === null ? '' : String(value);
        if (text === '') writes.set(name, null);
        else {
          const checked = this.checkValue(def, text);
          if ('error' in checked) invalid.push({ name, ...checked });
          else writes.set(name, checked.value);
        }
      }
    }
    if (invalid.length > 0) {
      // HubSpot embeds the per-property verdicts as JSON in the message.
      const verdicts = invalid.map((i) => ({
        isValid: false,
        message: i.message,
        error: i.error,
        name: i.name,
        localizedErrorMessage: i.message,
      }));
      const details: HsErrorDetail[] = invalid.map((i) => ({
        message: i.message,
        in: i.name,
        code: i.error,
      }));
      throw validationError(`Property values were not valid: ${JSON.stringify(verdicts)}`, details);
    }
    return writes;
  }

  value(record: StoredRecord, name: string): string | undefined {
    if (name === 'hs_object_id') return record.id;
    if (name === 'createdate') return iso(record.createdAt);
    if (name === SCHEMAS[record.type].modifiedProperty) return iso(record.updatedAt);
    return record.values.get(name);
  }

  /** Every schema property, `null` when empty. */
  allProperties(record: StoredRecord): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const name of this.props[record.type].keys()) out[name] = this.value(record, name) ?? null;
    return out;
  }

  toHsRecord(record: StoredRecord): HsRecord {
    return {
      id: record.id,
      properties: this.allProperties(record),
      createdAt: iso(record.createdAt),
      updatedAt: iso(record.updatedAt),
      archived: !isLive(record),
    };
  }

  // ---- lookup --------------------------------------------------------------------------------

  /** Live or archived record by object id. */
  byId(type: HsObjectType, id: string): StoredRecord | undefined {
    return this.records[type].get(id);
  }

  /** Resolves `id` as HubSpot does for `idProperty`: an object id by default, else a unique property. */
  resolve(
    type: HsObjectType,
    id: string,
    idProperty: string | undefined,
    archived = false,
  ): StoredRecord | undefined {
    if (idProperty === undefined || idProperty === 'hs_object_id') {
      let record = this.records[type].get(id);
      // HubSpot redirects the ids of merged records to the record they became.
      for (let hops = 0; !archived && record?.mergedInto !== undefined && hops < 100; hops++)
        record = this.records[type].get(record.mergedInto);
      return record !== undefined && isLive(record) !== archived ? record : undefined;
    }
    this.assertIdProperty(type, idProperty);
    if (archived) {
      const key = uniqueKey(idProperty, id);
      for (const record of this.records[type].values()) {
        const value = record.values.get(idProperty);
        if (!isLive(record) && value !== undefined && uniqueKey(idProperty, value) === key) return record;
      }
      return undefined;
    }
    const holder = this.unique.get(`${type}:${idProperty}`)?.get(uniqueKey(idProperty, id));
    return holder === undefined ? undefined : this.records[type].get(holder);
  }

  assertIdProperty(type: HsObjectType, idProperty: string): void {
    if (idProperty === 'hs_object_id') return;
    const def = this.props[type].get(idProperty);
    if (def === undefined || !def.unique) {
      throw validationError(
        `${idProperty} is not a unique property of ${SCHEMAS[type].label}; use a unique value property`,
      );
    }
  }

  /** Live records in id order. */
  live(type: HsObjectType): StoredRecord[] {
    return [...this.records[type].values()].filter(isLive);
  }

  archivedRecords(type: HsObjectType): StoredRecord[] {
    return [...this.records[type].values()].filter((r) => !isLive(r));
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * The conflict a write would cause with live records (or with `pending` keys claimed earlier in
   * the same batch), or undefined.
   */
  conflict(
    type: HsObjectType,
    writes: PropertyWrites,
    selfId: string | undefined,
    pending?: Map<string, string>,
  ): HubSpotApiError | undefined {
    for (const [name, value] of writes) {
      if (value === null || this.props[type].get(name)?.unique !== true) continue;
      const key = uniqueKey(name, value);
      const holder = this.unique.get(`${type}:${name}`)?.get(key) ?? pending?.get(`${name}:${key}`);
      if (holder !== undefined && holder !== selfId) {
        const message =
          name === 'email' && type === 'contacts'
            ? `Contact already exists. Existing ID: ${holder}`
            : `A ${SCHEMAS[type].label.toLowerCase()} with ${name} "${value}" already exists. Existing ID: ${holder}`;
        return conflictError(message, holder);
      }
    }
    return undefined;
  }

  /** Claims a batch input's unique values in `pending`, so a later input of the same batch conflicts. */
  claim(type: HsObjectType, writes: PropertyWrites, id: string, pending: Map<string, string>): void {
    for (const [name, value] of writes) {
      if (value !== null && this.props[type].get(name)?.unique === true) {
        pending.set(`${name}:${uniqueKey(name, value)}`, id);
      }
    }
  }

  create(
    type: HsObjectType,
    writes: PropertyWrites,
    options: { createdAt?: number; modifiedAt?: number; seeded?: boolean } = {},
  ): StoredRecord {
    const clash = this.conflict(type, writes, undefined);
    if (clash !== undefined) throw clash;
    // "If you don't specify a pipeline, the default pipeline is used" (Deals guide).
    const values: PropertyWrites =
      type === 'deals' && (writes.get('pipeline') ?? null) === null
        ? new Map([...writes, ['pipeline', DEFAULT_PIPELINE]])
        : writes;
    const at = this.now();
    const record: StoredRecord = {
      id: String(this.nextId++),
      type,
      values: new Map(),
      createdAt: options.createdAt ?? at,
      updatedAt: options.modifiedAt ?? at,
      archivedAt: undefined,
      history: new Map(),
    };
    this.records[type].set(record.id, record);
    this.apply(record, values, record.updatedAt);
    this.index(record, options.seeded === true ? Number.NEGATIVE_INFINITY : at);
    if (options.seeded !== true) this.emit({ kind: 'creation', type, id: record.id });
    return record;
  }

  update(type: HsObjectType, id: string, writes: PropertyWrites): StoredRecord {
    const record = this.records[type].get(id);
    if (record === undefined || !isLive(record)) throw notFoundError();
    const clash = this.conflict(type, writes, id);
    if (clash !== undefined) throw clash;
    const changed = [...writes].filter(([name, value]) => (record.values.get(name) ?? null) !== value);
    const at = this.now();
    this.apply(record, writes, at);
    record.updatedAt = at;
    this.index(record, at);
    for (const [name, value] of changed) this.emit({ kind: 'propertyChange', type, id, name, value });
    return record;
  }

  /**
   * A change nobody hears of (a restore from backup, a value the portal altered on its own): the values
   * are set without a new last-modified time (or with `modifiedAt`) and without a webhook. Search shows
   * the new values under the old time, so a poll from a later cursor does not find it.
   */
  silentUpdate(type: HsObjectType, id: string, writes: PropertyWrites, modifiedAt?: number): StoredRecord {
    const record = this.records[type].get(id);
    if (record === undefined || !isLive(record)) throw notFoundError();
    const clash = this.conflict(type, writes, id);
    if (clash !== undefined) throw clash;
    this.apply(record, writes, modifiedAt ?? this.now());
    if (modifiedAt !== undefined) record.updatedAt = modifiedAt;
    this.index(record, this.now());
    return record;
  }

  /** Archives a live record; false if there was none. */
  archive(type: HsObjectType, id: string): boolean {
    const record = this.records[type].get(id);
    if (record === undefined || !isLive(record)) return false;
    for (const [name, value] of record.values) this.unindexUnique(type, name, value, id);
    const at = this.now();
    record.archivedAt = at;
    record.updatedAt = at;
    this.index(record, at);
    this.emit({ kind: 'deletion', type, id });
    return true;
  }

  /** Sets the values; each one that changes gets a history entry dated `at`, by the current source. */
  private apply(record: StoredRecord, writes: PropertyWrites, at: number): void {
    for (const [name, value] of writes) {
      const previous = record.values.get(name);
      if ((previous ?? null) !== value) {
        const versions = record.history.get(name) ?? [];
        versions.push({ value: value ?? '', timestamp: at, sourceType: this.source });
        record.history.set(name, versions);
      }
      if (previous !== undefined) this.unindexUnique(record.type, name, previous, record.id);
      if (value === null) {
        record.values.delete(name);
        continue;
      }
      record.values.set(name, value);
      if (this.props[record.type].get(name)?.unique === true) {
        const slot = `${record.type}:${name}`;
        const map = this.unique.get(slot) ?? new Map<string, string>();
        map.set(uniqueKey(name, value), record.id);
        this.unique.set(slot, map);
      }
    }
  }

  private unindexUnique(type: HsObjectType, name: string, value: string, id: string): void {
    const map = this.unique.get(`${type}:${name}`);
    const key = uniqueKey(name, value);
    if (map?.get(key) === id) map.delete(key);
  }

  // ---- search index (eventual consistency) ---------------------------------------------------

  private index(record: StoredRecord, at: number): void {
    const versions = this.versions[record.type];
    const list = versions.get(record.id) ?? [];
    list.push({ at, record: isLive(record) ? { ...record, values: new Map(record.values) } : undefined });
    // Drop versions that a newer, already visible version hides for good (the clock moves forward).
    const horizon = this.searchHorizon();
    let visible = 0;
    list.forEach((v, i) => {
      if (v.at <= horizon) visible = i;
    });
    versions.set(record.id, visible > 0 ? list.slice(visible) : list);
  }

  /** Changes at or before this instant are searchable; without lag, all are (even if a test clock goes back). */
  private searchHorizon(): number {
    return this.searchLagMs === 0 ? Number.POSITIVE_INFINITY : this.now() - this.searchLagMs;
  }

  /** The records search sees now: each record's latest version at least `searchLagMs` old. */
  searchable(type: HsObjectType): StoredRecord[] {
    const horizon = this.searchHorizon();
    const out: StoredRecord[] = [];
    for (const list of this.versions[type].values()) {
      let seen: IndexVersion | undefined;
      for (const v of list) if (v.at <= horizon) seen = v;
      if (seen?.record !== undefined) out.push(seen.record);
    }
    return out;
  }

  // ---- associations ----------------------------------------------------------------------------

  private oriented(
    fromType: HsObjectType,
    fromId: string,
    toType: HsObjectType,
    toId: string,
  ): { pair: AssociationPair; ownerId: string; otherId: string } {
    const found = pairOf(fromType, toType);
    if (found === undefined)
      throw validationError(`No association type exists from ${fromType} to ${toType}`);
    return found.forward
      ? { pair: found.pair, ownerId: fromId, otherId: toId }
      : { pair: found.pair, ownerId: toId, otherId: fromId };
  }

  private table(pair: AssociationPair) {
    const table = this.assoc.get(pair);
    if (table === undefined) throw new Error('unknown association pair');
    return table;
  }

  /**
   * Associates two live records; `primary` (only where the pair has a primary label) also makes
   * the target the owner's only primary one (a contact's or deal's primary company).
   */
  associate(
    fromType: HsObjectType,
    fromId: string,
    toType: HsObjectType,
    toId: string,
    primary = false,
  ): void {
    const { pair, ownerId, otherId } = this.oriented(fromType, fromId, toType, toId);
    const owner = this.records[pair.owner].get(ownerId);
    const other = this.records[pair.other].get(otherId);
    if (owner === undefined || !isLive(owner))
      throw notFoundError(`No ${SCHEMAS[pair.owner].label.toLowerCase()} with ID ${ownerId} exists`);
    if (other === undefined || !isLive(other))
      throw notFoundError(`No ${SCHEMAS[pair.other].label.toLowerCase()} with ID ${otherId} exists`);
    const table = this.table(pair);
    const links = table.forward.get(ownerId) ?? new Map<string, boolean>();
    const labelled = primary && pair.forward.primary !== undefined;
    const existed = links.has(otherId);
    if (labelled) for (const id of links.keys()) links.set(id, false);
    links.set(otherId, labelled || (links.get(otherId) ?? false));
    table.forward.set(ownerId, links);
    const back = table.backward.get(otherId) ?? new Set<string>();
    back.add(ownerId);
    table.backward.set(otherId, back);
    if (!existed) this.emitAssociation(pair, ownerId, otherId, links.get(otherId) === true, false);
  }

  private emitAssociation(
    pair: AssociationPair,
    ownerId: string,
    otherId: string,
    primary: boolean,
    removed: boolean,
  ): void {
    this.emit({
      kind: 'association',
      ownerType: pair.owner,
      ownerId,
      otherType: pair.other,
      otherId,
      primary,
      removed,
    });
  }

  /** Removes the primary label only (the unlabeled association stays). */
  unsetPrimary(fromType: HsObjectType, fromId: string, toType: HsObjectType, toId: string): void {
    const { pair, ownerId, otherId } = this.oriented(fromType, fromId, toType, toId);
    const links = this.table(pair).forward.get(ownerId);
    if (links?.has(otherId) === true) links.set(otherId, false);
  }

  dissociate(fromType: HsObjectType, fromId: string, toType: HsObjectType, toId: string): void {
    const { pair, ownerId, otherId } = this.oriented(fromType, fromId, toType, toId);
    const table = this.table(pair);
    const primary = table.forward.get(ownerId)?.get(otherId);
    table.forward.get(ownerId)?.delete(otherId);
    table.backward.get(otherId)?.delete(ownerId);
    if (primary !== undefined) this.emitAssociation(pair, ownerId, otherId, primary, true);
  }

  /** Live records of `toType` associated with a record, in id order. */
  links(fromType: HsObjectType, fromId: string, toType: HsObjectType): AssociationLink[] {
    const found = pairOf(fromType, toType);
    if (found === undefined) return [];
    const table = this.table(found.pair);
    const out: AssociationLink[] = [];
    if (found.forward) {
      for (const [id, primary] of table.forward.get(fromId) ?? []) out.push({ id, primary });
    } else {
      for (const id of table.backward.get(fromId) ?? []) {
        out.push({ id, primary: table.forward.get(id)?.get(fromId) ?? false });
      }
    }
    return out
      .filter((link) => {
        const target = this.records[toType].get(link.id);
        return target !== undefined && isLive(target);
      })
      .sort((a, b) => Number(a.id) - Number(b.id));
  }

  // ---- merge ---------------------------------------------------------------------------------

  /**
   * Merges `secondaryId` into `primaryId` (CRM v3 `POST /objects/{type}/merge`). Property values:
   * the primary's, with properties it lacks taken from the secondary [GUESS: "property values from
   * both objects are merged onto the new object", the primary's current values win]. The result
   * lists the merged ids in `hs_merged_object_ids` (`;`-separated, ascending). Associations of both
   * move to the result; the primary's primary labels win and a secondary's surplus primary label is
   * dropped to unlabeled (changelog). Archived inputs remember `mergedInto`, so reads by their ids
   * resolve to the result. See MergeMode for which id the result has.
   */
  merge(type: HsObjectType, primaryId: string, secondaryId: string): StoredRecord {
    let merged: { result: StoredRecord; propertiesMoved: number };
    this.muted++;
    try {
      merged = this.mergeQuietly(type, primaryId, secondaryId);
    } finally {
      this.muted--;
    }
    const { result, propertiesMoved } = merged;
    this.emit({ kind: 'merge', type, primaryId, secondaryId, resultId: result.id, propertiesMoved });
    return result;
  }

  private mergeQuietly(
    type: HsObjectType,
    primaryId: string,
    secondaryId: string,
  ): { result: StoredRecord; propertiesMoved: number } {
    const primary = this.records[type].get(primaryId);
    const secondary = this.records[type].get(secondaryId);
    if (primaryId === secondaryId) throw validationError('Cannot merge an object with itself');
    if (primary === undefined || !isLive(primary))
      throw notFoundError(`Object with ID ${primaryId} of type ${SCHEMAS[type].label} does not exist`);
    if (secondary === undefined || !isLive(secondary))
      throw notFoundError(`Object with ID ${secondaryId} of type ${SCHEMAS[type].label} does not exist`);

    const values = new Map(primary.values);
    let propertiesMoved = 0;
    for (const [name, value] of secondary.values)
      if (!values.has(name)) {
        values.set(name, value);
        propertiesMoved++;
      }
    const merged = new Set<string>();
    for (const r of [primary, secondary])
      for (const id of (r.values.get('hs_merged_object_ids') ?? '').split(';')) if (id !== '') merged.add(id);
    merged.add(secondaryId);
    if (this.mergeMode === 'new-id') merged.add(primaryId);
    values.set(
      'hs_merged_object_ids',
      [...merged].sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0)).join(';'),
    );

    const moved = associatedTypes(type).map((toType) => ({
      toType,
      fromPrimary: this.links(type, primaryId, toType),
      fromSecondary: this.links(type, secondaryId, toType),
    }));

    this.archive(type, secondaryId);
    secondary.mergedInto = primaryId;
    let result: StoredRecord;
    if (this.mergeMode === 'new-id') {
      this.archive(type, primaryId);
      // Clear the inputs' unique values first so the result can take them.
      const writes: PropertyWrites = new Map(values);
      result = this.create(type, writes, { createdAt: Math.min(primary.createdAt, secondary.createdAt) });
      primary.mergedInto = result.id;
      secondary.mergedInto = result.id;
    } else {
      const writes = new Map<string, string | null>(values);
      for (const name of primary.values.keys()) if (!writes.has(name)) writes.set(name, null);
      result = this.update(type, primaryId, writes);
    }

    for (const { toType, fromPrimary, fromSecondary } of moved) {
      const found = pairOf(type, toType);
      const ownerSide = found?.forward === true;
      let hasPrimary = ownerSide && fromPrimary.some((l) => l.primary);
      for (const link of fromPrimary) this.associate(type, result.id, toType, link.id, link.primary);
      for (const link of fromSecondary) {
        const already = this.links(type, result.id, toType).find((l) => l.id === link.id);
        // On the owner side the result keeps one primary; on the other side each owner keeps its own.
        const primaryLabel = ownerSide
          ? link.primary && !hasPrimary
          : link.primary || already?.primary === true;
        if (primaryLabel && ownerSide) hasPrimary = true;
        this.associate(type, result.id, toType, link.id, primaryLabel);
      }
    }
    return { result, propertiesMoved };
  }

  // ---- seed ----------------------------------------------------------------------------------

  /**
   * Loads the `hubspot` side of the shared seed: companies, then contacts with their company link,
   * then deals (when the dataset has them) linked to their company (primary) and contact.
   * `lifecycleStages` gives each contact a deterministic lifecyclestage.
   */
  seed(dataset: SeedDataset, options: { lifecycleStages?: boolean } = {}): void {
    const day = 86_400_000;
    const companyIds = new Map<string, string>();
    const contactIds = new Map<string, string>();
    dataset.hubspot.companies.forEach(({ record, modifiedAt }, i) => {
      const writes = new Map<string, string | null>([
        ['name', record.name],
        ['domain', record.domain],
        ['phone', record.phone],
        ['industry', record.industry],
      ]);
      const created = this.create('companies', writes, {
        createdAt: modifiedAt - day * (1 + (i % 7)),
        modifiedAt,
        seeded: true,
      });
      companyIds.set(record.key, created.id);
    });
    dataset.hubspot.people.forEach(({ record, modifiedAt }, i) => {
      const writes = new Map<string, string | null>([
        ['email', record.email],
        ['firstname', record.firstName],
        ['lastname', record.lastName],
        ['phone', record.phone],
        ['jobtitle', record.title === '' ? null : record.title],
      ]);
      if (options.lifecycleStages === true) {
        // Deterministic, skewed towards the early stages like a real funnel.
        const stages = LIFECYCLE_STAGES.map((o) => o.value);
        const pick = [0, 1, 1, 2, 1, 3, 4, 5, 1, 2, 5, 6, 7][i % 13] ?? 1;
        writes.set('lifecyclestage', stages[pick] ?? 'lead');
      }
      const created = this.create('contacts', writes, {
        createdAt: modifiedAt - day * (1 + (i % 7)),
        modifiedAt,
        seeded: true,
      });
      contactIds.set(record.key, created.id);
      const companyId = record.companyKey === undefined ? undefined : companyIds.get(record.companyKey);
      if (companyId !== undefined) this.associate('contacts', created.id, 'companies', companyId, true);
    });
    (dataset.hubspot.deals ?? []).forEach(({ record, modifiedAt }, i) => {
      const writes = new Map<string, string | null>([
        ['dealname', record.name],
        ['dealstage', DEAL_STAGES[record.stage].hubspot],
        ['pipeline', DEFAULT_PIPELINE],
        ['amount', String(record.amount)],
        ['closedate', `${record.closeDate}T00:00:00.000Z`],
      ]);
      const created = this.create('deals', writes, {
        createdAt: modifiedAt - day * (1 + (i % 7)),
        modifiedAt,
        seeded: true,
      });
      const companyId = companyIds.get(record.companyKey);
      if (companyId !== undefined) this.associate('deals', created.id, 'companies', companyId, true);
      const contactId = record.contactKey === undefined ? undefined : contactIds.get(record.contactKey);
      if (contactId !== undefined) this.associate('deals', created.id, 'contacts', contactId);
    });
  }
}
