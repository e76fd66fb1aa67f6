// fieldsync benchmark, `npm run bench -- --size 20000 [--json]`: backfill through the embedded pipeline
// against the two sandboxes, API calls against the design's ideal batching, DynamoDB requests per
// change, echo and quiet cycles, a burst against a naive one-call-per-record writer, edit streams
// timed from the user's edit to the other system's write (webhooks, polling only), a rate-limited
// HubSpot portal, the pure engine, the memory peak of each stage, and each Lambda bundle's size and
// cold import time; every figure next to its budget (../shared/DESIGN.md "Budgets").
import { writeFileSync } from 'node:fs';
import { BenchUsageError, parseBenchArgs, USAGE } from './options.ts';

let options: ReturnType<typeof parseBenchArgs>;
try {
  options = parseBenchArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof BenchUsageError)) throw err;
  console.error(`bench: ${err.message}\n${USAGE}`);
  process.exit(2);
}
// The handlers log through Powertools, which reads its level when first imported: set it before.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const { runBench } = await import('./suite.ts');
const { formatReport } = await import('./report.ts');

const json = options.json;
const report = await runBench(options, (line) => console.error(line));
if (options.out !== undefined) writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
if (json) console.log(JSON.stringify(report, null, 2));
else console.log(formatReport(report));
// Sockets of the SDK clients may linger; the report is out.
process.exit(0);
