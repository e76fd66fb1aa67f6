// Persistence port and its DynamoDB adapter (single table, see DESIGN.md). Records carry their
// shadows and links, so one conditional write on `version` keeps them consistent.

import { isDeepStrictEqual } from 'node:util';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { Cursor } from '../connectors/types.ts';
import {
  type CanonicalRecord,
  CHANGE_REASONS,
  type ChangeReason,
  OBJECT_TYPES,
  type ObjectType,
  type TombstoneStatus,
} from '../engine/index.ts';

export class VersionConflictError extends Error {
  override name = 'VersionConflictError';
  readonly recordId: string;
  constructor(recordId: string, cause: unknown) {
    super(`record ${recordId} changed concurrently`, { cause });
    this.recordId = recordId;
  }
}

/** Record-level events in the audit, beside the field decisions (ChangeReason). */
export const AUDIT_EVENTS = [
  'created',
  'linked',
  'ambiguous',
  'written',
  'write-failed',
  'echo',
  'policy-applied',
  'deleted',
  'delete-ignored',
  'quarantined',
  'approved',
  'rejected',
  'merged',
  'restored',
  'forgotten',
  'relinked',
  /** Reconciliation found a system's value differing from what the canonical state says it holds. */
  'drift',
] as const;
export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export interface AuditRow {
  canonicalId: string;
  object: ObjectType;
  at: number;
  field: string;
  old: string | null;
  new: string | null;
  kept: string | null;
  source: string;
  sourceTime: number;
  reason: ChangeReason | AuditEvent;
}

export interface SyncError {
  system: string;
  object: ObjectType;
  canonicalId: string;
  code: string;
  message: string;
  at: number;
}

/** What `scanReport` reads of each item: no field values (PII), no vendor messages (they may quote them). */
export type ReportItem =
  | {
      kind: 'record';
      object: ObjectType;
      id: string;
      /** Systems holding a native record linked to it. */
      linked: string[];
      status: 'active' | 'held' | TombstoneStatus;
    }
  | { kind: 'error'; system: string; object: ObjectType; canonicalId: string; code: string; at: number }
  | { kind: 'cursor'; system: string; object: string; updatedAt: number | undefined }
  | ({ kind: 'audit' } & Pick<AuditRow, 'canonicalId' | 'object' | 'at' | 'field' | 'source' | 'reason'>);

