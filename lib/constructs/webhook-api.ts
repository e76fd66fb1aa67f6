import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  type HttpRoute,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Route paths, as the webhook handler (runtime/webhook.ts) matches them. */
export const HUBSPOT_WEBHOOK_PATH = '/webhooks/hubspot';
/** Salesforce Outbound Messages carry no signature: the secret path segment authenticates them. */
export const SALESFORCE_WEBHOOK_PATH = '/webhooks/salesforce/{secret}';

/** Default-stage throttling: enough for webhook bursts, a cap on what a flood can cost. */
export const WEBHOOK_THROTTLE = { burstLimit: 100, rateLimit: 50 } as const;

export interface FieldsyncWebhookApiProps {
  readonly handler: IFunction;
  readonly logRetention?: RetentionDays;
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The HTTP API the SaaS systems post webhooks to: two POST routes to the webhook function. */
export class FieldsyncWebhookApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** The two POST routes; they take no API Gateway authorizer (the function checks each sender, lib/nag.ts). */
  readonly routes: HttpRoute[];

  constructor(scope: Construct, id: string, props: FieldsyncWebhookApiProps) {
    super(scope, id);
    // Our own default stage: HttpApi's built-in one takes no throttling or access log settings.
    this.api = new HttpApi(this, 'Api', {
      description: 'fieldsync webhooks (HubSpot, Salesforce Outbound Messages)',
      createDefaultStage: false,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: WEBHOOK_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        // routeKey, never path: the Salesforce path holds its secret.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            sourceIp: '$context.identity.sourceIp',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('Webhook', props.handler);
    this.routes = [HUBSPOT_WEBHOOK_PATH, SALESFORCE_WEBHOOK_PATH].flatMap((path) =>
      this.api.addRoutes({ path, methods: [HttpMethod.POST], integration }),
    );
  }

  /** Base URL of the `$default` stage (the API's own endpoint), without a trailing slash. */
  get url(): string {
    return this.api.apiEndpoint;
  }
}
