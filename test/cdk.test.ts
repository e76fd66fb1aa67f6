import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTEXT_KEYS, ContextError, readConfig } from '../lib/config.ts';
import { CANONICAL_ID_PLACEHOLDER, cursorLagAlarm } from '../lib/constructs/observability.ts';
import { defaultCredentialsSecretName, MAX_RECEIVE_COUNT } from '../lib/constructs/state.ts';
import { SyncFunction, TABLE_ACTIONS, XRAY_ACTIONS } from '../lib/constructs/sync-function.ts';
import {
  CONSUMER_TIMEOUT,
  JOB_TIMEOUT,
  JobRateError,
  POLLER_TIMEOUT,
  WEBHOOK_TIMEOUT,
} from '../lib/constructs/sync-functions.ts';
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
  Condition: z.unknown().optional(),
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
const ALARM_COUNT = 14 + 2 + 3 * 2;
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
const SYNC_FUNCTIONS = ['webhook', ...POLLERS, 'ingest', ...WRITERS] as const;
const JOBS = ['report', 'reconcile'] as const;
const ALL_FUNCTIONS = [...SYNC_FUNCTIONS, ...JOBS] as const;
type FunctionFile = (typeof ALL_FUNCTIONS)[number];
const WEBHOOK_BASE_URL = 'https://hooks.example.com';

let app: App;
let dev: Template;
let prod: Template;
let cmk: Template;
let fns: Record<FunctionFile, FunctionInfo>;
let queues: { ingest: string; salesforce: string; hubspot: string };
let notices: { salesforce: string; hubspot: string };
let assetDirs: Record<FunctionFile, string>;
let tableId: string;

/** What grants on the credentials secret name: its partial ARN plus the `-??????` suffix. */
const SECRET_ARN_TAIL = `:secret:${defaultCredentialsSecretName('dev')}-??????`;

/** Actions granted on the credentials secret (imported by name, so matched on its ARN, not a logical id). */
function actionsOnSecret(statements: Statement[]): string[] {
  return actionsOf(statements.filter((s) => JSON.stringify(s.Resource).includes(SECRET_ARN_TAIL)));
}

const allOf = <T>(make: (file: FunctionFile) => T): Record<FunctionFile, T> => ({
  webhook: make('webhook'),
  'poll-salesforce': make('poll-salesforce'),
  'poll-hubspot': make('poll-hubspot'),
  ingest: make('ingest'),
  'write-salesforce': make('write-salesforce'),
  'write-hubspot': make('write-hubspot'),
  report: make('report'),
  reconcile: make('reconcile'),
});

