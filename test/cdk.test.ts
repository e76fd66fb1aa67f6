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
import { CONSUMER_TIMEOUT, POLLER_TIMEOUT, WEBHOOK_TIMEOUT } from '../lib/constructs/sync-functions.ts';
import { WEBHOOK_THROTTLE } from '../lib/constructs/webhook-api.ts';
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
const Route = z.object({
  Properties: z.object({ RouteKey: z.string(), Target: z.unknown(), AuthorizationType: z.string() }),
});
const Permission = z.object({ Properties: z.object({ FunctionName: GetAtt, Principal: z.string() }) });
const ApiStage = z.object({ Properties: z.object({ AccessLogSettings: z.object({ Format: z.string() }) }) });
const QueueResource = z.object({ Properties: z.object({ VisibilityTimeout: z.number().optional() }) });
const AlarmActions = z.object({
  Properties: z.object({ AlarmActions: z.array(Ref).optional(), OKActions: z.array(Ref).optional() }),
});
const RateAlarm = z.object({
  Properties: z.object({
    Threshold: z.number(),
    ComparisonOperator: z.string(),
    EvaluationPeriods: z.number(),
    Metrics: z.array(
      z.object({
        Id: z.string(),
        Expression: z.string().optional(),
        MetricStat: z.object({ Metric: z.object({ MetricName: z.string() }).passthrough() }).optional(),
      }),
    ),
  }),
});
const DashboardBody = z.object({
  Properties: z.object({
    DashboardBody: z.object({
      'Fn::Join': z.tuple([z.literal(''), z.array(z.union([z.string(), Ref, GetAtt]))]),
    }),
  }),
});
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

/** The dashboard body as one string; references become `<LogicalId>` or `<LogicalId.Attribute>`. */
function dashboardBody(template: Template): string {
  const found = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(found).toHaveLength(1);
  const [, parts] = DashboardBody.parse(found[0]).Properties.DashboardBody['Fn::Join'];
  return parts
    .map((p) => {
      if (typeof p === 'string') return p;
      if ('Ref' in p) return `<${p.Ref}>`;
      return `<${p['Fn::GetAtt'][0]}.${p['Fn::GetAtt'][1]}>`;
    })
    .join('');
}

const NAMESPACE = 'fieldsync';
const PER_SYSTEM_METRICS = [
  'RecordsPolled',
  'RecordsCreated',
  'RecordsUpdated',
  'RecordsDeleted',
  'SyncErrors',
  'ApiCalls',
];
const SERVICE_METRICS = ['ChangesIngested', 'CanonicalWrites', 'Conflicts', 'AmbiguousMatches'];

// --- synth once ---------------------------------------------------------------------------

const POLLERS = ['poll-salesforce', 'poll-hubspot'] as const;
const WRITERS = ['write-salesforce', 'write-hubspot'] as const;
const ALL_FUNCTIONS = ['webhook', ...POLLERS, 'ingest', ...WRITERS] as const;
const WEBHOOK_BASE_URL = 'https://hooks.example.com';

