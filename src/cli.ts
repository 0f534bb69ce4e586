#!/usr/bin/env node
/**
 * healthimaging-mcp command line: flags → config → the MCP server (stdio or Streamable HTTP), the doctor's checks, or
 * the local HealthImaging service alone. stdout is reserved for MCP; everything for people goes to stderr (except the
 * doctor's report, which is its output).
 */
import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMedicalImagingClient, type ClientTarget } from './aws/client.js';
import { type Config, ConfigError, configSchema, isSwitch, kebab, loadConfig } from './config.js';
import { exitCodeOf, formatReport, runDoctor } from './doctor.js';
import { AuditLog } from './guard/audit.js';
import { describeGuard } from './guard/policy.js';
import { helpText } from './help.js';
import { DEFAULT_DATA_DIR } from './local/defaults.js';
import { startLocalService, type LocalService } from './local/service.js';
import { createServer } from './server.js';
import { ALL_TOOLS } from './tools/index.js';
import { startHttpServer } from './transports/http.js';
import { SERVER_NAME, SERVER_VERSION } from './version.js';

const log = (message: string) => process.stderr.write(`${message}\n`);

function fail(message: string): never {
  log(`healthimaging-mcp: ${message}\nRun 'healthimaging-mcp --help' for the options.`);
  process.exit(2);
}

function parseMcpFlags(args: string[]): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const key of Object.keys(configSchema.shape)) options[kebab(key)] = { type: isSwitch(key) ? 'boolean' : 'string' };
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  if (values.help) {
    log(helpText());
    process.exit(0);
  }
  return Object.fromEntries(Object.keys(configSchema.shape).map((key) => [key, values[kebab(key)] as string | boolean | undefined]));
}

/** Starts the embedded local service when the backend is local; returns how to reach the backend. */
async function connectBackend(config: Config): Promise<{ target: ClientTarget; description: string; local?: LocalService }> {
  if (config.backend === 'aws') {
    return { target: {}, description: config.endpointUrl ? `the HealthImaging-compatible endpoint ${config.endpointUrl}` : `AWS HealthImaging${config.region ? ` in ${config.region}` : ''}` };
  }
  const local = await startLocalService({ dataDir: config.dataDir, port: 0, seedDemo: true, log: (m) => log(`[local] ${m}`) });
  return {
    target: { endpoint: local.endpoint, credentials: local.credentials },
    description: `the embedded local HealthImaging service (data in ${config.dataDir}; a 'demo' datastore with synthetic studies)`,
    local,
  };
}

async function runMcp(args: string[]): Promise<void> {
  let config: Config;
  let audit: AuditLog;
  try {
    config = loadConfig(parseMcpFlags(args));
    // Once per process: every session records into the same log (and opens --audit-log now, not on first write).
    audit = AuditLog.fromConfig(config);
  } catch (err) {
    fail(err instanceof ConfigError || err instanceof TypeError ? err.message : String(err));
  }
  const backend = await connectBackend(config);
  const client = createMedicalImagingClient(config, backend.target);
  const deps = { client, backendDescription: backend.description, audit };
  const guard = describeGuard(ALL_TOOLS, config);
  log(`tools: ${guard.summary}`);
  for (const warning of guard.warnings) log(`warning: ${warning}`);
  const closers: Array<() => Promise<void>> = [];
  const shutdown = async (code: number) => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    client.destroy();
    await backend.local?.close();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  if (config.transport === 'stdio') {
    const handle = createServer(config, deps);
    closers.push(handle.close);
    await handle.server.connect(new StdioServerTransport());
    // The client closing our stdin ends the session.
    process.stdin.once('end', () => void shutdown(0));
    log(`${SERVER_NAME} ${SERVER_VERSION} on stdio, backend: ${backend.description}`);
    return;
  }

  const http = await startHttpServer({
    host: config.host,
    port: config.port,
    createSession: () => createServer(config, deps),
    ...(process.env.HEALTHIMAGING_MCP_AUTH_TOKEN && { authToken: process.env.HEALTHIMAGING_MCP_AUTH_TOKEN }),
    log,
  });
  closers.push(http.close);
  // One write, so that whoever waits for the URL also has the rest.
  log(
    [
      `backend: ${backend.description}`,
      `Claude Code:  claude mcp add --transport http healthimaging ${http.url}`,
      `Other clients (mcp.json): ${JSON.stringify({ mcpServers: { healthimaging: { type: 'http', url: http.url } } })}`,
      `${SERVER_NAME} ${SERVER_VERSION} listening at ${http.url}`,
    ].join('\n'),
  );
}

/** Checks the configuration the server would run with; the report goes to stdout, the exit code says whether it passed. */
async function runDoctorCommand(args: string[]): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(parseMcpFlags(args));
  } catch (err) {
    fail(err instanceof ConfigError || err instanceof TypeError ? err.message : String(err));
  }
  const backend = await connectBackend(config);
  const client = createMedicalImagingClient(config, backend.target);
  try {
    const results = await runDoctor({ config, client, target: backend.target, backendDescription: backend.description });
    process.stdout.write(`${SERVER_NAME} ${SERVER_VERSION} doctor\n${formatReport(results)}\n`);
    process.exitCode = exitCodeOf(results);
  } finally {
    client.destroy();
    await backend.local?.close();
  }
}

async function runLocal(args: string[]): Promise<void> {
  const { values } = parseArgs({
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
  if (values.help) {
    log(helpText());
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer from 0 to 65535, got '${values.port}'`);
  const service = await startLocalService({ port, host: values.host, dataDir: values['data-dir'], seedDemo: values['seed-demo'] });
  log(`endpoint: ${service.endpoint}`);
  if (service.demoDatastoreId) log(`demo datastore: ${service.demoDatastoreId}`);
  log(
    `credentials: access key ${service.credentials.accessKeyId} (set HEALTHIMAGING_LOCAL_ACCESS_KEY_ID / HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY to change)\n` +
      `try: AWS_ACCESS_KEY_ID=${service.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=<secret> AWS_DISABLE_HOST_PREFIX_INJECTION=true aws medical-imaging list-datastores --region us-east-1 --endpoint-url ${service.endpoint}`,
  );
  const shutdown = (signal: string) => {
    log(`received ${signal}, shutting down`);
    service.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'local') return runLocal(rest);
  if (command === 'mcp') return runMcp(rest);
  if (command === 'doctor') return runDoctorCommand(rest);
  if (command === 'help') {
    log(helpText());
    return;
  }
  if (command !== undefined && !command.startsWith('-')) fail(`unknown command '${command}'`);
  return runMcp(argv);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  log(`healthimaging-mcp: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
