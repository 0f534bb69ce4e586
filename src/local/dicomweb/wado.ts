/**
 * WADO-RS (spec §4.3): GetDICOMInstance (Part 10), GetDICOMInstanceMetadata and GetDICOMSeriesMetadata (DICOM
 * JSON), GetDICOMInstanceFrames (multipart, stored or decoded) and GetDICOMBulkdata. Primary image sets unless
 * `?imageSetId=` names one; BulkDataURIs and retrieve URLs carry that parameter on, so a client can follow them.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { BULK_DATA_THRESHOLD, findBulkData, tagOf, toDicomJson } from '../../dicom/dicom-json.js';
import { canDecodeToNative, geometryOf, nativeFrame, writeP10 } from '../../dicom/p10-writer.js';
import { TS, type DicomAttributes, type FrameGeometry } from '../../dicom/types.js';
import type { ServiceContext } from '../api/context.js';
import { notFound, ServiceError, validationError } from '../errors.js';
import type { Reply, RequestContext } from '../http.js';
import type { DicomwebCatalog, FoundInstance } from './catalog.js';
import { chooseBulkDataRendition, chooseFrameRendition, chooseInstanceRendition, requireDicomJson } from './negotiate.js';
import { dicomJsonReply, multipartReply, ResourceUrls } from './responses.js';

export interface InstancePath {
  datastoreId: string;
  study: string;
  series: string;
  sop: string;
  imageSetId: string | undefined;
}

/** An instance's DICOM JSON: all levels, without the file meta group; large binaries as BulkDataURIs. */
function instanceJson(found: FoundInstance, path: Omit<InstancePath, 'sop'>, urls: ResourceUrls) {
  const sopUid = String(found.document.DICOM.SOPInstanceUID ?? '').trim();
  const attributes: DicomAttributes = {};
  for (const [key, value] of Object.entries(found.attributes)) if (!tagOf(key)?.startsWith('0002')) attributes[key] = value;
  if (found.document.ImageFrames.length > 0) {
    // Which transfer-syntax a frames or instance request may ask for (PS3.18 §10.4.1.2).
    const stored = found.document.StoredTransferSyntaxUID;
    attributes.AvailableTransferSyntaxUID = [...new Set([stored, ...(canDecodeToNative(stored) ? [TS.explicitLE] : [])])];
  }
  return toDicomJson(attributes, found.document.DICOMVRs, {
    bulkDataThreshold: BULK_DATA_THRESHOLD,
    bulkDataUri: (hash) => urls.bulkData(path.study, path.series, sopUid, hash, path.imageSetId),
  });
}

export async function instanceMetadata(catalog: DicomwebCatalog, ctx: RequestContext, path: InstancePath): Promise<Reply> {
  requireDicomJson(ctx.headers.accept);
  const found = await catalog.findInstance(path.datastoreId, path.study, path.series, path.sop, path.imageSetId);
  return dicomJsonReply([instanceJson(found, path, new ResourceUrls(ctx, path.datastoreId))]);
}

export async function seriesMetadata(catalog: DicomwebCatalog, ctx: RequestContext, path: Omit<InstancePath, 'sop'>): Promise<Reply> {
  requireDicomJson(ctx.headers.accept);
  const urls = new ResourceUrls(ctx, path.datastoreId);
  const entries = await catalog.findSeries(path.datastoreId, path.study, path.series, path.imageSetId);
  const instances = (await Promise.all(entries.map((entry) => catalog.instancesOf(entry)))).flat();
  return dicomJsonReply(instances.map((found) => instanceJson(found, path, urls)));
}

/** Frame numbers of a frame list (`1`, `3,1,2`): 1-based, no duplicates, within the instance. */
function frameNumbers(list: string, frameCount: number): number[] {
  if (!/^\d+(,\d+)*$/.test(list)) throw validationError(`Frame list '${list}' must be comma-separated frame numbers, e.g. 1 or 1,2,3.`);
  const numbers = list.split(',').map(Number);
  if (numbers.some((n) => n < 1)) throw validationError('Frame numbers start at 1.');
  if (new Set(numbers).size !== numbers.length) throw validationError(`Frame list '${list}' repeats a frame.`);
  const missing = numbers.find((n) => n > frameCount);
  if (missing !== undefined) throw notFound(`Frame ${missing} does not exist: the instance has ${frameCount} frame${frameCount === 1 ? '' : 's'}.`);
  return numbers;
}