let app: App;
let dev: Template;
let prod: Template;
let cmk: Template;
let fns: Record<(typeof ALL_FUNCTIONS)[number], FunctionInfo>;
let queues: { ingest: string; salesforce: string; hubspot: string };
let notices: { salesforce: string; hubspot: string };
let assetDirs: Record<(typeof ALL_FUNCTIONS)[number], string>;
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
    webhookBaseUrl: WEBHOOK_BASE_URL,
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
    webhook: functionInfo(dev, 'webhook'),
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
  notices = {
    salesforce: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateSalesforceNoticeQueue'),
    hubspot: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateHubspotNoticeQueue'),
  };
  secretId = logicalIdOf(dev, 'AWS::SecretsManager::Secret', 'FieldsyncStateCredentials');
  tableId = logicalIdOf(dev, 'AWS::DynamoDB::Table', 'FieldsyncStateTable');

  // Synthesizing the app writes the dev stack's bundles (esbuild) into the assembly directory.
  const assembly = app.synth();
  const S3Key = z.object({ Properties: z.object({ Code: z.object({ S3Key: z.string() }) }) });
  const assetOf = (file: string): string => {
    const raw = dev.findResources('AWS::Lambda::Function', {
      Properties: { Description: `fieldsync ${file}` },
    });
    const key = S3Key.parse(Object.values(raw)[0]).Properties.Code.S3Key;
    return join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
  };
  assetDirs = {
    webhook: assetOf('webhook'),
    'poll-salesforce': assetOf('poll-salesforce'),
    'poll-hubspot': assetOf('poll-hubspot'),
    ingest: assetOf('ingest'),
    'write-salesforce': assetOf('write-salesforce'),
    'write-hubspot': assetOf('write-hubspot'),
  };
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
    expect(config.webhookBaseUrl).toBeUndefined();
  });

  it('accepts command-line strings', () => {
    const config = read({ stage: 'prod', pollRateMinutes: '5', alarmEmail: 'ops@example.com' });
    expect(config).toMatchObject({ stage: 'prod', alarmEmail: 'ops@example.com' });
    expect(config.pollRate.toMinutes()).toBe(5);
  });

  it('accepts an https webhookBaseUrl and drops its trailing slash', () => {
    expect(read({ webhookBaseUrl: 'https://hooks.example.com/' }).webhookBaseUrl).toBe(
      'https://hooks.example.com',
    );
    expect(read({ webhookBaseUrl: 'https://example.com/sync' }).webhookBaseUrl).toBe(
      'https://example.com/sync',
    );
    expect(read({ webhookBaseUrl: '' }).webhookBaseUrl).toBeUndefined();
  });

  it.each([
    { stage: 'staging' },
    { pollRateMinutes: '0' },
    { pollRateMinutes: '1.5' },
    { pollRateMinutes: 'often' },
    { webhookBaseUrl: 'http://hooks.example.com' },
    { webhookBaseUrl: 'hooks.example.com' },
    { webhookBaseUrl: 'https://hooks.example.com/?k=v' },
  ])('rejects %o', (context) => {
    expect(() => read(context)).toThrow(ContextError);
  });
});