export interface Store {
  getRecords(object: ObjectType, ids: readonly string[]): Promise<Map<string, CanonicalRecord>>;
  /** Store `record` if its stored version is still `record.version - 1` (absent for version 1). */
  putRecord(record: CanonicalRecord): Promise<void>;
  getLinks(system: string, object: ObjectType, externalIds: readonly string[]): Promise<Map<string, string>>;
  /** Link an external id to a canonical id unless already linked; returns the canonical id it holds. */
  putLink(system: string, object: ObjectType, externalId: string, canonicalId: string): Promise<string>;
  /** Record a webhook event id; false when it was seen before (duplicate delivery). Kept a few days (TTL). */
  claimEvent(system: string, eventId: string, now: number): Promise<boolean>;
  /** Forgets a claimed event id (its notices could not be queued, so a redelivery must get through). */
  releaseEvent(system: string, eventId: string): Promise<void>;
  /** A small named value of the deployment (e.g. the fingerprint of the config last applied). */
  getMeta(name: string): Promise<string | undefined>;
  putMeta(name: string, value: string): Promise<void>;
  /** Point an external id at a canonical id, replacing any link it had (merges, operator relinks). */
  setLink(system: string, object: ObjectType, externalId: string, canonicalId: string): Promise<void>;
  /** Claim a match key for a canonical id unless held; returns the holder. */
  claimKey(object: ObjectType, field: string, value: string, canonicalId: string): Promise<string>;
  getCursor(system: string, object: ObjectType): Promise<Cursor | undefined>;
  putCursor(system: string, object: ObjectType, cursor: Cursor): Promise<void>;
  appendAudit(rows: readonly AuditRow[]): Promise<void>;
  audit(canonicalId: string): Promise<AuditRow[]>;
  putError(error: SyncError): Promise<void>;
  clearError(system: string, object: ObjectType, canonicalId: string): Promise<void>;
  /**
   * After successful writes: removes the parked errors of those records, if any (one key-only Query
   * of the system's parked errors for the object, then batched deletes of the matches).
   */
  clearErrorsOf(system: string, object: ObjectType, canonicalIds: readonly string[]): Promise<number>;
  listErrors(): Promise<SyncError[]>;
  listRecords(object: ObjectType): Promise<CanonicalRecord[]>;
  /** Audit rows of every record, optionally only those with one of `reasons`, in key order. */
  scanAudit(reasons?: readonly AuditRow['reason'][]): Promise<AuditRow[]>;
  /**
   * The audit report's one pass over the table, page by page: every record, parked error and cursor,
   * and the audit rows with `since <= at < until`. Ids, names, codes and times only, never field values.
   */
  scanReport(range: { since: number; until: number }, visit: (item: ReportItem) => void): Promise<void>;
  /** Every item of the table in export form, sorted by kind (EXPORT_KINDS order), then key. */
  exportItems(onProgress?: (itemsRead: number) => void): Promise<ExportItem[]>;
  /** Write exported items back (batch writes); the caller checks `isEmpty()` first. */
  importItems(items: readonly ExportItem[], onProgress?: (itemsWritten: number) => void): Promise<void>;
  /** True when the table holds no item at all. */
  isEmpty(): Promise<boolean>;
  // Operator lifecycle commands (fieldsync link / quarantine / restore / forget).
  /** The canonical id holding a match key, if any. */
  getKey(object: ObjectType, field: string, value: string): Promise<string | undefined>;
  /** Every match key a canonical record holds (a scan of the object's KEY items). */
  keysOf(object: ObjectType, canonicalId: string): Promise<{ field: string; value: string }[]>;
  deleteKeys(object: ObjectType, keys: readonly { field: string; value: string }[]): Promise<void>;
  deleteLink(system: string, object: ObjectType, externalId: string): Promise<void>;
  /** Blank `old`, `new` and `kept` of every audit row of a record (erasure); returns the rows changed. */
  redactAudit(canonicalId: string): Promise<number>;
}

/**
 * Change a stored record with a conditional write on its version; on a conflict, re-read and apply
 * `change` again. Starts from `loaded` when given (saves a read). Returns the stored record, or
 * undefined when the record is gone or `change` declines (returns undefined).
 */
export async function updateRecord(
  store: Store,
  object: ObjectType,
  id: string,
  change: (current: CanonicalRecord) => CanonicalRecord | undefined,
  loaded?: CanonicalRecord,
): Promise<CanonicalRecord | undefined> {
  let current = loaded;
  for (let attempt = 0; ; attempt++) {
    if (current === undefined || attempt > 0) current = (await store.getRecords(object, [id])).get(id);
    if (current === undefined) return undefined;
    const changed = change(current);
    if (changed === undefined) return undefined;
    const next = { ...changed, version: current.version + 1 };
    try {
      await store.putRecord(next);
      return next;
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= 8) throw err;
    }
  }
}

const AUDIT_TTL_DAYS = 400;
/** Webhook event ids are remembered this long: vendors retry for up to 24 hours. */
const EVENT_TTL_DAYS = 3;
const fieldStateSchema = z.object({
  value: z.string().nullable(),
  source: z.string(),
  sourceTime: z.number(),
  seenAt: z.number(),
  readAt: z.number().optional(),
});
const recordSchema = z.object({
  id: z.string(),
  object: z.enum(OBJECT_TYPES),
  version: z.number(),
  fields: z.record(z.string(), fieldStateSchema),
  links: z.record(z.string(), z.string()),
  shadows: z.record(
    z.string(),
    z.object({
      values: z.record(z.string(), z.string().nullable()),
      asOf: z.number(),
      readAt: z.number().optional(),
      times: z.record(z.string(), z.number()).optional(),
      sources: z.record(z.string(), z.string()).optional(),
      unconfirmed: z
        .record(z.string(), z.object({ before: z.string().nullable(), at: z.number() }))
        .optional(),
    }),
  ),
  tombstone: z
    .object({
      status: z.enum(['deleted', 'quarantined', 'merged', 'forgotten']),
      system: z.string(),
      at: z.number(),
      mergedInto: z.string().optional(),
    })
    .optional(),
  gone: z.record(z.string(), z.number()).optional(),
  hold: z.object({ reason: z.literal('ambiguous'), detail: z.string() }).optional(),
});

