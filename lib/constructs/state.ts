import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { defaultCredentialsSecretName as credentialsSecretName } from '../../runtime/config.ts';
import { pascal, perSystem, type Stage, type SystemName } from './systems.ts';

/** Messages that fail this many receives go to the queue's DLQ. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * The credentials secret the functions read when none is named: one per stage, the name
 * `fieldsync secrets set <system> --stage <stage>` writes (local/commands/secrets.ts). A flat JSON
 * map of the names the local runner reads from the environment (runtime/credentials.ts).
 */
export function defaultCredentialsSecretName(stage: Stage): string {
  return credentialsSecretName(stage);
}

export interface FieldsyncStateProps {
  readonly stage: Stage;
  /**
   * Timeout of the functions that consume the queues. Visibility timeouts are set to six
   * times it, as AWS recommends for SQS event sources, so a message in flight is never
   * redelivered while a slow batch is still running.
   */
  readonly consumerTimeout: Duration;
  /**
   * Timeout of the pollers, which consume the notice queues (webhook notices). Their visibility
   * timeout is six times this one, for the same reason.
   */
  readonly pollerTimeout: Duration;
  /** Customer managed key for table and queues (and the secret, if it was created with it); AWS-managed encryption when absent. */
  readonly encryptionKey?: IKey;
  /** Name of the credentials secret; default `fieldsync/<stage>/credentials`. */
  readonly credentialsSecretName?: string;
}

/**
 * Stateful half of fieldsync: the table, the queues with their DLQs, and a reference to the
 * credentials secret (which the user creates before the first deploy, so it is not a resource here).
 */
export class FieldsyncState extends Construct {
  readonly table: Table;
  readonly ingestQueue: Queue;
  readonly writeQueues: Record<SystemName, Queue>;
  /** Webhook change notices per source system, sent by the webhook function, read by that system's poller. */
  readonly noticeQueues: Record<SystemName, Queue>;
  /** Every DLQ, keyed by the id of the queue it serves ('Ingest', 'SalesforceWrite', 'SalesforceNotice', ...). */
  readonly deadLetterQueues: Record<string, Queue>;
  /** The secret by name (grants cover its `-??????` suffix); not created by the stack. */
  readonly credentialsSecret: ISecret;
  readonly credentialsSecretName: string;
  /** The customer managed key everything here is encrypted with, when one was given. */
  readonly encryptionKey: IKey | undefined;

  constructor(scope: Construct, id: string, props: FieldsyncStateProps) {
    super(scope, id);
    const prod = props.stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const key = props.encryptionKey;
    this.encryptionKey = key;

    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(key
        ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: key }
        : { encryption: TableEncryption.AWS_MANAGED }),
      // Audit rows and webhook idempotency keys expire.
      timeToLiveAttribute: 'ttl',
      deletionProtection: prod,
      removalPolicy,
    });

    const deadLetterQueues: Record<string, Queue> = {};
    const visibilityFor = (consumerTimeout: Duration) => Duration.seconds(consumerTimeout.toSeconds() * 6);
    const encryption = key
      ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key }
      : { encryption: QueueEncryption.SQS_MANAGED };
    // Standard queues, not FIFO: a FIFO event source caps a batch at 10 messages, and the
    // field merge is order-insensitive, so ordering buys nothing (DESIGN: topology).
    const queueWithDlq = (queueId: string, consumerTimeout = props.consumerTimeout): Queue => {
      const dlq = new Queue(this, `${queueId}Dlq`, {
        ...encryption,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy,
      });
      deadLetterQueues[queueId] = dlq;
      return new Queue(this, `${queueId}Queue`, {
        ...encryption,
        enforceSSL: true,
        visibilityTimeout: visibilityFor(consumerTimeout),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: dlq, maxReceiveCount: MAX_RECEIVE_COUNT },
        removalPolicy,
      });
    };
    this.ingestQueue = queueWithDlq('Ingest');
    this.writeQueues = perSystem((system) => queueWithDlq(`${pascal(system)}Write`));
    this.noticeQueues = perSystem((system) => queueWithDlq(`${pascal(system)}Notice`, props.pollerTimeout));
    this.deadLetterQueues = deadLetterQueues;

    // Referenced, not created: the user writes it first (`fieldsync secrets set`), so a deploy finds
    // the credentials in place, never resets them, and tearing a stage down leaves them alone.
    this.credentialsSecretName = props.credentialsSecretName ?? defaultCredentialsSecretName(props.stage);
    this.credentialsSecret = Secret.fromSecretAttributes(this, 'Credentials', {
      // A partial ARN (no random suffix): the functions use it as SecretId, grants add `-??????`.
      secretPartialArn: Stack.of(this).formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: this.credentialsSecretName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
      ...(key ? { encryptionKey: key } : {}),
    });
  }
}
