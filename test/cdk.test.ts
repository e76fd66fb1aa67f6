import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ContextError, readConfig } from '../lib/config.ts';
import { MAX_RECEIVE_COUNT } from '../lib/constructs/state.ts';
import { SyncFunction, TABLE_ACTIONS } from '../lib/constructs/sync-function.ts';
import { CONSUMER_TIMEOUT } from '../lib/constructs/sync-functions.ts';
import { Fieldsync } from '../lib/fieldsync.ts';
import { FieldsyncStack } from '../lib/fieldsync-stack.ts';

// --- template fragments, parsed instead of cast -------------------------------------------

const Ref = z.object({ Ref: z.string() });
const GetAtt = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) });
const Statement = z.object({
  Effect: z.string(),
  Action: z.union([z.string(), z.array(z.string())]),
  Resource: z.unknown(),
});
type Statement = z.infer<typeof Statement>;
const Policy = z.object({
  Properties: z.object({
    PolicyDocument: z.object({ Statement: z.array(Statement) }),
    Roles: z.array(Ref),
  }),
});
const LambdaFunction = z.object({
  Properties: z.object({
    Description: z.string(),
    Role: GetAtt,
    Timeout: z.number(),
    Environment: z.object({ Variables: z.record(z.string(), z.unknown()) }),
  }),
});
const EventSourceMapping = z.object({
  Properties: z.object({ EventSourceArn: GetAtt, FunctionName: Ref }),
});
const QueueResource = z.object({ Properties: z.object({ VisibilityTimeout: z.number().optional() }) });
const CdkJson = z.object({ app: z.string(), context: z.record(z.string(), z.unknown()) });

const cdkJson = CdkJson.parse(JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')));

interface FunctionInfo {
  logicalId: string;
  roleId: string;
  timeout: number;
  env: Record<string, unknown>;
  statements: Statement[];
}

/** The function whose Description is `fieldsync <file>`, with its role's policy statements. */
function functionInfo(template: Template, file: string): FunctionInfo {
  const found = Object.entries(
    template.findResources('AWS::Lambda::Function', { Properties: { Description: `fieldsync ${file}` } }),
  );
  expect(found).toHaveLength(1);
  const [logicalId, raw] = found[0] ?? ['', {}];
  const fn = LambdaFunction.parse(raw);
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .map((p) => Policy.parse(p).Properties)
    .filter((p) => p.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => p.PolicyDocument.Statement);
  return {
    logicalId,
    roleId,
    timeout: fn.Properties.Timeout,
    env: fn.Properties.Environment.Variables,
    statements,
  };
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (typeof s.Action === 'string' ? [s.Action] : s.Action));
}

/** Actions granted on resources whose JSON mentions `logicalId`. */
function actionsOn(statements: Statement[], logicalId: string): string[] {
  return actionsOf(statements.filter((s) => JSON.stringify(s.Resource).includes(`"${logicalId}"`)));
}

function logicalIdOf(template: Template, type: string, idPrefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(idPrefix));
  expect(ids).toHaveLength(1);
  return ids[0] ?? '';
}

// --- synth once ---------------------------------------------------------------------------

const POLLERS = ['poll-salesforce', 'poll-hubspot'] as const;
const WRITERS = ['write-salesforce', 'write-hubspot'] as const;
const ALL_FUNCTIONS = [...POLLERS, 'ingest', ...WRITERS] as const;

let app: App;
let dev: Template;
let prod: Template;
let cmk: Template;
let fns: Record<(typeof ALL_FUNCTIONS)[number], FunctionInfo>;
let queues: { ingest: string; salesforce: string; hubspot: string };
let secretId: string;
let tableId: string;

