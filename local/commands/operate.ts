// Shared machinery of the operator commands that change canonical records (link, quarantine
// approve/reject, restore, forget): validate settings like `sync`, start the embedded stack on the
// state dir, change records with conditional writes, audit, signal the writers, drain the queues so
// the change reaches every system before the command exits, and say what was written.
import { z } from 'zod';
import type { ResolvedConfig } from '../../config/index.ts';
import { SYSTEMS } from '../../connectors/systems.ts';
import { type CanonicalRecord, OBJECT_TYPES, type ObjectDef, type ObjectType } from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import { auditRow } from '../../runtime/ingest.ts';
import type { WriteSignal } from '../../runtime/messages.ts';
import { packMessages, SqsQueue } from '../../runtime/queue.ts';
import {
  type AuditEvent,
  type AuditRow,
  type Store,
  updateRecord as storeUpdate,
} from '../../runtime/store.ts';
import { onTelemetry } from '../../runtime/telemetry.ts';
import { requireSettings } from '../cli.ts';
import { type EmbeddedStack, startEmbedded } from '../stack.ts';
import { type Out, plural } from './format.ts';
import { openState, stateDirOf } from './state.ts';

/** A record named on the command line: by one of its links, or by its canonical id. */
export type RecordRef =
  | { by: 'link'; system: string; object: ObjectType; externalId: string }
  | { by: 'canonical'; canonicalId: string };

const linkRefSchema = z.object({
  system: z.enum(SYSTEMS, { error: `system must be one of ${SYSTEMS.join(', ')}` }),
  object: z.enum(OBJECT_TYPES, { error: `object must be one of ${OBJECT_TYPES.join(', ')}` }),
  externalId: z.string().trim().min(1, 'id must not be empty'),
});
export const canonicalIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/);

export function describeRef(ref: RecordRef): string {
  return ref.by === 'link' ? `${ref.system}:${ref.object}:${ref.externalId}` : ref.canonicalId;
}

