/**
 * Streamable HTTP transport: one MCP endpoint (`/mcp`) on plain node:http, a stateful session per client, and a
 * fresh MCP server from `createSession()` for each session (elicitation needs the server to remember the client's
 * `initialize` capabilities, so sessions cannot be stateless).
 *
 * Every request passes these gates, in this order:
 *   1. Host header      → 403 unless it names the bound host, a loopback name or an `allowedHosts` entry.
 *   2. Origin header    → 403 when present and neither loopback nor an `allowedOrigins` entry (missing passes:
 *                          non-browser clients send none). 1 and 2 stop DNS-rebinding attacks from web pages.
 *   3. OPTIONS          → 204 without CORS headers. Preflights never carry credentials, so this comes before the
 *                          token; with no `Access-Control-Allow-*` anywhere, browsers still cannot read responses.
 *   4. GET /healthz     → 200 `{"status":"ok"}` without a token, for liveness probes; it says nothing an open
 *                          port does not already say.
 *   5. Bearer token     → 401 when `authToken` is set and the request lacks it (unknown paths included, so an
 *                          unauthenticated caller learns nothing about the routes).
 *   6. Routing          → `/mcp` POST/GET/DELETE; anything else 404/405.
 * Rejections are JSON-RPC error bodies with `id: null` and are logged with the reason and remote address, never
 * with bodies, tokens or full session IDs.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, isIP, type AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

/** What the server factory returns: one MCP server, closed when its session ends. */
export interface SessionHandle {
  server: McpServer;
  close(): Promise<void>;
}

export interface HttpServerOptions {
  /** Bind address, normally '127.0.0.1'. Anything but loopback requires `authToken`. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Builds a new MCP server for each session. */
  createSession: () => SessionHandle;
  /** When set, every request except GET /healthz needs `Authorization: Bearer <token>`. */
  authToken?: string;
  /** Extra allowed Origin values, exact serialized origins such as 'https://app.example.com'. */
  allowedOrigins?: string[];
  /** Extra allowed Host header names, without port. */
  allowedHosts?: string[];
  /** Sessions with no open request or stream for this long are closed. Default 30 minutes. */
  sessionIdleMs?: number;
  /** Larger POST bodies get 413. Default 4 MiB. */
  maxBodyBytes?: number;
  /** One line per session open/close and per rejected request. Default: stderr. */
  log?: (message: string) => void;
}

export interface RunningHttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:PORT/mcp. */
  url: string;
  port: number;
  /** Ends every session, closes their servers and the listener; open SSE streams are cut. */
  close(): Promise<void>;
}

/** The options cannot be served safely or at all; the message says what to change. */
export class HttpConfigError extends Error {
  override name = 'HttpConfigError';
}

