// The one interface every connector implements. The engine and runtime see only this;
// vendor shapes, error codes and rate-limit headers stay inside each connector's folder.
import type { FieldValue, ObjectType } from '../engine/index.ts';
import type { RateBudget } from './budget.ts';
import type { ConnectorError } from './errors.ts';

/** A record read from a system: canonical field names, normalized values, references as native ids. */
export interface SourceChange {
  system: string;
  object: ObjectType;
  externalId: string;
  modifiedAt: number;
  fields: Record<string, FieldValue>;
  /** Reference fields (e.g. contact.company) as the referenced record's native id in this system, or null. */
  refs: Record<string, string | null>;
  /** The canonical id fieldsync stamped on the record when it created it there, if any. */
  fieldsyncId?: string | undefined;
  /** The record was deleted (at = when). `mergedInto`: the native id of the record it was merged into. */
  deleted?: { at: number; mergedInto?: string | undefined } | undefined;
  /** Native ids of records merged into this one (HubSpot `hs_merged_object_ids`). */
  mergedIds?: string[] | undefined;
  /** Read by reconciliation: what the system holds now, merged even when its modification time is
   * older than what fieldsync last saw there (see ingest's `asObserved`). */
  reconcile?: true | undefined;
  /** Per-field times where the system gives them (HubSpot property history), else `modifiedAt`. */
  fieldTimes?: Record<string, number> | undefined;
  /** Values our own write replaced moments after a user set them (see SourceSnapshot.replaced). */
  replaced?: true | undefined;
  /**
   * When the answer came (our clock). Set where the system's modification times are coarse (Salesforce
   * stamps whole seconds): of two reads showing the same stamp, the later one holds the later save.
   */
  readAt?: number | undefined;
}

/** A webhook's word that a record changed: resolved into SourceChanges by one batch read per system. */
export interface ChangeNotice {
  system: string;
  object: ObjectType;
  externalId: string;
  occurredAt: number;
  /** The vendor's event or notification id, for dedupe. */
  eventId: string;
  kind: 'change' | 'delete' | 'merge' | 'association' | 'restore';
  /** Merges: the ids merged away, and the id of the record they became (HubSpot gives merges a new id). */
  mergedIds?: string[] | undefined;
  newId?: string | undefined;
  /** A change of this one property (HubSpot `propertyChange`): the record's links need no re-read. */
  propertyName?: string | undefined;
}

export interface ReadOptions {
  /** Read reference fields too (default true). Where links are separate objects (HubSpot associations)
   * that is a call of its own; a change of properties alone can leave them out (not carried = unchanged). */
  refs?: boolean;
}

/** An opaque, JSON-serializable checkpoint; each connector validates its own shape. */
export type Cursor = Readonly<Record<string, string | number>>;

export interface PollPage {
  changes: SourceChange[];
  /** Where the next poll continues; saved only after `changes` are durably queued. */
  cursor: Cursor;
}

export interface WriteOp {
  canonicalId: string;
  /** Absent: create (idempotently, keyed by canonicalId). */
  externalId?: string;
  /** Non-reference fields to set. `null` clears. */
  fields: Record<string, FieldValue>;
  /** Reference fields to set, as native ids in this system (null clears). */
  refs: Record<string, string | null>;
  /** Reference values the system held before, as native ids, for systems where links are separate objects. */
  previousRefs: Record<string, string | null>;
  /**
   * Updates: the record's modification time as fieldsync last merged it (the shadow's `asOf`), checked
   * unchanged just before this write. A connector that can see property history reports any value set
   * after it that this write replaced (WriteOutcome `replaced`).
   */
  asOf?: number | undefined;
  /** Updates: the values fieldsync last saw the system hold for these fields (its shadow). */
  previous?: Record<string, FieldValue> | undefined;
}

/** Values a write replaced, set after the record's `asOf` by someone else: canonical field -> value, time. */
export interface ReplacedValues {
  fields: Record<string, FieldValue>;
  times: Record<string, number>;
}

export type WriteOutcome =
  | {
      canonicalId: string;
      ok: true;
      externalId: string;
      created: boolean;
      /** Fields the system would not take on this write (e.g. create-only fields on an update). */
      skipped?: string[] | undefined;
      replaced?: ReplacedValues | undefined;
    }
  | {
      canonicalId: string;
      ok: false;
      retryable: boolean;
      code: string;
      message: string;
      retryAfterMs?: number;
    };

