/**
 * Reading an image set's metadata document: GetImageSetMetadata returns gzip bytes (the SDK does not gunzip), which
 * are decompressed here under a size limit, so that a hostile or corrupt body cannot exhaust memory.
 */
import { GetImageSetMetadataCommand, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
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

/** Gunzips `gz` (or passes plain JSON through), refusing to produce more than `limit` bytes. */
export async function gunzipLimited(gz: Uint8Array, limit: number): Promise<Buffer> {
  const isGzip = gz.length >= 2 && gz[0] === 0x1f && gz[1] === 0x8b;
  if (!isGzip) {
    if (gz.length > limit) throw new MetadataTooLargeError(limit);
    return Buffer.from(gz.buffer, gz.byteOffset, gz.byteLength);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const gunzip = createGunzip();
    const chunks: Buffer[] = [];
    let size = 0;
    gunzip.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        gunzip.destroy();
        reject(new MetadataTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    gunzip.on('error', reject);
    gunzip.on('end', () => resolve(Buffer.concat(chunks, size)));
    gunzip.end(gz);
  });
}

/** The metadata document as JSON text (exactly what the service stored) and parsed. */
export async function fetchMetadata(
  client: MedicalImagingClient,
  ref: MetadataRef,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<{ text: string; document: ImageSetMetadataDocument }> {
  const res = await client.send(
    new GetImageSetMetadataCommand({ datastoreId: ref.datastoreId, imageSetId: ref.imageSetId, ...(ref.versionId && { versionId: ref.versionId }) }),
    { abortSignal: options.signal },
  );
  const body = await res.imageSetMetadataBlob!.transformToByteArray();
  const text = (await gunzipLimited(body, options.maxBytes)).toString('utf8');
  return { text, document: JSON.parse(text) as ImageSetMetadataDocument };
}