const MCP_PATH = '/mcp';
const HEALTH_PATH = '/healthz';
const AUTH_REALM = 'healthimaging-mcp';
const DEFAULT_SESSION_IDLE_MS = 30 * 60_000;
const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Names a browser on this machine uses for loopback; always allowed in Host and Origin. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);
const LOOPBACK_ADDRESSES = loopbackBlockList();

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const settings = resolveSettings(options);
  const ctx: Context = { settings, sessions: new SessionRegistry(settings.log), closing: false };
  const server = createServer((req, res) => {
    handleRequest(req, res, ctx).catch((err: unknown) => failRequest(req, res, err, settings.log));
  });
  const port = await listen(server, settings.host, options.port);
  server.on('error', (err) => settings.log(`HTTP server error: ${err.message}`));

  const sweeper = setInterval(() => ctx.sessions.expireIdle(settings.sessionIdleMs), sweepInterval(settings.sessionIdleMs));
  // The sweeper must not keep the process alive on its own; the listener does that.
  sweeper.unref();

  let closed: Promise<void> | undefined;
  const shutdown = async () => {
    ctx.closing = true;
    clearInterval(sweeper);
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    await ctx.sessions.endAll('server shutting down');
    // SSE streams and keep-alive sockets would otherwise hold server.close() open indefinitely.
    server.closeAllConnections();
    await stopped;
  };
  return {
    url: `http://${urlHost(settings.host)}:${port}${MCP_PATH}`,
    port,
    close: () => (closed ??= shutdown()),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Settings

interface Settings {
  /** The bind address; IPv6 without brackets, as listen() wants it. */
  host: string;
  createSession: () => SessionHandle;
  /** SHA-256 of the token: comparing equal-length digests keeps timingSafeEqual from leaking the token length. */
  tokenDigest: Buffer | undefined;
  allowedHosts: ReadonlySet<string>;
  allowedOrigins: ReadonlySet<string>;
  sessionIdleMs: number;
  maxBodyBytes: number;
  log: (message: string) => void;
}

function resolveSettings(options: HttpServerOptions): Settings {
  const { authToken } = options;
  const host = unbracket(options.host);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new HttpConfigError(`port must be an integer from 0 to 65535 (0 picks a free port), got ${options.port}`);
  }
  if (authToken !== undefined && !/^\S+$/.test(authToken)) {
    throw new HttpConfigError('the auth token is empty or contains whitespace; clients could never send it in an Authorization header');
  }
  if (!isLoopbackHost(host) && authToken === undefined) {
    throw new HttpConfigError(
      `refusing to listen on ${host} without an auth token: anyone who can reach that address could use your HealthImaging credentials. ` +
        'Bind to 127.0.0.1, or set a bearer token (HEALTHIMAGING_MCP_AUTH_TOKEN) that clients must send.',
    );
  }
  const boundHost = canonicalHostname(host);
  return {
    host,
    createSession: options.createSession,
    tokenDigest: authToken === undefined ? undefined : sha256(authToken),
    allowedHosts: new Set([...LOOPBACK_NAMES, ...(boundHost ? [boundHost] : []), ...(options.allowedHosts ?? []).map(allowedHostEntry)]),
    allowedOrigins: new Set((options.allowedOrigins ?? []).map(allowedOriginEntry)),
    sessionIdleMs: positive('sessionIdleMs', options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS),
    maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES),
    log: options.log ?? ((message) => process.stderr.write(`${message}\n`)),
  };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new HttpConfigError(`${name} must be a positive number, got ${value}`);
  return value;
}

function allowedHostEntry(entry: string): string {
  const bare = unbracket(entry);
  // A colon is a port unless the whole entry is an IPv6 address; URL parsing alone would drop the port silently.
  const hostname = isIP(bare) === 6 || !bare.includes(':') ? canonicalHostname(bare) : undefined;
  if (hostname === undefined) {
    throw new HttpConfigError(`allowed host "${entry}" is not a host name; give bare names without scheme or port, e.g. "mcp.example.internal"`);
  }
  return hostname;
}

function allowedOriginEntry(entry: string): string {
  // A trailing slash is a common copy-paste from the address bar; browsers never send one.
  const origin = parseOrigin(entry.replace(/\/$/, ''));
  if (origin === undefined) {
    throw new HttpConfigError(`allowed origin "${entry}" is not an origin; give scheme, host and port only, e.g. "https://app.example.com"`);
  }
  return origin.origin;
}

/** 127.0.0.0/8, ::1 (in any spelling, IPv4-mapped included) and localhost. */
function isLoopbackHost(host: string): boolean {
  const bare = unbracket(host).toLowerCase();
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK_ADDRESSES.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

function loopbackBlockList(): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  return list;
}

/** The hostname as a URL (and so a Host header) spells it: lowercase, IPv6 in brackets. */
function canonicalHostname(name: string): string | undefined {
  return hostnameOf(isIP(name) === 6 ? `[${name}]` : name);
}

function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function sweepInterval(idleMs: number): number {
  // Expiry lands between idleMs and 1.5 × idleMs; a minute of slack is plenty for the 30-minute default.
  return Math.min(60_000, Math.max(10, Math.floor(idleMs / 2)));
}

