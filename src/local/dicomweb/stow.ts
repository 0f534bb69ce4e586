/**
 * STOW-RS (spec §4.2): StoreDICOM `POST /datastore/{ds}/studies` and StoreDICOMStudy
 * `POST /datastore/{ds}/studies/{StudyInstanceUID}`, with one Part 10 file (`application/dicom`) or many
 * (`multipart/related; type="application/dicom"`).
 *
 * The body is streamed: one part at a time is read, parsed and its frames converted to staging files, while the
 * request waits (backpressure) — so memory holds one instance, never the body. Only when the whole body has arrived
 * and passed its checks (size, signed SHA-256, declared length) are the staged instances committed, through the
 * same organisation as import jobs; a request that fails as a whole stores nothing.
 *
 * Per-instance failures are reported in the Store Instances Response (PS3.18 Annex I) with standard reasons, and
 * in words in a Warning header: not DICOM or unreadable 0xC000, unsupported transfer syntax 0xC122, another study
 * than the one addressed 0xA900, a SOP instance sent twice 0x0110. Status: 200 all stored, 202 some, 409 none.
 */
import { promises as fs } from 'node:fs';
import { toDicomJson } from '../../dicom/dicom-json.js';
import { MultipartError, MultipartParser, parseMediaType } from '../../dicom/multipart.js';
import type { ParsedInstance } from '../../dicom/types.js';
import { activeDatastore, type ServiceContext } from '../api/context.js';
import { ServiceError, validationError } from '../errors.js';
import { streamedBody, type Reply, type RequestContext } from '../http.js';
import { parseInstance, stageParsed } from '../imports.js';
import { placeInstances, type Placement, type StagedInstance } from '../organize.js';
import { requireDicomJson } from './negotiate.js';
import { dicomJsonReply, ResourceUrls, warning } from './responses.js';

const FAILURE = {
  processingFailure: 0x0110,
  doesNotMatch: 0xa900,
  cannotUnderstand: 0xc000,
  transferSyntaxNotSupported: 0xc122,
} as const;

interface Part {
  index: number;
  headers: Record<string, string>;
  bytes: Uint8Array;
}

type Body = { kind: 'single' } | { kind: 'multipart'; boundary: string };

interface Failed {
  index: number;
  sopClassUID?: string;
  sopInstanceUID?: string;
  reason: number;
  message: string;
}

/** What the Content-Type says the body is; 415 for anything but Part 10 instances. */
function bodyKind(contentType: string | undefined): Body {
  if (!contentType) throw new ServiceError('UnsupportedMediaTypeException', 'A Content-Type header is required: application/dicom, or multipart/related; type="application/dicom".');
  const media = parseMediaType(contentType);
  if (media.type === 'application/dicom') return { kind: 'single' };
  if (media.type === 'multipart/related') {
    const type = media.params.get('type')?.value.toLowerCase();
    if (type !== undefined && type !== 'application/dicom') {
      throw new ServiceError('UnsupportedMediaTypeException', `multipart/related; type="${type}" is not supported: store Part 10 instances (type="application/dicom").`);
    }
    const boundary = media.params.get('boundary')?.value;
    if (!boundary) throw validationError('The multipart/related Content-Type has no boundary parameter.');
    return { kind: 'multipart', boundary };
  }
  throw new ServiceError('UnsupportedMediaTypeException', `Content-Type ${media.type} is not supported: send application/dicom, or multipart/related; type="application/dicom".`);
}

/** The body's parts, one at a time; the next is read only when the caller asks for it. */
async function* partsOf(body: AsyncIterable<Buffer>, kind: Body): AsyncGenerator<Part> {
  if (kind.kind === 'single') {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const bytes = concat(chunks);
    if (bytes.length === 0) throw validationError('The request body is empty.');
    yield { index: 1, headers: {}, bytes };
    return;
  }
  const parser = new MultipartParser(kind.boundary);
  let current: { index: number; headers: Record<string, string>; chunks: Uint8Array[] } | undefined;
  let count = 0;
  for await (const chunk of body) {
    for (const event of parser.push(chunk)) {
      if (event.kind === 'partStart') current = { index: ++count, headers: event.headers, chunks: [] };
      else if (event.kind === 'data') current!.chunks.push(event.bytes);
      else {
        const part = { index: current!.index, headers: current!.headers, bytes: concat(current!.chunks) };
        current = undefined;
        yield part;
      }
    }
  }
  parser.end();
  if (parser.partCount === 0) throw validationError('The multipart body has no parts.');
}

/** The chunks in one Uint8Array that owns its memory, so the parser need not copy it again. */
function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

const isDicomParseError = (err: unknown): err is Error => err instanceof Error && err.name === 'DicomParseError';

export interface StoreTarget {
  datastoreId: string;
  /** StoreDICOMStudy: every instance must belong to this study. */
  study?: string;
}

