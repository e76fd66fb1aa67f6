// Opens the local state (FIELDSYNC_STATE_DIR) for the operator commands: dynalite alone on
// <stateDir>/dynamodb, no queues, no handlers. Fails with one clear line when there is no state, or
// when a running `fieldsync dev`/`sync` holds it (LevelDB allows one process at a time).
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { Level } from 'level';
import { ConfigError } from '../../runtime/config.ts';
import { DynamoStore, ensureTable } from '../../runtime/store.ts';
import { TABLE_NAME } from '../stack.ts';

export interface OpenState {
  dir: string;
  store: DynamoStore;
  close(): Promise<void>;
}

export function stateDirOf(env: NodeJS.ProcessEnv): string {
  return resolve(env.FIELDSYNC_STATE_DIR ?? '.fieldsync');
}

function hasCode(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}

/** dynalite crashes its process on a database it cannot open, so try the LevelDB lock first. */
async function assertUnlocked(dir: string, dbPath: string): Promise<void> {
  const probe = new Level(dbPath, { createIfMissing: true });
  try {
    await probe.open();
  } catch (err) {
    const locked =
      hasCode(err, 'LEVEL_LOCKED') || (err instanceof Error && hasCode(err.cause, 'LEVEL_LOCKED'));
    if (locked)
      throw new ConfigError(
        `the state in ${dir} is in use by another fieldsync process (fieldsync dev or sync); stop it first`,
      );
    throw new ConfigError(
      `cannot open the state in ${dir}: ${err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err)}`,
    );
  } finally {
    await probe.close();
  }
}

/**
 * Open the state in `dir`. Without `create` it must already hold the fieldsync table (audit,
 * conflicts, export); with it (import) the folder and table are made when missing.
 */
export async function openState(dir: string, options: { create?: boolean } = {}): Promise<OpenState> {
  const dbPath = join(dir, 'dynamodb');
  if (options.create === true) mkdirSync(dbPath, { recursive: true });
  else if (!existsSync(join(dbPath, 'CURRENT')))
    throw new ConfigError(
      `no fieldsync state in ${dir} (set FIELDSYNC_STATE_DIR, or run fieldsync sync --once)`,
    );
  await assertUnlocked(dir, dbPath);

  const server = dynalite({ path: dbPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const close = async () => {
    client.destroy();
    await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
  };
  try {
    if (options.create === true) await ensureTable(client, TABLE_NAME);
    else await client.send(new DescribeTableCommand({ TableName: TABLE_NAME }));
  } catch (err) {
    await close();
    if (err instanceof ResourceNotFoundException)
      throw new ConfigError(`no fieldsync table in ${dir} (run fieldsync sync --once first)`);
    throw err;
  }
  return { dir, store: new DynamoStore(TABLE_NAME, client), close };
}

/** Run `fn` against the opened state and close it afterwards, whatever happens. */
export async function withState<T>(
  dir: string,
  options: { create?: boolean },
  fn: (state: OpenState) => Promise<T>,
): Promise<T> {
  const state = await openState(dir, options);
  try {
    return await fn(state);
  } finally {
    await state.close();
  }
}
