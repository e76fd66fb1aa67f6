import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { isStage, type Stage } from './constructs/systems.ts';

export interface AppConfig {
  readonly stage: Stage;
  readonly pollRate: Duration;
  readonly alarmEmail?: string;
  readonly webhookBaseUrl?: string;
}

export class ContextError extends Error {
  override name = 'ContextError';
}

/**
 * Reads `stage`, `pollRateMinutes`, `alarmEmail` and `webhookBaseUrl` from CDK context (cdk.json or `-c key=value`;
 * values from the command line arrive as strings) and fails synth on a bad value.
 */
export function readConfig(node: Node): AppConfig {
  const stage: unknown = node.tryGetContext('stage') ?? 'dev';
  if (!isStage(stage)) throw new ContextError(`context stage must be 'dev' or 'prod', got ${String(stage)}`);

  const rawRate: unknown = node.tryGetContext('pollRateMinutes') ?? 1;
  const minutes = typeof rawRate === 'string' ? Number(rawRate) : rawRate;
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1) {
    throw new ContextError(`context pollRateMinutes must be a whole number >= 1, got ${String(rawRate)}`);
  }

  const alarmEmail: unknown = node.tryGetContext('alarmEmail');
  if (alarmEmail !== undefined && alarmEmail !== '' && typeof alarmEmail !== 'string') {
    throw new ContextError('context alarmEmail must be a string');
  }

  // A custom domain in front of the webhook API: HubSpot signs the URL it called, so the webhook
  // function must know it. https only (SaaS senders require it); no query or fragment.
  const webhookBaseUrl: unknown = node.tryGetContext('webhookBaseUrl');
  if (webhookBaseUrl !== undefined && webhookBaseUrl !== '' && !isHttpsBaseUrl(webhookBaseUrl)) {
    throw new ContextError(
      `context webhookBaseUrl must be an https URL such as https://hooks.example.com, got ${String(webhookBaseUrl)}`,
    );
  }
  return {
    stage,
    pollRate: Duration.minutes(minutes),
    ...(typeof alarmEmail === 'string' && alarmEmail !== '' ? { alarmEmail } : {}),
    ...(typeof webhookBaseUrl === 'string' && webhookBaseUrl !== ''
      ? { webhookBaseUrl: webhookBaseUrl.replace(/\/+$/, '') }
      : {}),
  };
}

function isHttpsBaseUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' && url.hostname !== '' && url.search === '' && url.hash === '';
}