async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(listenError(err, host, port));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case 'EADDRINUSE':
      return new HttpConfigError(`port ${port} on ${host} is already in use; choose another port (0 picks a free one)`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new HttpConfigError(`cannot listen on ${host}: it is not an address of this machine`);
    case 'EACCES':
      return new HttpConfigError(`not permitted to listen on ${host}:${port}; ports below 1024 need privileges`);
    default:
      return err;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request handling

/** A refused request: the HTTP status, the JSON-RPC error it carries, and what the log says about it. */
interface Rejection {
  status: number;
  code: number;
  message: string;
  logReason: string;
  headers?: Record<string, string>;
}

/** Everything a request handler needs; `closing` turns new requests away while close() runs. */
interface Context {
  settings: Settings;
  sessions: SessionRegistry;
  closing: boolean;
}

const ALLOW_MCP = 'GET, POST, DELETE, OPTIONS';

// The fixed refusals; Host, Origin and body-size refusals carry request details and are built where they happen.
const NOT_FOUND = rejection(404, -32000, `Not Found: the MCP endpoint is ${MCP_PATH}`, 'unknown path');
const METHOD_NOT_ALLOWED = rejection(405, -32000, 'Method Not Allowed: use POST, GET or DELETE', 'method not allowed', {
  Allow: ALLOW_MCP,
});
const SHUTTING_DOWN = rejection(503, -32000, 'Service Unavailable: the server is shutting down', 'shutting down');
const NO_SESSION_ID = rejection(400, -32000, 'Bad Request: Mcp-Session-Id header is required', 'no session id');
const NOT_INITIALIZE = rejection(
  400,
  -32000,
  'Bad Request: Mcp-Session-Id header is required; a new session starts with an initialize request',
  'no session id and not initialize',
);
const UNKNOWN_SESSION = rejection(
  404,
  -32001,
  'Session not found: it ended or expired; start a new session with initialize',
  'unknown or expired session',
);
const INVALID_JSON = rejection(400, -32700, 'Parse error: the request body is not valid JSON', 'invalid JSON');
const MISSING_TOKEN = rejection(401, -32000, 'Unauthorized: send Authorization: Bearer <token>', 'missing bearer token', {
  'WWW-Authenticate': `Bearer realm="${AUTH_REALM}"`,
});
// RFC 6750 §3.1: the challenge names the error only when a token was sent.
const WRONG_TOKEN = rejection(401, -32000, 'Unauthorized: the bearer token is not valid', 'wrong bearer token', {
  'WWW-Authenticate': `Bearer realm="${AUTH_REALM}", error="invalid_token"`,
});

async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const { settings } = ctx;
  const refused = checkHost(req, settings.allowedHosts) ?? checkOrigin(req, settings.allowedOrigins);
  if (refused) return reject(req, res, refused, settings.log);
  if (req.method === 'OPTIONS') return sendEmpty(res, 204, { Allow: ALLOW_MCP });
  const path = pathOf(req);
  if (path === HEALTH_PATH) return health(req, res);
  const denied = checkBearer(req, settings.tokenDigest);
  if (denied) return reject(req, res, denied, settings.log);
  if (path !== MCP_PATH) return reject(req, res, NOT_FOUND, settings.log);
  if (ctx.closing) return reject(req, res, SHUTTING_DOWN, settings.log);

  switch (req.method) {
    case 'POST':
      return handlePost(req, res, ctx);
    case 'GET':
    case 'DELETE':
      return forwardToSession(req, res, ctx, undefined);
    default:
      return reject(req, res, METHOD_NOT_ALLOWED, settings.log);
  }
}

async function handlePost(req: IncomingMessage, res: ServerResponse, ctx: Context): Promise<void> {
  const body = await readJsonBody(req, ctx.settings.maxBodyBytes);
  if (!body.ok) return reject(req, res, body.rejection, ctx.settings.log);
  if (sessionIdOf(req) !== undefined) return forwardToSession(req, res, ctx, body.value);
  if (!isInitializeRequest(body.value)) return reject(req, res, NOT_INITIALIZE, ctx.settings.log);
  return openSession(req, res, ctx, body.value);
}

