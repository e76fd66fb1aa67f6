// A changed config (a new deployment) re-settles existing records: fields whose policy or direction
// now picks another system's value get it, and the systems that differ are signalled. Runs once per
// config fingerprint; re-running it changes nothing (conditional writes, and an applied pick stands).
import type { ResolvedConfig } from '../config/index.ts';
import { applyPolicies, objectsInDependencyOrder, planWrite } from '../engine/index.ts';
import { auditRow } from './ingest.ts';
import { logDecisions } from './log.ts';
import type { WriteSignal } from './messages.ts';
import { packMessages, type Queue } from './queue.ts';
import { type AuditRow, type Store, updateRecord } from './store.ts';

export const CONFIG_META = 'config-fingerprint';

export interface ApplyConfigDeps {
  store: Store;
  queue: Queue;
  writeQueues: Readonly<Record<string, string>>;
  config: ResolvedConfig;
  now: () => number;
}

export async function applyConfigChange(
  deps: ApplyConfigDeps,
): Promise<{ applied: boolean; records: number }> {
  const { config } = deps;
  if ((await deps.store.getMeta(CONFIG_META)) === config.fingerprint) return { applied: false, records: 0 };
  let records = 0;
  const systems = Object.keys(deps.writeQueues);
  for (const object of objectsInDependencyOrder(config.model)) {
    const def = config.model[object];
    if (def === undefined) continue;
    const signal = new Map<string, string[]>();
    const audit: AuditRow[] = [];
    for (const record of await deps.store.listRecords(object)) {
      let before = record;
      let applied: string[] = [];
      const next = await updateRecord(
        deps.store,
        object,
        record.id,
        (current) => {
          const res = applyPolicies(current, def, config.priority, systems);
          before = current;
          applied = res.fields;
          return res.fields.length === 0 ? undefined : res.record;
        },
        record,
      );
      if (next === undefined) continue;
      records++;
      for (const f of applied) {
        const state = next.fields[f];
        audit.push(
          auditRow(
            record.id,
            object,
            deps.now(),
            f,
            before.fields[f]?.value ?? null,
            state?.value ?? null,
            state?.source ?? 'fieldsync',
            state?.sourceTime ?? 0,
            'policy-applied',
          ),
        );
      }
      for (const system of systems)
        if (planWrite(next, system, def).op !== 'none')
          signal.set(system, [...(signal.get(system) ?? []), record.id]);
    }
    await deps.store.appendAudit(audit);
    logDecisions(audit);
    for (const [system, ids] of signal) {
      const url = deps.writeQueues[system];
      if (url !== undefined)
        await deps.queue.send(
          url,
          packMessages(ids, (part): WriteSignal => ({ v: 1, object, ids: part, attempt: 0 }), 500),
        );
    }
  }
  await deps.store.putMeta(CONFIG_META, config.fingerprint);
  return { applied: true, records };
}
