// fieldsync quarantine [list] [--json] | approve <record> | reject <record>: deletes held for an
// operator by the `quarantine` delete policy. Approving lets the delete propagate to every system;
// rejecting brings the record back, created again in the system that deleted it.
import { parseArgs } from 'node:util';
import { SYSTEMS } from '../../connectors/systems.ts';
import {
  type CanonicalRecord,
  decideQuarantine,
  type Model,
  OBJECT_TYPES,
  type ObjectType,
} from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import type { Store } from '../../runtime/store.ts';
import { cliConfig } from '../cli.ts';
import { describeLinks, isoTime, type Out, plural, showValue, table } from './format.ts';
import {
  describeRef,
  loadRecord,
  type Operator,
  operatorRow,
  parseRecordRef,
  type RecordRef,
  updateRecord,
  withStack,
} from './operate.ts';
import { stateDirOf, withState } from './state.ts';

export interface QuarantineEntry {
  object: ObjectType;
  canonicalId: string;
  /** The system the delete came from, and when it was deleted there. */
  deletedIn: string;
  deletedAt: number;
  links: Record<string, string>;
  /** A few fields to recognise the record by: match keys first. */
  fields: Record<string, string | null>;
}

const SHOWN_FIELDS = 3;

function preview(record: CanonicalRecord, model: Model): Record<string, string | null> {
  const keys = model[record.object]?.matchKeys ?? [];
  const names = [...keys, ...Object.keys(record.fields).filter((f) => !keys.includes(f))];
  const out: Record<string, string | null> = {};
  for (const name of names) {
    const value = record.fields[name]?.value;
    if (value === undefined || value === null) continue;
    out[name] = value;
    if (Object.keys(out).length >= SHOWN_FIELDS) break;
  }
  return out;
}

export async function listQuarantined(store: Store, model: Model): Promise<QuarantineEntry[]> {
  const entries: QuarantineEntry[] = [];
  for (const object of OBJECT_TYPES) {
    for (const record of await store.listRecords(object)) {
      const t = record.tombstone;
      if (t?.status !== 'quarantined') continue;
      entries.push({
        object,
        canonicalId: record.id,
        deletedIn: t.system,
        deletedAt: t.at,
        links: record.links,
        fields: preview(record, model),
      });
    }
  }
  return entries.sort((a, b) => a.deletedAt - b.deletedAt || (a.canonicalId < b.canonicalId ? -1 : 1));
}

export function formatQuarantined(entries: readonly QuarantineEntry[], out: Out): void {
  out(
    `${plural(entries.length, 'quarantined delete')} (approve: the delete propagates; reject: the record comes back)`,
  );
  if (entries.length === 0) return;
  for (const l of table(
    ['object', 'canonical id', 'deleted in', 'deleted at', 'links', 'fields'],
    entries.map((e) => [
      e.object,
      e.canonicalId,
      e.deletedIn,
      isoTime(e.deletedAt),
      describeLinks(e.links),
      Object.entries(e.fields)
        .map(([k, v]) => `${k} ${showValue(v)}`)
        .join(', '),
    ]),
  ))
    out(l);
}

export async function quarantineListCommand(
  store: Store,
  model: Model,
  json: boolean,
  out: Out,
): Promise<void> {
  const entries = await listQuarantined(store, model);
  if (json) out(JSON.stringify({ quarantined: entries }, null, 2));
  else formatQuarantined(entries, out);
}

/** Approve or reject one quarantined delete, then signal every system's writer. */
export async function decideCommand(op: Operator, ref: RecordRef, approve: boolean, out: Out): Promise<void> {
  const verb = approve ? 'approve' : 'reject';
  const command = `quarantine ${verb}`;
  const found = await loadRecord(op.store, ref, command);
  const t = found.tombstone;
  if (t?.status !== 'quarantined')
    throw new ConfigError(
      `${command}: ${describeRef(ref)} is not quarantined${t === undefined ? '' : ` (it is ${t.status})`}`,
    );
  const now = op.now();
  const stored = await updateRecord(op.store, found.object, found.id, (current) =>
    current.tombstone?.status === 'quarantined' ? decideQuarantine(current, approve, now) : undefined,
  );
  if (stored === undefined) throw new ConfigError(`${command}: ${found.id} was decided concurrently`);
  if (!approve) {
    // The deleted native record is not this record's any more: a late or repeated delete notice for
    // it must not quarantine the record that comes back.
    const oldId = found.links[t.system];
    if (oldId !== undefined) await op.store.deleteLink(t.system, found.object, oldId);
  }
  await op.audit([operatorRow(found, now, approve ? 'approved' : 'rejected', '*', null, t.system)]);
  await op.signal(found.object, [found.id], SYSTEMS);
  out(
    approve
      ? `approved: the delete of ${found.object} ${found.id} (deleted in ${t.system}) propagates to ${describeLinks(stored.links)}`
      : `rejected: ${found.object} ${found.id} comes back; it is created again in ${t.system}`,
  );
}

/** `fieldsync quarantine [list] [--json]`, `... approve <record>`, `... reject <record>` */
export async function runQuarantine(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  out: Out,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [action = 'list', record, ...extra] = positionals;
  if (action === 'list' && record === undefined) {
    const config = await cliConfig(env);
    await withState(stateDirOf(env), {}, (s) =>
      quarantineListCommand(s.store, config.model, values.json === true, out),
    );
    return 0;
  }
  if ((action !== 'approve' && action !== 'reject') || extra.length > 0 || values.json === true)
    throw new ConfigError(
      'usage: fieldsync quarantine [list] [--json] | quarantine approve|reject <system>:<object>:<id>|<canonicalId>',
    );
  const ref = parseRecordRef(`quarantine ${action}`, record);
  const { code } = await withStack(env, out, (op) => decideCommand(op, ref, action === 'approve', out));
  return code;
}
