#!/usr/bin/env node
import { App, Tags } from 'aws-cdk-lib';
import { readConfig } from '../lib/config.ts';
import { FieldsyncStack } from '../lib/fieldsync-stack.ts';

const app = new App();
const config = readConfig(app.node);

// Environment-agnostic (no `env`): synth needs no AWS credentials; deploy takes the CLI's account.
const stack = new FieldsyncStack(app, `fieldsync-${config.stage}`, {
  ...config,
  description: `fieldsync (${config.stage}): two-way field-level sync between Salesforce and HubSpot`,
});
Tags.of(stack).add('project', 'fieldsync');
Tags.of(stack).add('stage', config.stage);