beforeAll(() => {
  // Only the dev stack bundles (real esbuild run); the others synthesize with placeholder code.
  // Without CDK's built-in CloudFormation schema check (advisory only, and seconds of CPU).
  app = new App({
    builtinCloudFormationValidation: false,
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': ['fieldsync-dev'] },
  });
  const devStack = new FieldsyncStack(app, 'fieldsync-dev', { stage: 'dev', pollRate: Duration.minutes(1) });
  const prodStack = new FieldsyncStack(app, 'fieldsync-prod', {
    stage: 'prod',
    pollRate: Duration.minutes(5),
    alarmEmail: 'ops@example.com',
    webhookBaseUrl: WEBHOOK_BASE_URL,
    reportRate: Duration.hours(12),
    reconcileRate: Duration.hours(2),
  });
  // The construct inside someone else's stack, with a customer managed key.
  const hostStack = new Stack(app, 'host-app');
  new Fieldsync(hostStack, 'Sync', {
    stage: 'dev',
    pollRate: Duration.minutes(1),
    encryptionKey: new Key(hostStack, 'Key', { enableKeyRotation: true }),
  });
  dev = Template.fromStack(devStack);
  prod = Template.fromStack(prodStack);
  cmk = Template.fromStack(hostStack);

  fns = allOf((file) => functionInfo(dev, file));
  queues = {
    ingest: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateIngestQueue'),
    salesforce: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateSalesforceWriteQueue'),
    hubspot: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateHubspotWriteQueue'),
  };
  notices = {
    salesforce: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateSalesforceNoticeQueue'),
    hubspot: logicalIdOf(dev, 'AWS::SQS::Queue', 'FieldsyncStateHubspotNoticeQueue'),
  };
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
  assetDirs = allOf(assetOf);
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

  it('defaults to dev polling every minute, a daily report, reconcile every 6 hours, without alarm email', () => {
    const config = read({});
    expect(config.stage).toBe('dev');
    expect(config.pollRate.toMinutes()).toBe(1);
    expect(config.alarmEmail).toBeUndefined();
    expect(config.webhookBaseUrl).toBeUndefined();
    expect(config.credentialsSecretName).toBe('fieldsync/dev/credentials');
    expect(config.reportRate.toHours()).toBe(24);
    expect(config.reconcileRate.toHours()).toBe(6);
    expect(config.reserveReconcileConcurrency).toBe(true);
  });

  it('reads the job rates, the secret name and the reconcile reservation from context', () => {
    const config = read({
      stage: 'prod',
      reportRateHours: '12',
      reconcileRateHours: 3,
      credentialsSecretName: 'acme/fieldsync',
      reserveReconcileConcurrency: 'false',
    });
    expect(config.reportRate.toHours()).toBe(12);
    expect(config.reconcileRate.toHours()).toBe(3);
    expect(config.credentialsSecretName).toBe('acme/fieldsync');
    expect(config.reserveReconcileConcurrency).toBe(false);
    expect(read({ stage: 'prod' }).credentialsSecretName).toBe('fieldsync/prod/credentials');
  });

  it('documents every key it reads, and cdk.json sets only known fieldsync keys', () => {
    const ours = Object.keys(cdkJson.context).filter((k) => !k.startsWith('@aws-cdk'));
    for (const key of ours) expect(CONTEXT_KEYS).toContain(key);
    expect(cdkJson.context).toMatchObject({ reportRateHours: 24, reconcileRateHours: 6 });
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
    { reportRateHours: '0' },
    { reconcileRateHours: 'often' },
    { credentialsSecretName: 'has space' },
    { reserveReconcileConcurrency: 'maybe' },
  ])('rejects %o', (context) => {
    expect(() => read(context)).toThrow(ContextError);
  });
});

