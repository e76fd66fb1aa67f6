// fieldsync forget <email> [--delete-everywhere]: a data-protection erasure. Every canonical contact
// of that person becomes a tombstone with no personal data (fields and shadows emptied, match keys
// removed, audit values blanked); its links stay, so the person is recognised and never synced back
// in. Without --delete-everywhere the records stay in the systems and fieldsync never writes them
// again; with it, the writers delete them in every linked system.
import { parseArgs } from 'node:util';
import { SYSTEMS } from '../../connectors/systems.ts';
import { type CanonicalRecord, normalizeEmail } from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import type { Store } from '../../runtime/store.ts';
import { describeLinks, type Out, plural } from './format.ts';
import { type Operator, operatorRow, updateRecord, withStack } from './operate.ts';

const OBJECT = 'contact';
const KEY_FIELD = 'email';

/** The email as a match key (trimmed, lower case); checked before anything starts. */
export function parseForgetEmail(raw: string | undefined): string {
  const email = raw === undefined ? null : normalizeEmail(raw);
  if (email === null) throw new ConfigError('forget needs the email address of the person to forget');
  return email;
}

/**
 * The person's records: the holder of the email match key, every contact whose value or whose
 * shadow in some system is that email (e.g. held ambiguous matches), and records merged into those.
 */
async function recordsOf(store: Store, email: string): Promise<CanonicalRecord[]> {
  const holder = await store.getKey(OBJECT, KEY_FIELD, email);
  const all = await store.listRecords(OBJECT);
  const ids = new Set<string>(holder === undefined ? [] : [holder]);
  for (const r of all) {
    const values = [r.fields[KEY_FIELD]?.value, ...Object.values(r.shadows).map((s) => s.values[KEY_FIELD])];
    if (values.includes(email)) ids.add(r.id);
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of all) {
      const into = r.tombstone?.mergedInto;
      if (into !== undefined && ids.has(into) && !ids.has(r.id)) {
        ids.add(r.id);
        grew = true;
      }
    }
  }
  return all.filter((r) => ids.has(r.id) && r.tombstone?.status !== 'forgotten');
}

export async function forgetCommand(
  op: Operator,
  email: string,
  deleteEverywhere: boolean,
  out: Out,
): Promise<void> {
  const records = await recordsOf(op.store, email);
  // The email is not repeated in the output: it is the personal data being erased.
  if (records.length === 0)
    throw new ConfigError('forget: no contact has that email (never synced, or already forgotten)');
  const now = op.now();
  for (const found of records) {
    await updateRecord(op.store, OBJECT, found.id, (current) => {
      const gone = { ...current.gone };
      if (!deleteEverywhere) for (const system of Object.keys(current.links)) gone[system] ??= now;
      return {
        id: current.id,
        object: current.object,
        version: current.version,
        fields: {},
        links: current.links,
        shadows: {},
        tombstone: { status: 'forgotten', system: 'fieldsync', at: now },
        ...(Object.keys(gone).length === 0 ? {} : { gone }),
      };
    });
    const keys = await op.store.keysOf(OBJECT, found.id);
    await op.store.deleteKeys(OBJECT, keys);
    const blanked = await op.store.redactAudit(found.id);
    // A parked write error may quote the vendor's message, which can carry field values.
    for (const system of SYSTEMS) await op.store.clearError(system, OBJECT, found.id);
    await op.audit([operatorRow(found, now, 'forgotten')]);
    out(
      `forgot ${OBJECT} ${found.id} (${describeLinks(found.links)}): fields emptied, ${plural(keys.length, 'match key')} removed, ${plural(blanked, 'audit row')} blanked`,
    );
  }
  const ids = records.map((r) => r.id);
  if (deleteEverywhere) {
    await op.signal(OBJECT, ids);
    out('deleting it in every linked system');
  } else {
    out('left in the systems as it is; fieldsync will not write it again nor sync it back in');
  }
}

/** `fieldsync forget <email> [--delete-everywhere]` */
export async function runForget(args: readonly string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { 'delete-everywhere': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [raw, ...extra] = positionals;
  if (extra.length > 0) throw new ConfigError('usage: fieldsync forget <email> [--delete-everywhere]');
  const email = parseForgetEmail(raw);
  const everywhere = values['delete-everywhere'] === true;
  const { code } = await withStack(env, out, (op) => forgetCommand(op, email, everywhere, out));
  return code;
}
