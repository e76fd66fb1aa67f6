// The cdk-nag (AWS Solutions) findings fieldsync keeps on purpose, each acknowledged on the one
// construct it concerns with the reason it stands. Everything else cdk-nag reports is fixed in the
// constructs (own function roles instead of AWSLambdaBasicExecutionRole, TLS-only queues with DLQs,
// encryption, log retention, API access logs, ...). test/cdk-nag.test.ts fails on any finding not
// acknowledged here. In cdk-nag v3 an acknowledgement is CDK's own `Validations.of(c).acknowledge()`,
// per finding (`Rule[finding]`, the v2 `appliesTo`), so a new wildcard is never covered by an old one.
import { Stack, Validations } from 'aws-cdk-lib';
import { Policy } from 'aws-cdk-lib/aws-iam';
import { CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import type { SyncFunction } from './constructs/sync-function.ts';
import type { Fieldsync } from './fieldsync.ts';

/** The reason for each acknowledged rule, by rule id (as cdk-nag names it, without the finding). */
export const NAG_REASONS = {
  'AwsSolutions-APIG4':
    'Webhook senders (HubSpot, Salesforce Outbound Messages) cannot present IAM, JWT or Lambda-authorizer ' +
    'credentials. The webhook function authenticates every request before any side effect: HubSpot v3 ' +
    'HMAC-SHA256 signatures checked in constant time with a 5-minute replay window; Salesforce by the secret ' +
    'path segment (constant time) and the organization id. The stage is throttled.',
  'AwsSolutions-IAM5[Resource::*]':
    'X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions: AWS documents `*` ' +
    'as their only resource. This policy holds those two actions and nothing else.',
  'AwsSolutions-IAM5[Resource::<fn>:*]':
    'Lambda grantInvoke names the function ARN and `<arn>:*` (its versions and aliases). The role belongs to ' +
    'one EventBridge Scheduler schedule and may invoke that one function only.',
  'AwsSolutions-IAM5[Action::kms:*]':
    'CDK grants for a table, queues and secret encrypted with the customer managed key the user passed: ' +
    'kms:GenerateDataKey* and kms:ReEncrypt* are the action families AWS documents for SQS SSE-KMS senders and ' +
    'DynamoDB customer managed keys, on that key ARN only.',
} as const;

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The cdk-nag finding id of a wildcard on the versions and aliases of `fn` (`<LogicalId.Arn>:*`). */
export function invokeWildcardFinding(fn: IFunction): string {
  const cfn = fn.node.defaultChild;
  if (!(cfn instanceof CfnFunction)) throw new Error(`${fn.node.path}: not a Lambda function resource`);
  return `AwsSolutions-IAM5[Resource::<${Stack.of(fn).getLogicalId(cfn)}.Arn>:*]`;
}

/** The actions in a role's default policy so far (what the grants above have put there). */
function defaultPolicyActions(role: IConstruct): Set<string> {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!(policy instanceof Policy)) return new Set();
  const doc = z
    .object({ Statement: z.array(z.object({ Action: z.union([z.string(), z.array(z.string())]) })) })
    .parse(Stack.of(role).resolve(policy.document));
  return new Set(doc.Statement.flatMap((st) => (typeof st.Action === 'string' ? [st.Action] : st.Action)));
}

/** Every function of `fieldsync`, sync path and scheduled jobs. */
function allFunctions(fieldsync: Fieldsync): SyncFunction[] {
  const f = fieldsync.functions;
  return [
    f.webhook,
    ...Object.values(f.pollers),
    f.ingest,
    ...Object.values(f.writers),
    f.report,
    f.reconcile,
  ];
}

/** Acknowledge the findings fieldsync keeps, each on its own construct; called by the `Fieldsync` construct. */
export function acknowledgeNagFindings(fieldsync: Fieldsync): void {
  for (const route of fieldsync.webhookApi.routes)
    acknowledge(route, 'AwsSolutions-APIG4', NAG_REASONS['AwsSolutions-APIG4']);

  for (const fn of allFunctions(fieldsync)) {
    if (fn.xrayPolicy)
      acknowledge(
        fn.xrayPolicy,
        'AwsSolutions-IAM5[Resource::*]',
        NAG_REASONS['AwsSolutions-IAM5[Resource::*]'],
      );
    // Only with the user's key, and only on the roles CDK's KMS grants gave them to.
    if (fieldsync.state.encryptionKey && fn.role) {
      const granted = defaultPolicyActions(fn.role);
      for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*'].filter((a) => granted.has(a)))
        acknowledge(
          fn.role,
          `AwsSolutions-IAM5[Action::${action}]`,
          NAG_REASONS['AwsSolutions-IAM5[Action::kms:*]'],
        );
    }
  }

  for (const { role, target } of Object.values(fieldsync.functions.scheduleRoles))
    acknowledge(role, invokeWildcardFinding(target), NAG_REASONS['AwsSolutions-IAM5[Resource::<fn>:*]']);
}