function parseRecord(item: unknown): CanonicalRecord {
  return recordSchema.parse(item);
}

const recKey = (object: string, id: string) => ({ pk: `REC#${object}#${id}`, sk: 'REC' });
const keyKey = (object: string, field: string, value: string) => ({
  pk: `KEY#${object}#${field}#${value}`,
  sk: 'KEY',
});
const linkKey = (system: string, object: string, externalId: string) => ({
  pk: `LINK#${system}#${object}#${externalId}`,
  sk: 'LINK',
});

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class DynamoStore implements Store {
  readonly doc: DynamoDBDocumentClient;
  readonly table: string;
  /** DynamoDB requests made, by operation: the design budgets about one read and one write per change. */
  readonly requests: Record<string, number> = {};

  constructor(table: string, client: DynamoDBClient = new DynamoDBClient({})) {
    this.table = table;
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  private count(op: string): void {
    this.requests[op] = (this.requests[op] ?? 0) + 1;
  }

  private async batchGet(keys: { pk: string; sk: string }[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for (const part of chunk(keys, 100)) {
      let pending: { pk: string; sk: string }[] = part;
      for (let attempt = 0; pending.length > 0; attempt++) {
        this.count('BatchGetItem');
        const res = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending } } }),
        );
        out.push(...(res.Responses?.[this.table] ?? []));
        const rest = res.UnprocessedKeys?.[this.table]?.Keys ?? [];
        pending = rest.map((k) => ({ pk: String(k.pk), sk: String(k.sk) }));
        if (pending.length > 0) await backoff(attempt);
      }
    }
    return out;
  }

  async getRecords(object: ObjectType, ids: readonly string[]): Promise<Map<string, CanonicalRecord>> {
    const items = await this.batchGet([...new Set(ids)].map((id) => recKey(object, id)));
    const out = new Map<string, CanonicalRecord>();
    for (const item of items) {
      const r = parseRecord(item.record);
      out.set(r.id, r);
    }
    return out;
  }

  async putRecord(record: CanonicalRecord): Promise<void> {
    this.count('PutItem');
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...recKey(record.object, record.id), version: record.version, record },
          ...(record.version <= 1
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :v',
                ExpressionAttributeValues: { ':v': record.version - 1 },
              }),
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new VersionConflictError(record.id, err);
      throw err;
    }
  }

  async getLinks(
    system: string,
    object: ObjectType,
    externalIds: readonly string[],
  ): Promise<Map<string, string>> {
    const items = await this.batchGet([...new Set(externalIds)].map((id) => linkKey(system, object, id)));
    const out = new Map<string, string>();
    for (const item of items) out.set(String(item.externalId), String(item.canonicalId));
    return out;
  }

  private async putOnce(
    pk: string,
    sk: string,
    attrs: Record<string, unknown>,
    holder: string,
  ): Promise<string> {
    this.count('PutItem');
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { pk, sk, ...attrs },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return holder;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      this.count('GetItem');
      const res = await this.doc.send(
        new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
      );
      return String(res.Item?.canonicalId);
    }
  }

  putLink(system: string, object: ObjectType, externalId: string, canonicalId: string): Promise<string> {
    const { pk, sk } = linkKey(system, object, externalId);
    return this.putOnce(pk, sk, { system, object, externalId, canonicalId }, canonicalId);
  }

  async releaseEvent(system: string, eventId: string): Promise<void> {
    await this.batchDelete([{ pk: `EVENT#${system}#${eventId}`, sk: 'EVENT' }]);
  }

  async claimEvent(system: string, eventId: string, now: number): Promise<boolean> {
    this.count('PutItem');
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            pk: `EVENT#${system}#${eventId}`,
            sk: 'EVENT',
            ttl: Math.floor(now / 1000) + EVENT_TTL_DAYS * 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async getMeta(name: string): Promise<string | undefined> {
    this.count('GetItem');
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `META#${name}`, sk: 'META' },
        ConsistentRead: true,
      }),
    );
    const value = res.Item?.value;
    return typeof value === 'string' ? value : undefined;
  }

  async putMeta(name: string, value: string): Promise<void> {
    this.count('PutItem');
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `META#${name}`, sk: 'META', value, at: new Date().toISOString() },
      }),
    );
  }

  async setLink(system: string, object: ObjectType, externalId: string, canonicalId: string): Promise<void> {
    this.count('PutItem');
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...linkKey(system, object, externalId), system, object, externalId, canonicalId },
      }),
    );
  }

  claimKey(object: ObjectType, field: string, value: string, canonicalId: string): Promise<string> {
    return this.putOnce(`KEY#${object}#${field}#${value}`, 'KEY', { canonicalId }, canonicalId);
  }

  async getCursor(system: string, object: ObjectType): Promise<Cursor | undefined> {
    this.count('GetItem');
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: `CURSOR#${system}#${object}`, sk: 'CURSOR' },
        ConsistentRead: true,
      }),
    );
    const parsed = z.record(z.string(), z.union([z.string(), z.number()])).safeParse(res.Item?.cursor);
    return parsed.success ? parsed.data : undefined;
  }

  async putCursor(system: string, object: ObjectType, cursor: Cursor): Promise<void> {
    this.count('PutItem');
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `CURSOR#${system}#${object}`, sk: 'CURSOR', cursor, updatedAt: new Date().toISOString() },
      }),
    );
  }

  private async batchPut(items: Record<string, unknown>[]): Promise<void> {
    for (const part of chunk(items, 25)) {
      let pending = part.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        this.count('BatchWriteItem');
        const res = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        const rest = res.UnprocessedItems?.[this.table] ?? [];
        pending = rest.flatMap((r) =>
          r.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: r.PutRequest.Item } }],
        );
        if (pending.length > 0) await backoff(attempt);
      }
    }
  }

  async appendAudit(rows: readonly AuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.batchPut(
      rows.map((row, i) => ({
        pk: `AUDIT#${row.canonicalId}`,
        sk: auditSortKey(row.at, i, row.field),
        ...row,
        ttl: Math.floor(row.at / 1000) + AUDIT_TTL_DAYS * 86_400,
      })),
    );
  }

  /** Every raw AUDIT item of a record, in time order (one Query per page). */
  private async auditItems(canonicalId: string): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for await (const items of this.pages('Query', {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `AUDIT#${canonicalId}` },
      ConsistentRead: true,
    }))
      out.push(...items);
    return out;
  }

  /** Every page of a Query or Scan, one counted request each, following LastEvaluatedKey. */
  private async *pages(
    kind: 'Query' | 'Scan',
    input: QueryCommandInput | ScanCommandInput,
  ): AsyncGenerator<Record<string, unknown>[]> {
    let start: Record<string, unknown> | undefined;
    do {
      this.count(kind);
      const paged = { ...input, ...(start === undefined ? {} : { ExclusiveStartKey: start }) };
      const res =
        kind === 'Query'
          ? await this.doc.send(new QueryCommand(paged))
          : await this.doc.send(new ScanCommand(paged));
      yield res.Items ?? [];
      start = res.LastEvaluatedKey;
    } while (start !== undefined);
  }

  async audit(canonicalId: string): Promise<AuditRow[]> {
    return (await this.auditItems(canonicalId)).map((item) => auditRowSchema.parse(item));
  }

  async putError(error: SyncError): Promise<void> {
    this.count('PutItem');
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { pk: `ERROR#${error.system}`, sk: `${error.object}#${error.canonicalId}`, ...error },
      }),
    );
  }

  async clearError(system: string, object: ObjectType, canonicalId: string): Promise<void> {
    await this.batchDelete([{ pk: `ERROR#${system}`, sk: `${object}#${canonicalId}` }]);
  }

  async clearErrorsOf(system: string, object: ObjectType, canonicalIds: readonly string[]): Promise<number> {
    if (canonicalIds.length === 0) return 0;
    const parked = new Set<string>();
    for await (const items of this.pages('Query', {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :object)',
      ExpressionAttributeValues: { ':pk': `ERROR#${system}`, ':object': `${object}#` },
      ProjectionExpression: 'sk',
    }))
      for (const item of items) parked.add(String(item.sk));
    const keys = canonicalIds
      .map((id) => `${object}#${id}`)
      .filter((sk) => parked.has(sk))
      .map((sk) => ({ pk: `ERROR#${system}`, sk }));
    await this.batchDelete(keys);
    return keys.length;
  }

  private async batchDelete(keys: { pk: string; sk: string }[]): Promise<void> {
    for (const part of chunk(keys, 25)) {
      this.count('BatchWriteItem');
      await this.doc.send(
        new BatchWriteCommand({
          RequestItems: { [this.table]: part.map((Key) => ({ DeleteRequest: { Key } })) },
        }),
      );
    }
  }

  private async scan(
    prefix: string,
    filter?: { expression: string; names?: Record<string, string>; values: Record<string, unknown> },
  ): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    for await (const items of this.pages('Scan', {
      TableName: this.table,
      FilterExpression:
        filter === undefined ? 'begins_with(pk, :p)' : `begins_with(pk, :p) AND (${filter.expression})`,
      ExpressionAttributeValues: { ':p': prefix, ...filter?.values },
      ...(filter?.names === undefined ? {} : { ExpressionAttributeNames: filter.names }),
    }))
      out.push(...items);
    return out;
  }

  async listErrors(): Promise<SyncError[]> {
    return (await this.scan('ERROR#')).map((item) => syncErrorSchema.parse(item));
  }

  async listRecords(object: ObjectType): Promise<CanonicalRecord[]> {
    return (await this.scan(`REC#${object}#`)).map((item) => parseRecord(item.record));
  }

  // Operator commands (fieldsync audit / conflicts / export / import). A Scan reads, and on AWS bills,
  // the whole table whatever the filter (about 1 RCU per 8 KB read, eventually consistent): fine on
  // the local state and for an occasional operator run, not for anything on the sync path. On AWS, a
  // frequent conflicts report would want a sparse GSI keyed on conflict rows instead.

  async scanAudit(reasons?: readonly AuditRow['reason'][]): Promise<AuditRow[]> {
    const filter =
      reasons === undefined || reasons.length === 0
        ? undefined
        : {
            expression: `#reason IN (${reasons.map((_, i) => `:r${i}`).join(', ')})`,
            names: { '#reason': 'reason' },
            values: Object.fromEntries(reasons.map((r, i) => [`:r${i}`, r])),
          };
    const items = await this.scan('AUDIT#', filter);
    items.sort((a, b) => compareKeys(itemKeyOf(a), itemKeyOf(b)));
    return items.map((item) => auditRowSchema.parse(item));
  }

  async scanReport(
    range: { since: number; until: number },
    visit: (item: ReportItem) => void,
  ): Promise<void> {
    // One Scan for the whole report: on AWS it reads (and bills) the whole table whatever the filter,
    // so reading records, errors, cursors and audit rows in separate scans would cost four times that.
    // The projection keeps field values and vendor messages out of the response.
    const paths = [
      'pk',
      'record.object',
      'record.id',
      'record.links',
      'record.tombstone.status',
      'record.hold.reason',
      'canonicalId',
      'object',
      'at',
      'field',
      'source',
      'reason',
      'system',
      'code',
      'updatedAt',
    ];
    const names: Record<string, string> = {};
    const projection = paths.map((path) =>
      path
        .split('.')
        .map((part) => {
          const name = `#${part}`;
          names[name] = part;
          return name;
        })
        .join('.'),
    );
    for await (const items of this.pages('Scan', {
      TableName: this.table,
      FilterExpression:
        'begins_with(#pk, :rec) OR begins_with(#pk, :err) OR begins_with(#pk, :cur) OR ' +
        '(begins_with(#pk, :aud) AND #at >= :since AND #at < :until)',
      ProjectionExpression: projection.join(', '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ':rec': 'REC#',
        ':err': 'ERROR#',
        ':cur': 'CURSOR#',
        ':aud': 'AUDIT#',
        ':since': range.since,
        ':until': range.until,
      },
    }))
      for (const raw of items) visit(reportItemOf(raw));
  }

  async exportItems(onProgress?: (itemsRead: number) => void): Promise<ExportItem[]> {
    const read: { kind: number; key: ItemKey; item: ExportItem }[] = [];
    for await (const items of this.pages('Scan', { TableName: this.table, ConsistentRead: true })) {
      for (const raw of items) {
        // Webhook event ids are transient dedupe state (TTL), not part of the canonical state.
        if (String(raw.pk).startsWith('EVENT#')) continue;
        const item = toExportItem(raw);
        read.push({ kind: EXPORT_KINDS.indexOf(item.kind), key: itemKeyOf(raw), item });
      }
      onProgress?.(read.length);
    }
    read.sort((a, b) => a.kind - b.kind || compareKeys(a.key, b.key));
    return read.map((r) => r.item);
  }

  async importItems(
    items: readonly ExportItem[],
    onProgress?: (itemsWritten: number) => void,
  ): Promise<void> {
    const stored = items.map(toStoredItem);
    for (let i = 0; i < stored.length; i += 1000) {
      await this.batchPut(stored.slice(i, i + 1000));
      onProgress?.(Math.min(stored.length, i + 1000));
    }
  }

  async isEmpty(): Promise<boolean> {
    this.count('Scan');
    const res = await this.doc.send(
      new ScanCommand({ TableName: this.table, Limit: 1, ConsistentRead: true }),
    );
    return (res.Items ?? []).length === 0;
  }

  async getKey(object: ObjectType, field: string, value: string): Promise<string | undefined> {
    this.count('GetItem');
    const res = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: keyKey(object, field, value), ConsistentRead: true }),
    );
    return typeof res.Item?.canonicalId === 'string' ? res.Item.canonicalId : undefined;
  }

  async keysOf(object: ObjectType, canonicalId: string): Promise<{ field: string; value: string }[]> {
    const items = await this.scan(`KEY#${object}#`, {
      expression: 'canonicalId = :id',
      values: { ':id': canonicalId },
    });
    return items.map((item) => {
      const [, , field = '', ...value] = String(item.pk).split('#');
      return { field, value: value.join('#') };
    });
  }

  async deleteKeys(object: ObjectType, keys: readonly { field: string; value: string }[]): Promise<void> {
    await this.batchDelete(keys.map((k) => keyKey(object, k.field, k.value)));
  }

  async deleteLink(system: string, object: ObjectType, externalId: string): Promise<void> {
    await this.batchDelete([linkKey(system, object, externalId)]);
  }

  async redactAudit(canonicalId: string): Promise<number> {
    const changed = (await this.auditItems(canonicalId))
      .filter((item) => item.old !== null || item.new !== null || item.kept !== null)
      .map((item) => ({ ...item, old: null, new: null, kept: null }));
    await this.batchPut(changed);
    return changed.length;
  }
}