beforeAll(() => {
  // Only the dev stack bundles (real esbuild run); the others synthesize with placeholder code.
  app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': ['fieldsync-dev'] } });
  const devStack = new FieldsyncStack(app, 'fieldsync-dev', { stage: 'dev', pollRate: Duration.minutes(1) });
  const prodStack = new FieldsyncStack(app, 'fieldsync-prod', {
    stage: 'prod',
    pollRate: Duration.minutes(5),
    alarmEmail: 'ops@example.com',
  });
  // The construct inside someone else's stack, with a customer managed key.
  const hostStack = new Stack(app, 'host-app');
  new Fieldsync(hostStack, 'Sync', {
    stage: 'dev',
    pollRate: Duration.minutes(1),
    encryptionKey: new Key(hostStack, 'Key'),
  });
  dev = Template.fromStack(devStack);
  prod = Template.fromStack(prodStack);
  cmk = Template.fromStack(hostStack);

  fns = {
    'poll-salesforce': functionInfo(dev, 'poll-salesforce'),
    'poll-hubspot': functionInfo(dev, 'poll-hubspot'),
    ingest: functionInfo(dev, 'ingest'),
    'write-salesforce': functionInfo(dev, 'write-salesforce'),
    'write-hubspot': functionInfo(dev, 'write-hubspot'),
  };
  queues = {
    ingest: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateIngestQueue'),
    salesforce: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateSalesforceWriteQueue'),
    hubspot: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateHubspotWriteQueue'),
  };
  secretId = logicalIdOf(dev, 'AWS::SecretsManager::Secret', 'FieldsyncStateCredentials');
  tableId = logicalIdOf(dev, 'AWS::DynamoDB::Table', 'FieldsyncStateTable');
});

// --- tests --------------------------------------------------------------------------------

describe('cdk.json', () => {
  it('runs the app with node type stripping and pins the default context', () => {
    expect(cdkJson.app).toBe('node bin/cdk.ts');
    expect(cdkJson.context).toMatchObject({ stage: 'dev', pollRateMinutes: 1 });
  });
});

describe('readConfig', () => {
  const read = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

  it('defaults to dev polling every minute without alarms', () => {
    const config = read({});
    expect(config.stage).toBe('dev');
    expect(config.pollRate.toMinutes()).toBe(1);
    expect(config.alarmEmail).toBeUndefined();
  });

  it('accepts command-line strings', () => {
    const config = read({ stage: 'prod', pollRateMinutes: '5', alarmEmail: 'ops@example.com' });
    expect(config).toMatchObject({ stage: 'prod', alarmEmail: 'ops@example.com' });
    expect(config.pollRate.toMinutes()).toBe(5);
  });

  it.each([
    { stage: 'staging' },
    { pollRateMinutes: '0' },
    { pollRateMinutes: '1.5' },
    { pollRateMinutes: 'often' },
  ])('rejects %o', (context) => {
    expect(() => read(context)).toThrow(ContextError);
  });
});

describe('resources', () => {
  it('has one table, six queues, one secret, five functions, three SQS event sources, two schedules', () => {
    dev.resourceCountIs('AWS::DynamoDB::Table', 1);
    dev.resourceCountIs('AWS::SQS::Queue', 6);
    dev.resourceCountIs('AWS::SecretsManager::Secret', 1);
    dev.resourceCountIs('AWS::Lambda::Function', 5);
    dev.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    dev.resourceCountIs('AWS::Scheduler::Schedule', 2);
    dev.resourceCountIs('AWS::Logs::LogGroup', 5);
  });

  it('outputs the table name, queue URLs and secret ARN', () => {
    dev.hasOutput('TableName', { Value: { Ref: tableId } });
    dev.hasOutput('IngestQueueUrl', { Value: { Ref: queues.ingest } });
    dev.hasOutput('SalesforceWriteQueueUrl', { Value: { Ref: queues.salesforce } });
    dev.hasOutput('HubspotWriteQueueUrl', { Value: { Ref: queues.hubspot } });
    dev.hasOutput('CredentialsSecretArn', { Value: { Ref: secretId } });
  });
});

