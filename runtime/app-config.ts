// The sync configuration a function runs with: the project's fieldsync.config.ts (bundled into every
// Lambda), or locally the file named by FIELDSYNC_CONFIG (the CLI's --config).
import { DEFAULT_CONFIG } from '../config/default.ts';
import { loadConfigFile, type ResolvedConfig } from '../config/index.ts';

export async function appConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ResolvedConfig> {
  const path = env.FIELDSYNC_CONFIG;
  return path === undefined || path === '' ? DEFAULT_CONFIG : loadConfigFile(path);
}
