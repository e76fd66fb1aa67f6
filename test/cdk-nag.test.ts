// cdk-nag (AWS Solutions rules) over the synthesized stacks: no finding may stand unless lib/nag.ts
// acknowledges it with a reason, and no acknowledgement may outlive its finding. Synthesized once,
// without bundling (nag reads the construct tree, not the bundles).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Fieldsync } from '../lib/fieldsync.ts';
import { FieldsyncStack } from '../lib/fieldsync-stack.ts';
import { NAG_REASONS } from '../lib/nag.ts';

const CdkJson = z.object({ context: z.record(z.string(), z.unknown()) });
const context = CdkJson.parse(
  JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')),
).context;

interface Finding {
  rule: string;
  severity: string;
  path: string;
}

/** AWS Solutions findings under `scope`; `raw` ignores every acknowledgement (what nag sees without lib/nag.ts). */
function nagFindings(scope: IConstruct, raw = false): Finding[] {
  const checks = new AwsSolutionsChecks();
  // Test-only: cdk-nag consults the acknowledgements in a private method; switching it off gives the raw findings.
  if (raw) Object.defineProperty(checks, 'isAcknowledged', { value: () => false });
  return checks.validateScope(scope).violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      severity: v.severity ?? '',
      path: r.constructPath ?? '',
    })),
  );
}

const show = (findings: Finding[]) => findings.map((f) => `${f.severity} ${f.rule} at ${f.path}`).join('\n');

/** Every acknowledgement recorded in the tree: where, which finding, and why. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: unknown }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(z.record(z.string(), z.unknown()).parse(m.data)).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

function fieldsyncStacks(app: App): void {
  new FieldsyncStack(app, 'fieldsync-dev', { stage: 'dev', pollRate: Duration.minutes(1) });
  new FieldsyncStack(app, 'fieldsync-prod', {
    stage: 'prod',
    pollRate: Duration.minutes(5),
    alarmEmail: 'ops@example.com',
    webhookBaseUrl: 'https://hooks.example.com',
  });
  // The construct in someone else's stack, with their customer managed key (rotation on: AwsSolutions-KMS5).
  const host = new Stack(app, 'host-app');
  new Fieldsync(host, 'Sync', {
    stage: 'dev',
    pollRate: Duration.minutes(1),
    encryptionKey: new Key(host, 'Key', { enableKeyRotation: true }),
    reserveReconcileConcurrency: false,
  });
}

let app: App;
let outdir: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'fieldsync-nag-'));
  // CDK's built-in CloudFormation schema check downgrades its errors to warnings and costs seconds: off.
  app = new App({
    outdir,
    builtinCloudFormationValidation: false,
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
  });
  fieldsyncStacks(app);
});

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('cdk-nag AWS Solutions checks', () => {
  it('leave no unacknowledged error or warning on the dev, prod and customer-key stacks', () => {
    const findings = nagFindings(app);
    expect(findings, `unacknowledged cdk-nag findings:\n${show(findings)}`).toEqual([]);
  });

  it('leave CDK itself nothing to warn about or report as an error on any of the stacks', () => {
    for (const stack of app.node.children.filter((c) => c instanceof Stack)) {
      const a = Annotations.fromStack(stack);
      const messages = [...a.findWarning('*', Match.anyValue()), ...a.findError('*', Match.anyValue())];
      expect(messages, JSON.stringify(messages, null, 2)).toEqual([]);
    }
  });

  it('would report these findings without lib/nag.ts, and every acknowledgement covers one of them', () => {
    const raw = nagFindings(app, true);
    const acks = acknowledgements(app);
    // Sanity: the acknowledgements do something.
    expect(raw.length).toBeGreaterThan(0);
    expect(new Set(raw.map((f) => f.rule.replace(/<[^>]+>/, '<fn>')))).toEqual(
      new Set([
        'AwsSolutions-APIG4',
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::<fn>:*]',
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      ]),
    );
    // No stale acknowledgement: each matches a raw finding on its construct or below.
    const stale = acks.filter(
      (a) => !raw.some((f) => f.rule === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`))),
    );
    expect(stale, `acknowledgements without a finding:\n${JSON.stringify(stale, null, 2)}`).toEqual([]);
    // The customer-key findings are acknowledged only where a key was given.
    expect(acks.filter((a) => a.id.includes('kms:') && !a.path.startsWith('host-app/'))).toEqual([]);
  });

  it('acknowledge each finding with its documented reason, narrowed to the finding (never a whole rule on IAM5)', () => {
    const reasons: readonly string[] = Object.values(NAG_REASONS);
    const acks = acknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(reasons).toContain(a.reason);
      if (a.id.startsWith('AwsSolutions-IAM5'))
        expect(a.id).toMatch(/^AwsSolutions-IAM5\[(Resource|Action)::.+\]$/);
    }
    for (const reason of reasons) expect(reason.length).toBeGreaterThan(80);
  });

  it('catch a new finding: an extra queue without DLQ or TLS enforcement is reported', () => {
    const other = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new FieldsyncStack(other, 'fieldsync-dev', { stage: 'dev', pollRate: Duration.minutes(1) });
    new Queue(stack, 'Extra');
    const rules = nagFindings(other).map((f) => `${f.rule} ${f.path}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        'AwsSolutions-SQS3 fieldsync-dev/Extra/Resource',
        'AwsSolutions-SQS4 fieldsync-dev/Extra/Resource',
      ]),
    );
  });

  it('run on synth as bin/cdk.ts registers them: our stacks synthesize, a new finding fails the synth', () => {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();

    const dir = mkdtempSync(join(tmpdir(), 'fieldsync-nag-bad-'));
    try {
      const bad = new App({
        outdir: dir,
        builtinCloudFormationValidation: false,
        context: { ...context, 'aws:cdk:bundling-stacks': [] },
      });
      const stack = new FieldsyncStack(bad, 'fieldsync-dev', { stage: 'dev', pollRate: Duration.minutes(1) });
      new Queue(stack, 'Extra');
      Validations.of(bad).addPlugins(new AwsSolutionsChecks(bad));
      expect(() => bad.synth()).toThrow(/AwsSolutions-SQS3|SQS queue/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(readFileSync(new URL('../bin/cdk.ts', import.meta.url), 'utf8')).toContain(
      'Validations.of(app).addPlugins(new AwsSolutionsChecks(app));',
    );
  });
});
