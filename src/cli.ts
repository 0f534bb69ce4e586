#!/usr/bin/env node
/**
 * healthimaging-mcp command line.
 *   healthimaging-mcp local [--port N] [--host H] [--data-dir D] [--seed-demo]   the local HealthImaging service alone
 * stdout is reserved for MCP; everything human-readable goes to stderr.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, LOCAL_HELP } from './local/defaults.js';
import { startLocalService } from './local/service.js';

const USAGE = `Usage: healthimaging-mcp <command> [options]

Commands:
  local     Run the local HealthImaging-compatible service alone

${LOCAL_HELP}`;

function fail(message: string): never {
  process.stderr.write(`healthimaging-mcp: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function runLocal(args: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        port: { type: 'string', default: process.env.HEALTHIMAGING_LOCAL_PORT ?? '0' },
        host: { type: 'string', default: process.env.HEALTHIMAGING_LOCAL_HOST ?? '127.0.0.1' },
        'data-dir': { type: 'string', default: process.env.HEALTHIMAGING_MCP_DATA_DIR ?? DEFAULT_DATA_DIR },
        'seed-demo': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const { values } = parsed;
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer from 0 to 65535, got '${values.port}'`);

  const service = await startLocalService({ port, host: values.host, dataDir: values['data-dir'], seedDemo: values['seed-demo'] });
  process.stderr.write(`endpoint: ${service.endpoint}\n`);
  if (service.demoDatastoreId) process.stderr.write(`demo datastore: ${service.demoDatastoreId}\n`);
  process.stderr.write(
    `credentials: access key ${service.credentials.accessKeyId} (set HEALTHIMAGING_LOCAL_ACCESS_KEY_ID / HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY to change)\n` +
      `try: AWS_ACCESS_KEY_ID=${service.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=<secret> AWS_DISABLE_HOST_PREFIX_INJECTION=true aws medical-imaging list-datastores --region us-east-1 --endpoint-url ${service.endpoint}\n`,
  );
  const shutdown = (signal: string) => {
    process.stderr.write(`received ${signal}, shutting down\n`);
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'local':
      return runLocal(rest);
    case '--help':
    case '-h':
    case 'help':
      process.stderr.write(`${USAGE}\n`);
      return;
    default:
      fail(command === undefined ? 'a command is required' : `unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`healthimaging-mcp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
