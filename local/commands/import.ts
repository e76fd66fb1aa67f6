// fieldsync import [--in file]: read `fieldsync export` JSON lines into an empty store. Every line is
// validated first (the first bad line is reported by number and nothing is written); then batch writes.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { ConfigError } from '../../runtime/config.ts';
import { type ExportItem, exportItemKey, exportItemSchema, type Store } from '../../runtime/store.ts';
import { describeCounts, progressEvery } from './export.ts';

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid item';
  const path = issue.path.map(String).join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

/** The first key (as a dotted path) that `input` has and the parsed value dropped, if any. */
function unknownKey(input: unknown, parsed: unknown, path: string[] = []): string | undefined {
  if (Array.isArray(input) && Array.isArray(parsed)) {
    for (const [i, v] of input.entries()) {
      const found = unknownKey(v, parsed[i], [...path, String(i)]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (input === null || typeof input !== 'object' || parsed === null || typeof parsed !== 'object')
    return undefined;
  for (const [k, v] of Object.entries(input)) {
    if (!Object.hasOwn(parsed, k)) return [...path, k].join('.');
    const found = unknownKey(v, Reflect.get(parsed, k), [...path, k]);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Parse and validate every line; throws a ConfigError naming the first bad line. Blank lines are skipped. */
export async function readExportLines(input: Readable, name: string): Promise<ExportItem[]> {
  const items: ExportItem[] = [];
  const seen = new Map<string, number>();
  let n = 0;
  const bad = (message: string) => {
    input.destroy(); // stop reading: nothing after the first bad line matters
    return new ConfigError(`import: ${name} line ${n}: ${message}; nothing imported`);
  };
  for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw bad(`not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const parsed = exportItemSchema.safeParse(json);
    if (!parsed.success) throw bad(firstIssue(parsed.error));
    // Nothing silently dropped: a field the schema does not know is an error, not a loss.
    if (!isDeepStrictEqual(parsed.data, json))
      throw bad(`unknown field ${unknownKey(json, parsed.data) ?? '?'}`);
    const { pk, sk } = exportItemKey(parsed.data);
    const key = `${pk}\u0000${sk}`;
    const first = seen.get(key);
    if (first !== undefined) throw bad(`duplicate of line ${first} (${pk})`);
    seen.set(key, n);
    items.push(parsed.data);
  }
  return items;
}

/** The input stream: `--in file` (checked up front for one clear line) or stdin (not a terminal). */
export function openInput(
  inFile: string | undefined,
  stdin: Readable & { isTTY?: boolean },
): {
  stream: Readable;
  name: string;
} {
  if (inFile === undefined) {
    if (stdin.isTTY === true)
      throw new ConfigError('import reads JSON lines from stdin or --in <file>; stdin is a terminal');
    return { stream: stdin, name: 'stdin' };
  }
  try {
    if (!statSync(inFile).isFile()) throw new ConfigError(`import: ${inFile} is not a file`);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `import: cannot read ${inFile} (${err instanceof Error && 'code' in err ? String(err.code) : String(err)})`,
    );
  }
  return { stream: createReadStream(inFile), name: inFile };
}

/** Import into `store` (which must hold no item at all) what `readExportLines` validated. */
export async function importCommand(
  store: Store,
  items: readonly ExportItem[],
  dir: string,
  log: (line: string) => void,
): Promise<void> {
  if (!(await store.isEmpty()))
    throw new ConfigError(
      `import: the store in ${dir} already holds data; import only into an empty state dir (set FIELDSYNC_STATE_DIR to a new folder)`,
    );
  await store.importItems(
    items,
    progressEvery((n) => log(`import: wrote ${n} of ${items.length} items`)),
  );
  log(`import: ${describeCounts(items)} into ${dir}`);
}
