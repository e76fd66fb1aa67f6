import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { FieldsyncState } from './state.ts';
import { type LogLevel, type SqsBatching, SyncFunction } from './sync-function.ts';
import {
  noticeQueueEnvName,
  pascal,
  perSystem,
  type Stage,
  SYSTEMS,
  type SystemName,
  writeQueueEnvName,
} from './systems.ts';

/** Timeout of every queue consumer; the state construct sizes visibility timeouts from it. */
export const CONSUMER_TIMEOUT = Duration.seconds(60);
/** Pollers may page through a backlog; the cursor lease keeps overlapping runs safe. */
export const POLLER_TIMEOUT = Duration.minutes(2);
/** The webhook function verifies, claims event ids and queues notices; SaaS senders expect an answer in seconds. */
export const WEBHOOK_TIMEOUT = Duration.seconds(10);

/**
 * Notices come from webhooks, whose budget is under 2 s from the SaaS edit to the other system's
 * write call (DESIGN: budgets), so the poller waits at most 1 s to fill a batch. One batch read of
 * the named records costs one API call however many notices it holds, so 100 per invocation.
 */
export const NOTICE_BATCHING: SqsBatching = {
  batchSize: 100,
  maxBatchingWindow: Duration.seconds(1),
  // Notice reads call the SaaS API: at most two at a time per system, like the writers.
  maxConcurrency: 2,
};

/** Ingest merges each change on its own, so the batch only amortizes invocations. */
export const INGEST_BATCHING: SqsBatching = { batchSize: 100, maxBatchingWindow: Duration.seconds(2) };

/**
 * Writers coalesce ids and write in API batches, so a batch should hold one full API call.
 * SQS event sources allow up to 10,000 messages when a batching window is set (10 without).
 * maxConcurrency 2 (the minimum) keeps each system inside its rate limit without reserved
 * concurrency, which new accounts (10 concurrent executions) cannot spare.
 */
export const WRITE_BATCHING: Readonly<Record<SystemName, SqsBatching>> = {
  // Salesforce sObject Collections take 200 records per call.
  salesforce: { batchSize: 200, maxBatchingWindow: Duration.seconds(5), maxConcurrency: 2 },
  // HubSpot CRM v3 batch create/update/upsert take 100 inputs per call.
  hubspot: { batchSize: 100, maxBatchingWindow: Duration.seconds(2), maxConcurrency: 2 },
};

export interface FieldsyncFunctionsProps {
  readonly stage: Stage;
  readonly state: FieldsyncState;
  /** How often each poller runs; EventBridge Scheduler rates start at one minute. */
  readonly pollRate: Duration;
  readonly logLevel?: LogLevel;
  /** Overrides for the batching defaults above. */
  readonly ingestBatching?: SqsBatching;
  readonly writeBatching?: Partial<Record<SystemName, SqsBatching>>;
  /**
   * Public base URL of the webhook API when it is served from a custom domain (signatures cover
   * the full URL). Unset: the webhook function uses the domain each request came to.
   */
  readonly webhookBaseUrl?: string;
}

const functionsDir = fileURLToPath(new URL('../../functions/', import.meta.url));

/**
 * Stateless half of fieldsync: the webhook receiver, pollers on a schedule and on their notice
 * queue, the ingest consumer, one writer per system.
 */
export class FieldsyncFunctions extends Construct {
  readonly webhook: SyncFunction;
  readonly pollers: Record<SystemName, SyncFunction>;
  readonly ingest: SyncFunction;
  readonly writers: Record<SystemName, SyncFunction>;
  readonly schedules: Record<SystemName, Schedule>;

  constructor(scope: Construct, id: string, props: FieldsyncFunctionsProps) {
    super(scope, id);
    const { state, stage } = props;
    const logLevel = props.logLevel ?? (stage === 'prod' ? 'INFO' : 'DEBUG');
    const logRemovalPolicy = stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const fn = (fnId: string, file: string, timeout: Duration, memorySize?: number): SyncFunction =>
      new SyncFunction(this, fnId, {
        entry: `${functionsDir}${file}.ts`,
        timeout,
        logLevel,
        logRemovalPolicy,
        description: `fieldsync ${file}`,
        ...(memorySize !== undefined ? { memorySize } : {}),
      });

    // No SaaS client and little work per request: small memory, short timeout. The API URL is
    // not passed in (the API depends on this function, so that would be a cycle); without
    // WEBHOOK_BASE_URL the handler signs against the domain the request came to.
    this.webhook = fn('Webhook', 'webhook', WEBHOOK_TIMEOUT, 256)
      .bindTable(state.table, 'readWrite') // claims event ids with conditional puts
      .bindSecret(state.credentialsSecret, 'read'); // HubSpot client secret, Salesforce org id and outbound secret
    for (const system of SYSTEMS) {
      this.webhook.bindQueue(state.noticeQueues[system], 'send', noticeQueueEnvName(system));
    }
    if (props.webhookBaseUrl !== undefined)
      this.webhook.addEnvironment('WEBHOOK_BASE_URL', props.webhookBaseUrl);

    this.pollers = perSystem((system) =>
      fn(`Poll${pascal(system)}`, `poll-${system}`, POLLER_TIMEOUT)
        .bindTable(state.table, 'readWrite') // cursors and source shadows
        .bindQueue(state.ingestQueue, 'send', 'INGEST_QUEUE_URL')
        // Writes too: a refreshed SaaS token is merged back into the secret (runtime/token-store.ts).
        .bindSecret(state.credentialsSecret, 'readWrite')
        // A short batching window: webhook notices should reach ingest well within a second or two.
        .consumeQueue(state.noticeQueues[system], NOTICE_BATCHING),
    );

    this.ingest = fn('Ingest', 'ingest', CONSUMER_TIMEOUT)
      .bindTable(state.table, 'readWrite')
      .consumeQueue(state.ingestQueue, props.ingestBatching ?? INGEST_BATCHING)
      // Consume comes from the event source; send is for re-queueing retries.
      .bindQueue(state.ingestQueue, 'send', 'INGEST_QUEUE_URL');
    for (const system of SYSTEMS) {
      this.ingest.bindQueue(state.writeQueues[system], 'send', writeQueueEnvName(system));
    }

    this.writers = perSystem((system) =>
      fn(`Write${pascal(system)}`, `write-${system}`, CONSUMER_TIMEOUT)
        .bindTable(state.table, 'readWrite') // canonical, shadows, links
        .bindSecret(state.credentialsSecret, 'readWrite') // persists refreshed SaaS tokens
        .consumeQueue(state.writeQueues[system], props.writeBatching?.[system] ?? WRITE_BATCHING[system])
        .bindQueue(state.writeQueues[system], 'send', writeQueueEnvName(system))
        // Read-before-write: a change the target made that fieldsync has not merged goes to ingest first.
        .bindQueue(state.ingestQueue, 'send', 'INGEST_QUEUE_URL'),
    );

    this.schedules = perSystem(
      (system) =>
        new Schedule(this, `Poll${pascal(system)}Schedule`, {
          description: `fieldsync: poll ${system} for changes`,
          schedule: ScheduleExpression.rate(props.pollRate),
          // No retries: the next tick polls from the same cursor anyway.
          target: new LambdaInvoke(this.pollers[system], { retryAttempts: 0 }),
        }),
    );
  }
}
