import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { FieldsyncObservability } from './constructs/observability.ts';
import { FieldsyncState } from './constructs/state.ts';
import type { LogLevel, SqsBatching } from './constructs/sync-function.ts';
import { CONSUMER_TIMEOUT, FieldsyncFunctions, POLLER_TIMEOUT } from './constructs/sync-functions.ts';
import type { Stage, SystemName } from './constructs/systems.ts';
import { FieldsyncWebhookApi, HUBSPOT_WEBHOOK_PATH } from './constructs/webhook-api.ts';
import { acknowledgeNagFindings } from './nag.ts';

export interface FieldsyncProps {
  readonly stage: Stage;
  readonly pollRate: Duration;
  /**
   * Receives the alarm emails (DLQ messages, sync errors, Lambda error rate, ingest backlog, cursor
   * lag, API budget, drift, failed report or reconcile runs).
   */
  readonly alarmEmail?: string;
  /** Customer managed key for table, queues and secret (enable its rotation: cdk-nag AwsSolutions-KMS5). */
  readonly encryptionKey?: IKey;
  readonly logLevel?: LogLevel;
  readonly ingestBatching?: SqsBatching;
  readonly writeBatching?: Partial<Record<SystemName, SqsBatching>>;
  /**
   * Public base URL (https) of the webhook API when a custom domain fronts it; the webhook
   * function verifies HubSpot signatures against it. Unset: the API's own endpoint.
   */
  readonly webhookBaseUrl?: string;
  /** The credentials secret's name (default `fieldsync/<stage>/credentials`, as `fieldsync secrets set` writes it). */
  readonly credentialsSecretName?: string;
  /** How often the audit report runs (default daily). */
  readonly reportRate?: Duration;
  /** How often reconcile runs (default every 6 hours). */
  readonly reconcileRate?: Duration;
  /** Reserve one concurrent execution for reconcile (default true); see `FieldsyncFunctionsProps`. */
  readonly reserveReconcileConcurrency?: boolean;
}

/**
 * All of fieldsync as one construct, for use in any CDK app or stack.
 * `FieldsyncStack` is just this plus outputs.
 */
export class Fieldsync extends Construct {
  readonly state: FieldsyncState;
  readonly functions: FieldsyncFunctions;
  readonly webhookApi: FieldsyncWebhookApi;
  /** Base URL the SaaS systems are configured with: `webhookBaseUrl`, else the API endpoint. */
  readonly webhookBaseUrl: string;
  /** Present when `alarmEmail` is given. */
  readonly alarmTopic?: Topic;
  /** The `fieldsync-<stage>` dashboard and the alarms. */
  readonly observability: FieldsyncObservability;

  /** The URL to register as HubSpot's webhook target. */
  get hubspotWebhookUrl(): string {
    return `${this.webhookBaseUrl}${HUBSPOT_WEBHOOK_PATH}`;
  }

  /** Salesforce Outbound Message endpoint URL, with `secret` (SALESFORCE_OUTBOUND_SECRET) as last segment. */
  salesforceWebhookUrl(secret: string): string {
    return `${this.webhookBaseUrl}/webhooks/salesforce/${secret}`;
  }

  constructor(scope: Construct, id: string, props: FieldsyncProps) {
    super(scope, id);
    const { stage } = props;
    this.state = new FieldsyncState(this, 'State', {
      stage,
      consumerTimeout: CONSUMER_TIMEOUT,
      pollerTimeout: POLLER_TIMEOUT,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
      ...(props.credentialsSecretName ? { credentialsSecretName: props.credentialsSecretName } : {}),
    });
    this.functions = new FieldsyncFunctions(this, 'Functions', {
      stage,
      state: this.state,
      pollRate: props.pollRate,
      ...(props.logLevel ? { logLevel: props.logLevel } : {}),
      ...(props.ingestBatching ? { ingestBatching: props.ingestBatching } : {}),
      ...(props.writeBatching ? { writeBatching: props.writeBatching } : {}),
      ...(props.webhookBaseUrl ? { webhookBaseUrl: props.webhookBaseUrl } : {}),
      ...(props.reportRate ? { reportRate: props.reportRate } : {}),
      ...(props.reconcileRate ? { reconcileRate: props.reconcileRate } : {}),
      ...(props.reserveReconcileConcurrency !== undefined
        ? { reserveReconcileConcurrency: props.reserveReconcileConcurrency }
        : {}),
    });
    this.webhookApi = new FieldsyncWebhookApi(this, 'Webhooks', {
      handler: this.functions.webhook,
      logRemovalPolicy: stage === 'prod' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.webhookBaseUrl = (props.webhookBaseUrl ?? this.webhookApi.url).replace(/\/+$/, '');

    if (props.alarmEmail) {
      const topic = new Topic(this, 'AlarmTopic', { enforceSSL: true });
      topic.addSubscription(new EmailSubscription(props.alarmEmail));
      this.alarmTopic = topic;
    }
    // Dashboard and alarms always; the alarms notify the topic only when there is one.
    this.observability = new FieldsyncObservability(this, 'Observability', {
      stage,
      state: this.state,
      functions: this.functions,
      pollRate: props.pollRate,
      ...(this.alarmTopic ? { alarmTopic: this.alarmTopic } : {}),
    });
    // The reviewed cdk-nag findings, each with its reason, travel with the construct.
    acknowledgeNagFindings(this);
  }
}
