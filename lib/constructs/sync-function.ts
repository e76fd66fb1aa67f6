import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * `read`/`readWrite`: item-level access by key, for the sync path. `readWithScan`/`readWriteWithScan`
 * add Scan, for the scheduled jobs that walk the whole table (report, reconcile) and nothing else.
 */
export type TableAccess = 'read' | 'readWrite' | 'readWithScan' | 'readWriteWithScan';
export type QueueAccess = 'send' | 'consume';
export type SecretAccess = 'read' | 'readWrite';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

// Only what binding needs. Narrower than ITable/ISecret on purpose: under
// exactOptionalPropertyTypes the concrete Table and Secret classes are not assignable to them.
export interface BindableTable extends Pick<ITable, 'tableName' | 'grant'> {
  readonly encryptionKey?: IKey | undefined;
}
export interface BindableSecret extends Pick<ISecret, 'secretArn' | 'secretFullArn' | 'grantRead'> {
  readonly encryptionKey?: IKey | undefined;
}

/** How an SQS event source batches messages into one invocation. */
export interface SqsBatching {
  readonly batchSize: number;
  readonly maxBatchingWindow?: Duration;
  /** Caps concurrent invocations from this queue (2..1000); protects SaaS rate limits. */
  readonly maxConcurrency?: number;
}

/** Every defaulted prop stays overridable; `entry` is required (a file under `functions/`). */
export interface SyncFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'logGroup'> {
  readonly entry: string;
  readonly logLevel?: LogLevel;
  readonly logRetention?: RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
}

export const SERVICE_NAME = 'fieldsync';
/** CloudWatch namespace of the EMF metrics (POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = SERVICE_NAME;

/**
 * Item-level DynamoDB actions, narrower than grantReadData/grantReadWriteData: no Scan (the
 * sync path reads by key), no stream reads (the table has no stream), no DescribeTable.
 */
const TABLE_READ = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
];
const TABLE_WRITE = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];
export const TABLE_ACTIONS: Readonly<Record<TableAccess, readonly string[]>> = {
  read: TABLE_READ,
  readWrite: [...TABLE_READ, ...TABLE_WRITE],
  readWithScan: [...TABLE_READ, 'dynamodb:Scan'],
  readWriteWithScan: [...TABLE_READ, 'dynamodb:Scan', ...TABLE_WRITE],
};

/** X-Ray's write actions have no resource-level permissions: they take only `*` (own policy, see `xrayPolicy`). */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'] as const;

/**
 * What writing refreshed tokens back to a secret needs: a new secret version, and nothing else
 * (`grantWrite` would add secretsmanager:UpdateSecret, which can change the secret's key and description).
 */
export const SECRET_WRITE_ACTIONS = ['secretsmanager:PutSecretValue'] as const;

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `NodejsFunction` with fieldsync's defaults: Node.js 24 on ARM64, a minified ESM bundle
 * with source maps, X-Ray tracing, a log group with retention, Powertools env. The `bind*`
 * helpers grant the least IAM a use needs and set the env var the handler reads, in one call.
 */
export class SyncFunction extends NodejsFunction {
  /**
   * The X-Ray write permissions (resource `*`), in a policy of their own so the cdk-nag finding
   * they raise is acknowledged on them alone (lib/nag.ts). Absent when tracing is off or the
   * caller passed its own `role`.
   */
  readonly xrayPolicy: Policy | undefined;

