/**
 * Reading an image set's metadata document: GetImageSetMetadata returns gzip bytes (the SDK does not gunzip), which
 * are decompressed here under a size limit, so that a hostile or corrupt body cannot exhaust memory.
 */
import { GetImageSetCommand, GetImageSetMetadataCommand, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { constants, isAscii } from 'node:buffer';
import zlib from 'node:zlib';
import type { ImageSetMetadataDocument } from '../dicom/types.js';

export class MetadataTooLargeError extends Error {
  override readonly name = 'MetadataTooLargeError';
  constructor(readonly limit: number) {
    super(`The metadata document is larger than the configured limit of ${limit} bytes once decompressed; it was not read (raise --max-metadata-bytes to allow it).`);
  }
}

export interface MetadataRef {
  datastoreId: string;
  imageSetId: string;
  versionId?: string;
}

/** Deflate cannot expand data by more than about 1032:1, so no honest body decompresses to more than this. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Gunzips `gz` (or passes plain JSON through), refusing to produce more than `limit` bytes. zlib runs on the thread
 * pool into one output buffer sized by the gzip trailer's length field, so that a big document arrives in one piece
 * instead of thousands of 16 KB pieces joined afterwards (a 42 MB document: 55 ms instead of 180 ms). The trailer is
 * only trusted as far as the buffer's size, which is also bounded by `limit` and by deflate's largest possible
 * expansion of `gz`: zlib's `maxOutputLength` stops output past the limit as the pieces arrive, and zlib rejects a
 * body whose trailer is wrong.
 */
export async function gunzipLimited(gz: Uint8Array, limit: number): Promise<Buffer> {
  const isGzip = gz.length >= 2 && gz[0] === 0x1f && gz[1] === 0x8b;
  if (!isGzip) {
    if (gz.length > limit) throw new MetadataTooLargeError(limit);
    return Buffer.from(gz.buffer, gz.byteOffset, gz.byteLength);
  }
  const hint = gz.length >= 18 ? new DataView(gz.buffer, gz.byteOffset + gz.length - 4, 4).getUint32(0, true) : 0;
  // One byte over the expected size, so that zlib finishes in the first piece rather than asking for a second.
  const chunkSize = Math.max(64 * 1024, Math.min(hint, limit, gz.length * MAX_DEFLATE_RATIO, constants.MAX_LENGTH - 1) + 1);
  return new Promise<Buffer>((resolve, reject) => {
    // zlib takes no maxOutputLength beyond the largest Buffer (4 GiB on Node 20), which no document reaches anyway.
    zlib.gunzip(gz, { chunkSize, maxOutputLength: Math.min(limit, constants.MAX_LENGTH) }, (err, out) => {
      if (!err) return resolve(out);
      reject((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? new MetadataTooLargeError(limit) : err);
    });
  });
}

/**
 * The document's bytes as a string. Metadata documents are nearly always ASCII, which decodes as Latin-1 (a third
 * faster than UTF-8, same result); anything else is decoded as UTF-8.
 */
export function decodeDocument(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/** A metadata document read: its JSON text (exactly what the service stored), parsed on first use. */
export interface MetadataRead {
  text: string;
  /** The document's size in bytes (UTF-8), without scanning `text` for it. */
  byteLength: number;
  /** The parsed document; parsing a 50 MB document takes a quarter of a second and several times its memory. */
  readonly document: ImageSetMetadataDocument;
}

/** The metadata document as JSON text and, when asked for, parsed. */
export async function fetchMetadata(client: MedicalImagingClient, ref: MetadataRef, options: { maxBytes: number; signal?: AbortSignal }): Promise<MetadataRead> {
  const res = await client.send(
    new GetImageSetMetadataCommand({ datastoreId: ref.datastoreId, imageSetId: ref.imageSetId, ...(ref.versionId && { versionId: ref.versionId }) }),
    { abortSignal: options.signal },
  );
  const body = await res.imageSetMetadataBlob!.transformToByteArray();
  const bytes = await gunzipLimited(body, options.maxBytes);
  const text = decodeDocument(bytes);
  let document: ImageSetMetadataDocument | undefined;
  return {
    text,
    byteLength: bytes.length,
    get document() {
      return (document ??= JSON.parse(text) as ImageSetMetadataDocument);
    },
  };
}

/**
 * Parsed documents of exact image set versions, for tools that read the same image set again and again (a frame
 * after a frame, a contact sheet after a frame). A version's document never changes once written (an update
 * creates a new version), so a document cached under its image set *and version* ID stays right; the latest
 * version is asked for on every call (GetImageSet, a small request) and never assumed. Documents are frozen, so a
 * caller cannot change what the next caller reads. Bounded by count and by the JSON size of what it holds;
 * documents larger than a quarter of the budget are not kept.
 */
export class DocumentCache {
  private readonly entries = new Map<string, { document: ImageSetMetadataDocument; bytes: number }>();
  private bytes = 0;

  constructor(
    readonly maxEntries = 16,
    readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  get(key: string): ImageSetMetadataDocument | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.document;
  }

  set(key: string, document: ImageSetMetadataDocument, bytes: number): void {
    if (bytes > this.maxBytes / 4 || this.entries.has(key)) return;
    this.entries.set(key, { document: deepFreeze(document), bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * One cache per client object: a server confined to some datastores has a client of its own, and GetImageSet goes
 * through it before any cached document is returned, so the cache never answers what the client may not ask.
 */
const caches = new WeakMap<MedicalImagingClient, DocumentCache>();

/**
 * The parsed metadata document of the image set's latest version (or of `ref.versionId`), read-only, served from
 * a small cache when this client read that exact version before. For tools that only read the document; the
 * resource and the summary, which return the document's text, use `fetchMetadata`.
 */
export async function fetchMetadataDocument(
  client: MedicalImagingClient,
  ref: MetadataRef,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<{ document: ImageSetMetadataDocument; versionId: string }> {
  const versionId =
    ref.versionId ?? (await client.send(new GetImageSetCommand({ datastoreId: ref.datastoreId, imageSetId: ref.imageSetId }), { abortSignal: options.signal })).versionId;
  if (!versionId) throw new Error(`GetImageSet returned no version ID for image set ${ref.imageSetId}`);
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = new DocumentCache()));
  const key = `${ref.datastoreId}/${ref.imageSetId}/${versionId}`;
  const cached = cache.get(key);
  if (cached) return { document: cached, versionId };
  const { text, document } = await fetchMetadata(client, { ...ref, versionId }, options);
  cache.set(key, document, text.length);
  return { document, versionId };
}