/** A POST carrying `initialize` without a session ID: a new transport and server, kept once initialization succeeds. */
async function openSession(req: IncomingMessage, res: ServerResponse, ctx: Context, initialize: unknown): Promise<void> {
  const { sessions } = ctx;
  const handle = ctx.settings.createSession();
  const remote = remoteOf(req);
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    // Called inside handleRequest before the response goes out, so the client's next request finds the session.
    onsessioninitialized: (id) => sessions.add(id, { transport, handle }, remote),
    onsessionclosed: (id) => sessions.end(id, 'ended by the client'),
  });
  // Set before connect(), which chains the server's own handler after this one. Covers the transport closing itself.
  transport.onclose = () => {
    if (transport.sessionId !== undefined) void sessions.end(transport.sessionId, 'transport closed');
  };
  try {
    await handle.server.connect(transport);
    await transport.handleRequest(req, res, initialize);
  } finally {
    // The transport refused the initialize (Accept or Content-Type header, …): nothing registered it to be closed later.
    if (transport.sessionId === undefined) await closeQuietly({ transport, handle }, ctx.settings.log);
  }
}

async function forwardToSession(req: IncomingMessage, res: ServerResponse, ctx: Context, body: unknown): Promise<void> {
  const { sessions, settings } = ctx;
  const id = sessionIdOf(req);
  if (id === undefined) return reject(req, res, NO_SESSION_ID, settings.log);
  const session = sessions.get(id);
  if (!session) return reject(req, res, UNKNOWN_SESSION, settings.log);
  sessions.track(session, res);
  await session.transport.handleRequest(req, res, body);
}

function health(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET' || req.method === 'HEAD') return sendJson(res, 200, { status: 'ok' });
  sendJson(res, 405, jsonRpcError(-32000, 'Method Not Allowed: use GET'), { Allow: 'GET, HEAD' });
}

// ---------------------------------------------------------------------------------------------------------------
// Gates

function checkHost(req: IncomingMessage, allowed: ReadonlySet<string>): Rejection | undefined {
  const hostname = hostnameOf(req.headers.host ?? '');
  if (hostname !== undefined && allowed.has(hostname)) return undefined;
  return rejection(403, -32000, 'Forbidden: Host header not allowed (DNS-rebinding protection)', `Host ${quoted(req.headers.host)} not allowed`);
}

/** A Host header's hostname with the port dropped; undefined for anything that is not a plain host[:port]. */
function hostnameOf(value: string): string | undefined {
  // The character check keeps URL parsing from reading userinfo or a path out of a crafted value.
  if (!/^[A-Za-z0-9._:[\]-]+$/.test(value)) return undefined;
  try {
    return new URL(`http://${value}`).hostname || undefined;
  } catch {
    return undefined;
  }
}

function checkOrigin(req: IncomingMessage, allowed: ReadonlySet<string>): Rejection | undefined {
  const origin = req.headers.origin;
  // Browsers always send Origin on the requests that matter here; other clients (CLIs, IDEs) send none.
  if (origin === undefined) return undefined;
  const parsed = parseOrigin(origin);
  if (parsed && (LOOPBACK_NAMES.has(parsed.hostname) || allowed.has(parsed.origin))) return undefined;
  return rejection(403, -32000, 'Forbidden: Origin not allowed', `Origin ${quoted(origin)} not allowed`);
}

/** An http(s) origin exactly as browsers serialize it; `null`, paths and other schemes are not. */
function parseOrigin(value: string): URL | undefined {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value ? url : undefined;
  } catch {
    return undefined;
  }
}

function checkBearer(req: IncomingMessage, expected: Buffer | undefined): Rejection | undefined {
  if (expected === undefined) return undefined;
  // The auth scheme is case-insensitive (RFC 9110 §11.1).
  const token = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '')?.[1];
  if (token === undefined) return MISSING_TOKEN;
  return timingSafeEqual(sha256(token), expected) ? undefined : WRONG_TOKEN;
}

// ---------------------------------------------------------------------------------------------------------------
// Body

type BodyResult = { ok: true; value: unknown } | { ok: false; rejection: Rejection };

