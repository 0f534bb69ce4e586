/**
 * The Streamable HTTP transport over real loopback sockets, driven by the SDK's own client and by raw requests
 * where a test needs headers a well-behaved client would never send.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpConfigError, type HttpServerOptions, type RunningHttpServer, startHttpServer } from '../../src/transports/http.js';
import {
  INITIALIZE,
  jsonRpc,
  MCP_POST_HEADERS,
  type RawResponse,
  rawListTools,
  rawPost,
  rawRequest,
  rawSession,
  type SessionStats,
  testSessions,
} from './fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  // Clients first, so the server's close() is also exercised with nothing left to cut.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Started {
  http: RunningHttpServer;
  url: string;
  logs: string[];
  stats: SessionStats;
}

async function start(overrides: Partial<HttpServerOptions> = {}): Promise<Started> {
  const { createSession, stats } = testSessions();
  const logs: string[] = [];
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, createSession, log: (m) => logs.push(m), ...overrides });
  cleanups.push(http.close);
  return { http, url: http.url, logs, stats };
}

interface ConnectOptions {
  headers?: Record<string, string>;
  capabilities?: ConstructorParameters<typeof Client>[1];
  fetch?: FetchLike;
}

async function connect(url: string, options: ConnectOptions = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(options.headers && { requestInit: { headers: options.headers } }),
    ...(options.fetch && { fetch: options.fetch }),
  });
  const client = new Client({ name: 'http-transport-test', version: '0' }, options.capabilities);
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

async function echo(client: Client, text: string): Promise<string> {
  const result = (await client.callTool({ name: 'echo', arguments: { text } })) as CallToolResult;
  return (result.content[0] as { text: string }).text;
}

/** The JSON-RPC error a refusal carries; every refusal must have this shape. */
function jsonRpcError(response: RawResponse): { code: number; message: string } {
  expect(response.headers['content-type']).toBe('application/json');
  const body = JSON.parse(response.body) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
  expect(body).toMatchObject({ jsonrpc: '2.0', id: null });
  return body.error;
}

function expectNoCors(headers: Iterable<string>): void {
  expect([...headers].filter((name) => name.toLowerCase().startsWith('access-control-'))).toEqual([]);
}

