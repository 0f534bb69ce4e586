/** Confirmation tokens on their own: what they bind, each way redeeming fails, and that a failure consumes nothing. */
import { describe, expect, it } from 'vitest';
import { GuardError } from '../../src/guard/errors.js';
import { canonicalJson, ConfirmationTokens, type TokenBinding } from '../../src/guard/tokens.js';

const MINUTE = 60_000;
const binding: TokenBinding = {
  tool: 'update_image_set_metadata',
  args: { datastore_id: 'd'.repeat(32), image_set_id: 'i'.repeat(32), latest_version_id: '3', updates: { Patient: { DICOM: { PatientName: 'SECRET^NAME' } } }, force: true },
  version: 'version 3',
  session: 'session-1',
};

function clockAt(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** The name of the GuardError `fn` throws. */
function refusal(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GuardError);
    return (err as GuardError).name;
  }
  throw new Error('expected a refusal');
}

describe('ConfirmationTokens', () => {
  it('a token confirms the call it was issued for, once', () => {
    const tokens = new ConfirmationTokens();
    const { token } = tokens.issue(binding, 5 * MINUTE);
    expect(() => tokens.redeem(token, binding)).not.toThrow();
    expect(refusal(() => tokens.redeem(token, binding))).toBe('ConfirmationTokenReplayed');
  });

  it('compares arguments in canonical form: key order does not matter, values do', () => {
    const tokens = new ConfirmationTokens();
    const reordered = { ...binding, args: { force: true, updates: { Patient: { DICOM: { PatientName: 'SECRET^NAME' } } }, latest_version_id: '3', image_set_id: 'i'.repeat(32), datastore_id: 'd'.repeat(32) } };
    expect(canonicalJson(reordered.args)).toBe(canonicalJson(binding.args));
    expect(() => tokens.redeem(tokens.issue(binding, MINUTE).token, reordered)).not.toThrow();
    const changed = { ...binding, args: { ...binding.args, updates: { Patient: { DICOM: { PatientName: 'OTHER' } } } } };
    expect(refusal(() => tokens.redeem(tokens.issue(binding, MINUTE).token, changed))).toBe('ConfirmationTokenMismatch');
  });

  it('is refused for another tool, another session, or a target that moved on', () => {
    const tokens = new ConfirmationTokens();
    const { token } = tokens.issue(binding, MINUTE);
    expect(refusal(() => tokens.redeem(token, { ...binding, tool: 'delete_image_set' }))).toBe('ConfirmationTokenMismatch');
    expect(refusal(() => tokens.redeem(token, { ...binding, session: 'session-2' }))).toBe('ConfirmationTokenMismatch');
    expect(refusal(() => tokens.redeem(token, { ...binding, session: undefined }))).toBe('ConfirmationTokenMismatch');
    expect(refusal(() => tokens.redeem(token, { ...binding, version: 'version 4' }))).toBe('ConfirmationTokenStale');
    // None of those refusals used the token up.
    expect(() => tokens.redeem(token, binding)).not.toThrow();
  });

  it('expires, and a used token is remembered only until then', () => {
    const clock = clockAt();
    const tokens = new ConfirmationTokens({ now: clock.now });
    const a = tokens.issue(binding, MINUTE);
    expect(a.expiresAt.getTime()).toBe(clock.now() + MINUTE);
    tokens.redeem(a.token, binding);
    const b = tokens.issue(binding, MINUTE);
    clock.advance(MINUTE);
    expect(refusal(() => tokens.redeem(b.token, binding))).toBe('ConfirmationTokenExpired');
    expect(refusal(() => tokens.redeem(a.token, binding))).toBe('ConfirmationTokenExpired');
  });

  it('refuses rather than forgets when too many used tokens are still unexpired', () => {
    const clock = clockAt();
    const tokens = new ConfirmationTokens({ now: clock.now, maxRemembered: 2 });
    const issue = () => tokens.issue(binding, MINUTE).token;
    tokens.redeem(issue(), binding);
    tokens.redeem(issue(), binding);
    const third = issue();
    expect(refusal(() => tokens.redeem(third, binding))).toBe('ConfirmationFailed');
    clock.advance(MINUTE);
    expect(() => tokens.redeem(issue(), binding)).not.toThrow();
  });

  it('only accepts tokens this instance signed, unaltered', () => {
    const tokens = new ConfirmationTokens();
    const { token } = tokens.issue(binding, MINUTE);
    const [prefix, body, mac] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const altered = Buffer.from(JSON.stringify({ ...payload, version: 'version 4' })).toString('base64url');
    const flipped = `${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const forged of [`${prefix}.${altered}.${mac}`, `${prefix}.${body}.${flipped}`, `${prefix}.${body}`, `${token}.x`, `hic2.${body}.${mac}`, new ConfirmationTokens().issue(binding, MINUTE).token, '', 'yes']) {
      expect(refusal(() => tokens.redeem(forged, binding)), forged).toBe('ConfirmationTokenInvalid');
    }
  });

  it('carries digests, not argument values', () => {
    const { token } = new ConfirmationTokens().issue(binding, MINUTE);
    const payload = Buffer.from(token.split('.')[1]!, 'base64url').toString();
    expect(payload).not.toContain('SECRET');
    expect(payload).not.toContain('session-1');
    expect(JSON.parse(payload)).toMatchObject({ tool: 'update_image_set_metadata', version: 'version 3' });
  });
});
