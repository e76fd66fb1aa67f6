// fieldsync export [--out file]: the canonical state as JSON lines, one table item per line with a
// `kind` (record, link, key, cursor, audit, error), sorted by kind then key, keys sorted within each
// line, so the same state always gives the same bytes (import then export round-trips exactly).
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ConfigError } from '../../runtime/config.ts';
import { EXPORT_KINDS, type ExportItem, type ExportKind, type Store } from '../../runtime/store.ts';
import { plural } from './format.ts';

export const PROGRESS_EVERY = 1000;

function sortedObject(value: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortedValue(v)]),
  );
}

function sortedValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedValue);
  if (value !== null && typeof value === 'object') return sortedObject(value);
  return value;
}

/** One export line: `kind` first, every other key sorted (at every depth). */
export function toJsonLine(item: ExportItem): string {
  const { kind, ...rest } = item;
  return JSON.stringify({ kind, ...sortedObject(rest) });
}

export function countByKind(items: readonly ExportItem[]): Record<ExportKind, number> {
  const counts = Object.fromEntries(EXPORT_KINDS.map((k) => [k, 0]));
  for (const item of items) counts[item.kind] = (counts[item.kind] ?? 0) + 1;
  return {
    record: counts.record ?? 0,
    link: counts.link ?? 0,
    key: counts.key ?? 0,
    cursor: counts.cursor ?? 0,
    meta: counts.meta ?? 0,
    audit: counts.audit ?? 0,
    error: counts.error ?? 0,
  };
}

export function describeCounts(items: readonly ExportItem[]): string {
  const counts = countByKind(items);
  const parts = EXPORT_KINDS.filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  return `${plural(items.length, 'item')}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
}

/** Calls `report(n)` each time `n` passes a multiple of PROGRESS_EVERY. */
export function progressEvery(report: (n: number) => void): (n: number) => void {
  let last = 0;
  return (n) => {
    if (Math.floor(n / PROGRESS_EVERY) > Math.floor(last / PROGRESS_EVERY)) report(n);
    last = n;
  };
}

async function writeLines(
  dest: Writable,
  items: readonly ExportItem[],
  onProgress: (n: number) => void,
): Promise<void> {
  let buffer = '';
  for (const [i, item] of items.entries()) {
    buffer += `${toJsonLine(item)}\n`;
    if (buffer.length >= 65_536 || i === items.length - 1) {
      if (!dest.write(buffer)) await once(dest, 'drain');
      buffer = '';
    }
    onProgress(i + 1);
  }
}

/**
 * Export to `outFile` (written to a temporary file beside it, then renamed, so a failed export never
 * leaves a truncated file) or to `stdout`. Progress and the summary go to `log` (stderr).
 */
export async function exportCommand(
  store: Store,
  target: { outFile: string } | { stdout: Writable },
  log: (line: string) => void,
): Promise<ExportItem[]> {
  const items = await store.exportItems(progressEvery((n) => log(`export: read ${n} items`)));
  const wrote = progressEvery((n) => log(`export: wrote ${n} of ${items.length} items`));
  if ('outFile' in target) {
    const tmp = `${target.outFile}.partial`;
    const file = createWriteStream(tmp, { flags: 'w' });
    try {
      await once(file, 'open').catch((err: unknown) => {
        throw new ConfigError(
          `export: cannot write ${target.outFile} (${err instanceof Error && 'code' in err ? String(err.code) : String(err)})`,
        );
      });
      await writeLines(file, items, wrote);
      file.end();
      await once(file, 'finish');
      renameSync(tmp, target.outFile);
    } catch (err) {
      file.destroy();
      rmSync(tmp, { force: true });
      throw err;
    }
  } else {
    // A reader that goes away (`| head`) makes stdout emit EPIPE; fail with that, not an unhandled event.
    let failed: unknown;
    const onError = (err: unknown) => {
      failed = err;
    };
    target.stdout.on('error', onError);
    try {
      await writeLines(target.stdout, items, (n) => {
        if (failed !== undefined) throw failed;
        wrote(n);
      });
    } finally {
      target.stdout.off('error', onError);
    }
  }
  log(`export: ${describeCounts(items)} to ${'outFile' in target ? target.outFile : 'stdout'}`);
  return items;
}