export async function store(service: ServiceContext, ctx: RequestContext, target: StoreTarget, limit: number): Promise<Reply> {
  requireDicomJson(ctx.headers.accept);
  const datastore = activeDatastore(service, target.datastoreId);
  const kind = bodyKind(ctx.headers['content-type']);
  // Staged instances keep only their metadata in memory; their frames are in staging files.
  const stored: StagedInstance[] = [];
  const failed: Failed[] = [];
  const seen = new Set<string>();
  try {
    for await (const part of partsOf(streamedBody(ctx, limit), kind)) {
      const outcome = await receive(service, datastore.losslessStorageFormat, part, target, seen);
      if ('reason' in outcome) failed.push(outcome);
      else stored.push(outcome);
    }
    const placements = await placeInstances(service, datastore, stored);
    return respond(ctx, target, stored, placements, failed);
  } catch (err) {
    if (err instanceof MultipartError) throw validationError(`The multipart body is malformed: ${err.message}.`);
    throw err;
  } finally {
    // Frames of instances that were not committed (a failed request) are still staged.
    await Promise.all(stored.flatMap((s) => s.frames.map((f) => fs.rm(f.staged, { force: true }))));
  }
}

/** Parses and stages one part, or says why it cannot be stored. */
async function receive(service: ServiceContext, format: 'HTJ2K' | 'JPEG_2000_LOSSLESS', part: Part, target: StoreTarget, seen: Set<string>): Promise<StagedInstance | Failed> {
  const declared = part.headers['content-type'];
  if (declared !== undefined && parseMediaType(declared).type !== 'application/dicom') {
    return { index: part.index, reason: FAILURE.cannotUnderstand, message: `part ${part.index} is ${declared}, not application/dicom` };
  }
  let parsed: ParsedInstance;
  try {
    parsed = await parseInstance(part.bytes);
  } catch (err) {
    if (!isDicomParseError(err)) throw err;
    return { index: part.index, reason: FAILURE.cannotUnderstand, message: `part ${part.index}: ${err.message}` };
  }
  const ids = { index: part.index, sopClassUID: parsed.sopClassUID, sopInstanceUID: parsed.sopInstanceUID };
  if (target.study !== undefined && parsed.studyInstanceUID !== target.study) {
    return { ...ids, reason: FAILURE.doesNotMatch, message: `part ${part.index}: instance ${parsed.sopInstanceUID} belongs to study ${parsed.studyInstanceUID}, not to study ${target.study} of the request` };
  }
  if (seen.has(parsed.sopInstanceUID)) {
    return { ...ids, reason: FAILURE.processingFailure, message: `part ${part.index}: instance ${parsed.sopInstanceUID} appears more than once in the request` };
  }
  seen.add(parsed.sopInstanceUID);
  try {
    return await stageParsed(service, format, parsed, `part-${part.index}`);
  } catch (err) {
    if (!isDicomParseError(err)) {
      service.log(`STOW-RS part ${part.index}: ${err instanceof Error ? err.stack : String(err)}`);
      return { ...ids, reason: FAILURE.processingFailure, message: `part ${part.index}: the local service failed to store the instance; see its log` };
    }
    const reason = /transfer syntax/i.test(err.message) ? FAILURE.transferSyntaxNotSupported : FAILURE.cannotUnderstand;
    return { ...ids, reason, message: `part ${part.index}: ${err.message}` };
  }
}

function respond(
  ctx: RequestContext,
  target: StoreTarget,
  stored: StagedInstance[],
  placements: Map<string, Placement>,
  failed: Failed[],
): Reply {
  const urls = new ResourceUrls(ctx, target.datastoreId);
  const studies = new Set(stored.map((s) => s.parsed.studyInstanceUID));
  const study = target.study ?? (studies.size === 1 ? [...studies][0] : undefined);
  const referenced = stored.map(({ source, parsed }) => {
    const placement = placements.get(source);
    return {
      ReferencedSOPClassUID: parsed.sopClassUID,
      ReferencedSOPInstanceUID: parsed.sopInstanceUID,
      // An instance that went to a non-primary image set is retrieved with ?imageSetId= (spec §4).
      RetrieveURL: urls.instance(parsed.studyInstanceUID, parsed.seriesInstanceUID, parsed.sopInstanceUID, placement && !placement.isPrimary ? placement.imageSetId : undefined),
    };
  });
  const failures = failed.map((f) => ({ ReferencedSOPClassUID: f.sopClassUID ?? null, ReferencedSOPInstanceUID: f.sopInstanceUID ?? null, FailureReason: f.reason }));
  const response = toDicomJson(
    {
      RetrieveURL: study === undefined ? null : urls.study(study),
      ...(failures.length > 0 && { FailedSOPSequence: failures }),
      ...(referenced.length > 0 && { ReferencedSOPSequence: referenced }),
    },
    {},
  );
  const status = failed.length === 0 ? 200 : stored.length === 0 ? 409 : 202;
  const headers = failed.length > 0 ? { warning: warnings(failed) } : undefined;
  return dicomJsonReply(response, { status, ...(headers && { headers }) });
}

/** The failures in words, capped so that the header stays well within what HTTP clients accept. */
function warnings(failed: Failed[]): string {
  const shown = failed.slice(0, MAX_WARNINGS).map((f) => warning(f.message));
  if (failed.length > MAX_WARNINGS) shown.push(warning(`${failed.length - MAX_WARNINGS} more instances failed; see FailedSOPSequence`));
  return shown.join(', ');
}

const MAX_WARNINGS = 20;