describe('table', () => {
  it('is on-demand with pk/sk, PITR, KMS encryption at rest and TTL on `ttl`', () => {
    dev.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('is deletable in dev, retained and deletion-protected in prod', () => {
    dev.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    prod.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
    });
    prod.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain' });
  });

  it('creates the credentials secret with empty values in the shape the handlers read', () => {
    dev.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: Match.serializedJson({
        SALESFORCE_INSTANCE_URL: '',
        SALESFORCE_ACCESS_TOKEN: '',
        HUBSPOT_ACCESS_TOKEN: '',
      }),
    });
  });
});

describe('queues', () => {
  it('are standard queues with SSE and a 14-day DLQ each, redriving after 5 receives', () => {
    const all = dev.findResources('AWS::SQS::Queue');
    for (const queue of Object.values(all)) {
      expect(queue).toMatchObject({ Properties: { SqsManagedSseEnabled: true } });
      expect(queue).not.toMatchObject({ Properties: { FifoQueue: true } });
    }
    const Redrive = z.object({
      Properties: z.object({
        RedrivePolicy: z.object({ deadLetterTargetArn: GetAtt, maxReceiveCount: z.number() }),
      }),
    });
    const dlqs = new Set<string>();
    for (const id of Object.values(queues)) {
      const { RedrivePolicy } = Redrive.parse(all[id]).Properties;
      expect(RedrivePolicy.maxReceiveCount).toBe(MAX_RECEIVE_COUNT);
      const dlq = RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
      expect(all[dlq]).toMatchObject({ Properties: { MessageRetentionPeriod: 14 * 24 * 3600 } });
      dlqs.add(dlq);
    }
    expect(MAX_RECEIVE_COUNT).toBe(5);
    expect(dlqs.size).toBe(3);
  });

  it('deny non-TLS access (enforceSSL) on all six queues', () => {
    dev.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      },
      6,
    );
  });

  it('have a visibility timeout of at least 6x the timeout of their consumer', () => {
    const mappings = Object.values(dev.findResources('AWS::Lambda::EventSourceMapping')).map((m) =>
      EventSourceMapping.parse(m),
    );
    expect(mappings).toHaveLength(3);
    const allQueues = dev.findResources('AWS::SQS::Queue');
    for (const mapping of mappings) {
      const queueId = mapping.Properties.EventSourceArn['Fn::GetAtt'][0];
      const consumer = Object.values(fns).find((f) => f.logicalId === mapping.Properties.FunctionName.Ref);
      const visibility = QueueResource.parse(allQueues[queueId]).Properties.VisibilityTimeout ?? 30;
      expect(consumer).toBeDefined();
      expect(visibility).toBeGreaterThanOrEqual(6 * (consumer?.timeout ?? Number.POSITIVE_INFINITY));
    }
    expect(fns.ingest.timeout).toBe(CONSUMER_TIMEOUT.toSeconds());
  });
});

