// Lambda handler factories. Each function file in functions/ wires one of these to its connector;
// the env is read when the factory runs (cold start), so a missing variable fails at once.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ResolvedConfig } from '../config/index.ts';
import { isSystemName, SYSTEMS } from '../connectors/systems.ts';
import type { Connector, SourceChange } from '../connectors/types.ts';
import { objectsInDependencyOrder } from '../engine/index.ts';
import { applyConfigChange, CONFIG_META } from './apply-config.ts';
import { requireEnv, writeQueueEnv } from './config.ts';
import { emptyIngestReport, type IngestReport, ingestChanges } from './ingest.ts';
import { logger, sqsBatchHandler } from './lambda.ts';
import {
  type IngestMessage,
  ingestMessageSchema,
  noticeMessageSchema,
  writeSignalSchema,
} from './messages.ts';
import { publishMetricsOnLambda } from './metrics.ts';
import { resolveNotices } from './notices.ts';
import { type PollReport, pollSystem, withFirstLinkTimes } from './poll.ts';
import { packMessages, SqsQueue } from './queue.ts';
import { DynamoStore } from './store.ts';
import { budgetLeftPercent, callsSince, emitTelemetry } from './telemetry.ts';
import { emptyWriteReport, initialReadMeta, writeSignals } from './write.ts';

export function createPollHandler(
  connector: Connector,
  config: ResolvedConfig,
): (event?: unknown) => Promise<PollReport> {
  publishMetricsOnLambda();
  const deps = {
    store: new DynamoStore(requireEnv('TABLE_NAME')),
    queue: new SqsQueue(),
    connector,
    ingestQueueUrl: requireEnv('INGEST_QUEUE_URL'),
  };
  let configChecked = false;
  // Once stored, the first complete read stays stored: not looked up again in this container.
  let initialReadKnown = false;
  // Scheduled by EventBridge Scheduler; the event carries nothing we need.
  return async () => {
    if (!configChecked) {
      // Once per container (a new deployment is a new container): a changed config re-settles the
      // existing records through the ingest function, which has the write queues.
      configChecked = true;
      if ((await deps.store.getMeta(CONFIG_META)) !== config.fingerprint) {
        await deps.queue.send(deps.ingestQueueUrl, [
          JSON.stringify({ v: 1, changes: [], attempt: 0, applyConfig: config.fingerprint }),
        ]);
      }
    }
    // What is read from this system changed (a newly mapped field, a filter): read everything once.
    const viewMeta = `view-${connector.system}`;
    const view = isSystemName(connector.system) ? config.viewFingerprints[connector.system] : undefined;
    const fromScratch = view !== undefined && (await deps.store.getMeta(viewMeta)) !== view;
    const before = connector.stats();
    const startedMeta = `poll-started-${connector.system}`;
    const previousStart = Number(await deps.store.getMeta(startedMeta));
    const started = Date.now();
    const report = await pollSystem(deps, objectsInDependencyOrder(config.model), { fromScratch });
    if (fromScratch && view !== undefined) await deps.store.putMeta(viewMeta, view);
    await deps.store.putMeta(startedMeta, String(started));
    // The first complete read of this system: from now on the writer may create records in it.
    if (!initialReadKnown) {
      if ((await deps.store.getMeta(initialReadMeta(connector.system))) === undefined)
        await deps.store.putMeta(initialReadMeta(connector.system), String(Date.now()));
      initialReadKnown = true;
    }
    emitTelemetry({
      kind: 'poll',
      system: connector.system,
      report,
      calls: callsSince(before, connector.stats()),
      cursorLagSeconds: previousStart > 0 ? (Date.now() - previousStart) / 1000 : undefined,
      budgetLeftPercent: budgetLeftPercent(connector),
    });
    logger.info('poll done', { system: connector.system, polled: report.polled, pages: report.pages });
    return report;
  };
}

