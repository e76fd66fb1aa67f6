import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ILogGroup, QueryDefinition, QueryString, type QueryStringProps } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FieldsyncState } from './state.ts';
import { METRICS_NAMESPACE, SERVICE_NAME, type SyncFunction } from './sync-function.ts';
import type { FieldsyncFunctions } from './sync-functions.ts';
import { pascal, perSystem, type Stage, SYSTEMS, type SystemName } from './systems.ts';

/** Period of the dashboard graphs and of the alarms on counts. */
export const METRIC_PERIOD = Duration.minutes(5);

/**
 * SyncErrors (writer) counts records the target system rejected for good (not retryable, or out of
 * MAX_WRITE_ATTEMPTS) plus failed batch messages. Rejected records are parked as error rows in the
 * table and never reach a DLQ, so nothing else signals them: any error in a 5-minute window alarms.
 */
export const SYNC_ERRORS_THRESHOLD = 0;

/**
 * Lambda errors as a percentage of invocations. Over 5 % in 2 of 3 five-minute periods: a poller
 * runs about 5 times in 5 minutes, so one crash is already 20 %; requiring two periods pages on a
 * function that keeps failing, not on one timeout (SQS redelivers, the next tick re-polls, and a
 * message that keeps failing lands in a DLQ, which alarms on its own).
 */
export const ERROR_RATE_PERCENT = 5;

/**
 * The oldest ingest message older than 5 minutes, for 5 minutes running: ingest is not keeping up,
 * so edits are at least that late in the other system (processing lag). One retried message also
 * ages past it (the visibility timeout is 6 minutes), hence the 5 consecutive one-minute points.
 */
export const INGEST_BACKLOG_AGE = Duration.minutes(5);

/**
 * CursorLagSeconds (pollers: how far the oldest cursor trails now), Maximum, above 15 minutes in 3
 * consecutive periods. At the default 1-minute poll rate a cursor trails by an interval or two;
 * 15 minutes is 15 missed polls, past a slow backlog page or a SaaS outage of a few minutes (the
 * next tick polls from the same cursor), and 3 periods of it mean the poller is not catching up
 * (failing polls, an expired token, a rate budget spent elsewhere). A slower poll rate raises the
 * threshold to 3 intervals and the period to 2 intervals, so a healthy poller never breaches and
 * every period holds a point. Missing data breaches: a poller that stopped reporting (crashing,
 * credentials not set yet, schedule disabled) is at least as late as one that reports lag.
 */
export const CURSOR_LAG_THRESHOLD = Duration.minutes(15);
export const CURSOR_LAG_PERIODS = 3;

/** Threshold and period of the cursor-lag alarm at a given poll rate (see CURSOR_LAG_THRESHOLD). */
export function cursorLagAlarm(pollRate: Duration): { threshold: Duration; period: Duration } {
  const minutes = pollRate.toMinutes();
  return {
    threshold: Duration.minutes(Math.max(CURSOR_LAG_THRESHOLD.toMinutes(), 3 * minutes)),
    period: Duration.minutes(Math.max(METRIC_PERIOD.toMinutes(), 2 * minutes)),
  };
}

/**
 * ApiBudgetLeftPercent (what the vendor's rate headers say is left: HubSpot's 10-second and daily
 * limits, Salesforce's daily API requests), Minimum, under 10 % in 3 consecutive 5-minute periods:
 * the budget has been nearly spent for 15 minutes, so live sync is about to be refused (HTTP 429,
 * REQUEST_LIMIT_EXCEEDED) and edits will queue up. The Minimum catches the low point of a window;
 * one dip (a backfill paced to the limit, live first) recovers within a period and does not alarm.
 * No calls, no data: not breaching (nothing is spending the budget).
 */
export const API_BUDGET_LOW_PERCENT = 10;
export const API_BUDGET_PERIODS = 3;

