// The reconcile function's handler: scheduled by EventBridge Scheduler (the schedule's input may narrow
// a run: systems, objects, sample, maxCalls, dryRun), run locally by `fieldsync reconcile` with the
// same event. Reads the table (Scan), the SaaS systems (batch reads) and sends to the ingest queue;
// it never writes to a SaaS system.
import { Metrics } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import type { RateBudget } from '../connectors/budget.ts';
import type { Connector } from '../connectors/types.ts';
import { type Model, OBJECT_TYPES } from '../engine/index.ts';
import { ConfigError, requireEnv } from './config.ts';
import { logger } from './lambda.ts';
import { publishGroups } from './metrics.ts';
import { SqsQueue } from './queue.ts';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_MAX_CALLS,
  ReconcileOptionsError,
  type ReconcileResult,
  reconcile,
  reconcileMetrics,
} from './reconcile.ts';
import { DynamoStore } from './store.ts';

/** What a schedule's input (or the CLI) may set for one run; every key optional, others ignored. */
export const reconcileEventSchema = z.object({
  systems: z.array(z.string().min(1)).min(1).optional(),
  objects: z.array(z.enum(OBJECT_TYPES)).min(1).optional(),
  sample: z.number().int().min(1).optional(),
  maxCalls: z.number().int().min(1).optional(),
  graceSeconds: z.number().int().min(0).optional(),
  dryRun: z.boolean().optional(),
});
export type ReconcileEvent = z.infer<typeof reconcileEventSchema>;

const positiveInt = (name: string, raw: string | undefined, min: number): number | undefined => {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be a whole number >= ${min}`);
  return n;
};

/** Defaults from the environment, read at cold start. */
export function reconcileDefaults(env: Readonly<Record<string, string | undefined>> = process.env): {
  maxCalls: number;
  sample: number | undefined;
  graceMs: number;
} {
  const grace = positiveInt('FIELDSYNC_RECONCILE_GRACE_SECONDS', env.FIELDSYNC_RECONCILE_GRACE_SECONDS, 0);
  return {
    maxCalls:
      positiveInt('FIELDSYNC_RECONCILE_MAX_CALLS', env.FIELDSYNC_RECONCILE_MAX_CALLS, 1) ?? DEFAULT_MAX_CALLS,
    sample: positiveInt('FIELDSYNC_RECONCILE_SAMPLE', env.FIELDSYNC_RECONCILE_SAMPLE, 1),
    graceMs: grace === undefined ? DEFAULT_GRACE_MS : grace * 1000,
  };
}

/** The scheduler's own event carries nothing of ours; a schedule input with our keys narrows the run. */
export function parseReconcileEvent(event: unknown): ReconcileEvent {
  if (typeof event !== 'object' || event === null) return {};
  const parsed = reconcileEventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`reconcile event: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function createReconcileHandler(
  systems: readonly { connector: Connector; budget?: RateBudget | undefined }[],
  model: Model,
  env: Readonly<Record<string, string | undefined>> = process.env,
): (event?: unknown) => Promise<ReconcileResult> {
  const deps = {
    store: new DynamoStore(requireEnv('TABLE_NAME', env)),
    queue: new SqsQueue(),
    ingestQueueUrl: requireEnv('INGEST_QUEUE_URL', env),
    systems,
    model,
    now: Date.now,
  };
  const defaults = reconcileDefaults(env);
  const metrics =
    env.AWS_LAMBDA_FUNCTION_NAME === undefined
      ? undefined
      : new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'fieldsync', serviceName: 'fieldsync' });
  return async (event) => {
    const input = parseReconcileEvent(event);
    let result: ReconcileResult;
    try {
      result = await reconcile(deps, {
        systems: input.systems,
        objects: input.objects,
        sample: input.sample ?? defaults.sample,
        maxCalls: input.maxCalls ?? defaults.maxCalls,
        graceMs: input.graceSeconds === undefined ? defaults.graceMs : input.graceSeconds * 1000,
        dryRun: input.dryRun ?? false,
      });
    } catch (err) {
      if (err instanceof ReconcileOptionsError) throw new ConfigError(err.message);
      throw err;
    }
    // Ids and field names only: the values are in the audit (fieldsync audit <id>).
    for (const f of result.findings) logger.info('reconcile finding', { ...f });
    for (const { fields, ...entry } of result.summary.entries)
      logger.info('reconcile', { ...entry, driftedFieldNames: Object.keys(fields) });
    if (metrics !== undefined) publishGroups(metrics, reconcileMetrics(result.summary));
    return result;
  };
}