const auditRowSchema = z.object({
  canonicalId: z.string(),
  object: z.enum(OBJECT_TYPES),
  at: z.number(),
  field: z.string(),
  old: z.string().nullable(),
  new: z.string().nullable(),
  kept: z.string().nullable(),
  source: z.string(),
  sourceTime: z.number(),
  reason: z.enum([...CHANGE_REASONS, ...AUDIT_EVENTS]),
});

const syncErrorSchema = z.object({
  system: z.string(),
  object: z.enum(OBJECT_TYPES),
  canonicalId: z.string(),
  code: z.string(),
  message: z.string(),
  at: z.number(),
});

const reportRecordSchema = z.object({
  record: z.object({
    object: z.enum(OBJECT_TYPES),
    id: z.string(),
    links: z.record(z.string(), z.string()),
    tombstone: z.object({ status: z.enum(['deleted', 'quarantined', 'merged', 'forgotten']) }).optional(),
    hold: z.object({ reason: z.string() }).optional(),
  }),
});

/** A projected item of `scanReport` in typed form. */
function reportItemOf(raw: Record<string, unknown>): ReportItem {
  const pk = String(raw.pk);
  const [kind = '', ...rest] = pk.split('#');
  switch (kind) {
    case 'REC': {
      const { record } = reportRecordSchema.parse(raw);
      const status = record.tombstone?.status ?? (record.hold === undefined ? 'active' : 'held');
      return {
        kind: 'record',
        object: record.object,
        id: record.id,
        linked: Object.keys(record.links),
        status,
      };
    }
    case 'ERROR': {
      const e = syncErrorSchema.omit({ message: true }).parse(raw);
      return {
        kind: 'error',
        system: e.system,
        object: e.object,
        canonicalId: e.canonicalId,
        code: e.code,
        at: e.at,
      };
    }
    case 'CURSOR': {
      const updatedAt = typeof raw.updatedAt === 'string' ? Date.parse(raw.updatedAt) : Number.NaN;
      return {
        kind: 'cursor',
        system: rest[0] ?? '',
        object: rest.slice(1).join('#'),
        updatedAt: Number.isNaN(updatedAt) ? undefined : updatedAt,
      };
    }
    case 'AUDIT': {
      const row = auditRowSchema
        .pick({ canonicalId: true, object: true, at: true, field: true, source: true, reason: true })
        .parse(raw);
      return { kind: 'audit', ...row };
    }
    default:
      throw new Error(`scanReport: unexpected item ${pk}`);
  }
}

