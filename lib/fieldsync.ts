import type { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FieldsyncState } from './constructs/state.ts';
import type { LogLevel, SqsBatching } from './constructs/sync-function.ts';
import { CONSUMER_TIMEOUT, FieldsyncFunctions } from './constructs/sync-functions.ts';
import type { Stage, SystemName } from './constructs/systems.ts';

export interface FieldsyncProps {
  readonly stage: Stage;
  readonly pollRate: Duration;
  /** Receives an email when a message lands in a DLQ. */
  readonly alarmEmail?: string;
  readonly encryptionKey?: IKey;
  readonly logLevel?: LogLevel;
  readonly ingestBatching?: SqsBatching;
  readonly writeBatching?: Partial<Record<SystemName, SqsBatching>>;
}

/**
 * All of fieldsync as one construct, for use in any CDK app or stack.
 * `FieldsyncStack` is just this plus outputs.
 */
export class Fieldsync extends Construct {
  readonly state: FieldsyncState;
  readonly functions: FieldsyncFunctions;
  /** Present when `alarmEmail` is given. */
  readonly alarmTopic?: Topic;

  constructor(scope: Construct, id: string, props: FieldsyncProps) {
    super(scope, id);
    const { stage } = props;
    this.state = new FieldsyncState(this, 'State', {
      stage,
      consumerTimeout: CONSUMER_TIMEOUT,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
    });
    this.functions = new FieldsyncFunctions(this, 'Functions', {
      stage,
      state: this.state,
      pollRate: props.pollRate,
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
      ...(props.ingestBatching ? { ingestBatching: props.ingestBatching } : {}),
      ...(props.writeBatching ? { writeBatching: props.writeBatching } : {}),
    });

    if (props.alarmEmail) {
      const topic = new Topic(this, 'AlarmTopic', { enforceSSL: true });
      topic.addSubscription(new EmailSubscription(props.alarmEmail));
      // A message in a DLQ is a change that did not sync; the rest of the alarms come later.
      for (const [queueId, dlq] of Object.entries(this.state.deadLetterQueues)) {
        new Alarm(this, `${queueId}DlqAlarm`, {
          alarmDescription: `fieldsync: messages in the ${queueId} DLQ`,
          metric: dlq.metricApproximateNumberOfMessagesVisible(),
          threshold: 0,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }).addAlarmAction(new SnsAction(topic));
      }
      this.alarmTopic = topic;
    }
  }
}