describe('resources', () => {
  it('has one table, ten queues, eight functions, five SQS event sources, four schedules, one HTTP API, no secret', () => {
    dev.resourceCountIs('AWS::DynamoDB::Table', 1);
    // ingest, a write and a notice queue per system, each with its DLQ
    dev.resourceCountIs('AWS::SQS::Queue', 10);
    // The credentials secret is the user's (fieldsync secrets set), referenced by name.
    dev.resourceCountIs('AWS::SecretsManager::Secret', 0);
    // webhook, 2 pollers, ingest, 2 writers, report, reconcile
    dev.resourceCountIs('AWS::Lambda::Function', 8);
    dev.resourceCountIs('AWS::Lambda::EventSourceMapping', 5);
    // 2 pollers, report, reconcile
    dev.resourceCountIs('AWS::Scheduler::Schedule', 4);
    // one per function plus the API's access logs
    dev.resourceCountIs('AWS::Logs::LogGroup', 9);
    dev.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    dev.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    dev.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    dev.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
  });

  it('outputs the table name, queue URLs and the credentials secret name', () => {
    dev.hasOutput('TableName', { Value: { Ref: tableId } });
    dev.hasOutput('IngestQueueUrl', { Value: { Ref: queues.ingest } });
    dev.hasOutput('SalesforceWriteQueueUrl', { Value: { Ref: queues.salesforce } });
    dev.hasOutput('HubspotWriteQueueUrl', { Value: { Ref: queues.hubspot } });
    dev.hasOutput('CredentialsSecretName', {
      Value: 'fieldsync/dev/credentials',
      Description: Match.stringLikeRegexp('fieldsync secrets set <salesforce\\|hubspot> --stage dev'),
    });
    prod.hasOutput('CredentialsSecretName', { Value: 'fieldsync/prod/credentials' });
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
  });

  it('passes the credentials secret to the functions as the partial ARN of fieldsync/<stage>/credentials', () => {
    const partialArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':secret:fieldsync/dev/credentials',
        ],
      ],
    };
    for (const f of ['webhook', ...POLLERS, ...WRITERS, 'reconcile'] as const)
      expect(fns[f].env.CREDENTIALS_SECRET_ARN).toEqual(partialArn);
    expect(JSON.stringify(functionInfo(prod, 'webhook').env.CREDENTIALS_SECRET_ARN)).toContain(
      ':secret:fieldsync/prod/credentials"',
    );
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
      8,
    );
    // eight function log groups and the API's access logs
    dev.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 30 }, 9);
    prod.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Environment: { Variables: Match.objectLike({ LOG_LEVEL: 'INFO' }) } },
      8,
    );
  });

  it('are bundled as minified ESM with source maps and a createRequire banner', () => {
    expect(new Set(Object.values(assetDirs)).size).toBe(8);
    for (const dir of Object.values(assetDirs)) {
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(bundle.startsWith("import { createRequire } from 'node:module';")).toBe(true);
      expect(bundle).toMatch(/sourceMappingURL=index\.mjs\.map/);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    }
  });

  it('keep SaaS clients out of the webhook bundle', () => {
    const SourceMap = z.object({ sources: z.array(z.string()) });
    const contents = (file: FunctionFile) => {
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
    // The report reads the table only; reconcile reads both systems.
    const report = contents('report');
    expect(report.jsforce || report.hubspot).toBe(false);
    const reconcile = contents('reconcile');
    expect(reconcile.jsforce && reconcile.hubspot).toBe(true);
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
    const secretRef = fns.webhook.env.CREDENTIALS_SECRET_ARN;
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
    // The report reads the table; reconcile reads the systems and queues repairs to ingest, like a poller.
    expect(keys(fns.report)).toEqual(['REPORT_PERIOD_HOURS', 'TABLE_NAME']);
    // The report covers the time since the previous run: 24 hours daily, 12 with prod's reportRate here.
    expect(fns.report.env.REPORT_PERIOD_HOURS).toBe('24');
    expect(functionInfo(prod, 'report').env.REPORT_PERIOD_HOURS).toBe('12');
    expect(keys(fns.reconcile)).toEqual(['CREDENTIALS_SECRET_ARN', 'INGEST_QUEUE_URL', 'TABLE_NAME']);
    expect(fns.reconcile.env).toMatchObject({
      TABLE_NAME: tableRef,
      INGEST_QUEUE_URL: { Ref: queues.ingest },
      CREDENTIALS_SECRET_ARN: secretRef,
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

  it('batch ingest 10 messages per invocation with no batching window, without a concurrency cap', () => {
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...mappingFor('ingest'),
      EventSourceArn: { 'Fn::GetAtt': [queues.ingest, 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: Match.absent(),
    });
  });

  it('feed writers 10 messages (thousands of ids) at once, no batching window, at most 2 at once', () => {
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...mappingFor('write-salesforce'),
      EventSourceArn: { 'Fn::GetAtt': [queues.salesforce, 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ...mappingFor('write-hubspot'),
      EventSourceArn: { 'Fn::GetAtt': [queues.hubspot, 'Arn'] },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: Match.absent(),
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });
});

describe('notice queues', () => {
  it('feed each poller from its own notice queue: 10 messages per invocation at once, partial batch responses', () => {
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
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: Match.absent(),
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

  it('run the report daily and reconcile every 6 hours by default, without retries, at the configured rates', () => {
    for (const [job, rate] of [
      ['report', 'rate(1 day)'],
      ['reconcile', 'rate(6 hours)'],
    ] as const) {
      dev.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: rate,
        State: 'ENABLED',
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [fns[job].logicalId, 'Arn'] },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 0 }),
        }),
      });
    }
    // prod: reportRate 12 hours, reconcileRate 2 hours (beforeAll).
    for (const [job, rate] of [
      ['report', 'rate(12 hours)'],
      ['reconcile', 'rate(2 hours)'],
    ] as const) {
      prod.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: rate,
        Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [functionInfo(prod, job).logicalId, 'Arn'] } }),
      });
    }
  });

  it('give each schedule its own role, assumable by the scheduler of this account only, that invokes its target only', () => {
    const schedules = Object.values(dev.findResources('AWS::Scheduler::Schedule')).map((s) =>
      z.object({ Properties: z.object({ Target: z.object({ Arn: GetAtt, RoleArn: GetAtt }) }) }).parse(s),
    );
    expect(schedules).toHaveLength(4);
    const roles = dev.findResources('AWS::IAM::Role');
    const policies = Object.values(dev.findResources('AWS::IAM::Policy')).map(
      (p) => Policy.parse(p).Properties,
    );
    const targets = new Set<string>();
    for (const schedule of schedules) {
      const target = schedule.Properties.Target.Arn['Fn::GetAtt'][0];
      const roleId = schedule.Properties.Target.RoleArn['Fn::GetAtt'][0];
      targets.add(target);
      expect(roles[roleId]).toMatchObject({
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: [
              {
                Action: 'sts:AssumeRole',
                Principal: { Service: 'scheduler.amazonaws.com' },
                Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
              },
            ],
          },
        },
      });
      const statements = policies
        .filter((p) => p.Roles.some((r) => r.Ref === roleId))
        .flatMap((p) => p.PolicyDocument.Statement);
      expect(new Set(actionsOf(statements))).toEqual(new Set(['lambda:InvokeFunction']));
      const resources = JSON.stringify(statements.map((st) => st.Resource));
      expect(resources).toContain(`"${target}"`);
      for (const other of Object.values(fns).filter((f) => f.logicalId !== target))
        expect(resources).not.toContain(`"${other.logicalId}"`);
    }
    expect(targets).toEqual(new Set([...POLLERS, ...JOBS].map((f) => fns[f].logicalId)));
  });
});