/** Audit sort key: time, then the row's position in its batch, then the field. */
function auditSortKey(at: number, seq: number, field: string): string {
  return `${new Date(at).toISOString()}#${String(seq).padStart(4, '0')}#${field}`;
}

/** The item kinds of the table, in export order. */
export const EXPORT_KINDS = ['record', 'link', 'key', 'cursor', 'meta', 'audit', 'error'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

const nonEmpty = z.string().min(1);
const keyPart = nonEmpty.regex(/^[^#]*$/, 'must not contain #');

/** One table item in export form (`fieldsync export` writes one per line, `import` reads them back). */
export const exportItemSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('record'), record: recordSchema }),
  z.object({
    kind: z.literal('link'),
    system: keyPart,
    object: z.enum(OBJECT_TYPES),
    externalId: nonEmpty,
    canonicalId: nonEmpty,
  }),
  z.object({
    kind: z.literal('key'),
    object: z.enum(OBJECT_TYPES),
    field: keyPart,
    value: nonEmpty,
    canonicalId: nonEmpty,
  }),
  z.object({
    kind: z.literal('cursor'),
    system: keyPart,
    object: z.enum(OBJECT_TYPES),
    cursor: z.record(z.string(), z.union([z.string(), z.number()])),
    updatedAt: z.string().optional(),
  }),
  z.object({ kind: z.literal('meta'), name: keyPart, value: z.string(), at: z.string().optional() }),
  auditRowSchema.extend({
    kind: z.literal('audit'),
    canonicalId: nonEmpty,
    at: z.number().int().min(0).max(8.64e15),
    field: keyPart,
    seq: z.number().int().min(0),
    ttl: z.number().int(),
  }),
  syncErrorSchema.extend({ kind: z.literal('error'), system: keyPart, canonicalId: nonEmpty }),
]);
export type ExportItem = z.infer<typeof exportItemSchema>;