describe('sessions', () => {
  it('serves concurrent sessions, each with its own server', async () => {
    const { url, logs, stats } = await start();
    const seenHeaders: string[] = [];
    const recording: FetchLike = async (input, init) => {
      const response = await fetch(input, init);
      seenHeaders.push(...response.headers.keys());
      return response;
    };
    const [a, b] = await Promise.all([connect(url, { fetch: recording }), connect(url, { fetch: recording })]);

    expect(a.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
    expect(stats.opened).toBe(2);
    const replies = await Promise.all([echo(a.client, 'from a'), echo(b.client, 'from b'), echo(a.client, 'again a')]);
    expect(replies).toEqual(['from a', 'from b', 'again a']);
    expect(seenHeaders).toContain('mcp-session-id');
    expectNoCors(seenHeaders);
    expect(logs.filter((line) => / opened for 127\.0\.0\.1$/.test(line))).toHaveLength(2);
    // Log lines carry a prefix of the session ID to correlate, never the whole ID.
    expect(logs.join('\n')).not.toContain(a.transport.sessionId);
  });

  it('carries an elicitation round trip inside a tool call', async () => {
    const { url } = await start();
    const { client } = await connect(url, { capabilities: { capabilities: { elicitation: { form: {} } } } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      asked.push(request.params.message);
      return { action: 'accept', content: { confirm: true } };
    });

    const result = (await client.callTool({ name: 'ask', arguments: {} })) as CallToolResult;
    expect(asked).toEqual(['ok?']);
    expect(result.content[0]).toEqual({ type: 'text', text: 'accept {"confirm":true}' });
  });

  it('ends a session on DELETE and closes its server', async () => {
    const { url, logs, stats } = await start();
    const { transport } = await connect(url);
    const id = transport.sessionId!;

    await transport.terminateSession();
    expect(stats.closed).toBe(1);
    expect(logs).toContain(`session ${id.slice(0, 8)} closed: ended by the client`);
    const after = await rawListTools(url, id);
    expect(after.status).toBe(404);
    expect(jsonRpcError(after).code).toBe(-32001);
  });

  it('expires a session left idle, and closes its server', async () => {
    const { url, logs, stats } = await start({ sessionIdleMs: 200 });
    const id = await rawSession(url);
    expect((await rawListTools(url, id)).status).toBe(200);

    await sleep(500);
    expect(stats.closed).toBe(1);
    expect(logs.some((line) => line.startsWith(`session ${id.slice(0, 8)} closed: idle`))).toBe(true);
    expect((await rawListTools(url, id)).status).toBe(404);
  });

  it('keeps a session whose client holds its event stream open', async () => {
    const { url, stats } = await start({ sessionIdleMs: 200 });
    const { client } = await connect(url);

    await sleep(500);
    expect(stats.closed).toBe(0);
    expect(await echo(client, 'still here')).toBe('still here');
  });

  it('refuses a request without a session unless it is initialize, and an unknown session', async () => {
    const { url, stats } = await start();
    const noSession = await rawPost(url, jsonRpc('tools/list', 1));
    expect(noSession.status).toBe(400);
    expect(jsonRpcError(noSession).message).toMatch(/Mcp-Session-Id/);
    expect((await rawRequest(url, { method: 'GET', headers: { Accept: 'text/event-stream' } })).status).toBe(400);
    expect((await rawListTools(url, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await rawRequest(url, { method: 'DELETE', headers: { 'Mcp-Session-Id': 'nope' } })).status).toBe(404);
    expect(stats.opened).toBe(0);
  });

  it('does not keep a server whose initialize the transport refused', async () => {
    const { url, stats } = await start();
    // Without text/event-stream in Accept the SDK transport answers 406 before creating the session.
    const refused = await rawPost(url, INITIALIZE, { Accept: 'application/json' });
    expect(refused.status).toBe(406);
    expect(stats).toEqual({ opened: 1, closed: 1 });
  });

  it('closes promptly with an open event stream, ending every session', async () => {
    const { http, url, stats } = await start();
    await connect(url);
    await connect(url);
    // Give the clients' GET streams time to open: they are what would hold a naive close() forever.
    await sleep(100);

    const began = Date.now();
    await http.close();
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(stats).toEqual({ opened: 2, closed: 2 });
    await expect(rawRequest(url)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('DNS-rebinding protection', () => {
  it('refuses a Host header naming another host, whatever the path', async () => {
    const { url, logs } = await start();
    for (const path of ['/mcp', '/healthz', '/elsewhere']) {
      const response = await rawPost(new URL(path, url).href, INITIALIZE, { Host: 'evil.example:8080' });
      expect(response.status).toBe(403);
      expect(jsonRpcError(response)).toEqual({ code: -32000, message: expect.stringMatching(/Host/) });
    }
    expect(logs).toContain('rejected POST /mcp from 127.0.0.1: 403 Host "evil.example:8080" not allowed');
  });

  it('accepts loopback names on any port, the bound host and allowedHosts', async () => {
    const { url } = await start({ allowedHosts: ['MCP.Example.Internal'] });
    const bound = new URL(url).host;
    for (const host of ['localhost', 'localhost:1', '127.0.0.1:65000', '[::1]:8080', bound, 'mcp.example.internal:443']) {
      expect((await rawRequest(url, { path: '/healthz', headers: { Host: host } })).status, host).toBe(200);
    }
    for (const host of ['example.com', 'localhost.evil.example', '127.0.0.1.evil.example', 'evil@127.0.0.1', '127.0.0.1/x']) {
      expect((await rawRequest(url, { path: '/healthz', headers: { Host: host } })).status, host).toBe(403);
    }
  });

  it('refuses foreign, null and malformed Origins, and accepts loopback and allowed ones', async () => {
    const { url } = await start({ allowedOrigins: ['https://app.example.com/'] });
    const refused = [
      'http://evil.example',
      'null',
      'http://localhost.evil.example',
      'https://app.example.com.evil.example',
      'file://',
      'ftp://localhost',
      'http://localhost:1234/path',
      'not a url',
    ];
    for (const origin of refused) {
      const response = await rawPost(url, INITIALIZE, { Origin: origin });
      expect(response.status, origin).toBe(403);
      expect(jsonRpcError(response).message).toMatch(/Origin/);
    }
    for (const origin of ['http://localhost:1234', 'http://127.0.0.1:5173', 'https://[::1]', 'https://app.example.com']) {
      expect((await rawRequest(url, { path: '/healthz', headers: { Origin: origin } })).status, origin).toBe(200);
    }
  });

  it('serves an MCP client whose requests carry a loopback Origin', async () => {
    const { url } = await start();
    const { client } = await connect(url, { headers: { Origin: 'http://localhost:1234' } });
    expect(await echo(client, 'same machine')).toBe('same machine');
  });

  it('answers a preflight 204 only for an allowed Origin, and never with CORS headers', async () => {
    const { url } = await start();
    const preflight = (origin: string) =>
      rawRequest(url, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
      });
    const foreign = await preflight('http://evil.example');
    const local = await preflight('http://localhost:3000');
    expect(foreign.status).toBe(403);
    expect(local.status).toBe(204);
    expectNoCors([...Object.keys(foreign.headers), ...Object.keys(local.headers)]);
  });
});

describe('bearer token', () => {
  const token = 'a-long-random-test-token';

  it('refuses a missing or wrong token with 401 and a Bearer challenge', async () => {
    const { url, logs, stats } = await start({ authToken: token });
    const missing = await rawPost(url, INITIALIZE);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="healthimaging-mcp"');
    expect(jsonRpcError(missing).message).toMatch(/Bearer/);

    for (const authorization of ['Bearer wrong-token', `Bearer ${token}x`, `Basic ${token}`, token]) {
      const wrong = await rawPost(url, INITIALIZE, { Authorization: authorization });
      expect(wrong.status, authorization).toBe(401);
      expect(wrong.headers['www-authenticate']).toMatch(/^Bearer realm="healthimaging-mcp"/);
    }
    // Unknown paths are behind the token too, so routes are not discoverable without it.
    expect((await rawRequest(url, { path: '/elsewhere' })).status).toBe(401);
    expect(stats.opened).toBe(0);
    expect(logs.some((line) => line.includes('401 wrong bearer token'))).toBe(true);
    expect(logs.join('\n')).not.toMatch(/wrong-token|a-long-random/);
  });

  it('serves a client that sends the right token', async () => {
    const { url, logs } = await start({ authToken: token });
    const { client } = await connect(url, { headers: { Authorization: `Bearer ${token}` } });
    expect(await echo(client, 'authorized')).toBe('authorized');
    // The scheme is case-insensitive.
    expect((await rawPost(url, INITIALIZE, { Authorization: `bearer ${token}` })).status).toBe(200);
    expect(logs.join('\n')).not.toContain(token);
  });

  it('leaves /healthz open for probes, and it reveals nothing', async () => {
    const { url } = await start({ authToken: token });
    const health = await rawRequest(url, { path: '/healthz' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
  });
});

describe('configuration', () => {
  it('refuses to listen off loopback without a token', async () => {
    const { createSession } = testSessions();
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      const attempt = startHttpServer({ host, port: 0, createSession });
      await expect(attempt, host).rejects.toThrow(HttpConfigError);
      await expect(attempt, host).rejects.toThrow(/without an auth token.*127\.0\.0\.1/s);
    }
  });

  it('listens on any loopback spelling without a token', async () => {
    for (const host of ['localhost', '::1', '127.0.0.1']) {
      const { url } = await start({ host });
      expect((await rawRequest(url, { path: '/healthz' })).status, host).toBe(200);
    }
  });

  it('rejects malformed options with a message saying what to write', async () => {
    const { createSession } = testSessions();
    const base = { host: '127.0.0.1', port: 0, createSession };
    await expect(startHttpServer({ ...base, allowedOrigins: ['app.example.com'] })).rejects.toThrow(
      /allowed origin "app.example.com".*"https:\/\/app\.example\.com"/,
    );
    await expect(startHttpServer({ ...base, allowedHosts: ['mcp.example.internal:8080'] })).rejects.toThrow(/without scheme or port/);
    await expect(startHttpServer({ ...base, authToken: '' })).rejects.toThrow(HttpConfigError);
    await expect(startHttpServer({ ...base, port: 70_000 })).rejects.toThrow(HttpConfigError);
  });

  it('reports a port in use as a configuration error', async () => {
    const { http } = await start();
    const { createSession } = testSessions();
    await expect(startHttpServer({ host: '127.0.0.1', port: http.port, createSession })).rejects.toThrow(/already in use/);
  });
});

describe('requests', () => {
  it('refuses a body whose declared length is over the limit', async () => {
    const { url, stats } = await start({ maxBodyBytes: 1024 });
    const response = await rawPost(url, JSON.stringify({ padding: 'x'.repeat(4096) }));
    expect(response.status).toBe(413);
    expect(jsonRpcError(response).message).toMatch(/1024 bytes/);
    expect(stats.opened).toBe(0);
  });

  it('stops reading a streamed body once it passes the limit', async () => {
    const { url } = await start({ maxBodyBytes: 1024 });
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(512, 0x20));
    const response = await rawRequest(url, { method: 'POST', headers: MCP_POST_HEADERS, chunks });
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
  });

  it('refuses a body over the default 4 MiB limit', async () => {
    const { url } = await start();
    const response = await rawPost(url, ' '.repeat(4 * 1024 * 1024 + 1));
    expect(response.status).toBe(413);
  });

  it('answers invalid JSON with a JSON-RPC parse error', async () => {
    const { url } = await start();
    const response = await rawPost(url, '{"jsonrpc": "2.0", "method": ');
    expect(response.status).toBe(400);
    expect(jsonRpcError(response).code).toBe(-32700);
  });

  it('answers unknown paths 404 and other methods 405, in JSON', async () => {
    const { url } = await start();
    const unknown = await rawRequest(url, { path: '/elsewhere' });
    expect(unknown.status).toBe(404);
    expect(jsonRpcError(unknown).message).toMatch(/\/mcp/);
    expect((await rawRequest(url, { path: '/mcp/' })).status).toBe(404);
    const put = await rawRequest(url, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST, DELETE, OPTIONS');
  });

  it('sends no CORS headers on any kind of response', async () => {
    const { url } = await start({ authToken: 't0ken', maxBodyBytes: 512 });
    const auth = { Authorization: 'Bearer t0ken' };
    const responses = await Promise.all([
      rawRequest(url, { path: '/healthz', headers: { Origin: 'http://localhost:1' } }),
      rawRequest(url, { method: 'OPTIONS', headers: { Origin: 'http://localhost:1' } }),
      rawRequest(url, { headers: { Host: 'evil.example' } }),
      rawRequest(url, { headers: { Origin: 'http://evil.example' } }),
      rawPost(url, INITIALIZE),
      rawPost(url, 'x'.repeat(1000), auth),
      rawRequest(url, { path: '/elsewhere', headers: auth }),
      rawPost(url, '{', auth),
      rawPost(url, INITIALIZE, { ...auth, Origin: 'http://localhost:1' }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 204, 403, 403, 401, 413, 404, 400, 200]);
    expectNoCors(responses.flatMap((r) => Object.keys(r.headers)));
  });
});
