// The project's own fieldsync.config.ts, resolved: what the Lambda bundles carry and the default for the CLI.
import config from '../fieldsync.config.ts';
import { type ResolvedConfig, resolveConfig } from './index.ts';

export const DEFAULT_CONFIG: ResolvedConfig = resolveConfig(config);