describe('scheduled jobs', () => {
  it('run up to 15 minutes each, with no Lambda retries of a failed run', () => {
    for (const job of JOBS) {
      expect(fns[job].timeout).toBe(JOB_TIMEOUT.toSeconds());
      dev.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fns[job].logicalId },
        MaximumRetryAttempts: 0,
      });
    }
    expect(JOB_TIMEOUT.toMinutes()).toBe(15);
  });

  it('reserve exactly one concurrent execution for reconcile (SaaS rate limits), unless told not to', () => {
    dev.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'fieldsync reconcile',
      ReservedConcurrentExecutions: 1,
    });
    dev.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { ReservedConcurrentExecutions: Match.anyValue() },
      1,
    );
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'unreserved');
    new Fieldsync(stack, 'F', {
      stage: 'dev',
      pollRate: Duration.minutes(1),
      reserveReconcileConcurrency: false,
    });
    Template.fromStack(stack).resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { ReservedConcurrentExecutions: Match.anyValue() },
      0,
    );
  });

  it('refuse job rates under an hour or not in whole minutes', () => {
    const make = (props: { reportRate?: Duration; reconcileRate?: Duration }) => () =>
      new Fieldsync(new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'bad'), 'F', {
        stage: 'dev',
        pollRate: Duration.minutes(1),
        ...props,
      });
    expect(make({ reconcileRate: Duration.minutes(30) })).toThrow(JobRateError);
    expect(make({ reportRate: Duration.seconds(3630) })).toThrow(/reportRate must be whole minutes/);
  });
});