/**
 * DriftFound (reconcile, per system), Sum, above 0 within an hour: informational. Reconcile has
 * already queued the repairs (RepairsQueued), so nothing is lost; drift means a change reached
 * fieldsync neither by webhook nor by poll (a dropped notice, an edit outside the API's change
 * feed) or a write did not land. Once is no emergency; drift in run after run points at a gap to
 * look into. The period is an hour because the metric comes once per run (every few hours): the
 * alarm stays in ALARM for about an hour after such a run, then returns to OK on missing data.
 */
export const DRIFT_THRESHOLD = 0;
export const DRIFT_PERIOD = Duration.hours(1);

/**
 * Lambda Errors of a scheduled job (report, reconcile), Sum, above 0 in one 5-minute period. Each
 * run matters (a day's report, a reconcile pass) and nothing retries it, and at one invocation per
 * run the error-rate alarm's "2 of 3 periods" could never fire: one failed run alarms.
 */
export const JOB_ERRORS_THRESHOLD = 0;

/** Replaced by the user in the saved "history of one record" query (Logs Insights has no parameters). */
export const CANONICAL_ID_PLACEHOLDER = 'REPLACE_WITH_CANONICAL_ID';

export interface FieldsyncObservabilityProps {
  readonly stage: Stage;
  readonly state: FieldsyncState;
  readonly functions: FieldsyncFunctions;
  /** How often the pollers run: the cursor-lag alarm allows for it. */
  readonly pollRate: Duration;
  /** Alarm actions go here; without it the alarms exist (console, dashboard) but notify nobody. */
  readonly alarmTopic?: ITopic;
}

/**
 * The CloudWatch view of fieldsync: a dashboard of the EMF metrics the functions publish
 * (runtime/metrics.ts) next to queue and Lambda metrics, and the alarms.
 */
