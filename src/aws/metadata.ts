/**
 * Reading an image set's metadata document: GetImageSetMetadata returns gzip bytes (the SDK does not gunzip), which
 * are decompressed here under a size limit, so that a hostile or corrupt body cannot exhaust memory.
 */
import { GetImageSetCommand, GetImageSetMetadataCommand, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { createGunzip } from 'node:zlib';
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

/**
 * Gunzips `gz` (or passes plain JSON through), refusing to produce more than `limit` bytes. The output goes straight
 * into one buffer sized by the gzip trailer's length field (a hint: a body that lies about it is still bounded by
 * `limit`, it only costs a copy), so a big document is held once, not once in pieces and again joined.
 */
export async function gunzipLimited(gz: Uint8Array, limit: number): Promise<Buffer> {
  const isGzip = gz.length >= 2 && gz[0] === 0x1f && gz[1] === 0x8b;
  if (!isGzip) {
    if (gz.length > limit) throw new MetadataTooLargeError(limit);
    return Buffer.from(gz.buffer, gz.byteOffset, gz.byteLength);
  }
  const hint = gz.length >= 18 ? new DataView(gz.buffer, gz.byteOffset + gz.length - 4, 4).getUint32(0, true) : 0;
  return new Promise<Buffer>((resolve, reject) => {
    const gunzip = createGunzip();
    let out = Buffer.allocUnsafe(Math.min(hint, limit));
    let size = 0;
    gunzip.on('data', (chunk: Buffer) => {
      if (size + chunk.length > limit) {
        gunzip.destroy();
        reject(new MetadataTooLargeError(limit));
        return;
      }
      if (size + chunk.length > out.length) {
        const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(2 * out.length, size + chunk.length)));
        out.copy(grown, 0, 0, size);
        out = grown;
      }
      chunk.copy(out, size);
      size += chunk.length;
    });
    gunzip.on('error', reject);
    gunzip.on('end', () => resolve(out.subarray(0, size)));
    gunzip.end(gz);
  });
}

/** A metadata document read: its JSON text (exactly what the service stored), parsed on first use. */
export interface MetadataRead {
  text: string;
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
  const text = (await gunzipLimited(body, options.maxBytes)).toString('utf8');
  let document: ImageSetMetadataDocument | undefined;
  return {
    text,
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