describe('resources', () => {
  it('has one table, ten queues, one secret, six functions, five SQS event sources, two schedules, one HTTP API', () => {
    dev.resourceCountIs('AWS::DynamoDB::Table', 1);
    // ingest, a write and a notice queue per system, each with its DLQ
    dev.resourceCountIs('AWS::SQS::Queue', 10);
    dev.resourceCountIs('AWS::SecretsManager::Secret', 1);
    dev.resourceCountIs('AWS::Lambda::Function', 6);
    dev.resourceCountIs('AWS::Lambda::EventSourceMapping', 5);
    dev.resourceCountIs('AWS::Scheduler::Schedule', 2);
    // one per function plus the API's access logs
    dev.resourceCountIs('AWS::Logs::LogGroup', 7);
    dev.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    dev.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    dev.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    dev.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
  });

  it('outputs the table name, queue URLs and secret ARN', () => {
    dev.hasOutput('TableName', { Value: { Ref: tableId } });
    dev.hasOutput('IngestQueueUrl', { Value: { Ref: queues.ingest } });
    dev.hasOutput('SalesforceWriteQueueUrl', { Value: { Ref: queues.salesforce } });
    dev.hasOutput('HubspotWriteQueueUrl', { Value: { Ref: queues.hubspot } });
    dev.hasOutput('CredentialsSecretArn', { Value: { Ref: secretId } });
  });

  it('outputs the webhook URLs on the API endpoint, or on webhookBaseUrl when set', () => {
    const endpoint = {
      'Fn::GetAtt': [logicalIdOf(dev, 'AWS::ApiGatewayV2::Api', 'FieldsyncWebhooksApi'), 'ApiEndpoint'],
    };
    dev.hasOutput('WebhookApiUrl', { Value: endpoint });
    dev.hasOutput('HubspotWebhookUrl', { Value: { 'Fn::Join': ['', [endpoint, '/webhooks/hubspot']] } });
    dev.hasOutput('SalesforceWebhookUrl', {
      Value: { 'Fn::Join': ['', [endpoint, '/webhooks/salesforce/<SALESFORCE_OUTBOUND_SECRET>']] },
    });
    prod.hasOutput('HubspotWebhookUrl', { Value: `${WEBHOOK_BASE_URL}/webhooks/hubspot` });
    prod.hasOutput('SalesforceWebhookUrl', {
      Value: `${WEBHOOK_BASE_URL}/webhooks/salesforce/<SALESFORCE_OUTBOUND_SECRET>`,
    });
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
    for (const id of [...Object.values(queues), ...Object.values(notices)]) {
      const { RedrivePolicy } = Redrive.parse(all[id]).Properties;
      expect(RedrivePolicy.maxReceiveCount).toBe(MAX_RECEIVE_COUNT);
      const dlq = RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
      expect(all[dlq]).toMatchObject({ Properties: { MessageRetentionPeriod: 14 * 24 * 3600 } });
      dlqs.add(dlq);
    }
    expect(MAX_RECEIVE_COUNT).toBe(5);
    expect(dlqs.size).toBe(5);
  });

  it('deny non-TLS access (enforceSSL) on all ten queues', () => {
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
      10,
    );
  });

  it('have a visibility timeout of at least 6x the timeout of their consumer', () => {
    const mappings = Object.values(dev.findResources('AWS::Lambda::EventSourceMapping')).map((m) =>
      EventSourceMapping.parse(m),
    );
    expect(mappings).toHaveLength(5);
    const allQueues = dev.findResources('AWS::SQS::Queue');
    for (const mapping of mappings) {
      const queueId = mapping.Properties.EventSourceArn['Fn::GetAtt'][0];
      const consumer = Object.values(fns).find((f) => f.logicalId === mapping.Properties.FunctionName.Ref);
      const visibility = QueueResource.parse(allQueues[queueId]).Properties.VisibilityTimeout ?? 30;
      expect(consumer).toBeDefined();
      expect(visibility).toBeGreaterThanOrEqual(6 * (consumer?.timeout ?? Number.POSITIVE_INFINITY));
    }
    expect(fns.ingest.timeout).toBe(CONSUMER_TIMEOUT.toSeconds());
    for (const id of Object.values(notices)) {
      expect(QueueResource.parse(allQueues[id]).Properties.VisibilityTimeout).toBe(
        6 * POLLER_TIMEOUT.toSeconds(),
      );
    }
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
      6,
    );
    // six function log groups and the API's access logs
    dev.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 7);
    prod.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ LOG_LEVEL: 'INFO' }) } },
      6,
    );
  });

  it('are bundled as minified ESM with source maps and a createRequire banner', () => {
    expect(new Set(Object.values(assetDirs)).size).toBe(6);
    for (const dir of Object.values(assetDirs)) {
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire } from 'node:module';")).toBe(true);
      expect(bundle).toMatch(/sourceMappingURL=index\.mjs\.map/);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    }
  });

  it('keep SaaS clients out of the webhook bundle', () => {
    const SourceMap = z.object({ sources: z.array(z.string()) });
    const contents = (file: (typeof ALL_FUNCTIONS)[number]) => {
      const bundle = readFileSync(join(assetDirs[file], 'index.mjs'), 'utf8');
      const { sources } = SourceMap.parse(
        JSON.parse(readFileSync(join(assetDirs[file], 'index.mjs.map'), 'utf8')),
      );
      return {
        bundle,
        jsforce: sources.some((src) => src.includes('node_modules/jsforce/')),
        hubspot: sources.some((src) => src.includes('node_modules/@hubspot/api-client/')),
      };
    };
    // The strings do occur in bundles that carry the clients, so their absence means something.
    const sf = contents('write-salesforce');
    const hs = contents('write-hubspot');
    expect(sf.bundle).toContain('jsforce');
    expect(sf.jsforce).toBe(true);
    expect(hs.bundle).toContain('hubspot-api-client');
    expect(hs.hubspot).toBe(true);

    const webhook = contents('webhook');
    expect(webhook.bundle).not.toContain('jsforce');
    expect(webhook.bundle).not.toContain('hubspot-api-client');
    expect(webhook.jsforce).toBe(false);
    expect(webhook.hubspot).toBe(false);
    expect(webhook.bundle.length).toBeLessThan(sf.bundle.length / 2);
  });

  it('give the webhook function a short timeout and modest memory', () => {
    expect(fns.webhook.timeout).toBe(WEBHOOK_TIMEOUT.toSeconds());
    expect(fns.webhook.timeout).toBeLessThanOrEqual(10);
    dev.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'fieldsync webhook',
      MemorySize: 256,
    });
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
    // Writers send to ingest too: read-before-write queues a change the target made that was not merged yet.
    expect(keys(fns['write-salesforce'])).toEqual([
      'CREDENTIALS_SECRET_ARN',
      'INGEST_QUEUE_URL',
      'TABLE_NAME',
      'WRITE_QUEUE_URL_SALESFORCE',
    ]);
    expect(keys(fns['write-hubspot'])).toEqual([
      'CREDENTIALS_SECRET_ARN',
      'INGEST_QUEUE_URL',
      'TABLE_NAME',
      'WRITE_QUEUE_URL_HUBSPOT',
    ]);
    // No WEBHOOK_BASE_URL by default: the handler signs against the request's domain.
    expect(keys(fns.webhook)).toEqual([
      'CREDENTIALS_SECRET_ARN',
      'NOTICE_QUEUE_URL_HUBSPOT',
      'NOTICE_QUEUE_URL_SALESFORCE',
      'TABLE_NAME',
    ]);
    expect(fns.webhook.env).toMatchObject({
      TABLE_NAME: tableRef,
      CREDENTIALS_SECRET_ARN: secretRef,
      NOTICE_QUEUE_URL_SALESFORCE: { Ref: notices.salesforce },
      NOTICE_QUEUE_URL_HUBSPOT: { Ref: notices.hubspot },
    });
  });

  it('never pass the API into the webhook env (the API depends on the function), except a given webhookBaseUrl', () => {
    const ids = Object.keys(dev.findResources('AWS::ApiGatewayV2::Api'));
    expect(ids).toHaveLength(1);
    for (const id of ids) expect(JSON.stringify(fns.webhook.env)).not.toContain(id);
    expect(functionInfo(prod, 'webhook').env).toMatchObject({ WEBHOOK_BASE_URL: WEBHOOK_BASE_URL });
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

describe('notice queues', () => {
  it('feed each poller from its own notice queue: 100 per invocation within 1 s, partial batch responses', () => {
    const own = { 'poll-salesforce': notices.salesforce, 'poll-hubspot': notices.hubspot };
    for (const poller of POLLERS) {
      const mappings = dev.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { FunctionName: { Ref: fns[poller].logicalId } },
      });
      expect(Object.keys(mappings)).toHaveLength(1);
      dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fns[poller].logicalId },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        EventSourceArn: { 'Fn::GetAtt': [own[poller], 'Arn'] },
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
      });
    }
  });
});

