#!/usr/bin/env node
// fieldsync command line entry point.
import { main } from '../local/cli.ts';

process.exitCode = await main(process.argv.slice(2));
