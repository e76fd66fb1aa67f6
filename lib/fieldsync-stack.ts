import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { pascal, SYSTEMS } from './constructs/systems.ts';
import { Fieldsync, type FieldsyncProps } from './fieldsync.ts';

export interface FieldsyncStackProps
  extends StackProps,
    Pick<
      FieldsyncProps,
      | 'stage'
      | 'pollRate'
      | 'alarmEmail'
      | 'webhookBaseUrl'
      | 'credentialsSecretName'
      | 'reportRate'
      | 'reconcileRate'
      | 'reserveReconcileConcurrency'
    > {}

/** Deploys one `Fieldsync` and prints what the user needs: table, queues, credentials secret name, webhook URLs. */
export class FieldsyncStack extends Stack {
  readonly fieldsync: Fieldsync;

  constructor(scope: Construct, id: string, props: FieldsyncStackProps) {
    const {
      stage,
      pollRate,
      alarmEmail,
      webhookBaseUrl,
      credentialsSecretName,
      reportRate,
      reconcileRate,
      reserveReconcileConcurrency,
      ...stackProps
    } = props;
    super(scope, id, stackProps);
    this.fieldsync = new Fieldsync(this, 'Fieldsync', {
      stage,
      pollRate,
      ...(alarmEmail ? { alarmEmail } : {}),
      ...(webhookBaseUrl ? { webhookBaseUrl } : {}),
      ...(credentialsSecretName ? { credentialsSecretName } : {}),
      ...(reportRate ? { reportRate } : {}),
      ...(reconcileRate ? { reconcileRate } : {}),
      ...(reserveReconcileConcurrency !== undefined ? { reserveReconcileConcurrency } : {}),
    });

    const { state } = this.fieldsync;
    new CfnOutput(this, 'TableName', { value: state.table.tableName });
    new CfnOutput(this, 'IngestQueueUrl', { value: state.ingestQueue.queueUrl });
    for (const system of SYSTEMS) {
      new CfnOutput(this, `${pascal(system)}WriteQueueUrl`, { value: state.writeQueues[system].queueUrl });
    }
    new CfnOutput(this, 'CredentialsSecretName', {
      value: state.credentialsSecretName,
      description: `The secret the functions read; write it with: fieldsync secrets set <salesforce|hubspot> --stage ${stage}`,
    });
    new CfnOutput(this, 'WebhookApiUrl', {
      value: this.fieldsync.webhookApi.url,
      description: 'The webhook HTTP API endpoint (point a custom domain here, then set webhookBaseUrl)',
    });
    new CfnOutput(this, 'HubspotWebhookUrl', {
      value: this.fieldsync.hubspotWebhookUrl,
      description: 'HubSpot app webhook target URL (signatures need HUBSPOT_CLIENT_SECRET in the secret)',
    });
    new CfnOutput(this, 'SalesforceWebhookUrl', {
      value: this.fieldsync.salesforceWebhookUrl('<SALESFORCE_OUTBOUND_SECRET>'),
      description:
        'Salesforce Outbound Message endpoint; replace the last segment with SALESFORCE_OUTBOUND_SECRET from the secret',
    });
  }
}
