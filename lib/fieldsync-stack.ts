import { CfnOutput, type Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { pascal, type Stage, SYSTEMS } from './constructs/systems.ts';
import { Fieldsync } from './fieldsync.ts';

export interface FieldsyncStackProps extends StackProps {
  readonly stage: Stage;
  readonly pollRate: Duration;
  readonly alarmEmail?: string;
}

/** Deploys one `Fieldsync` and prints what the user needs: table, queues, credentials secret. */
export class FieldsyncStack extends Stack {
  readonly fieldsync: Fieldsync;

  constructor(scope: Construct, id: string, props: FieldsyncStackProps) {
    const { stage, pollRate, alarmEmail, ...stackProps } = props;
    super(scope, id, stackProps);
    this.fieldsync = new Fieldsync(this, 'Fieldsync', {
      stage,
      pollRate,
      ...(alarmEmail ? { alarmEmail } : {}),
    });

    const { state } = this.fieldsync;
    new CfnOutput(this, 'TableName', { value: state.table.tableName });
    new CfnOutput(this, 'IngestQueueUrl', { value: state.ingestQueue.queueUrl });
    for (const system of SYSTEMS) {
      new CfnOutput(this, `${pascal(system)}WriteQueueUrl`, { value: state.writeQueues[system].queueUrl });
    }
    new CfnOutput(this, 'CredentialsSecretArn', {
      value: state.credentialsSecret.secretArn,
      description: 'Put the SaaS credentials JSON here (aws secretsmanager put-secret-value)',
    });
  }
}