  constructor(scope: Construct, id: string, props: SyncFunctionProps) {
    const {
      logLevel = 'INFO',
      logRetention = RetentionDays.ONE_MONTH,
      logRemovalPolicy = RemovalPolicy.DESTROY,
      tracing = Tracing.ACTIVE,
      bundling,
      environment,
      role: givenRole,
      ...rest
    } = props;
    // A log group we own (not the deprecated `logRetention`, which adds a custom-resource
    // Lambda). It is a sibling because `this` is unavailable before super().
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention,
      removalPolicy: logRemovalPolicy,
    });
    // Our own role instead of the default one with AWSLambdaBasicExecutionRole, which may create
    // any log group and write to every log group in the account: this one writes to its own only.
    const role =
      givenRole ??
      new Role(scope, `${id}Role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `fieldsync ${id} function`,
      });
    if (givenRole === undefined) logGroup.grantWrite(role);
    const xrayPolicy =
      givenRole === undefined && tracing === Tracing.ACTIVE
        ? new Policy(scope, `${id}XRay`, {
            roles: [role],
            statements: [new PolicyStatement({ actions: [...XRAY_ACTIONS], resources: ['*'] })],
          })
        : undefined;
    super(scope, id, {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(30),
      // With our role, tracing is set on the resource below and its IAM is `xrayPolicy`.
      ...(xrayPolicy ? {} : { tracing }),
      role,
      logGroup,
      projectRoot: repoRoot,
      depsLockFilePath: `${repoRoot}package-lock.json`,
      ...rest,
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        target: 'node24',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundled, not taken from the runtime: the version tested locally is the one deployed,
        // and tree-shaken ESM clients load faster than the runtime's full copy.
        bundleAwsSDK: true,
        // CJS dependencies call require(); an ESM bundle has none unless we define it.
        banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
        ...bundling,
      },
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
    });
    this.xrayPolicy = xrayPolicy;
    if (xrayPolicy) {
      const cfn = this.node.defaultChild;
      if (!(cfn instanceof CfnFunction)) throw new Error(`SyncFunction ${id}: no CfnFunction to trace`);
      cfn.tracingConfig = { mode: Tracing.ACTIVE };
      // The function must not start before it may send traces.
      cfn.node.addDependency(xrayPolicy);
    }
  }

  /** Grants the `access` level's actions on `table` and sets `envName` (TABLE_NAME) to its name. */
  bindTable(table: BindableTable, access: TableAccess, envName = 'TABLE_NAME'): this {
    table.grant(this, ...TABLE_ACTIONS[access]);
    // grant() covers the table only; a customer managed key needs its own grant.
    if (access === 'read' || access === 'readWithScan') table.encryptionKey?.grantDecrypt(this);
    else table.encryptionKey?.grantEncryptDecrypt(this);
    this.addEnvironment(envName, table.tableName);
    return this;
  }

  /** Grants send or consume on `queue` and sets `envName` to its URL. */
  bindQueue(queue: IQueue, access: QueueAccess, envName: string): this {
    if (access === 'send') queue.grantSendMessages(this);
    else queue.grantConsumeMessages(this);
    this.addEnvironment(envName, queue.queueUrl);
    return this;
  }

  /**
   * Grants read (GetSecretValue, DescribeSecret, and kms:Decrypt through Secrets Manager with a
   * customer managed key) or, with `readWrite`, also PutSecretValue to store refreshed tokens (and
   * kms:GenerateDataKey through Secrets Manager, which a new version under a customer key needs).
   * Sets `envName` to the ARN.
   */
  bindSecret(secret: BindableSecret, access: SecretAccess, envName = 'CREDENTIALS_SECRET_ARN'): this {
    secret.grantRead(this);
    if (access === 'readWrite') {
      // As grantRead does: a secret known by name or partial ARN matches its versions' `-??????` suffix.
      const arn = secret.secretFullArn ?? `${secret.secretArn}-??????`;
      Grant.addToPrincipal({ grantee: this, actions: [...SECRET_WRITE_ACTIONS], resourceArns: [arn] });
      if (secret.encryptionKey)
        Grant.addToPrincipal({
          grantee: this,
          actions: ['kms:GenerateDataKey'],
          resourceArns: [secret.encryptionKey.keyArn],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
          },
        });
    }
    this.addEnvironment(envName, secret.secretArn);
    return this;
  }

  /**
   * Consumes `queue` as an event source with partial batch responses, so one failed record
   * is retried alone instead of its whole batch. The event source grants consume IAM.
   */
  consumeQueue(queue: IQueue, batching: SqsBatching): this {
    this.addEventSource(new SqsEventSource(queue, { ...batching, reportBatchItemFailures: true }));
    return this;
  }
}