/** Where each frame of the instance is stored, in frame order. */
async function framePaths(service: ServiceContext, found: FoundInstance, numbers?: number[]): Promise<string[]> {
  const frames = found.document.ImageFrames;
  const wanted = numbers ?? frames.map((_, i) => i + 1);
  return Promise.all(
    wanted.map(async (n) => {
      const stored = await service.store.findFrame(found.series.datastoreId, found.series.imageSetId, frames[n - 1]!.ID);
      if (!stored) throw new ServiceError('InternalServerException', `Frame ${n} of the instance is missing from the local store.`);
      return stored.path;
    }),
  );
}

/** Decoding needs the pixel module; an instance whose attributes cannot describe its frames cannot be decoded. */
function geometryFor(found: FoundInstance): FrameGeometry {
  try {
    return geometryOf(found.attributes);
  } catch (err) {
    throw new ServiceError('NotAcceptableException', `The frames cannot be decoded: ${err instanceof Error ? err.message : String(err)}. Ask for their stored transfer syntax.`);
  }
}

export async function frames(service: ServiceContext, catalog: DicomwebCatalog, ctx: RequestContext, path: InstancePath, frameList: string): Promise<Reply> {
  const found = await catalog.findInstance(path.datastoreId, path.study, path.series, path.sop, path.imageSetId);
  const stored = found.document.StoredTransferSyntaxUID;
  if (found.document.ImageFrames.length === 0) throw notFound(`Instance ${path.sop} has no pixel data.`);
  const numbers = frameNumbers(frameList, found.document.ImageFrames.length);
  const rendition = chooseFrameRendition(ctx.headers.accept, { storedTransferSyntaxUID: stored, decodable: canDecodeToNative(stored) });
  const geometry = rendition.native ? geometryFor(found) : undefined;
  const paths = await framePaths(service, found, numbers);
  const partType = `${rendition.mediaType}; transfer-syntax=${rendition.transferSyntaxUID}`;
  const parts = paths.map((file) => ({
    headers: { 'Content-Type': partType },
    body: async () => (geometry ? nativeFrame(new Uint8Array(await fs.readFile(file)), stored, geometry) : createReadStream(file)),
  }));
  return multipartReply(parts, { type: rendition.mediaType, transferSyntaxUID: rendition.transferSyntaxUID });
}

export async function instance(service: ServiceContext, catalog: DicomwebCatalog, ctx: RequestContext, path: InstancePath): Promise<Reply> {
  const found = await catalog.findInstance(path.datastoreId, path.study, path.series, path.sop, path.imageSetId);
  const stored = found.document.StoredTransferSyntaxUID;
  const hasFrames = found.document.ImageFrames.length > 0;
  const rendition = chooseInstanceRendition(ctx.headers.accept, hasFrames ? { storedTransferSyntaxUID: stored, decodable: canDecodeToNative(stored) } : undefined);
  // Frames that cannot be described cannot be decoded: a 406 now rather than a failure while writing.
  if (rendition.native && hasFrames) geometryFor(found);
  const frameBytes = await Promise.all((await framePaths(service, found)).map(async (file) => new Uint8Array(await fs.readFile(file))));
  const p10 = await writeP10({ attributes: found.attributes, vrs: found.document.DICOMVRs, storedTransferSyntaxUID: stored, frames: frameBytes }, rendition.transferSyntaxUID);
  const contentType = `application/dicom; transfer-syntax=${rendition.transferSyntaxUID}`;
  if (!rendition.multipart) return { body: Buffer.from(p10.buffer, p10.byteOffset, p10.byteLength), contentType };
  return multipartReply([{ headers: { 'Content-Type': contentType }, body: async () => p10 }], { type: 'application/dicom', transferSyntaxUID: rendition.transferSyntaxUID });
}

export async function bulkData(catalog: DicomwebCatalog, ctx: RequestContext, path: InstancePath, hash: string): Promise<Reply> {
  if (!/^[0-9a-f]{32}$/.test(hash)) throw validationError(`Bulk data hash '${hash}' must be 32 lowercase hex digits, as in a BulkDataURI.`);
  const rendition = chooseBulkDataRendition(ctx.headers.accept);
  const found = await catalog.findInstance(path.datastoreId, path.study, path.series, path.sop, path.imageSetId);
  const binary = findBulkData(found.attributes, found.document.DICOMVRs, hash);
  if (!binary) throw notFound(`Instance ${path.sop} has no bulk data ${hash}.`);
  const bytes = Buffer.from(binary.bytes.buffer, binary.bytes.byteOffset, binary.bytes.byteLength);
  if (!rendition.multipart) return { body: bytes, contentType: 'application/octet-stream' };
  return multipartReply([{ headers: { 'Content-Type': 'application/octet-stream' }, body: async () => bytes }], { type: 'application/octet-stream' });
}
