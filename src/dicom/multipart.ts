/**
 * multipart/related (RFC 2387, RFC 2046 §5.1) as DICOMweb uses it (PS3.18 §8.6.1.2): media-type parsing, a push
 * parser for request bodies, and the framing of response bodies. No I/O: callers feed bytes and write bytes.
 *
 * The parser holds at most one pushed chunk plus a delimiter's worth of bytes (and one part's header block), so a
 * body of any size passes through it in bounded memory; what to do with each part's bytes is the caller's choice.
 */
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';

/** The body is not well-formed multipart, or its media type is unusable. The message says what is wrong. */
export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

export interface MediaTypeParameter {
  value: string;
  /** Whether the value was a quoted-string; DICOMweb servers differ on what they accept quoted (HealthImaging refuses a quoted transfer-syntax). */
  quoted: boolean;
}

export interface MediaType {
  /** `type/subtype`, lowercased. */
  type: string;
  /** Parameters by lowercased name. */
  params: Map<string, MediaTypeParameter>;
}

/** Splits `s` at `separator` characters that are outside double-quoted strings. */
function splitOutsideQuotes(s: string, separator: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') quoted = !quoted;
    if (c === '\\' && quoted && i + 1 < s.length) {
      current += c + s[++i]!;
      continue;
    }
    if (c === separator && !quoted) {
      pieces.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  pieces.push(current);
  return pieces;
}

function unquote(raw: string): MediaTypeParameter {
  const trimmed = raw.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return { value: trimmed.slice(1, -1).replace(/\\(.)/g, '$1'), quoted: true };
  }
  return { value: trimmed, quoted: false };
}

/** Parses one media type (`multipart/related; type="application/dicom"; boundary=x`). */
export function parseMediaType(value: string): MediaType {
  const [head = '', ...rest] = splitOutsideQuotes(value, ';');
  const params = new Map<string, MediaTypeParameter>();
  for (const piece of rest) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    params.set(piece.slice(0, eq).trim().toLowerCase(), unquote(piece.slice(eq + 1)));
  }
  return { type: head.trim().toLowerCase(), params };
}

