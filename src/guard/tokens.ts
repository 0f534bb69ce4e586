/**
 * Confirmation tokens (`--confirm-mode token`): server-signed, single-use, expiring, and bound to one exact call.
 *
 * A token is `hic1.<payload>.<mac>`. The payload (base64url JSON) holds the tool name, a SHA-256 of the canonical
 * arguments, the target's state (version IDs or a digest), a SHA-256 of the MCP session ID, the expiry and a random
 * nonce; the MAC is HMAC-SHA256 over the payload with a key drawn at random when the process starts, so tokens die
 * with the process and cannot be made outside it. The payload is readable on purpose (it holds no secret and no DICOM
 * value): a refusal can then say which binding failed.
 *
 * Redeeming verifies everything (signature, use, expiry, tool, session, arguments, target state) before it consumes
 * the token, and consuming is synchronous, so of two concurrent calls with one token exactly one gets through. Used
 * nonces are remembered until their token expires, which bounds the memory they take.
 *
 * A token proves that this server showed a preview of exactly this call; it does not prove that a person saw it. The
 * model can request and redeem one by itself: that is friction and an audit point, not consent.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GuardError } from './errors.js';

/** What a token is bound to. */
export interface TokenBinding {
  tool: string;
  /** The call's arguments without the token itself; compared in canonical form. */
  args: Record<string, unknown>;
  /** The target's state when the preview was made (WritePreview.version). */
  version: string;
  /** The MCP session (Streamable HTTP), or undefined (stdio, in memory). */
  session: string | undefined;
}

interface Payload {
  tool: string;
  args: string;
  version: string;
  session: string;
  exp: number;
  nonce: string;
}

const PREFIX = 'hic1';
/** Far more redeemed tokens than can be unexpired at once in practice; beyond it the server refuses rather than forgets. */
const DEFAULT_MAX_REMEMBERED = 10_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** JSON with object keys sorted at every level, so that equal arguments give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export class ConfirmationTokens {
  readonly #key = randomBytes(32);
  /** Nonces of redeemed tokens → their expiry (ms). */
  readonly #redeemed = new Map<string, number>();
  readonly #now: () => number;
  readonly #maxRemembered: number;

  constructor(options: { now?: () => number; maxRemembered?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxRemembered = options.maxRemembered ?? DEFAULT_MAX_REMEMBERED;
  }

  issue(binding: TokenBinding, ttlMs: number): { token: string; expiresAt: Date } {
    const exp = this.#now() + ttlMs;
    const payload: Payload = { ...this.#digest(binding), exp, nonce: randomBytes(16).toString('base64url') };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { token: `${PREFIX}.${body}.${this.#mac(body).toString('base64url')}`, expiresAt: new Date(exp) };
  }

  /** Checks `token` against the call about to be made and consumes it; throws a GuardError naming what failed. */
  redeem(token: string, binding: TokenBinding): void {
    const payload = this.#verified(token);
    const now = this.#now();
    this.#forgetExpired(now);
    const expected = this.#digest(binding);
    const fresh = `Call ${binding.tool} without confirmation_token for a fresh preview and token.`;
    if (this.#redeemed.has(payload.nonce)) {
      throw new GuardError('ConfirmationTokenReplayed', 'This confirmation token was already used; a token confirms one call only. Nothing was changed.', fresh);
    }
    if (payload.exp <= now) {
      throw new GuardError('ConfirmationTokenExpired', `This confirmation token expired at ${new Date(payload.exp).toISOString()}. Nothing was changed.`, fresh);
    }
    if (payload.tool !== expected.tool) {
      throw new GuardError('ConfirmationTokenMismatch', `This confirmation token was issued for ${payload.tool}, not ${binding.tool}. Nothing was changed.`, fresh);
    }
    if (payload.session !== expected.session) {
      throw new GuardError('ConfirmationTokenMismatch', 'This confirmation token was issued in another MCP session. Nothing was changed.', fresh);
    }
    if (payload.args !== expected.args) {
      throw new GuardError(
        'ConfirmationTokenMismatch',
        'The arguments differ from those the confirmation token was issued for: a token confirms exactly the previewed call. Nothing was changed.',
        `Repeat the previewed call unchanged with its token. ${fresh}`,
      );
    }
    if (payload.version !== expected.version) {
      throw new GuardError(
        'ConfirmationTokenStale',
        `The target changed after the confirmation token was issued (${payload.version} then, ${expected.version} now). Nothing was changed.`,
        `Check the target's current state. ${fresh}`,
      );
    }
    if (this.#redeemed.size >= this.#maxRemembered) {
      throw new GuardError('ConfirmationFailed', 'Too many confirmations were redeemed in the last minutes to track another one safely. Nothing was changed.', 'Retry in a few minutes.');
    }
    this.#redeemed.set(payload.nonce, payload.exp);
  }

  #digest(binding: TokenBinding): Omit<Payload, 'exp' | 'nonce'> {
    return { tool: binding.tool, args: sha256(canonicalJson(binding.args)), version: binding.version, session: binding.session === undefined ? '' : sha256(binding.session) };
  }

  #mac(body: string): Buffer {
    return createHmac('sha256', this.#key).update(`${PREFIX}.${body}`).digest();
  }

  /** The payload of a token this process signed; anything else is ConfirmationTokenInvalid. */
  #verified(token: string): Payload {
    const invalid = () =>
      new GuardError(
        'ConfirmationTokenInvalid',
        'This is not a confirmation token issued by this server process (it is malformed or altered, or the server restarted since). Nothing was changed.',
        'Call the tool again without confirmation_token for a fresh preview and token, and pass that token unchanged.',
      );
    const [prefix, body, mac, ...rest] = token.split('.');
    if (prefix !== PREFIX || !body || !mac || rest.length) throw invalid();
    const given = Buffer.from(mac, 'base64url');
    const expected = this.#mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    // Signed by this process, so it is a payload #digest made.
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
  }

  #forgetExpired(now: number): void {
    for (const [nonce, exp] of this.#redeemed) if (exp <= now) this.#redeemed.delete(nonce);
  }
}

let processTokens: ConfirmationTokens | undefined;

/** The issuer every MCP session of this process shares (one key, one memory of redeemed tokens). */
export function sharedConfirmationTokens(): ConfirmationTokens {
  return (processTokens ??= new ConfirmationTokens());
}
