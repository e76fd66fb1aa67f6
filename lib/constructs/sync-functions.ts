import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import type { FieldsyncState } from './state.ts';
import { type LogLevel, type SqsBatching, SyncFunction, type SyncFunctionProps } from './sync-function.ts';
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
 * The scheduled jobs scan the whole table (and reconcile reads the SaaS systems within their API
 * budget): the Lambda maximum. Their rates are hours apart, so runs never overlap.
 */
export const JOB_TIMEOUT = Duration.minutes(15);
/** How often the audit report runs: daily. */
export const DEFAULT_REPORT_RATE = Duration.days(1);
/** How often reconcile compares every system with the canonical state. */
export const DEFAULT_RECONCILE_RATE = Duration.hours(6);
/** The jobs' schedules must leave a run time to finish before the next starts. */
export const MIN_JOB_RATE = Duration.hours(1);

/**
 * Batching is chosen for the design's budgets: a webhook-driven change reaches the other system's
 * write call in under 2 s, and API writes near 1 call per 100 (HubSpot) / 200 (Salesforce) records.
 * The messages already carry the batches: the webhook function packs up to 100 notices in a message,
 * pollers 100 changes, ingest up to 500 record ids per write signal. So no queue waits to fill a batch
 * (no batching window, which SQS requires for more than 10 messages): under light traffic a change
 * goes on at once, and under load a batch of 10 messages holds thousands of records, which the
 * writers coalesce into full API calls. Windows of 1-5 s on each of the three queues added up to 8 s
 * on the webhook path (`npm run bench` prints that estimate against the 2 s budget).
 *
 * Notices: one batch read of the named records costs one API call however many notices it holds.
 */
export const NOTICE_BATCHING: SqsBatching = {
  batchSize: 10,
  // Notice reads call the SaaS API: at most two at a time per system, like the writers.
  maxConcurrency: 2,
};

/** Ingest merges each change on its own, so the batch only amortizes invocations. */
export const INGEST_BATCHING: SqsBatching = { batchSize: 10 };

/**
 * Writers coalesce the ids of all messages in a batch and write in API batches (Salesforce sObject
 * Collections take 200 records per call, HubSpot batch create/update/upsert 100). maxConcurrency 2
 * (the minimum) keeps each system inside its rate limit without reserved concurrency, which new
 * accounts (10 concurrent executions) cannot spare.
 */
export const WRITE_BATCHING: Readonly<Record<SystemName, SqsBatching>> = {
  salesforce: { batchSize: 10, maxConcurrency: 2 },
  hubspot: { batchSize: 10, maxConcurrency: 2 },
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
  /** How often the audit report runs (default daily); at least an hour. */
  readonly reportRate?: Duration;
  /** How often reconcile runs (default every 6 hours); at least an hour. */
  readonly reconcileRate?: Duration;
  /**
   * Reserve one concurrent execution for reconcile (default true), so a manual run can never
   * overlap a scheduled one against the SaaS rate limits. Accounts at the initial limit of 10
   * concurrent executions cannot reserve any: false then relies on the schedule's spacing alone.
   */
  readonly reserveReconcileConcurrency?: boolean;
}

const functionsDir = fileURLToPath(new URL('../../functions/', import.meta.url));

/**
 * Stateless half of fieldsync: the webhook receiver, pollers on a schedule and on their notice
 * queue, the ingest consumer, one writer per system, and the scheduled report and reconcile jobs.
 */
export class FieldsyncFunctions extends Construct {
  readonly webhook: SyncFunction;
  readonly pollers: Record<SystemName, SyncFunction>;
  readonly ingest: SyncFunction;
  readonly writers: Record<SystemName, SyncFunction>;
  readonly schedules: Record<SystemName, Schedule>;
  /** The audit report (functions/report.ts), daily by default. */
  readonly report: SyncFunction;
  /** Reconcile (functions/reconcile.ts): drift per system, repairs queued through ingest. */
  readonly reconcile: SyncFunction;
  readonly jobSchedules: { report: Schedule; reconcile: Schedule };
  /** Each schedule's role and the one function it may invoke, keyed by schedule ('PollSalesforce', 'Report', ...). */
  readonly scheduleRoles: Record<string, { role: Role; target: SyncFunction }> = {};

