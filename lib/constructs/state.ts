import { Duration, RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { pascal, perSystem, type Stage, type SystemName } from './systems.ts';

/** Messages that fail this many receives go to the queue's DLQ. */
export const MAX_RECEIVE_COUNT = 5;

/**
 * Shape of the credentials secret: a flat JSON map of the same names the local runner reads
 * from the environment (runtime/credentials.ts). Created with empty values; the user fills it
 * in (console or `aws secretsmanager put-secret-value`).
 */
export const CREDENTIALS_PLACEHOLDER: Readonly<Record<string, string>> = {
  SALESFORCE_INSTANCE_URL: '',
  SALESFORCE_ACCESS_TOKEN: '',
  HUBSPOT_ACCESS_TOKEN: '',
};

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
  /** Customer managed key for table, queues and secret; AWS-managed encryption when absent. */
  readonly encryptionKey?: IKey;
}

/** Stateful half of fieldsync: the table, the queues with their DLQs, the credentials secret. */
export class FieldsyncState extends Construct {
  readonly table: Table;
  readonly ingestQueue: Queue;
  readonly writeQueues: Record<SystemName, Queue>;
  /** Webhook change notices per source system, sent by the webhook function, read by that system's poller. */
  readonly noticeQueues: Record<SystemName, Queue>;
  /** Every DLQ, keyed by the id of the queue it serves ('Ingest', 'SalesforceWrite', 'SalesforceNotice', ...). */
  readonly deadLetterQueues: Record<string, Queue>;
  readonly credentialsSecret: Secret;

  constructor(scope: Construct, id: string, props: FieldsyncStateProps) {
    super(scope, id);
    const prod = props.stage === 'prod';
    const removalPolicy = prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const key = props.encryptionKey;

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

    // The placeholder holds no secret material. CloudFormation rewrites the value only when
    // this template value changes, so keep it stable or a deploy resets the user's credentials.
    this.credentialsSecret = new Secret(this, 'Credentials', {
      description: 'fieldsync SaaS credentials (JSON). Fill in after the first deploy.',
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(CREDENTIALS_PLACEHOLDER)),
      ...(key ? { encryptionKey: key } : {}),
      removalPolicy,
    });
  }
}