describe('functions', () => {
  it('run Node.js 24 on ARM64 with active tracing, Powertools env and their own log groups', () => {
    dev.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: 'fieldsync',
            POWERTOOLS_METRICS_NAMESPACE: 'fieldsync',
            LOG_LEVEL: 'DEBUG',
            NODE_OPTIONS: '--enable-source-maps',
          }),
        },
      },
      5,
    );
    dev.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 5);
    prod.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ LOG_LEVEL: 'INFO' }) } },
      5,
    );
  });

  it('are bundled as minified ESM with source maps and a createRequire banner', () => {
    const assembly = app.synth();
    const S3Key = z.object({ Properties: z.object({ Code: z.object({ S3Key: z.string() }) }) });
    const assetDirs = Object.values(dev.findResources('AWS::Lambda::Function')).map((f) =>
      join(assembly.directory, `asset.${S3Key.parse(f).Properties.Code.S3Key.replace(/\.zip$/, '')}`),
    );
    expect(assetDirs).toHaveLength(5);
    for (const dir of assetDirs) {
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire } from 'node:module';")).toBe(true);
      expect(bundle).toMatch(/sourceMappingURL=index\.mjs\.map/);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    }
  });

  it('get exactly the env vars of the handler contract', () => {
    const tableRef = { Ref: tableId };
    const secretRef = { Ref: secretId };
    const fixed = ['POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'LOG_LEVEL', 'NODE_OPTIONS'];
    const keys = (f: FunctionInfo) =>
      Object.keys(f.env)
        .filter((k) => !fixed.includes(k))
        .sort();
    for (const poller of POLLERS) {
      expect(keys(fns[poller])).toEqual(['CREDENTIALS_SECRET_ARN', 'INGEST_QUEUE_URL', 'TABLE_NAME']);
      expect(fns[poller].env).toMatchObject({
        TABLE_NAME: tableRef,
        INGEST_QUEUE_URL: { Ref: queues.ingest },
        CREDENTIALS_SECRET_ARN: secretRef,
      });
    }
    expect(keys(fns.ingest)).toEqual([
      'INGEST_QUEUE_URL',
      'TABLE_NAME',
      'WRITE_QUEUE_URL_HUBSPOT',
      'WRITE_QUEUE_URL_SALESFORCE',
    ]);
    expect(fns.ingest.env).toMatchObject({
      WRITE_QUEUE_URL_SALESFORCE: { Ref: queues.salesforce },
      WRITE_QUEUE_URL_HUBSPOT: { Ref: queues.hubspot },
    });
    expect(keys(fns['write-salesforce'])).toEqual([
      'CREDENTIALS_SECRET_ARN',
      'TABLE_NAME',
      'WRITE_QUEUE_URL_SALESFORCE',
    ]);
    expect(keys(fns['write-hubspot'])).toEqual([
      'CREDENTIALS_SECRET_ARN',
      'TABLE_NAME',
      'WRITE_QUEUE_URL_HUBSPOT',
    ]);
  });
});

describe('event sources', () => {
  const mappingFor = (consumer: (typeof ALL_FUNCTIONS)[number]) => ({
    FunctionName: { Ref: fns[consumer].logicalId },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });

  it('batch ingest 100 per invocation within 2 s, without a concurrency cap', () => {
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...mappingFor('ingest'),
      EventSourceArn: { 'Fn::GetAtt': [queues.ingest, 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: Match.absent(),
    });
  });

  it('batch writers to one API call (Salesforce 200 / 5 s, HubSpot 100 / 2 s), at most 2 at once', () => {
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...mappingFor('write-salesforce'),
      EventSourceArn: { 'Fn::GetAtt': [queues.salesforce, 'Arn'] },
      BatchSize: 200,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...mappingFor('write-hubspot'),
      EventSourceArn: { 'Fn::GetAtt': [queues.hubspot, 'Arn'] },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });
});

describe('schedules', () => {
  it('invoke each poller at the configured rate, without retries', () => {
    for (const poller of POLLERS) {
      dev.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [fns[poller].logicalId, 'Arn'] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        }),
      });
    }
    prod.resourcePropertiesCountIs('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(5 minutes)' }, 2);
  });

  it('use roles that can invoke only the pollers', () => {
    const schedulerPolicies = Object.values(dev.findResources('AWS::IAM::Policy'))
      .map((p) => Policy.parse(p).Properties)
      .filter((p) => !Object.values(fns).some((f) => p.Roles.some((r) => r.Ref === f.roleId)));
    expect(schedulerPolicies).toHaveLength(2);
    const statements = schedulerPolicies.flatMap((p) => p.PolicyDocument.Statement);
    expect(new Set(actionsOf(statements))).toEqual(new Set(['lambda:InvokeFunction']));
    const resources = JSON.stringify(statements.map((s) => s.Resource));
    for (const other of ['ingest', ...WRITERS] as const)
      expect(resources).not.toContain(fns[other].logicalId);
  });
});

