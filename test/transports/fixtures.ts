/**
 * A tiny MCP server factory (echo, and ask, which elicits) and a raw HTTP client that controls every header,
 * for testing the Streamable HTTP transport without the HealthImaging tools.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { SessionHandle } from '../../src/transports/http.js';

export interface SessionStats {
  opened: number;
  closed: number;
}

/** A factory for small real MCP servers that counts how many were created and closed. */
export function testSessions(): { createSession: () => SessionHandle; stats: SessionStats } {
  const stats: SessionStats = { opened: 0, closed: 0 };
  const createSession = (): SessionHandle => {
    const server = new McpServer({ name: 'http-transport-test', version: '0' });
    server.registerTool('echo', { description: 'Returns its input', inputSchema: { text: z.string() } }, ({ text }) => ({
      content: [{ type: 'text', text }],
    }));
    server.registerTool('ask', { description: 'Asks the user to confirm; returns the action' }, async (extra) => {
      const answer = await server.server.elicitInput(
        {
          mode: 'form',
          message: 'ok?',
          requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] },
        },
        { relatedRequestId: extra.requestId },
      );
      return { content: [{ type: 'text', text: `${answer.action} ${JSON.stringify(answer.content ?? {})}` }] };
    });
    stats.opened += 1;
    return {
      server,
      close: async () => {
        stats.closed += 1;
        await server.close();
      },
    };
  };
  return { createSession, stats };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Sent whole, with Content-Length. */
  body?: string;
  /** Sent one by one with chunked encoding, so the server cannot know the size in advance. */
  chunks?: Buffer[];
}

/**
 * One HTTP request to `base` (any URL of the server), with exactly the headers given plus Node's defaults (Host is
 * only added when absent). Errors after the response arrived, such as the server closing on a refused upload, are
 * ignored: the response is what the test asserts.
 */
export function rawRequest(base: string, request: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let responded = false;
    const options: http.RequestOptions = {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port,
      method: request.method ?? 'GET',
      path: request.path ?? url.pathname,
      headers: request.headers ?? {},
      agent: false,
    };
    const req = http.request(options, (res) => {
      responded = true;
      let body = '';
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', (err) => {
      if (!responded) reject(err);
    });
    if (request.chunks) {
      for (const chunk of request.chunks) req.write(chunk);
      req.end();
    } else {
      req.end(request.body);
    }
  });
}

/** Headers a Streamable HTTP client sends on POST. */
export const MCP_POST_HEADERS = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };

/** A POST as a Streamable HTTP client makes it, plus `headers`. */
export function rawPost(url: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(url, { method: 'POST', headers: { ...MCP_POST_HEADERS, ...headers }, body });
}

export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

export const jsonRpc = (method: string, id?: number): string =>
  JSON.stringify({ jsonrpc: '2.0', method, ...(id === undefined ? {} : { id }), params: {} });

/** Opens a session by hand, without a GET stream (which the SDK client keeps open), and returns its ID. */
export async function rawSession(url: string, headers: Record<string, string> = {}): Promise<string> {
  const init = await rawPost(url, INITIALIZE, headers);
  const id = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof id !== 'string') throw new Error(`initialize failed: ${init.status} ${init.body}`);
  const initialized = await rawPost(url, jsonRpc('notifications/initialized'), { ...headers, 'Mcp-Session-Id': id });
  if (initialized.status !== 202) throw new Error(`notifications/initialized failed: ${initialized.status} ${initialized.body}`);
  return id;
}

/** Calls `tools/list` in a session by hand; the status says whether the session is still there. */
export function rawListTools(url: string, sessionId: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(url, jsonRpc('tools/list', 2), { ...headers, 'Mcp-Session-Id': sessionId });
}