  constructor(scope: Construct, id: string, props: FieldsyncFunctionsProps) {
    super(scope, id);
    const { state, stage } = props;
    const logLevel = props.logLevel ?? (stage === 'prod' ? 'INFO' : 'DEBUG');
    const logRemovalPolicy = stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const fn = (
      fnId: string,
      file: string,
      timeout: Duration,
      memorySize?: number,
      extra: Pick<SyncFunctionProps, 'retryAttempts' | 'reservedConcurrentExecutions'> = {},
    ): SyncFunction =>
      new SyncFunction(this, fnId, {
        entry: `${functionsDir}${file}.ts`,
        timeout,
        logLevel,
        logRemovalPolicy,
        description: `fieldsync ${file}`,
        ...(memorySize !== undefined ? { memorySize } : {}),
        ...extra,
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
        // No batching window: webhook notices should reach ingest well within a second or two.
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

    this.schedules = perSystem((system) =>
      this.schedule(
        `Poll${pascal(system)}`,
        this.pollers[system],
        props.pollRate,
        `poll ${system} for changes`,
      ),
    );

    const reportRate = checkedJobRate('reportRate', props.reportRate ?? DEFAULT_REPORT_RATE);
    const reconcileRate = checkedJobRate('reconcileRate', props.reconcileRate ?? DEFAULT_RECONCILE_RATE);

    // Counts per object and system, conflicts, errors and drift, from the whole table: reads only.
    // Each run covers the time since the previous one: REPORT_PERIOD_HOURS follows the schedule.
    this.report = fn('Report', 'report', JOB_TIMEOUT, 1024, { retryAttempts: 0 })
      .bindTable(state.table, 'readWithScan')
      .addEnvironment('REPORT_PERIOD_HOURS', String(reportRate.toMinutes() / 60));

    // Reads every system within its API budget and compares with the canonical records (Scan),
    // audits the drift it finds (writes), queues repairs through ingest like a poller, and may
    // refresh SaaS tokens. One run at a time: its reads share the SaaS rate limits with live sync.
    this.reconcile = fn('Reconcile', 'reconcile', JOB_TIMEOUT, 1024, {
      retryAttempts: 0,
      ...(props.reserveReconcileConcurrency === false ? {} : { reservedConcurrentExecutions: 1 }),
    })
      .bindTable(state.table, 'readWriteWithScan')
      .bindQueue(state.ingestQueue, 'send', 'INGEST_QUEUE_URL')
      .bindSecret(state.credentialsSecret, 'readWrite');

    // No retries for either (here and in Lambda's async retries above): a half-done run has already
    // published part of its report or spent part of its API budget; the next run starts afresh,
    // and a failed run alarms (lib/constructs/observability.ts).
    this.jobSchedules = {
      report: this.schedule('Report', this.report, reportRate, 'audit report'),
      reconcile: this.schedule(
        'Reconcile',
        this.reconcile,
        reconcileRate,
        'reconcile every system with the canonical state',
      ),
    };
  }

  /**
   * An EventBridge Scheduler schedule invoking `target` at `rate`, without retries (the next tick
   * does the same work), with its own role that may invoke that function only.
   */
  private schedule(id: string, target: SyncFunction, rate: Duration, what: string): Schedule {
    const stack = Stack.of(this);
    // As the scheduler-targets library builds its shared role, but one per schedule and inside this
    // construct: the conditions stop other accounts' schedules from using it (confused deputy).
    const role = new Role(this, `${id}ScheduleRole`, {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: 'default',
            }),
          },
        },
      }),
      description: `fieldsync: EventBridge Scheduler invokes ${id}`,
    });
    this.scheduleRoles[id] = { role, target };
    return new Schedule(this, `${id}Schedule`, {
      description: `fieldsync: ${what}`,
      schedule: ScheduleExpression.rate(rate),
      target: new LambdaInvoke(target, { retryAttempts: 0, role }),
    });
  }
}

export class JobRateError extends Error {
  override name = 'JobRateError';
}

/** A job rate must be whole minutes (Scheduler) and leave a run time to finish: at least an hour. */
function checkedJobRate(name: string, rate: Duration): Duration {
  const seconds = rate.toSeconds();
  if (seconds < MIN_JOB_RATE.toSeconds() || seconds % 60 !== 0)
    throw new JobRateError(
      `${name} must be whole minutes and at least one hour, got ${rate.toHumanString()}`,
    );
  return rate;
}