/** `system:object:id`, or (unless `linkOnly`) a canonical id such as `contact_3f2a...`. */
export function parseRecordRef(
  command: string,
  arg: string | undefined,
  options: { linkOnly?: boolean } = {},
): RecordRef {
  const forms =
    options.linkOnly === true
      ? '<system>:<object>:<id> (e.g. hubspot:contact:501)'
      : '<system>:<object>:<id> (e.g. hubspot:contact:501) or a canonical id (e.g. contact_3f2a...)';
  if (arg === undefined) throw new ConfigError(`${command} needs a record: ${forms}`);
  if (!arg.includes(':')) {
    if (options.linkOnly === true || !canonicalIdSchema.safeParse(arg).success)
      throw new ConfigError(`${command}: '${arg}' is not ${forms}`);
    return { by: 'canonical', canonicalId: arg };
  }
  const [system, object, ...rest] = arg.split(':');
  if (rest.length === 0) throw new ConfigError(`${command}: '${arg}' is not ${forms}`);
  const parsed = linkRefSchema.safeParse({ system, object, externalId: rest.join(':') });
  if (!parsed.success)
    throw new ConfigError(`${command}: '${arg}': ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return { by: 'link', ...parsed.data };
}

/** A canonical id names its object by its prefix (contact_...), but look in every object to be sure. */
export async function findCanonical(store: Store, id: string): Promise<CanonicalRecord | undefined> {
  const prefix = id.slice(0, id.indexOf('_'));
  const objects = [...OBJECT_TYPES].sort((a, b) => Number(b === prefix) - Number(a === prefix));
  for (const object of objects) {
    const record = (await store.getRecords(object, [id])).get(id);
    if (record !== undefined) return record;
  }
  return undefined;
}

export async function loadRecord(store: Store, ref: RecordRef, command: string): Promise<CanonicalRecord> {
  if (ref.by === 'canonical') {
    const record = await findCanonical(store, ref.canonicalId);
    if (record === undefined) throw new ConfigError(`${command}: no record ${ref.canonicalId}`);
    return record;
  }
  const name = describeRef(ref);
  const linked = (await store.getLinks(ref.system, ref.object, [ref.externalId])).get(ref.externalId);
  if (linked === undefined) throw new ConfigError(`${command}: no record linked to ${name}`);
  const record = (await store.getRecords(ref.object, [linked])).get(linked);
  if (record === undefined)
    throw new ConfigError(`${command}: ${name} is linked to ${linked}, which is not stored`);
  return record;
}

/**
 * Read-modify-write one record with a conditional put on its version; `change` sees the latest
 * stored record on every retry and returns the next state (version is bumped here), or undefined
 * to leave it unchanged. Returns what was stored, if anything.
 */
export async function updateRecord(
  store: Store,
  object: ObjectType,
  id: string,
  change: (current: CanonicalRecord) => CanonicalRecord | undefined,
): Promise<CanonicalRecord | undefined> {
  const loaded = (await store.getRecords(object, [id])).get(id);
  if (loaded === undefined) throw new ConfigError(`record ${id} is no longer stored`);
  return storeUpdate(store, object, id, change, loaded);
}

/** One record-level audit row of an operator action. */
export function operatorRow(
  record: Pick<CanonicalRecord, 'id' | 'object'>,
  at: number,
  event: AuditEvent,
  field = '*',
  old: string | null = null,
  value: string | null = null,
): AuditRow {
  return auditRow(record.id, record.object, at, field, old, value, 'fieldsync', at, event);
}

export interface Operator {
  stack: EmbeddedStack;
  store: Store;
  config: ResolvedConfig;
  now(): number;
  /** The object's definition from the config; a one-line error when the config does not sync it. */
  def(object: ObjectType): ObjectDef;
  /** Ask the writers of `systems` (default: every system) to bring these records to their canonical state. */
  signal(object: ObjectType, ids: readonly string[], systems?: readonly string[]): Promise<void>;
  audit(rows: readonly AuditRow[]): Promise<void>;
}

export interface WriteTotals {
  created: number;
  updated: number;
  deleted: number;
  failed: number;
}

/** `salesforce: 1 updated; hubspot: 1 deleted`, or that nothing was written. */
export function describeWrites(totals: Readonly<Record<string, WriteTotals>>): string {
  const parts = Object.entries(totals).flatMap(([system, t]) => {
    const done = (
      [
        [t.created, 'created'],
        [t.updated, 'updated'],
        [t.deleted, 'deleted'],
        [t.failed, 'failed'],
      ] as const
    )
      .filter(([n]) => n > 0)
      .map(([n, what]) => `${n} ${what}`);
    return done.length === 0 ? [] : [`${system} ${done.join(', ')}`];
  });
  return parts.length === 0 ? 'written: nothing' : `written: ${parts.join('; ')}`;
}

/**
 * Run an operator change on the embedded stack: settings and config are validated first (one line on
 * a bad value), the state must exist and be free, and after `fn` the queues are drained so every
 * signalled write reaches its system. Prints what the writers did; exit code 1 when a write failed.
 */
export async function withStack<T>(
  env: NodeJS.ProcessEnv,
  out: Out,
  fn: (op: Operator) => Promise<T>,
): Promise<{ result: T; written: Record<string, WriteTotals>; code: number }> {
  const { creds, config } = await requireSettings(env);
  const dir = stateDirOf(env);
  // The same one-line refusals as the read-only commands: no state yet, or held by `fieldsync dev`.
  await (await openState(dir)).close();
  const stack = await startEmbedded({ stateDir: dir, credentials: creds });
  const queue = new SqsQueue(stack.sqs);
  const written: Record<string, WriteTotals> = Object.fromEntries(
    SYSTEMS.map((s) => [s, { created: 0, updated: 0, deleted: 0, failed: 0 }]),
  );
  const off = onTelemetry((e) => {
    if (e.kind !== 'write') return;
    const t = written[e.system] ?? { created: 0, updated: 0, deleted: 0, failed: 0 };
    t.created += e.report.created;
    t.updated += e.report.updated;
    t.deleted += e.report.deleted;
    t.failed += e.report.failed;
    written[e.system] = t;
  });
  const op: Operator = {
    stack,
    store: stack.store,
    config,
    now: () => Date.now(),
    def(object) {
      const def = config.model[object];
      if (def === undefined) throw new ConfigError(`the config does not sync ${object} records`);
      return def;
    },
    async signal(object, ids, systems = SYSTEMS) {
      if (ids.length === 0) return;
      const bodies = packMessages(
        [...new Set(ids)],
        (part): WriteSignal => ({ v: 1, object, ids: part, attempt: 0 }),
        500,
      );
      for (const system of systems) {
        const ref = SYSTEMS.find((s) => s === system);
        if (ref !== undefined) await queue.send(stack.queues[ref].url, bodies);
      }
    },
    audit: (rows) => stack.store.appendAudit(rows),
  };
  try {
    const result = await fn(op);
    await stack.drain();
    off();
    out(describeWrites(written));
    const failed = Object.values(written).reduce((n, t) => n + t.failed, 0);
    if (failed > 0)
      out(`${plural(failed, 'write')} failed: see fieldsync audit <record> for the system's message`);
    return { result, written, code: failed > 0 ? 1 : 0 };
  } finally {
    off();
    await stack.stop();
  }
}