describe('IAM least privilege', () => {
  it('grants no wildcard actions, and resource * only for X-Ray', () => {
    for (const f of Object.values(fns)) {
      expect(actionsOf(f.statements).filter((a) => a.includes('*'))).toEqual([]);
      for (const s of f.statements.filter((st) => st.Resource === '*')) {
        expect(actionsOf([s]).every((a) => a.startsWith('xray:'))).toBe(true);
      }
    }
  });

  it('grants item-level table access only: no Scan, no streams, no table admin', () => {
    for (const f of Object.values(fns)) {
      expect(new Set(actionsOn(f.statements, tableId))).toEqual(new Set(TABLE_ACTIONS.readWrite));
    }
  });

  it('keeps the ingest function away from the credentials secret', () => {
    expect(actionsOn(fns.ingest.statements, secretId)).toEqual([]);
    expect(actionsOf(fns.ingest.statements).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    for (const f of [...POLLERS, ...WRITERS]) {
      expect(actionsOn(fns[f].statements, secretId).sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
    }
  });

  it('lets pollers only send to the ingest queue and never touch write queues', () => {
    for (const poller of POLLERS) {
      const { statements } = fns[poller];
      expect(actionsOn(statements, queues.ingest)).not.toContain('sqs:ReceiveMessage');
      expect(actionsOn(statements, queues.ingest)).not.toContain('sqs:DeleteMessage');
      expect(actionsOn(statements, queues.ingest)).toContain('sqs:SendMessage');
      expect(actionsOn(statements, queues.salesforce)).toEqual([]);
      expect(actionsOn(statements, queues.hubspot)).toEqual([]);
    }
  });

  it('lets ingest consume and re-queue ingest, and only send to the write queues', () => {
    const { statements } = fns.ingest;
    expect(actionsOn(statements, queues.ingest)).toEqual(
      expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']),
    );
    for (const id of [queues.salesforce, queues.hubspot]) {
      expect(actionsOn(statements, id)).toContain('sqs:SendMessage');
      expect(actionsOn(statements, id)).not.toContain('sqs:ReceiveMessage');
    }
  });

  it('lets each writer use only its own write queue', () => {
    const own = { 'write-salesforce': queues.salesforce, 'write-hubspot': queues.hubspot };
    for (const writer of WRITERS) {
      const { statements } = fns[writer];
      expect(actionsOn(statements, own[writer])).toEqual(
        expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']),
      );
      const others = Object.values(queues).filter((q) => q !== own[writer]);
      for (const other of others) expect(actionsOn(statements, other)).toEqual([]);
    }
  });
});

describe('alarms', () => {
  it('are created only with alarmEmail: one per DLQ to an email topic', () => {
    dev.resourceCountIs('AWS::SNS::Topic', 0);
    dev.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    prod.resourceCountIs('AWS::SNS::Topic', 1);
    prod.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    prod.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 },
      3,
    );
  });
});

describe('Fieldsync construct with a customer managed key', () => {
  it('encrypts table, queues and secret with the key and grants the functions its use', () => {
    const keyId = logicalIdOf(cmk, 'AWS::KMS::Key', 'Key');
    cmk.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      },
    });
    cmk.resourcePropertiesCountIs('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } }, 6);
    cmk.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    for (const file of ALL_FUNCTIONS) {
      expect(actionsOn(functionInfo(cmk, file).statements, keyId)).toContain('kms:Decrypt');
    }
  });
});

describe('SyncFunction', () => {
  it('bindTable read grants reads only and sets TABLE_NAME', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'unit');
    const host = new Fieldsync(stack, 'F', { stage: 'dev', pollRate: Duration.minutes(1) });
    new SyncFunction(stack, 'Reader', {
      entry: new URL('../functions/ingest.ts', import.meta.url).pathname,
      code: Code.fromInline('export const handler = async () => {};'),
      handler: 'index.handler',
      description: 'fieldsync reader',
    }).bindTable(host.state.table, 'read');
    const template = Template.fromStack(stack);
    const reader = functionInfo(template, 'reader');
    const table = logicalIdOf(template, 'AWS::DynamoDB::Table', 'FStateTable');
    expect(new Set(actionsOn(reader.statements, table))).toEqual(new Set(TABLE_ACTIONS.read));
    expect(reader.env).toMatchObject({ TABLE_NAME: { Ref: table } });
  });
});