interface ItemKey {
  pk: string;
  sk: string;
}

function itemKeyOf(raw: Record<string, unknown>): ItemKey {
  return { pk: String(raw.pk), sk: String(raw.sk) };
}

function compareKeys(a: ItemKey, b: ItemKey): number {
  if (a.pk !== b.pk) return a.pk < b.pk ? -1 : 1;
  return a.sk === b.sk ? 0 : a.sk < b.sk ? -1 : 1;
}

/** The table item an export item stands for (the layouts the methods above write). */
function toStoredItem(item: ExportItem): Record<string, unknown> {
  switch (item.kind) {
    case 'record':
      return {
        ...recKey(item.record.object, item.record.id),
        version: item.record.version,
        record: item.record,
      };
    case 'link':
      return {
        ...linkKey(item.system, item.object, item.externalId),
        system: item.system,
        object: item.object,
        externalId: item.externalId,
        canonicalId: item.canonicalId,
      };
    case 'key':
      return {
        pk: `KEY#${item.object}#${item.field}#${item.value}`,
        sk: 'KEY',
        canonicalId: item.canonicalId,
      };
    case 'cursor':
      return {
        pk: `CURSOR#${item.system}#${item.object}`,
        sk: 'CURSOR',
        cursor: item.cursor,
        ...(item.updatedAt === undefined ? {} : { updatedAt: item.updatedAt }),
      };
    case 'meta':
      return {
        pk: `META#${item.name}`,
        sk: 'META',
        value: item.value,
        ...(item.at === undefined ? {} : { at: item.at }),
      };
    case 'audit': {
      const { kind: _kind, seq, ttl, ...row } = item;
      return { pk: `AUDIT#${row.canonicalId}`, sk: auditSortKey(row.at, seq, row.field), ...row, ttl };
    }
    case 'error': {
      const { kind: _kind, ...error } = item;
      return { pk: `ERROR#${error.system}`, sk: `${error.object}#${error.canonicalId}`, ...error };
    }
  }
}