export interface ConnectorStats {
  /** API calls by kind, e.g. { query: 3, 'write:update': 2 }. */
  calls: Record<string, number>;
  recordsRead: number;
  recordsWritten: number;
}

/** A field as the system describes it (Salesforce describe, HubSpot properties API). */
export interface NativeField {
  name: string;
  /** The vendor's type name: string, picklist, currency, ... / string, enumeration, number, ... */
  type: string;
  /** Allowed values of a picklist / enumeration. */
  options?: string[];
  unique?: boolean;
  updateable?: boolean;
}

export interface Connector {
  readonly system: string;
  /** Poll changes since `cursor` (undefined = from the beginning), one page at a time. */
  poll(object: ObjectType, cursor: Cursor | undefined): AsyncGenerator<PollPage>;
  /** When each record was last modified in the system (one light read per batch; missing ids left out). */
  modifiedTimes(object: ObjectType, ids: readonly string[]): Promise<Map<string, number>>;
  /** How fine those times are, in ms (default 1). Salesforce stamps whole seconds: 1000. */
  readonly modifiedTimeResolutionMs?: number;
  /** The account's rate budget, when the connector paces against one (telemetry reads what is left). */
  budget?(): RateBudget;
  /** Read records by native id (missing ids are left out). */
  read(object: ObjectType, ids: readonly string[], options?: ReadOptions): Promise<SourceChange[]>;
  /**
   * Records whose match-key field (canonical name, e.g. contact.email) holds one of `values` (normalized
   * as the engine normalizes them): the search before a create, so a record a user made there moments
   * ago is linked instead of duplicated. One query per batch of values.
   */
  findByKey?(object: ObjectType, field: string, values: readonly string[]): Promise<SourceChange[]>;
  /**
   * For a system that keeps per-field change times (HubSpot property history): the changes with
   * `fieldTimes` set, when each field last changed. Used for records fieldsync has not linked yet: at a
   * pair's first merge, a field's own time (not the record's) decides which system's value is newer.
   */
  withFieldTimes?(object: ObjectType, changes: readonly SourceChange[]): Promise<SourceChange[]>;
  /** Create or update records in batches; one outcome per op, in any order. */
  write(object: ObjectType, ops: readonly WriteOp[]): Promise<WriteOutcome[]>;
  /** Delete (archive) records by native id; a record already gone counts as deleted. */
  delete(
    object: ObjectType,
    ids: readonly { canonicalId: string; externalId: string }[],
  ): Promise<WriteOutcome[]>;
  /** The object's fields as the system describes them, for `fieldsync config check`. */
  describe(object: ObjectType): Promise<NativeField[]>;
  stats(): ConnectorStats;
}

/** Tallies calls for ConnectorStats and turns vendor failures into typed errors. */
export class CallCounter {
  readonly calls: Record<string, number> = {};
  recordsRead = 0;
  recordsWritten = 0;
  private readonly translate: (err: unknown) => Error;
  constructor(translate: (err: unknown) => Error) {
    this.translate = translate;
  }
  count(kind: string, n = 1): void {
    this.calls[kind] = (this.calls[kind] ?? 0) + n;
  }
  /** One API call of `kind`: counted, and its failure translated. */
  async call<T>(kind: string, fn: () => Promise<T>): Promise<T> {
    this.count(kind);
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err);
    }
  }
  stats(): ConnectorStats {
    return { calls: { ...this.calls }, recordsRead: this.recordsRead, recordsWritten: this.recordsWritten };
  }
}

/** Delete requests as write ops (no fields), so deletes share the write paths' outcome handling. */
export function deleteOps(ids: readonly { canonicalId: string; externalId: string }[]): WriteOp[] {
  return ids.map((p) => ({
    canonicalId: p.canonicalId,
    externalId: p.externalId,
    fields: {},
    refs: {},
    previousRefs: {},
  }));
}

/** Every op of a failed call fails with the call's error. */
export function failAll(ops: readonly WriteOp[], e: ConnectorError): WriteOutcome[] {
  return ops.map((op) => ({
    canonicalId: op.canonicalId,
    ok: false,
    retryable: e.retryable,
    code: e.code,
    message: e.message,
    ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}),
  }));
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