/** Reads at most `limit` bytes and parses them as JSON; a larger body is refused without buffering the rest. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  // The client may still be sending; closing the connection after the 413 is what stops it.
  const tooLarge = rejection(413, -32000, `Payload Too Large: the request body exceeds ${limit} bytes`, 'body too large', {
    Connection: 'close',
  });
  const refuse: BodyResult = { ok: false, rejection: tooLarge };
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(refuse);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      // Drain and discard rather than pause: a full receive buffer at close time turns into a reset that can
      // swallow the 413 on its way out.
      req.off('data', onData);
      req.resume();
      resolve(refuse);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= limit) resolve(parseJson(Buffer.concat(chunks, size).toString('utf8')));
    });
    req.once('error', reject);
    // After 'end' this is a no-op; before it, the client went away mid-body.
    req.once('close', () => reject(new Error('the client closed the connection before sending the whole body')));
  });
}

function parseJson(text: string): BodyResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, rejection: INVALID_JSON };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sessions

interface SessionParts {
  transport: StreamableHTTPServerTransport;
  handle: SessionHandle;
}

interface Session extends SessionParts {
  lastSeen: number;
  /** Responses still open: in-flight requests and the client's GET stream. A session with any is not idle. */
  openResponses: number;
}

class SessionRegistry {
  readonly #sessions = new Map<string, Session>();

  constructor(private readonly log: (message: string) => void) {}

  add(id: string, parts: SessionParts, remote: string): void {
    this.#sessions.set(id, { ...parts, lastSeen: Date.now(), openResponses: 0 });
    this.log(`session ${shortId(id)} opened for ${remote}`);
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  track(session: Session, res: ServerResponse): void {
    session.openResponses += 1;
    session.lastSeen = Date.now();
    res.once('close', () => {
      session.openResponses -= 1;
      session.lastSeen = Date.now();
    });
  }

  /** Idempotent: DELETE, the transport closing, idle expiry and shutdown may all race to end one session. */
  async end(id: string, reason: string): Promise<void> {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    this.log(`session ${shortId(id)} closed: ${reason}`);
    await closeQuietly(session, this.log);
  }

  expireIdle(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const [id, session] of this.#sessions) {
      if (session.openResponses === 0 && session.lastSeen <= cutoff) void this.end(id, `idle for ${idleMs} ms`);
    }
  }

  async endAll(reason: string): Promise<void> {
    await Promise.all([...this.#sessions.keys()].map((id) => this.end(id, reason)));
  }
}

/** Closes the session's server, and its transport in case the handle's close() does not reach it. */
async function closeQuietly({ transport, handle }: SessionParts, log: (message: string) => void): Promise<void> {
  for (const close of [() => handle.close(), () => transport.close()]) {
    try {
      await close();
    } catch (err) {
      log(`closing a session failed: ${errorMessage(err)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers

function rejection(status: number, code: number, message: string, logReason: string, headers?: Record<string, string>): Rejection {
  return { status, code, message, logReason, ...(headers && { headers }) };
}

function reject(req: IncomingMessage, res: ServerResponse, r: Rejection, log: (message: string) => void): void {
  log(`rejected ${describeRequest(req)}: ${r.status} ${r.logReason}`);
  sendJson(res, r.status, jsonRpcError(r.code, r.message), r.headers);
}

function failRequest(req: IncomingMessage, res: ServerResponse, err: unknown, log: (message: string) => void): void {
  log(`${describeRequest(req)} failed: ${errorMessage(err)}`);
  if (!res.headersSent && !res.destroyed) sendJson(res, 500, jsonRpcError(-32603, 'Internal server error'));
  else res.destroy();
}

function jsonRpcError(code: number, message: string): object {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

function sendJson(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(payload)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(payload);
}

function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, headers);
  res.end();
}

/** The path without the query string, which is never logged (clients have been known to put tokens there). */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?', 1)[0] ?? '/';
}

/** A request as a log line names it; the path is the caller's text, so it is cut short. */
function describeRequest(req: IncomingMessage): string {
  return `${req.method ?? '?'} ${pathOf(req).slice(0, 200)} from ${remoteOf(req)}`;
}

function sessionIdOf(req: IncomingMessage): string | undefined {
  const value = req.headers['mcp-session-id'];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function remoteOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown address';
}

/** Enough of a session ID to match log lines; the whole ID would let a log reader join the session. */
function shortId(id: string): string {
  return id.slice(0, 8);
}

function quoted(value: string | undefined): string {
  return value === undefined ? '(none)' : JSON.stringify(value.slice(0, 100));
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
