import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { FieldsyncState } from './state.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from './sync-function.ts';
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

export interface FieldsyncObservabilityProps {
  readonly stage: Stage;
  readonly state: FieldsyncState;
  readonly functions: FieldsyncFunctions;
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

  private readonly topic: ITopic | undefined;

  constructor(scope: Construct, id: string, props: FieldsyncObservabilityProps) {
    super(scope, id);
    const { state, functions } = props;
    this.topic = props.alarmTopic;

    const fns: Record<string, IFunction> = {
      Webhook: functions.webhook,
      ...Object.fromEntries(SYSTEMS.map((s) => [`Poll${pascal(s)}`, functions.pollers[s]])),
      Ingest: functions.ingest,
      ...Object.fromEntries(SYSTEMS.map((s) => [`Write${pascal(s)}`, functions.writers[s]])),
    };
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
      Object.entries(fns).map(([fnId, fn]) => [
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

    // --- dashboard ------------------------------------------------------------------------

    // Labels on the dashboard only: a labelled alarm metric renders as a metric-math query.
    const m = (name: string, system?: SystemName) =>
      emf(name, system).with({ label: system ? `${name} ${system}` : name });
    const graph = (
      title: string,
      left: IMetric[],
      extra: Partial<{ right: IMetric[]; width: number }> = {},
    ) =>
      new GraphWidget({
        title,
        left,
        width: extra.width ?? 12,
        height: 6,
        ...(extra.right ? { right: extra.right } : {}),
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
          { right: [m('NoticesReceived', system), m('HeldForUnseenChanges', system)] },
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
  }

  /** An alarm on `> threshold`, missing data not breaching, notifying the topic when there is one. */
  private alarm(
    id: string,
    props: {
      alarmDescription: string;
      metric: IMetric;
      threshold: number;
      evaluationPeriods: number;
      datapointsToAlarm?: number;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      ...props,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (this.topic) alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
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