export class FieldsyncObservability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  readonly syncErrorAlarms: Record<SystemName, Alarm>;
  readonly errorRateAlarms: Record<string, Alarm>;
  readonly ingestBacklogAlarm: Alarm;
  /** One per DLQ, keyed like `FieldsyncState.deadLetterQueues`. */
  readonly dlqAlarms: Record<string, Alarm>;
  readonly cursorLagAlarms: Record<SystemName, Alarm>;
  readonly apiBudgetAlarms: Record<SystemName, Alarm>;
  readonly driftAlarms: Record<SystemName, Alarm>;
  /** One per scheduled job ('Report', 'Reconcile'). */
  readonly jobErrorAlarms: Record<string, Alarm>;
  /** Saved Logs Insights queries over the functions' log groups. */
  readonly queries: { recordHistory: QueryDefinition; errorsByVendorCode: QueryDefinition };

  private readonly topic: ITopic | undefined;

  constructor(scope: Construct, id: string, props: FieldsyncObservabilityProps) {
    super(scope, id);
    const { state, functions } = props;
    this.topic = props.alarmTopic;

    // The sync path, invoked all the time, and the scheduled jobs, a few runs a day.
    const syncFns: Record<string, SyncFunction> = {
      Webhook: functions.webhook,
      ...Object.fromEntries(SYSTEMS.map((s) => [`Poll${pascal(s)}`, functions.pollers[s]])),
      Ingest: functions.ingest,
      ...Object.fromEntries(SYSTEMS.map((s) => [`Write${pascal(s)}`, functions.writers[s]])),
    };
    const jobFns: Record<string, SyncFunction> = {
      Report: functions.report,
      Reconcile: functions.reconcile,
    };
    const fns: Record<string, SyncFunction> = { ...syncFns, ...jobFns };
    const queues: Record<string, IQueue> = {
      Ingest: state.ingestQueue,
      ...Object.fromEntries(SYSTEMS.map((s) => [`${pascal(s)}Write`, state.writeQueues[s]])),
      ...Object.fromEntries(SYSTEMS.map((s) => [`${pascal(s)}Notice`, state.noticeQueues[s]])),
    };

    // --- alarms ---------------------------------------------------------------------------

    // A message in a DLQ is a change that did not sync.
    this.dlqAlarms = Object.fromEntries(
      Object.entries(state.deadLetterQueues).map(([queueId, dlq]) => [
        queueId,
        this.alarm(`${queueId}DlqAlarm`, {
          alarmDescription: `fieldsync: messages in the ${queueId} DLQ`,
          metric: dlq.metricApproximateNumberOfMessagesVisible(),
          threshold: 0,
          evaluationPeriods: 1,
        }),
      ]),
    );

    this.syncErrorAlarms = perSystem((system) =>
      this.alarm(`${pascal(system)}SyncErrorsAlarm`, {
        alarmDescription: `fieldsync: ${system} rejected writes (SyncErrors); see the error rows in the table`,
        metric: emf('SyncErrors', system),
        threshold: SYNC_ERRORS_THRESHOLD,
        evaluationPeriods: 1,
      }),
    );

    this.errorRateAlarms = Object.fromEntries(
      Object.entries(syncFns).map(([fnId, fn]) => [
        fnId,
        this.alarm(`${fnId}ErrorRateAlarm`, {
          alarmDescription: `fieldsync: ${fnId} function errors above ${ERROR_RATE_PERCENT}% of invocations`,
          metric: errorRate(fn, fnId),
          threshold: ERROR_RATE_PERCENT,
          evaluationPeriods: 3,
          datapointsToAlarm: 2,
        }),
      ]),
    );

    const ingestAge = state.ingestQueue.metricApproximateAgeOfOldestMessage({
      statistic: 'Maximum',
      period: Duration.minutes(1),
    });
    this.ingestBacklogAlarm = this.alarm('IngestBacklogAlarm', {
      alarmDescription: `fieldsync: oldest ingest message older than ${INGEST_BACKLOG_AGE.toMinutes()} minutes (processing lag)`,
      metric: ingestAge,
      threshold: INGEST_BACKLOG_AGE.toSeconds(),
      evaluationPeriods: 5,
    });

    this.jobErrorAlarms = Object.fromEntries(
      Object.entries(jobFns).map(([fnId, fn]) => [
        fnId,
        this.alarm(`${fnId}ErrorsAlarm`, {
          alarmDescription: `fieldsync: a scheduled ${fnId} run failed (see its log group)`,
          metric: fn.metricErrors({ statistic: 'Sum', period: METRIC_PERIOD }),
          threshold: JOB_ERRORS_THRESHOLD,
          evaluationPeriods: 1,
        }),
      ]),
    );

    const lag = cursorLagAlarm(props.pollRate);
    const cursorLag = (system: SystemName) =>
      emf('CursorLagSeconds', system).with({ statistic: 'Maximum', period: lag.period });
    this.cursorLagAlarms = perSystem((system) =>
      this.alarm(`${pascal(system)}CursorLagAlarm`, {
        alarmDescription: `fieldsync: ${system} changes more than ${lag.threshold.toMinutes()} minutes late (CursorLagSeconds), or its poller stopped reporting`,
        metric: cursorLag(system),
        threshold: lag.threshold.toSeconds(),
        evaluationPeriods: CURSOR_LAG_PERIODS,
        treatMissingData: TreatMissingData.BREACHING,
      }),
    );

    const budgetLeft = (system: SystemName) =>
      emf('ApiBudgetLeftPercent', system).with({ statistic: 'Minimum' });
    this.apiBudgetAlarms = perSystem((system) =>
      this.alarm(`${pascal(system)}ApiBudgetAlarm`, {
        alarmDescription: `fieldsync: ${system} API budget under ${API_BUDGET_LOW_PERCENT}% left (ApiBudgetLeftPercent)`,
        metric: budgetLeft(system),
        threshold: API_BUDGET_LOW_PERCENT,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: API_BUDGET_PERIODS,
      }),
    );

    this.driftAlarms = perSystem((system) =>
      this.alarm(`${pascal(system)}DriftAlarm`, {
        alarmDescription: `fieldsync (informational): reconcile found ${system} records that differ from the canonical state and queued repairs (DriftFound)`,
        metric: emf('DriftFound', system).with({ period: DRIFT_PERIOD }),
        threshold: DRIFT_THRESHOLD,
        evaluationPeriods: 1,
      }),
    );

    // --- dashboard ------------------------------------------------------------------------

    // Labels on the dashboard only: a labelled alarm metric renders as a metric-math query.
    const m = (name: string, system?: SystemName) =>
      emf(name, system).with({ label: system ? `${name} ${system}` : name });
    const graph = (
      title: string,
      left: IMetric[],
      extra: Partial<{ right: IMetric[]; width: number; leftAnnotations: HorizontalAnnotation[] }> = {},
    ) =>
      new GraphWidget({
        title,
        left,
        width: extra.width ?? 12,
        height: 6,
        ...(extra.right ? { right: extra.right } : {}),
        ...(extra.leftAnnotations ? { leftAnnotations: extra.leftAnnotations } : {}),
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `fieldsync-${props.stage}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      ...SYSTEMS.map((system) =>
        graph(
          `${pascal(system)} records`,
          ['RecordsPolled', 'RecordsCreated', 'RecordsUpdated', 'RecordsDeleted'].map((name) =>
            m(name, system),
          ),
          {
            right: [
              m('NoticesReceived', system),
              m('HeldForUnseenChanges', system),
              m('ReplacedEditsRecovered', system),
            ],
          },
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph('Changes ingested and canonical writes', [
        m('ChangesIngested'),
        m('CanonicalWrites'),
        m('DeletesAndMerges'),
      ]),
      graph('Conflicts and ambiguous matches', [m('Conflicts'), m('AmbiguousMatches')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Cursor lag (s, maximum)',
        SYSTEMS.map((s) => m('CursorLagSeconds', s).with({ statistic: 'Maximum' })),
        { width: 8, leftAnnotations: [{ value: lag.threshold.toSeconds(), label: 'alarm' }] },
      ),
      graph(
        'API budget left (%, minimum)',
        SYSTEMS.map((s) => m('ApiBudgetLeftPercent', s).with({ statistic: 'Minimum' })),
        { width: 8, leftAnnotations: [{ value: API_BUDGET_LOW_PERCENT, label: 'alarm' }] },
      ),
      graph(
        'End-to-end lag (ms): source edit to target write',
        SYSTEMS.flatMap((s) =>
          (['p50', 'p99'] as const).map((statistic) =>
            emf('EndToEndLagMs', s).with({ statistic, label: `${s} ${statistic}` }),
          ),
        ),
        { width: 8 },
      ),
    );
    this.dashboard.addWidgets(
      graph('Echoes suppressed (our own writes read back)', [m('EchoesSuppressed')]),
      graph(
        'Reconcile: drift found and repairs queued',
        SYSTEMS.flatMap((s) => [m('DriftFound', s), m('RepairsQueued', s)]),
      ),
    );
    this.dashboard.addWidgets(
      graph('Sync errors per system', [...SYSTEMS.map((s) => m('SyncErrors', s)), m('FailedMessages')]),
      graph(
        'API calls per system',
        SYSTEMS.map((s) => m('ApiCalls', s)),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Queue depth (visible messages)',
        Object.entries(queues).map(([queueId, q]) =>
          q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: queueId }),
        ),
        { width: 8 },
      ),
      graph(
        'DLQ depth (visible messages)',
        Object.entries(state.deadLetterQueues).map(([queueId, q]) =>
          q.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: `${queueId} DLQ` }),
        ),
        { width: 8 },
      ),
      graph('Ingest backlog (oldest message age, s)', [ingestAge.with({ label: 'Ingest oldest message' })], {
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'Lambda errors',
        Object.entries(fns).map(([fnId, fn]) => fn.metricErrors({ statistic: 'Sum', label: fnId })),
      ),
      graph(
        'Lambda duration (p99, ms)',
        Object.entries(fns).map(([fnId, fn]) => fn.metricDuration({ statistic: 'p99', label: fnId })),
      ),
    );

    // --- Logs Insights ----------------------------------------------------------------------

    // The functions log JSON through Powertools Logger (runtime/log.ts): `message` names the line,
    // ids and field names are top-level keys. Every function's log group: decisions come from
    // ingest, sync errors from the writers, drift from reconcile.
    const logGroups = Object.values(fns).map((fn) => fn.logGroup);
    this.queries = {
      recordHistory: this.query(
        'RecordHistoryQuery',
        `fieldsync-${props.stage}/History of one record (replace ${CANONICAL_ID_PLACEHOLDER})`,
        logGroups,
        [
          `History of one record: replace ${CANONICAL_ID_PLACEHOLDER} below with its canonical id`,
          '(contact_..., company_..., deal_...: in every decision and sync error line, or from fieldsync audit).',
          'One decision line per field merged (edit, conflict-won/-lost, older, blocked, blank-ignored, echo), oldest first;',
          'expand a row for all its keys (a sync error lists the written field names under fields.0, fields.1, ...).',
        ],
        {
          fields: [
            '@timestamp',
            'message',
            'object',
            'field',
            'reason',
            'source',
            'system',
            'recordId',
            'vendorCode',
          ],
          filterStatements: [`canonicalId = '${CANONICAL_ID_PLACEHOLDER}'`],
          sort: '@timestamp asc',
          limit: 10000,
        },
      ),
      errorsByVendorCode: this.query(
        'ErrorsByVendorCodeQuery',
        `fieldsync-${props.stage}/Errors by vendor code`,
        logGroups,
        [
          'Records a SaaS system refused for good, counted by system and vendor error code',
          '(one sync error line each: ids, vendorCode and field names, never values).',
        ],
        {
          filterStatements: [`message = 'sync error'`],
          statsStatements: ['count(*) as errors by system, vendorCode'],
          sort: 'errors desc',
        },
      ),
    };
  }

  /**
   * An alarm on `> threshold` unless told otherwise, missing data not breaching unless told otherwise,
   * notifying the topic when there is one.
   */
  private alarm(
    id: string,
    props: {
      alarmDescription: string;
      metric: IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
      comparisonOperator?: ComparisonOperator;
      treatMissingData?: TreatMissingData;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      ...props,
    });
    if (this.topic) alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  /** A saved Logs Insights query (the console's Saved queries, `name` may hold `/` folders). */
  private query(
    id: string,
    name: string,
    logGroups: ILogGroup[],
    comments: readonly string[],
    props: QueryStringProps,
  ): QueryDefinition {
    return new QueryDefinition(this, id, {
      queryDefinitionName: name,
      queryString: new CommentedQueryString(comments, props),
      logGroups,
    });
  }
}

/** A QueryString that starts with `#` comment lines (Logs Insights ignores them; the console shows them). */
class CommentedQueryString extends QueryString {
  private readonly comments: readonly string[];

  constructor(comments: readonly string[], props: QueryStringProps) {
    super(props);
    this.comments = comments;
  }

  override toString(): string {
    return [...this.comments.map((c) => `# ${c}`), super.toString()].join('\n');
  }
}

/** A fieldsync EMF metric (runtime/metrics.ts), per `system` when given, summed per period. */
export function emf(metricName: string, system?: SystemName): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: system ? { service: SERVICE_NAME, system } : { service: SERVICE_NAME },
    statistic: 'Sum',
    period: METRIC_PERIOD,
  });
}

/** Errors as a percentage of invocations; no invocations gives no data point (not breaching). */
function errorRate(fn: IFunction, fnId: string): MathExpression {
  return new MathExpression({
    expression: '100 * errors / invocations',
    usingMetrics: {
      errors: fn.metricErrors({ statistic: 'Sum', period: METRIC_PERIOD }),
      invocations: fn.metricInvocations({ statistic: 'Sum', period: METRIC_PERIOD }),
    },
    period: METRIC_PERIOD,
    label: `${fnId} error rate (%)`,
  });
}