describe('IAM least privilege', () => {
  it('grants no wildcard actions to any function, and resource * only for X-Ray', () => {
    for (const f of Object.values(fns)) {
      expect(actionsOf(f.statements).filter((a) => a.includes('*'))).toEqual([]);
      for (const s of f.statements.filter((st) => st.Resource === '*')) {
        expect(actionsOf([s]).every((a) => a.startsWith('xray:'))).toBe(true);
      }
    }
  });

  it('grants item-level table access only on the sync path: no Scan, no streams, no table admin', () => {
    for (const f of SYNC_FUNCTIONS) {
      expect(new Set(actionsOn(fns[f].statements, tableId))).toEqual(new Set(TABLE_ACTIONS.readWrite));
    }
  });

  it('adds Scan for the report (reads only) and reconcile (which also audits drift), and for no other function', () => {
    expect(new Set(actionsOn(fns.report.statements, tableId))).toEqual(
      new Set([...TABLE_ACTIONS.read, 'dynamodb:Scan']),
    );
    expect(new Set(actionsOn(fns.reconcile.statements, tableId))).toEqual(
      new Set([...TABLE_ACTIONS.readWrite, 'dynamodb:Scan']),
    );
    expect(new Set(TABLE_ACTIONS.readWithScan)).toEqual(new Set([...TABLE_ACTIONS.read, 'dynamodb:Scan']));
    const scanners = ALL_FUNCTIONS.filter((f) => actionsOf(fns[f].statements).includes('dynamodb:Scan'));
    expect(scanners).toEqual(['report', 'reconcile']);
  });

  it('never grants a `*` action on the table or any queue, to any function, with or without a customer key', () => {
    for (const template of [dev, prod, cmk]) {
      const ids = [
        ...Object.keys(template.findResources('AWS::DynamoDB::Table')),
        ...Object.keys(template.findResources('AWS::SQS::Queue')),
      ];
      expect(ids).toHaveLength(11);
      for (const file of ALL_FUNCTIONS) {
        const { statements } = functionInfo(template, file);
        for (const id of ids) expect(actionsOn(statements, id).filter((a) => a.includes('*'))).toEqual([]);
      }
    }
  });

  it('keeps ingest and the report away from the credentials secret, and lets the webhook function only read it', () => {
    for (const f of ['ingest', 'report'] as const) {
      expect(actionsOnSecret(fns[f].statements)).toEqual([]);
      expect(actionsOf(fns[f].statements).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    }
    expect(actionsOnSecret(fns.webhook.statements).sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('lets pollers, writers and reconcile put refreshed tokens (PutSecretValue only, never UpdateSecret) into the credentials secret alone', () => {
    for (const f of [...POLLERS, ...WRITERS, 'reconcile'] as const) {
      const { statements } = fns[f];
      expect(actionsOnSecret(statements).sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
      ]);
      // Every secretsmanager: action is on the credentials secret alone.
      const secretStatements = statements.filter((st) =>
        actionsOf([st]).some((a) => a.startsWith('secretsmanager:')),
      );
      expect(secretStatements.length).toBeGreaterThan(0);
      for (const st of secretStatements) {
        expect(JSON.stringify(st.Resource)).toContain(SECRET_ARN_TAIL);
        expect(JSON.stringify(st.Resource).match(/:secret:/g)).toHaveLength(1);
      }
    }
    for (const f of ALL_FUNCTIONS)
      expect(actionsOf(fns[f].statements)).not.toContain('secretsmanager:UpdateSecret');
    for (const f of ['webhook', 'ingest', 'report'] as const)
      expect(actionsOf(fns[f].statements)).not.toContain('secretsmanager:PutSecretValue');
  });

  it('with a customer managed key, lets secret readers decrypt and token writers also generate data keys, through Secrets Manager only', () => {
    const keyId = logicalIdOf(cmk, 'AWS::KMS::Key', 'Key');
    const viaSecretsManager = <S extends Statement>(statements: S[]): S[] =>
      statements.filter((st) => JSON.stringify(st.Condition ?? {}).includes('"kms:ViaService":{"Fn::Join"'));
    // Writing a new secret version under the key: in the function's own policy.
    for (const f of [...POLLERS, ...WRITERS, 'reconcile'] as const) {
      const st = viaSecretsManager(functionInfo(cmk, f).statements);
      expect(actionsOf(st)).toEqual(['kms:GenerateDataKey']);
      for (const s of st) expect(s.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    for (const f of ['webhook', 'ingest', 'report'] as const)
      expect(viaSecretsManager(functionInfo(cmk, f).statements)).toEqual([]);
    // Reading it (CDK's grantRead): kms:Decrypt in the key policy, for the roles that read the secret.
    const KeyPolicy = z.object({
      Properties: z.object({
        KeyPolicy: z.object({
          Statement: z.array(Statement.extend({ Principal: z.unknown().optional() })),
        }),
      }),
    });
    const keyPolicy = KeyPolicy.parse(cmk.findResources('AWS::KMS::Key')[keyId]).Properties.KeyPolicy
      .Statement;
    const decryptors = viaSecretsManager(keyPolicy).map((st) => {
      expect(actionsOf([st])).toEqual(['kms:Decrypt']);
      return JSON.stringify(st.Principal);
    });
    // (minimizePolicies merges them into one statement with several principals)
    const principals = decryptors.join(' ');
    for (const f of ['webhook', ...POLLERS, ...WRITERS, 'reconcile'] as const)
      expect(principals).toContain(`"${functionInfo(cmk, f).roleId}"`);
    for (const f of ['ingest', 'report'] as const)
      expect(principals).not.toContain(`"${functionInfo(cmk, f).roleId}"`);
  });

  it('give every function its own role without managed policies, writing logs to its own log group only', () => {
    const roles = dev.findResources('AWS::IAM::Role');
    for (const f of ALL_FUNCTIONS) {
      const { roleId, statements } = fns[f];
      expect(roles[roleId]).toMatchObject({
        Properties: {
          AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] },
        },
      });
      expect(roles[roleId]).not.toMatchObject({ Properties: { ManagedPolicyArns: Match.anyValue() } });
      const raw = dev.findResources('AWS::Lambda::Function')[fns[f].logicalId];
      const logGroup = z
        .object({ Properties: z.object({ LoggingConfig: z.object({ LogGroup: Ref }) }) })
        .parse(raw).Properties.LoggingConfig.LogGroup.Ref;
      const logStatements = statements.filter((st) => actionsOf([st]).some((a) => a.startsWith('logs:')));
      expect(new Set(actionsOf(logStatements))).toEqual(
        new Set(['logs:CreateLogStream', 'logs:PutLogEvents']),
      );
      for (const st of logStatements) expect(st.Resource).toEqual({ 'Fn::GetAtt': [logGroup, 'Arn'] });
    }
  });

  it('keeps the X-Ray permissions in a policy of their own, the only statement on resource `*`', () => {
    const xrayOnly = [{ Effect: 'Allow', Action: [...XRAY_ACTIONS].sort(), Resource: '*' }];
    const sorted = (statements: Statement[]) =>
      statements.map((st) => ({ Effect: st.Effect, Action: actionsOf([st]).sort(), Resource: st.Resource }));
    const xray = Object.entries(dev.findResources('AWS::IAM::Policy')).filter(([id]) => id.includes('XRay'));
    expect(xray).toHaveLength(8);
    for (const [, p] of xray)
      expect(sorted(Policy.parse(p).Properties.PolicyDocument.Statement)).toEqual(xrayOnly);
    for (const f of ALL_FUNCTIONS)
      expect(sorted(fns[f].statements.filter((st) => st.Resource === '*'))).toEqual(xrayOnly);
  });

  it('lets reconcile only send to the ingest queue, never touch the write or notice queues', () => {
    const { statements } = fns.reconcile;
    expect(actionsOn(statements, queues.ingest)).toContain('sqs:SendMessage');
    expect(actionsOn(statements, queues.ingest)).not.toContain('sqs:ReceiveMessage');
    expect(actionsOn(statements, queues.ingest)).not.toContain('sqs:DeleteMessage');
    for (const id of [queues.salesforce, queues.hubspot, ...Object.values(notices)])
      expect(actionsOn(statements, id)).toEqual([]);
    expect(new Set(actionsOf(statements).filter((a) => a.startsWith('sqs:')))).toEqual(
      new Set(['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl']),
    );
    expect(actionsOf(fns.report.statements).filter((a) => a.startsWith('sqs:'))).toEqual([]);
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

  it('graphs echoes suppressed, cursor lag, API budget left, end-to-end lag p50/p99, drift and repairs', () => {
    const body = dashboardBody(dev);
    const metric = (name: string, system?: string) =>
      system
        ? `["${NAMESPACE}","${name}","service","fieldsync","system","${system}",`
        : `["${NAMESPACE}","${name}","service","fieldsync",{`;
    expect(body).toContain(metric('EchoesSuppressed'));
    expect(body).not.toContain('"EchoesSuppressed","service","fieldsync","system"');
    for (const system of ['salesforce', 'hubspot']) {
      expect(body).toContain(
        `${metric('CursorLagSeconds', system)}{"label":"CursorLagSeconds ${system}","stat":"Maximum"}`,
      );
      expect(body).toContain(
        `${metric('ApiBudgetLeftPercent', system)}{"label":"ApiBudgetLeftPercent ${system}","stat":"Minimum"}`,
      );
      for (const stat of ['p50', 'p99'])
        expect(body).toContain(
          `${metric('EndToEndLagMs', system)}{"label":"${system} ${stat}","stat":"${stat}"}`,
        );
      expect(body).toContain(metric('DriftFound', system));
      expect(body).toContain(metric('RepairsQueued', system));
    }
    // The alarm thresholds drawn on the lag and budget graphs.
    expect(body).toContain('"annotations":{"horizontal":[{"value":900,"label":"alarm","yAxis":"left"}]}');
    expect(body).toContain('"annotations":{"horizontal":[{"value":10,"label":"alarm","yAxis":"left"}]}');
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
    // 5 DLQs + 2 systems' sync errors + 6 sync functions' error rate + the ingest backlog
    // + 2 failed-job alarms + per system: cursor lag, API budget, drift.
    for (const t of [dev, prod]) t.resourceCountIs('AWS::CloudWatch::Alarm', ALARM_COUNT);
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
    for (const f of SYNC_FUNCTIONS) {
      expect([...functionsCovered].some((m) => m.includes(`"Ref":"${fns[f].logicalId}"`))).toBe(true);
    }
  });

  it('alarm on any failed report or reconcile run (one run a day or a few: a rate over periods would never fire)', () => {
    for (const job of JOBS) {
      dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fns[job].logicalId } }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    dev.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Errors' }, 2);
  });

  it('alarm when a cursor trails by over 15 minutes for 3 periods, or its poller stops reporting', () => {
    for (const system of ['salesforce', 'hubspot']) {
      dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: NAMESPACE,
        MetricName: 'CursorLagSeconds',
        Dimensions: [
          { Name: 'service', Value: 'fieldsync' },
          { Name: 'system', Value: system },
        ],
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 3,
        Threshold: 900,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
      });
    }
    // Polling every 5 minutes (prod here): still 15 minutes, periods of 2 intervals so each holds a point.
    prod.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'CursorLagSeconds', Threshold: 900, Period: 600, EvaluationPeriods: 3 },
      2,
    );
    expect(cursorLagAlarm(Duration.minutes(30))).toEqual({
      threshold: Duration.minutes(90),
      period: Duration.minutes(60),
    });
  });

  it('alarm when the minimum API budget left stays under 10 % for 3 periods', () => {
    for (const system of ['salesforce', 'hubspot']) {
      dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: NAMESPACE,
        MetricName: 'ApiBudgetLeftPercent',
        Dimensions: [
          { Name: 'service', Value: 'fieldsync' },
          { Name: 'system', Value: system },
        ],
        Statistic: 'Minimum',
        Period: 300,
        EvaluationPeriods: 3,
        Threshold: 10,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    dev.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ApiBudgetLeftPercent' }, 2);
  });

  it('alarm (informational) on any drift reconcile found, per system, over an hour', () => {
    for (const system of ['salesforce', 'hubspot']) {
      dev.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmDescription: Match.stringLikeRegexp('^fieldsync \\(informational\\)'),
        Namespace: NAMESPACE,
        MetricName: 'DriftFound',
        Dimensions: [
          { Name: 'service', Value: 'fieldsync' },
          { Name: 'system', Value: system },
        ],
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
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
    expect(prodAlarms).toHaveLength(ALARM_COUNT);
    for (const a of prodAlarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    const devAlarms = Object.values(dev.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => AlarmActions.parse(a).Properties,
    );
    expect(devAlarms).toHaveLength(ALARM_COUNT);
    for (const a of devAlarms) {
      expect(a.AlarmActions).toBeUndefined();
      expect(a.OKActions).toBeUndefined();
    }
  });
});

describe('Logs Insights saved queries', () => {
  const QueryDefinition = z.object({
    Properties: z.object({
      Name: z.string(),
      QueryString: z.string(),
      LogGroupNames: z.array(Ref),
    }),
  });
  const queries = (template: Template) =>
    Object.values(template.findResources('AWS::Logs::QueryDefinition')).map(
      (q) => QueryDefinition.parse(q).Properties,
    );
  const functionLogGroups = () =>
    new Set(
      ALL_FUNCTIONS.map(
        (f) =>
          z
            .object({ Properties: z.object({ LoggingConfig: z.object({ LogGroup: Ref }) }) })
            .parse(dev.findResources('AWS::Lambda::Function')[fns[f].logicalId]).Properties.LoggingConfig
            .LogGroup.Ref,
      ),
    );

  it('are two, per stage, over the log groups of all eight functions', () => {
    dev.resourceCountIs('AWS::Logs::QueryDefinition', 2);
    for (const q of queries(dev)) {
      expect(q.Name.startsWith('fieldsync-dev/')).toBe(true);
      // CloudFormation refuses ':' and '*' in query names.
      expect(q.Name).not.toMatch(/[:*]/);
      expect(new Set(q.LogGroupNames.map((r) => r.Ref))).toEqual(functionLogGroups());
    }
    expect(queries(prod).every((q) => q.Name.startsWith('fieldsync-prod/'))).toBe(true);
  });

  it('save "history of one record": decision and error lines of one canonicalId (a placeholder to replace), by @timestamp', () => {
    const q = queries(dev).find((x) => x.Name.includes('History of one record'));
    expect(q?.Name).toBe(`fieldsync-dev/History of one record (replace ${CANONICAL_ID_PLACEHOLDER})`);
    const lines = (q?.QueryString ?? '').split('\n');
    // Comment lines first (Logs Insights ignores `#` lines), telling the user what to replace.
    expect(lines[0]).toMatch(new RegExp(`^# .*replace ${CANONICAL_ID_PLACEHOLDER}`));
    const query = lines.filter((l) => !l.startsWith('#'));
    expect(query).toEqual([
      'fields @timestamp, message, object, field, reason, source, system, recordId, vendorCode',
      `| filter canonicalId = '${CANONICAL_ID_PLACEHOLDER}'`,
      '| sort @timestamp asc',
      '| limit 10000',
    ]);
  });

  it('save "errors by vendor code": sync error lines counted by system and vendorCode', () => {
    const q = queries(dev).find((x) => x.Name === 'fieldsync-dev/Errors by vendor code');
    const query = (q?.QueryString ?? '').split('\n').filter((l) => !l.startsWith('#'));
    expect(query).toEqual([
      "filter message = 'sync error'",
      '| stats count(*) as errors by system, vendorCode',
      '| sort errors desc',
    ]);
  });
});

describe('Fieldsync construct with a customer managed key', () => {
  it('encrypts table and queues with the key and grants the functions its use', () => {
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