/** Parses an Accept header into its media ranges, most preferred first (by `q`, then by position). */
export function parseAccept(header: string | undefined): MediaType[] {
  if (header === undefined || header.trim() === '') return [];
  const ranges = splitOutsideQuotes(header, ',')
    .filter((piece) => piece.trim() !== '')
    .map((piece, index) => {
      const media = parseMediaType(piece);
      const q = Number(media.params.get('q')?.value ?? '1');
      media.params.delete('q');
      return { media, q: Number.isFinite(q) ? q : 0, index };
    });
  return ranges
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((r) => r.media);
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

export type MultipartEvent =
  | { kind: 'partStart'; headers: Record<string, string> }
  | { kind: 'data'; bytes: Uint8Array }
  | { kind: 'partEnd' };

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'epilogue';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * A push parser: `push(chunk)` returns the events the chunk completes, `end()` checks that the body was closed.
 * Part bodies are emitted as views that stay valid after later pushes.
 */
export class MultipartParser {
  private state: State = 'preamble';
  /** Unconsumed bytes. The leading CRLF lets a body that opens with its first delimiter match like any other. */
  private pending: Buffer = CRLF;
  private readonly delimiter: Buffer;
  private parts = 0;

  constructor(
    boundary: string,
    private readonly maxHeaderBytes = 16 * 1024,
  ) {
    if (!/^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/.test(boundary) || boundary.endsWith(' ')) {
      throw new MultipartError(`the multipart boundary '${boundary}' is not valid (RFC 2046: 1-70 characters from a restricted set)`);
    }
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  /** Parts started so far. */
  get partCount(): number {
    return this.parts;
  }

  push(chunk: Uint8Array): MultipartEvent[] {
    const events: MultipartEvent[] = [];
    if (this.state === 'epilogue') return events;
    this.pending = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    while (this.step(events));
    return events;
  }

  /** Throws MultipartError when the body ended before its closing delimiter. */
  end(): void {
    if (this.state !== 'epilogue') {
      const where = this.state === 'body' || this.state === 'headers' ? ` inside part ${this.parts}` : '';
      throw new MultipartError(`the multipart body ended${where} before its closing boundary`);
    }
  }

  /** Consumes what it can of `pending`; returns whether another step may make progress. */
  private step(events: MultipartEvent[]): boolean {
    switch (this.state) {
      case 'preamble':
        return this.skipToDelimiter();
      case 'afterDelimiter':
        return this.readDelimiterLine();
      case 'headers':
        return this.readHeaders(events);
      case 'body':
        return this.readBody(events);
      case 'epilogue':
        this.pending = Buffer.alloc(0);
        return false;
    }
  }

  private skipToDelimiter(): boolean {
    const at = this.pending.indexOf(this.delimiter);
    if (at < 0) {
      this.keepTail();
      return false;
    }
    this.pending = this.pending.subarray(at + this.delimiter.length);
    this.state = 'afterDelimiter';
    return true;
  }

  /** After a delimiter: `--` closes the body; otherwise optional transport padding, then CRLF. */
  private readDelimiterLine(): boolean {
    if (this.pending.length < 2) return false;
    if (this.pending[0] === 0x2d && this.pending[1] === 0x2d) {
      this.state = 'epilogue';
      this.pending = Buffer.alloc(0);
      return false;
    }
    const eol = this.pending.indexOf(CRLF);
    if (eol < 0) {
      if (this.pending.length > 1024) throw new MultipartError('a multipart boundary line is not followed by CRLF');
      return false;
    }
    if (!/^[ \t]*$/.test(this.pending.subarray(0, eol).toString('latin1'))) {
      throw new MultipartError('a multipart boundary line has unexpected characters after the boundary');
    }
    this.pending = this.pending.subarray(eol + 2);
    this.state = 'headers';
    return true;
  }

  private readHeaders(events: MultipartEvent[]): boolean {
    // A part without headers: its body starts right after the boundary line.
    const headerless = this.pending[0] === 0x0d && this.pending[1] === 0x0a;
    const end = headerless ? 0 : this.pending.indexOf(HEADER_END);
    if (end < 0) {
      if (this.pending.length > this.maxHeaderBytes) throw new MultipartError(`the headers of part ${this.parts + 1} exceed ${this.maxHeaderBytes} bytes`);
      return false;
    }
    const block = this.pending.subarray(0, end).toString('latin1');
    this.pending = this.pending.subarray(headerless ? 2 : end + HEADER_END.length);
    this.parts++;
    events.push({ kind: 'partStart', headers: parseHeaderBlock(block) });
    this.state = 'body';
    return true;
  }

  private readBody(events: MultipartEvent[]): boolean {
    const at = this.pending.indexOf(this.delimiter);
    if (at < 0) {
      // Everything but a possible delimiter prefix at the end is body.
      const safe = this.pending.length - (this.delimiter.length - 1);
      if (safe > 0) {
        events.push({ kind: 'data', bytes: this.pending.subarray(0, safe) });
        this.pending = this.pending.subarray(safe);
      }
      return false;
    }
    if (at > 0) events.push({ kind: 'data', bytes: this.pending.subarray(0, at) });
    events.push({ kind: 'partEnd' });
    this.pending = this.pending.subarray(at + this.delimiter.length);
    this.state = 'afterDelimiter';
    return true;
  }

  private keepTail(): void {
    const keep = this.delimiter.length - 1;
    if (this.pending.length > keep) this.pending = this.pending.subarray(this.pending.length - keep);
  }
}

function parseHeaderBlock(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  if (block === '') return headers;
  // Obsolete line folding (a continuation line starting with white space) joins the previous line.
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`a multipart part header line is malformed: '${line.slice(0, 80)}'`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** A fresh boundary that cannot occur in the parts by chance. */
export function newBoundary(): string {
  return `DICOMwebBoundary${randomBytes(12).toString('hex')}`;
}

/** The bytes that open a part: delimiter line and headers. Each part's body must be followed by `partClose()`. */
export function partOpening(boundary: string, headers: Record<string, string>): Buffer {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(`--${boundary}\r\n${lines.join('')}\r\n`, 'latin1');
}

/** The CRLF that ends a part's body (it belongs to the next delimiter, RFC 2046). */
export const partClose = (): Buffer => Buffer.from(CRLF);

/** The closing delimiter of the body. */
export function closingDelimiter(boundary: string): Buffer {
  return Buffer.from(`--${boundary}--\r\n`, 'latin1');
}

/** A whole multipart body in memory, for small payloads and tests. */
export function multipartBody(boundary: string, parts: Array<{ headers: Record<string, string>; body: Uint8Array }>): Buffer {
  return Buffer.concat([...parts.flatMap((p) => [partOpening(boundary, p.headers), p.body, partClose()]), closingDelimiter(boundary)]);
}