describe('webhook API', () => {
  let integrationId: string;
  beforeAll(() => {
    integrationId = logicalIdOf(dev, 'AWS::ApiGatewayV2::Integration', 'FieldsyncWebhooksApi');
  });

  it('routes POST /webhooks/hubspot and POST /webhooks/salesforce/{secret}, and nothing else, to the webhook function', () => {
    const routes = Object.values(dev.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => Route.parse(r).Properties,
    );
    expect(routes.map((r) => r.RouteKey).sort()).toEqual([
      'POST /webhooks/hubspot',
      'POST /webhooks/salesforce/{secret}',
    ]);
    for (const route of routes) {
      expect(route.Target).toEqual({ 'Fn::Join': ['', ['integrations/', { Ref: integrationId }]] });
      // Authenticated by the handler: HubSpot signatures, the Salesforce secret path segment.
      expect(route.AuthorizationType).toBe('NONE');
    }
    dev.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [fns.webhook.logicalId, 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
  });

  it('lets API Gateway invoke only the webhook function', () => {
    const permissions = Object.values(dev.findResources('AWS::Lambda::Permission')).map(
      (p) => Permission.parse(p).Properties,
    );
    expect(permissions).toHaveLength(2);
    for (const p of permissions) {
      expect(p.Principal).toBe('apigateway.amazonaws.com');
      expect(p.FunctionName['Fn::GetAtt'][0]).toBe(fns.webhook.logicalId);
    }
  });

  it('has a throttled, auto-deployed default stage with access logs that never log the path', () => {
    const logsId = logicalIdOf(dev, 'AWS::Logs::LogGroup', 'FieldsyncWebhooksAccessLogs');
    dev.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingBurstLimit: WEBHOOK_THROTTLE.burstLimit,
        ThrottlingRateLimit: WEBHOOK_THROTTLE.rateLimit,
      },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [logsId, 'Arn'] }, Format: Match.anyValue() },
    });
    expect(WEBHOOK_THROTTLE).toEqual({ burstLimit: 100, rateLimit: 50 });
    const format = ApiStage.parse(Object.values(dev.findResources('AWS::ApiGatewayV2::Stage'))[0]).Properties
      .AccessLogSettings.Format;
    expect(JSON.parse(format)).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
    });
    // The Salesforce path carries its secret.
    expect(format).not.toMatch(/\$context\.(path|resourcePath)\b/);
    expect(dev.findResources('AWS::Logs::LogGroup')[logsId]).toMatchObject({
      DeletionPolicy: 'Delete',
      Properties: { RetentionInDays: 30 },
    });
    const prodLogsId = logicalIdOf(prod, 'AWS::Logs::LogGroup', 'FieldsyncWebhooksAccessLogs');
    expect(prod.findResources('AWS::Logs::LogGroup')[prodLogsId]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 30 },
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
    for (const other of ['webhook', 'ingest', ...WRITERS] as const)
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
    expect(actionsOn(fns.webhook.statements, secretId).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('lets pollers and writers write refreshed tokens to the credentials secret, and no other secret', () => {
    for (const f of [...POLLERS, ...WRITERS] as const) {
      const { statements } = fns[f];
      expect(actionsOn(statements, secretId)).toEqual(
        expect.arrayContaining([
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
        ]),
      );
      // Every secretsmanager: action is on the credentials secret alone.
      for (const s of statements.filter((st) =>
        actionsOf([st]).some((a) => a.startsWith('secretsmanager:')),
      )) {
        expect(JSON.stringify(s.Resource)).toBe(JSON.stringify({ Ref: secretId }));
      }
    }
    for (const f of ['webhook', 'ingest'] as const) {
      expect(actionsOf(fns[f].statements)).not.toContain('secretsmanager:PutSecretValue');
      expect(actionsOf(fns[f].statements)).not.toContain('secretsmanager:UpdateSecret');
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

  it('lets each poller consume only its own notice queue, and send to none', () => {
    const own = { 'poll-salesforce': notices.salesforce, 'poll-hubspot': notices.hubspot };
    for (const poller of POLLERS) {
      const { statements } = fns[poller];
      expect(actionsOn(statements, own[poller])).toEqual(
        expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']),
      );
      expect(actionsOn(statements, own[poller])).not.toContain('sqs:SendMessage');
      const other = Object.values(notices).filter((q) => q !== own[poller]);
      expect(other).toHaveLength(1);
      for (const id of other) expect(actionsOn(statements, id)).toEqual([]);
    }
  });

  it('lets the webhook function only send to the notice queues, never touch ingest or write queues', () => {
    const { statements } = fns.webhook;
    for (const id of Object.values(notices)) {
      expect(actionsOn(statements, id)).toContain('sqs:SendMessage');
      expect(actionsOn(statements, id)).not.toContain('sqs:ReceiveMessage');
      expect(actionsOn(statements, id)).not.toContain('sqs:DeleteMessage');
    }
    for (const id of Object.values(queues)) expect(actionsOn(statements, id)).toEqual([]);
    expect(new Set(actionsOf(statements).filter((a) => a.startsWith('sqs:')))).toEqual(
      new Set(['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']),
    );
    // Reads the secret, never writes it.
    expect(actionsOf(statements)).not.toContain('secretsmanager:PutSecretValue');
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

  it('lets each writer use only its own write queue, and send (only) to ingest', () => {
    const own = { 'write-salesforce': queues.salesforce, 'write-hubspot': queues.hubspot };
    for (const writer of WRITERS) {
      const { statements } = fns[writer];
      expect(actionsOn(statements, own[writer])).toEqual(
        expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage']),
      );
      expect(actionsOn(statements, queues.ingest)).not.toContain('sqs:ReceiveMessage');
      expect(actionsOn(statements, queues.ingest)).toContain('sqs:SendMessage');
      const others = [...Object.values(queues), ...Object.values(notices)].filter(
        (q) => q !== own[writer] && q !== queues.ingest,
      );
      for (const other of others) expect(actionsOn(statements, other)).toEqual([]);
    }
  });
});

describe('dashboard', () => {
  it('is named after the stage and graphs the fieldsync EMF metrics by system', () => {
    dev.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    dev.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'fieldsync-dev' });
    prod.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'fieldsync-prod' });
    const body = dashboardBody(dev);
    for (const system of ['salesforce', 'hubspot']) {
      for (const name of PER_SYSTEM_METRICS) {
        expect(body).toContain(`["${NAMESPACE}","${name}","service","fieldsync","system","${system}",`);
      }
    }
    for (const name of SERVICE_METRICS) {
      expect(body).toContain(`["${NAMESPACE}","${name}","service","fieldsync",{`);
      expect(body).not.toContain(`"${name}","service","fieldsync","system"`);
    }
  });

  it('graphs the depth of every queue and DLQ, and Lambda errors and duration of every function', () => {
    const body = dashboardBody(dev);
    const queueIds = Object.keys(dev.findResources('AWS::SQS::Queue'));
    expect(queueIds).toHaveLength(10);
    for (const id of queueIds) {
      expect(body).toContain(
        `["AWS/SQS","ApproximateNumberOfMessagesVisible","QueueName","<${id}.QueueName>"`,
      );
    }
    for (const metric of ['Errors', 'Duration']) {
      for (const f of Object.values(fns)) {
        expect(body).toContain(`["AWS/Lambda","${metric}","FunctionName","<${f.logicalId}>"`);
      }
    }
  });
});

