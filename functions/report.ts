// Daily audit report (EventBridge Scheduler): the last 24 hours (REPORT_PERIOD_HOURS) of the table as
// one `audit report` log line and EMF metrics. No SaaS client in this bundle: it reads the table only.
import { appConfig } from '../runtime/app-config.ts';
import { requireEnv } from '../runtime/config.ts';
import { logger } from '../runtime/lambda.ts';
import { createReportHandler, reportMetricsOnLambda, reportPeriodMs } from '../runtime/report.ts';
import { DynamoStore } from '../runtime/store.ts';

const config = await appConfig();
export const handler = createReportHandler({
  store: new DynamoStore(requireEnv('TABLE_NAME')),
  model: config.model,
  now: Date.now,
  logger,
  metrics: reportMetricsOnLambda(),
  periodMs: reportPeriodMs(),
});
