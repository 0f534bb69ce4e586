/**
 * Parsing a metadata document while leaving out the instance attributes a caller does not need. A 50 MB document of
 * 5,000 instances is almost all instance-level DICOM attributes; `JSON.parse` builds every one of them as objects
 * and arrays (about 100 ms), and collecting them costs as much again. The summary needs three of them per instance.
 *
 * The pruned parse walks the document's text: the levels above the instances' attributes (patient, study, series,
 * instance), and the attributes kept, are parsed with `JSON.parse` exactly as in the whole document; every other
 * instance attribute's value is skipped over without being built. Whatever it cannot follow (text that is not JSON, a
 * level that is not an object) it leaves to `JSON.parse` of the whole text, so the result or the error is the one
 * `JSON.parse` would give, less the attributes left out. One difference: a value left out is not checked beyond
 * finding where it ends (strings closed, brackets paired), so a malformed attribute value that nobody asked for,
 * such as `[tru, 01]`, does not fail the read; it cannot hide the attributes that follow it.
 */
import type { ImageSetMetadataDocument } from './types.js';

class NotFollowed extends Error {}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The document, with each instance's `DICOM` object holding only the attributes in `keepInstanceAttributes`. */
export function parsePrunedDocument(text: string, keepInstanceAttributes: ReadonlySet<string>): ImageSetMetadataDocument {
  try {
    const walker = new Walker(text);
    const doc = walker.object((key) => (key === 'Study' ? walker.object((k) => (k === 'Series' ? walker.object(() => series(walker, keepInstanceAttributes)) : walker.value())) : walker.value()));
    walker.end();
    return doc as unknown as ImageSetMetadataDocument;
  } catch (err) {
    if (!(err instanceof NotFollowed)) throw err;
    return JSON.parse(text) as ImageSetMetadataDocument;
  }
}

function series(walker: Walker, keep: ReadonlySet<string>): Record<string, unknown> {
  return walker.object((key) =>
    key === 'Instances'
      ? walker.object(() => walker.object((k) => (k === 'DICOM' ? walker.object((attribute) => (keep.has(attribute) ? walker.value() : walker.skip())) : walker.value())))
      : walker.value(),
  );
}

const SKIPPED: unique symbol = Symbol('skipped');
/** A backslash or a control character (U+0000 to U+001F) in a key's text. */
const KEY_NEEDS_PARSE = /[\\\u0000-\u001f]/;

/** A cursor over JSON text that parses values with `JSON.parse` and walks objects key by key. */
class Walker {
  private pos = 0;

  constructor(private readonly text: string) {}

  /** An object, each member's value produced by `member` (which reads it); skipped members are left out. */
  object(member: (key: string) => unknown): Record<string, unknown> {
    this.space();
    this.expect(OPEN_BRACE);
    const out: Record<string, unknown> = {};
    this.space();
    if (this.peek() === CLOSE_BRACE) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.space();
      const key = this.key();
      this.space();
      this.expect(COLON);
      this.space();
      const value = member(key);
      // As JSON.parse does: "__proto__" is an own property, not the prototype; a later duplicate key wins.
      if (value === SKIPPED) {
        // Left out.
      } else if (key === '__proto__') Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
      else out[key] = value;
      this.space();
      const c = this.peek();
      this.pos++;
      if (c === COMMA) continue;
      if (c === CLOSE_BRACE) return out;
      throw new NotFollowed();
    }
  }

  /** The next value, parsed. */
  value(): unknown {
    this.space();
    const start = this.pos;
    this.pos = this.valueEnd(start);
    try {
      return JSON.parse(this.text.slice(start, this.pos));
    } catch {
      throw new NotFollowed();
    }
  }

  /** Moves past the next value without building it. */
  skip(): typeof SKIPPED {
    this.space();
    this.pos = this.valueEnd(this.pos);
    return SKIPPED;
  }

  /** Only white space may follow the document. */
  end(): void {
    this.space();
    if (this.pos !== this.text.length) throw new NotFollowed();
  }

  private key(): string {
    if (this.peek() !== QUOTE) throw new NotFollowed();
    const end = this.stringEnd(this.pos);
    const raw = this.text.slice(this.pos + 1, end - 1);
    this.pos = end;
    // Escapes, and the control characters JSON.parse refuses in a string, are left to JSON.parse.
    if (!KEY_NEEDS_PARSE.test(raw)) return raw;
    try {
      return JSON.parse(`"${raw}"`) as string;
    } catch {
      throw new NotFollowed();
    }
  }

  /**
   * Where the value starting at `start` ends: strings end at their closing quote (found with indexOf), containers at
   * their matching bracket (brackets must pair up), and anything else (numbers, literals) at the next delimiter.
   * Beyond that nothing is checked here: a value that is parsed is checked by JSON.parse, one that is skipped only
   * has to end where JSON.parse would have ended it.
   */
  private valueEnd(start: number): number {
    const text = this.text;
    const first = text.charCodeAt(start);
    if (first === QUOTE) return this.stringEnd(start);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      let i = start;
      for (; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c <= 0x20) break;
      }
      if (i === start) throw new NotFollowed();
      return i;
    }
    // The closers still owed, innermost last: a mismatched one (`[1}`) is not followed, so that a malformed value
    // cannot swallow the attributes after it.
    const owed: number[] = [];
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) i = this.stringEnd(i) - 1;
      else if (c === OPEN_BRACE) owed.push(CLOSE_BRACE);
      else if (c === OPEN_BRACKET) owed.push(CLOSE_BRACKET);
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (owed.pop() !== c) throw new NotFollowed();
        if (owed.length === 0) return i + 1;
      }
    }
    throw new NotFollowed();
  }

  /** The index just past the closing quote of the string whose opening quote is at `start`. */
  private stringEnd(start: number): number {
    const text = this.text;
    let quote = start;
    for (;;) {
      quote = text.indexOf('"', quote + 1);
      if (quote < 0) throw new NotFollowed();
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
    }
  }

  private space(): void {
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++this.pos);
  }

  private peek(): number {
    return this.text.charCodeAt(this.pos);
  }

  private expect(c: number): void {
    if (this.text.charCodeAt(this.pos) !== c) throw new NotFollowed();
    this.pos++;
  }
}