describe('alarms', () => {
  it('exist with or without alarmEmail; the topic and its email subscription only with it', () => {
    dev.resourceCountIs('AWS::SNS::Topic', 0);
    prod.resourceCountIs('AWS::SNS::Topic', 1);
    prod.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    // 5 DLQs + 2 systems' sync errors + 6 functions' error rate + the ingest backlog.
    for (const t of [dev, prod]) t.resourceCountIs('AWS::CloudWatch::Alarm', 14);
  });

  it('alarm on any message in each of the 5 DLQs', () => {
    for (const t of [dev, prod]) {
      t.resourcePropertiesCountIs(
        'AWS::CloudWatch::Alarm',
        {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        },
        5,
      );
    }
  });

  it('alarm on any sync error per system within 5 minutes', () => {
    for (const system of ['salesforce', 'hubspot']) {
      dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: NAMESPACE,
        MetricName: 'SyncErrors',
        Dimensions: [
          { Name: 'service', Value: 'fieldsync' },
          { Name: 'system', Value: system },
        ],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    dev.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'SyncErrors' }, 2);
  });

  it('alarm on a Lambda error rate above 5% for every function', () => {
    const rateAlarms = Object.values(
      dev.findResources('AWS::CloudWatch::Alarm', {
        Properties: {
          Metrics: Match.arrayWith([Match.objectLike({ Expression: '100 * errors / invocations' })]),
        },
      }),
    ).map((a) => RateAlarm.parse(a).Properties);
    expect(rateAlarms).toHaveLength(6);
    for (const a of rateAlarms) {
      expect(a).toMatchObject({
        Threshold: 5,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
      });
      const names = Object.fromEntries(
        a.Metrics.flatMap((q) => (q.MetricStat ? [[q.Id, q.MetricStat.Metric.MetricName]] : [])),
      );
      expect(names).toEqual({ errors: 'Errors', invocations: 'Invocations' });
    }
    const functionsCovered = new Set(
      rateAlarms.flatMap((a) =>
        a.Metrics.flatMap((q) => (q.MetricStat ? [JSON.stringify(q.MetricStat.Metric)] : [])),
      ),
    );
    for (const f of Object.values(fns)) {
      expect([...functionsCovered].some((m) => m.includes(`"Ref":"${f.logicalId}"`))).toBe(true);
    }
  });

  it('alarm when the oldest ingest message is older than 5 minutes', () => {
    dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queues.ingest, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('notify the topic with alarmEmail, and nobody without it', () => {
    const topicId = logicalIdOf(prod, 'AWS::SNS::Topic', 'FieldsyncAlarmTopic');
    const prodAlarms = Object.values(prod.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => AlarmActions.parse(a).Properties,
    );
    expect(prodAlarms).toHaveLength(14);
    for (const a of prodAlarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    const devAlarms = Object.values(dev.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => AlarmActions.parse(a).Properties,
    );
    expect(devAlarms).toHaveLength(14);
    for (const a of devAlarms) {
      expect(a.AlarmActions).toBeUndefined();
      expect(a.OKActions).toBeUndefined();
    }
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
    cmk.resourcePropertiesCountIs(
      'AWS::SQS::Queue',
      { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      10,
    );
    cmk.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    for (const file of ALL_FUNCTIONS) {
      expect(actionsOn(functionInfo(cmk, file).statements, keyId)).toContain('kms:Decrypt');
    }
    // Sending to a KMS-encrypted queue needs a data key.
    expect(actionsOn(functionInfo(cmk, 'webhook').statements, keyId)).toEqual(
      expect.arrayContaining(['kms:GenerateDataKey*']),
    );
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