/** The key (pk, sk) an export item is stored under: import uses it to reject duplicates. */
export function exportItemKey(item: ExportItem): ItemKey {
  return itemKeyOf(toStoredItem(item));
}

export class ExportError extends Error {
  override name = 'ExportError';
}

/** A table item in export form; throws unless the export form stores back as exactly this item. */
function toExportItem(raw: Record<string, unknown>): ExportItem {
  const { pk, sk } = itemKeyOf(raw);
  const parts = pk.split('#');
  const attrs = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== 'pk' && k !== 'sk'));
  let candidate: Record<string, unknown>;
  switch (parts[0]) {
    case 'REC':
      candidate = { kind: 'record', record: raw.record };
      break;
    case 'LINK':
      candidate = { ...attrs, kind: 'link' };
      break;
    case 'KEY':
      candidate = {
        kind: 'key',
        object: parts[1],
        field: parts[2],
        value: parts.slice(3).join('#'),
        canonicalId: raw.canonicalId,
      };
      break;
    case 'CURSOR':
      candidate = { ...attrs, kind: 'cursor', system: parts[1], object: parts[2] };
      break;
    case 'META':
      candidate = { ...attrs, kind: 'meta', name: parts.slice(1).join('#') };
      break;
    case 'AUDIT': {
      const seq = /^[^#]*#(\d+)#/.exec(sk)?.[1];
      candidate = { ...attrs, kind: 'audit', seq: seq === undefined ? undefined : Number(seq) };
      break;
    }
    case 'ERROR':
      candidate = { ...attrs, kind: 'error' };
      break;
    default:
      throw new ExportError(`cannot export item ${pk} ${sk}: unknown item kind '${parts[0]}'`);
  }
  const parsed = exportItemSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ExportError(
      `cannot export item ${pk} ${sk}: ${issue === undefined ? 'invalid' : `${issue.path.join('.')} ${issue.message}`}`,
    );
  }
  if (!isDeepStrictEqual(toStoredItem(parsed.data), raw))
    throw new ExportError(`cannot export item ${pk} ${sk}: it holds attributes this version does not export`);
  return parsed.data;
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
}

/** Create the table if it does not exist (the embedded stack; on AWS the CDK stack owns it). */
export async function ensureTable(client: DynamoDBClient, table: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  for (let i = 0; i < 100; i++) {
    const res = await client.send(new DescribeTableCommand({ TableName: table }));
    if (res.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}
