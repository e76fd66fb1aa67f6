// The synthesized templates, normalized and kept in test/__snapshots__/: a change to the infrastructure
// shows up as a reviewable diff. Asset hashes (they change with every bundle) are replaced, so the
// snapshot is the same on every machine and after code changes that only alter bundle contents.
// Update after an intended change: npx vitest run test/cdk-snapshot.test.ts -u
import { readFileSync } from 'node:fs';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FieldsyncStack } from '../lib/fieldsync-stack.ts';

const CdkJson = z.object({ context: z.record(z.string(), z.unknown()) });
const context = CdkJson.parse(
  JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')),
).context;

/** An asset's content hash (sha256, hex): in S3 keys, asset metadata and asset paths. */
const ASSET_HASH = /\b[0-9a-f]{64}\b/g;

/**
 * The template with everything that depends on bundle contents or the machine replaced:
 * asset hashes (Code.S3Key `<hash>.zip`, `aws:asset:*` metadata) and the CDK path metadata
 * (present when the CLI enables it). Keys are kept in their order; nothing else changes.
 */
function normalizeTemplate(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(ASSET_HASH, '<asset-hash>');
  if (Array.isArray(value)) return value.map(normalizeTemplate);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'aws:cdk:path' && k !== 'aws:asset:path' && k !== 'aws:asset:property')
        .map(([k, v]) => [k, normalizeTemplate(v)]),
    );
  }
  return value;
}

function synthesize(): { dev: unknown; prod: unknown } {
  // Bundling off: the snapshot is about the infrastructure, and the hashes are replaced anyway.
  // Without the built-in CloudFormation schema check (advisory only, seconds of CPU).
  const app = new App({
    builtinCloudFormationValidation: false,
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
  });
  const dev = new FieldsyncStack(app, 'fieldsync-dev', { stage: 'dev', pollRate: Duration.minutes(1) });
  const prod = new FieldsyncStack(app, 'fieldsync-prod', {
    stage: 'prod',
    pollRate: Duration.minutes(1),
    alarmEmail: 'ops@example.com',
  });
  return {
    dev: normalizeTemplate(Template.fromStack(dev).toJSON()),
    prod: normalizeTemplate(Template.fromStack(prod).toJSON()),
  };
}

let templates: { dev: unknown; prod: unknown };

beforeAll(() => {
  templates = synthesize();
});

describe('normalized template snapshots', () => {
  it('fieldsync-dev', async () => {
    await expect(`${JSON.stringify(templates.dev, null, 2)}\n`).toMatchFileSnapshot(
      '__snapshots__/fieldsync-dev.template.json',
    );
  });

  it('fieldsync-prod', async () => {
    await expect(`${JSON.stringify(templates.prod, null, 2)}\n`).toMatchFileSnapshot(
      '__snapshots__/fieldsync-prod.template.json',
    );
  });

  it('hold no asset hash and no path of this machine', () => {
    const text = JSON.stringify(templates);
    expect(text).not.toMatch(ASSET_HASH);
    expect(text).not.toContain(process.cwd());
    expect(text).toContain('"S3Key":"<asset-hash>.zip"');
  });

  it('are the same for bundles with other contents: only the asset hashes differ, and they are replaced', () => {
    const lambda = (hash: string) => ({
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: { Code: { S3Bucket: 'assets', S3Key: `${hash}.zip` } },
          Metadata: {
            'aws:asset:path': `asset.${hash}`,
            'aws:asset:is-bundled': true,
            'aws:cdk:path': 'x/Fn',
          },
        },
      },
    });
    const a = normalizeTemplate(lambda('a'.repeat(64)));
    expect(a).toEqual(normalizeTemplate(lambda(`${'0'.repeat(63)}f`)));
    expect(a).toEqual({
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: { Code: { S3Bucket: 'assets', S3Key: '<asset-hash>.zip' } },
          Metadata: { 'aws:asset:is-bundled': true },
        },
      },
    });
  });

  it('come out the same from a second synthesis', () => {
    expect(synthesize()).toEqual(templates);
  });
});
