/** Response shapes shared by the DICOMweb endpoints: DICOM JSON bodies, multipart bodies, resource URLs. */
import { Readable } from 'node:stream';
import { closingDelimiter, newBoundary, partClose, partOpening } from '../../dicom/multipart.js';
import type { Reply, RequestContext } from '../http.js';
import { DICOM_JSON } from './negotiate.js';

export function dicomJsonReply(value: unknown, options: { status?: number; headers?: Record<string, string> } = {}): Reply {
  return { status: options.status ?? 200, body: Buffer.from(JSON.stringify(value)), contentType: DICOM_JSON, ...(options.headers && { headers: options.headers }) };
}

/** QIDO-RS answers a search without matches with 204 and no body (observed on HealthImaging, spec §4.4). */
export const noContent = (): Reply => ({ status: 204, body: Buffer.alloc(0), contentType: DICOM_JSON });

export interface Part {
  headers: Record<string, string>;
  body: () => Promise<Uint8Array | Readable>;
}

/**
 * A multipart/related body whose parts are produced one at a time as the client reads, so a response of many
 * large frames holds one frame in memory (none for frames streamed from their files).
 */
export function multipartReply(parts: Part[], outer: { type: string; transferSyntaxUID?: string }): Reply {
  const boundary = newBoundary();
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      yield partOpening(boundary, part.headers);
      const content = await part.body();
      if (content instanceof Readable) yield* content as AsyncIterable<Buffer>;
      else yield content;
      yield partClose();
    }
    yield closingDelimiter(boundary);
  }
  const syntax = outer.transferSyntaxUID ? `; transfer-syntax=${outer.transferSyntaxUID}` : '';
  return { body: Readable.from(body(), { objectMode: false }), contentType: `multipart/related; type="${outer.type}"${syntax}; boundary=${boundary}` };
}

/** A Warning header value (RFC 7234 §5.5, as PS3.18 §8.5 uses it): `299 <agent> "<text>"`. */
export function warning(text: string): string {
  return `299 healthimaging-local "${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Builds the URLs a response refers to, on the host the client addressed. */
export class ResourceUrls {
  private readonly base: string;
  constructor(ctx: RequestContext, datastoreId: string) {
    this.base = `http://${String(ctx.headers.host ?? 'localhost')}/datastore/${datastoreId}`;
  }

  private static suffix(imageSetId: string | undefined): string {
    return imageSetId ? `?imageSetId=${imageSetId}` : '';
  }

  study(study: string, imageSetId?: string): string {
    return `${this.base}/studies/${study}${ResourceUrls.suffix(imageSetId)}`;
  }
  series(study: string, series: string, imageSetId?: string): string {
    return `${this.base}/studies/${study}/series/${series}${ResourceUrls.suffix(imageSetId)}`;
  }
  instance(study: string, series: string, sop: string, imageSetId?: string): string {
    return `${this.base}/studies/${study}/series/${series}/instances/${sop}${ResourceUrls.suffix(imageSetId)}`;
  }
  bulkData(study: string, series: string, sop: string, hash: string, imageSetId?: string): string {
    return `${this.base}/studies/${study}/series/${series}/instances/${sop}/bulkdata/${hash}${ResourceUrls.suffix(imageSetId)}`;
  }
}