export function createIngestHandler(config: ResolvedConfig): (event: SQSEvent) => Promise<SQSBatchResponse> {
  publishMetricsOnLambda();
  const deps = {
    store: new DynamoStore(requireEnv('TABLE_NAME')),
    queue: new SqsQueue(),
    writeQueues: Object.fromEntries(SYSTEMS.map((s) => [s, requireEnv(writeQueueEnv(s))])),
    ingestQueueUrl: requireEnv('INGEST_QUEUE_URL'),
    model: config.model,
    merge: { priority: config.priority, skewMs: config.skewMs },
    now: Date.now,
  };
  return async (event) => {
    const total: IngestReport = emptyIngestReport();
    const handler = sqsBatchHandler(ingestMessageSchema, async (messages) => {
      if (messages.some((m) => m.body.applyConfig !== undefined)) {
        const applied = await applyConfigChange({ ...deps, config });
        if (applied.applied)
          logger.info('config change applied', { fingerprint: config.fingerprint, records: applied.records });
      }
      // Deferred changes come back with a higher attempt count; keep the count per group.
      for (const attempt of new Set(messages.map((m) => m.body.attempt))) {
        const changes = messages.filter((m) => m.body.attempt === attempt).flatMap((m) => m.body.changes);
        const r = await ingestChanges(deps, changes, attempt);
        for (const k of [
          'changes',
          'recordsStored',
          'created',
          'unchanged',
          'conflicts',
          'ambiguous',
          'deferred',
          'deleted',
          'echoes',
        ] as const)
          total[k] += r[k];
        for (const [s, n] of Object.entries(r.signals)) total.signals[s] = (total.signals[s] ?? 0) + n;
      }
    });
    const res = await handler(event);
    emitTelemetry({ kind: 'ingest', report: total, failedMessages: res.batchItemFailures.length });
    return res;
  };
}

export function createWriteHandler(
  connector: Connector,
  config: ResolvedConfig,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  publishMetricsOnLambda();
  const deps = {
    store: new DynamoStore(requireEnv('TABLE_NAME')),
    queue: new SqsQueue(),
    connector,
    writeQueueUrl: requireEnv(writeQueueEnv(connector.system)),
    model: config.model,
    now: Date.now,
    // Read-before-write: updates first check for changes the system made that fieldsync has not merged.
    ingestQueueUrl: process.env.INGEST_QUEUE_URL,
  };
  return async (event) => {
    const before = connector.stats();
    const totals = emptyWriteReport();
    const handler = sqsBatchHandler(writeSignalSchema, async (messages) => {
      const r = await writeSignals(
        deps,
        messages.map((m) => m.body),
      );
      for (const [k, v] of Object.entries(r) as [keyof typeof totals, number | number[]][]) {
        if (k === 'lagsMs') totals.lagsMs.push(...r.lagsMs);
        else totals[k] += v as number;
      }
    });
    const res = await handler(event);
    emitTelemetry({
      kind: 'write',
      system: connector.system,
      report: totals,
      calls: callsSince(before, connector.stats()),
      failedMessages: res.batchItemFailures.length,
      budgetLeftPercent: budgetLeftPercent(connector),
    });
    return res;
  };
}

export function isSqsEvent(event: unknown): event is SQSEvent {
  return typeof event === 'object' && event !== null && 'Records' in event && Array.isArray(event.Records);
}

/**
 * Webhook notices for this system (from its notice queue): read the records they name, in batches,
 * and queue them for ingest like polled changes. Runs in the poller, which has the SaaS client.
 */
export function createNoticeHandler(
  connector: Connector,
  config: ResolvedConfig,
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  publishMetricsOnLambda();
  const queue = new SqsQueue();
  const store = new DynamoStore(requireEnv('TABLE_NAME'));
  const ingestQueueUrl = requireEnv('INGEST_QUEUE_URL');
  const declared = new Set<string>(config.objects);
  return async (event) => {
    const before = connector.stats();
    let notices = 0;
    let changes = 0;
    const handler = sqsBatchHandler(noticeMessageSchema, async (messages) => {
      const all = messages.flatMap((m) => m.body.notices).filter((n) => declared.has(n.object));
      notices += all.length;
      const read = await resolveNotices(connector, all);
      const resolved: SourceChange[] = [];
      for (const object of new Set(read.map((c) => c.object))) {
        const mine = read.filter((c) => c.object === object);
        resolved.push(...(await withFirstLinkTimes(store, connector, object, mine)));
      }
      changes += resolved.length;
      if (resolved.length > 0) {
        await queue.send(
          ingestQueueUrl,
          packMessages(resolved, (part): IngestMessage => ({ v: 1, changes: part, attempt: 0 })),
        );
      }
    });
    const res = await handler(event);
    emitTelemetry({
      kind: 'notices',
      system: connector.system,
      notices,
      changes,
      calls: callsSince(before, connector.stats()),
      budgetLeftPercent: budgetLeftPercent(connector),
    });
    return res;
  };
}
