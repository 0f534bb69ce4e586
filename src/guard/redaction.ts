/**
 * `--redact-phi`, enforced where DICOM data enters the MCP layer: the SDK client that a server's tools, resources,
 * completions and write previews share. SearchImageSets answers have their DICOMTags masked and GetImageSetMetadata
 * answers their document (every level), so no tool, resource or guard preview can show a value it never received,
 * and a new tool cannot forget to redact. Frames (pixel data) pass unchanged. Writes are unaffected: they send what
 * the agent gives, never a document read through this client.
 *
 * The masks themselves (which attributes, pseudonyms) are src/dicom/redact.ts.
 */
import { GetImageSetMetadataCommand, type GetImageSetMetadataCommandOutput, SearchImageSetsCommand, type SearchImageSetsCommandOutput, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { Readable } from 'node:stream';
import { interceptSend, type SentCommand } from '../aws/client.js';
import { decodeDocument, gunzipLimited } from '../aws/metadata.js';
import { type Masker, pseudonymizer, redactMetadataDocument, redactSearchTags } from '../dicom/redact.js';
import type { ImageSetMetadataDocument } from '../dicom/types.js';

/** `client`, with PHI masked in what it returns: see the module comment. */
export function redactingClient(client: MedicalImagingClient, mask: Masker, options: { maxMetadataBytes: number }): MedicalImagingClient {
  return interceptSend(client, async (command: SentCommand, send) => {
    if (command instanceof SearchImageSetsCommand) {
      const output = (await send()) as SearchImageSetsCommandOutput;
      return {
        ...output,
        imageSetsMetadataSummaries: output.imageSetsMetadataSummaries?.map((s) => ({ ...s, ...(s.DICOMTags && { DICOMTags: redactSearchTags(s.DICOMTags, mask) }) })),
      };
    }
    if (command instanceof GetImageSetMetadataCommand) {
      const output = (await send()) as GetImageSetMetadataCommandOutput;
      const json = decodeDocument(await gunzipLimited(await output.imageSetMetadataBlob.transformToByteArray(), options.maxMetadataBytes));
      const redacted = redactMetadataDocument(JSON.parse(json) as ImageSetMetadataDocument, mask);
      // Plain JSON now, not gzip: readers gunzip only what starts with the gzip magic bytes.
      return { ...output, contentEncoding: undefined, imageSetMetadataBlob: byteStream(Buffer.from(JSON.stringify(redacted), 'utf8')) };
    }
    return send();
  });
}

/** A body in the shape the SDK gives streaming outputs (a Node stream with the transformTo… helpers). */
function byteStream(bytes: Buffer): GetImageSetMetadataCommandOutput['imageSetMetadataBlob'] {
  return Object.assign(Readable.from([bytes]), {
    transformToByteArray: async () => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    transformToString: async (encoding?: string) => bytes.toString((encoding ?? 'utf8') as BufferEncoding),
    transformToWebStream: () => Readable.toWeb(Readable.from([bytes])) as unknown as ReadableStream,
  });
}

let shared: Masker | undefined;
/** The pseudonymizer every session of this process shares: one key, so pseudonyms agree across sessions. */
export function processMasker(): Masker {
  shared ??= pseudonymizer();
  return shared;
}
