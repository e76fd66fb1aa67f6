// fieldsync link <system>:<object>:<id> <canonicalId> [--archive-duplicate]: resolve an ambiguous
// identity match (a held record, listed by `fieldsync conflicts`) by naming the canonical record it
// belongs to. The held record is merged into it as in a source merge (`mergeRecords`: the chosen
// record's values stand, the held one fills its blanks), its links move over, the hold ends and the
// writers bring every system to the merged values.
import { parseArgs } from 'node:util';
import { type CanonicalRecord, mergeRecords } from '../../engine/index.ts';
import { ConfigError } from '../../runtime/config.ts';
import { VersionConflictError } from '../../runtime/store.ts';
import { describeLinks, type Out } from './format.ts';
import {
  canonicalIdSchema,
  describeRef,
  findCanonical,
  loadRecord,
  type Operator,
  operatorRow,
  parseRecordRef,
  type RecordRef,
  updateRecord,
  withStack,
} from './operate.ts';

const MAX_VERSION_RETRIES = 8;

export interface LinkOptions {
  /** Where the target is already linked to another record of a system the held record is in, the
   * held one's record there is a duplicate: archive it (as a merge in the source would). */
  archiveDuplicate: boolean;
}

export async function linkCommand(
  op: Operator,
  ref: Extract<RecordRef, { by: 'link' }>,
  targetId: string,
  options: LinkOptions,
  out: Out,
): Promise<void> {
  const name = describeRef(ref);
  const held = await loadRecord(op.store, ref, 'link');
  if (held.id === targetId) throw new ConfigError(`link: ${name} is already linked to ${targetId}`);
  if (held.hold?.reason !== 'ambiguous')
    throw new ConfigError(
      `link: ${name} (${held.id}) is not held as an ambiguous match; nothing to resolve (see fieldsync conflicts)`,
    );
  const target = await findCanonical(op.store, targetId);
  if (target === undefined) throw new ConfigError(`link: no record ${targetId}`);
  if (target.object !== held.object)
    throw new ConfigError(`link: ${targetId} is a ${target.object}, not a ${held.object}`);
  if (target.tombstone !== undefined)
    throw new ConfigError(`link: ${targetId} is ${target.tombstone.status}; pick a live record`);
  if (target.hold !== undefined)
    throw new ConfigError(`link: ${targetId} is itself held as an ambiguous match; resolve it first`);

  const def = op.def(held.object);
  const now = op.now();
  let winner: CanonicalRecord | undefined;
  let before: CanonicalRecord = target;
  let duplicates: { system: string; externalId: string }[] = [];
  for (let attempt = 0; winner === undefined; attempt++) {
    const both = await op.store.getRecords(held.object, [targetId, held.id]);
    const t = both.get(targetId);
    const h = both.get(held.id);
    if (t === undefined || h === undefined || h.hold === undefined || t.tombstone !== undefined)
      throw new ConfigError(`link: ${name} or ${targetId} changed meanwhile; run it again`);
    const merged = mergeRecords(t, h, def, op.config.priority, now);
    if (merged.duplicates.length > 0 && !options.archiveDuplicate) {
      const d = merged.duplicates.map((x) => `${x.system} ${x.externalId}`).join(', ');
      throw new ConfigError(
        `link: ${targetId} is already linked in ${merged.duplicates.map((x) => x.system).join(', ')}, so ${d} would be a duplicate there; add --archive-duplicate to merge and archive it`,
      );
    }
    const next = { ...merged.winner, hold: undefined, version: t.version + 1 };
    try {
      await op.store.putRecord(next);
    } catch (err) {
      if (err instanceof VersionConflictError && attempt < MAX_VERSION_RETRIES) continue;
      throw err;
    }
    winner = next;
    before = t;
    duplicates = merged.duplicates;
  }
  const stored = winner;
  // The held record becomes a merged tombstone that keeps only its duplicates (archived by its writers).
  await updateRecord(op.store, held.object, held.id, (current) =>
    current.tombstone !== undefined
      ? undefined
      : { ...mergeRecords(before, current, def, op.config.priority, now).loser, hold: undefined },
  );
  // Links that moved now point at the target; a duplicate's link stays with the tombstone, so its
  // archive (a delete notice) cannot reach the target.
  for (const [system, externalId] of Object.entries(held.links))
    if (stored.links[system] === externalId)
      await op.store.setLink(system, held.object, externalId, targetId);
  await op.audit([
    operatorRow(stored, now, 'relinked', 'link', held.id, `${ref.system}:${ref.externalId}`),
    operatorRow(held, now, 'relinked', '*', null, targetId),
  ]);
  await op.signal(held.object, [targetId]);
  if (duplicates.length > 0)
    await op.signal(
      held.object,
      [held.id],
      duplicates.map((d) => d.system),
    );
  out(
    `linked ${name} to ${held.object} ${targetId} (${describeLinks(stored.links)}); ${held.id} merged into it`,
  );
  for (const d of duplicates) out(`  ${d.system} ${d.externalId} is a duplicate there: archived`);
}

/** `fieldsync link <system>:<object>:<id> <canonicalId> [--archive-duplicate]` */
export async function runLink(args: readonly string[], env: NodeJS.ProcessEnv, out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { 'archive-duplicate': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const [record, target, ...extra] = positionals;
  if (target === undefined || extra.length > 0)
    throw new ConfigError('usage: fieldsync link <system>:<object>:<id> <canonicalId> [--archive-duplicate]');
  const ref = parseRecordRef('link', record, { linkOnly: true });
  if (ref.by !== 'link' || !canonicalIdSchema.safeParse(target).success)
    throw new ConfigError(`link: '${target}' is not a canonical id (e.g. contact_3f2a...)`);
  const options = { archiveDuplicate: values['archive-duplicate'] === true };
  const { code } = await withStack(env, out, (op) => linkCommand(op, ref, target, options, out));
  return code;
}
