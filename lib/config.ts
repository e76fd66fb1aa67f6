import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import { defaultCredentialsSecretName } from './constructs/state.ts';
import { isStage, type Stage } from './constructs/systems.ts';

export interface AppConfig {
  readonly stage: Stage;
  readonly pollRate: Duration;
  readonly alarmEmail?: string;
  readonly webhookBaseUrl?: string;
  readonly credentialsSecretName: string;
  readonly reportRate: Duration;
  readonly reconcileRate: Duration;
  readonly reserveReconcileConcurrency: boolean;
}

export class ContextError extends Error {
  override name = 'ContextError';
}

/** The context keys `readConfig` reads (cdk.json or `-c key=value`); anything else is not fieldsync's. */
export const CONTEXT_KEYS = [
  'stage',
  'pollRateMinutes',
  'alarmEmail',
  'webhookBaseUrl',
  'credentialsSecretName',
  'reportRateHours',
  'reconcileRateHours',
  'reserveReconcileConcurrency',
] as const;

/**
 * Reads the `CONTEXT_KEYS` from CDK context (cdk.json or `-c key=value`; values from the command
 * line arrive as strings) and fails synth on a bad value, naming the key.
 */
export function readConfig(node: Node): AppConfig {
  const stage: unknown = node.tryGetContext('stage') ?? 'dev';
  if (!isStage(stage)) throw new ContextError(`context stage must be 'dev' or 'prod', got ${String(stage)}`);

  const pollMinutes = wholeNumber(node, 'pollRateMinutes', 1);

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

  // The name `fieldsync secrets set --secret-id` wrote, when not the default one per stage.
  const secretName: unknown = node.tryGetContext('credentialsSecretName') ?? '';
  if (typeof secretName !== 'string' || (secretName !== '' && !/^[\w/+=.@-]{1,512}$/.test(secretName))) {
    throw new ContextError(
      `context credentialsSecretName must be a Secrets Manager secret name (letters, digits, /_+=.@-), got ${String(secretName)}`,
    );
  }

  const reserve: unknown = node.tryGetContext('reserveReconcileConcurrency') ?? true;
  if (reserve !== true && reserve !== false && reserve !== 'true' && reserve !== 'false') {
    throw new ContextError(
      `context reserveReconcileConcurrency must be true or false, got ${String(reserve)}`,
    );
  }

  return {
    stage,
    pollRate: Duration.minutes(pollMinutes),
    ...(typeof alarmEmail === 'string' && alarmEmail !== '' ? { alarmEmail } : {}),
    ...(typeof webhookBaseUrl === 'string' && webhookBaseUrl !== ''
      ? { webhookBaseUrl: webhookBaseUrl.replace(/\/+$/, '') }
      : {}),
    credentialsSecretName: secretName === '' ? defaultCredentialsSecretName(stage) : secretName,
    reportRate: Duration.hours(wholeNumber(node, 'reportRateHours', 24)),
    reconcileRate: Duration.hours(wholeNumber(node, 'reconcileRateHours', 6)),
    reserveReconcileConcurrency: reserve === true || reserve === 'true',
  };
}

/** A whole number >= 1 from context (a number in cdk.json, a string from `-c`), else `fallback`. */
function wholeNumber(node: Node, key: string, fallback: number): number {
  const raw: unknown = node.tryGetContext(key) ?? fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ContextError(`context ${key} must be a whole number >= 1, got ${String(raw)}`);
  }
  return value;
}

function isHttpsBaseUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' && url.hostname !== '' && url.search === '' && url.hash === '';
}
