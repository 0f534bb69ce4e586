/**
 * Import jobs (spec §3.1): SUBMITTED → IN_PROGRESS → COMPLETED | FAILED, run in the background.
 *
 * A job reads and converts every file first (frames staged to fsynced temp files), then commits image sets in one
 * phase at the end. The phase is persisted, which decides what a restart does with an interrupted job:
 * - interrupted while scanning: nothing was committed, so the job is run again from the start;
 * - interrupted while committing: the image sets already committed are complete (each commit is atomic) and
 *   stay; the job ends FAILED with a message saying so, and running it again re-imports the rest.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ParsedInstance, PreparedFrames } from '../dicom/types.js';
import { newId, type ImportScheduler, type ServiceContext } from './api/context.js';
import { ConvertPool } from './convert-pool.js';
import { placeInstances, type Placement, type StagedInstance } from './organize.js';
import { mapS3Uri, scanLocation, ScanLimitError } from './s3.js';
import { nowSeconds, type JobRecord } from './store/records.js';

export const IMPORT_LIMITS = { maxFiles: 5000, maxFolders: 10_000, maxFileBytes: 4 * 1024 ** 3, maxJobBytes: 10 * 1024 ** 3 };

/** Input files an import job converts at once (bench/README.md, case 5). */
const FILES_IN_FLIGHT = 4;
/**
 * Jobs of fewer files convert on the main thread: starting the worker threads (each loads dcmjs and the codecs)
 * costs more than it saves on a handful of files.
 */
const POOL_MIN_FILES = 16;
/** Bytes of input files converted at once, unless one file alone is larger. */
const BYTES_IN_FLIGHT = 256 * 1024 * 1024;

/** Persisted next to the job record while it runs. */
type JobPhase = 'scanning' | 'committing';

interface FailureLine {
  inputFile: string;
  exception: { exceptionType: string; message: string };
}

export class ImportRunner implements ImportScheduler {
  private readonly queue: Array<{ datastoreId: string; jobId: string }> = [];
  /** Parsing and encoding run in worker threads, on every core and off the event loop that serves requests. */
  private readonly pool = new ConvertPool();
  private running = 0;
  private readonly idle = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly service: ServiceContext,
    private readonly concurrency = 2,
  ) {}

  submit(datastoreId: string, jobId: string): void {
    this.queue.push({ datastoreId, jobId });
    this.pump();
  }

  /** Re-queues or fails the jobs a previous process left unfinished. */
  async recover(): Promise<void> {
    const { store } = this.service;
    for (const datastore of store.datastores()) {
      for (const job of store.jobs(datastore.datastoreId)) {
        if (job.jobStatus !== 'SUBMITTED' && job.jobStatus !== 'IN_PROGRESS') continue;
        const phase = await this.readPhase(job);
        if (phase === 'committing') {
          await this.finish(job, 'FAILED', 'The local service stopped while this job was committing image sets. Image sets it had committed are complete and kept; start the job again to import the rest.');
        } else {
          this.submit(job.datastoreId, job.jobId);
        }
      }
    }
  }

  /** Stops taking queued jobs and waits for running ones. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.running > 0) await new Promise<void>((resolve) => this.idle.add(resolve));
    await this.pool.close();
  }

  private pump(): void {
    while (!this.closed && this.running < this.concurrency && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.running++;
      this.run(next.datastoreId, next.jobId)
        .catch((err: unknown) => this.service.log(`import job ${next.jobId} crashed: ${err instanceof Error ? err.stack : String(err)}`))
        .finally(() => {
          this.running--;
          if (this.running === 0) for (const resolve of this.idle) resolve();
          this.pump();
        });
    }
  }

  private phaseFile(job: JobRecord): string {
    return path.join(this.service.store.datastoreDir(job.datastoreId), 'jobs', `${job.jobId}.phase`);
  }

  private async readPhase(job: JobRecord): Promise<JobPhase | undefined> {
    const text = await fs.readFile(this.phaseFile(job), 'utf8').catch(() => undefined);
    return text === 'scanning' || text === 'committing' ? text : undefined;
  }

  private async setPhase(job: JobRecord, phase: JobPhase): Promise<void> {
    await this.service.store.writer.write(this.phaseFile(job), phase);
  }

  private async finish(job: JobRecord, status: 'COMPLETED' | 'FAILED', message?: string): Promise<void> {
    const { store } = this.service;
    const current = store.job(job.datastoreId, job.jobId) ?? job;
    await store.putJob({ ...current, jobStatus: status, endedAt: nowSeconds(), ...(message !== undefined && { message }) });
    await fs.rm(this.phaseFile(job), { force: true });
  }

  private async run(datastoreId: string, jobId: string): Promise<void> {
    const { store } = this.service;
    const job = store.job(datastoreId, jobId);
    if (!job) return;
    const staged: StagedInstance[] = [];
    try {
      await this.setPhase(job, 'scanning');
      if (job.jobStatus !== 'IN_PROGRESS') await store.putJob({ ...job, jobStatus: 'IN_PROGRESS' });
      await this.execute(job, staged);
    } catch (err) {
      const message = err instanceof ScanLimitError || err instanceof JobError ? err.message : 'The import failed with an internal error; see the local service log.';
      if (!(err instanceof ScanLimitError || err instanceof JobError)) this.service.log(`import job ${jobId}: ${err instanceof Error ? err.stack : String(err)}`);
      await this.finish(job, 'FAILED', message);
    } finally {
      // Frames still staged belong to instances that were not committed.
      await Promise.all(staged.flatMap((i) => i.frames.map((f) => fs.rm(f.staged, { force: true }))));
    }
  }

  private async execute(job: JobRecord, staged: StagedInstance[]): Promise<void> {
    const { store, settings } = this.service;
    const datastore = store.datastore(job.datastoreId);
    if (!datastore || datastore.datastoreStatus !== 'ACTIVE') throw new JobError(`Datastore ${job.datastoreId} is not ACTIVE.`);
    const input = mapS3Uri(settings.s3Root, job.inputS3Uri, 'inputS3Uri');
    const files = await scanLocation(settings.s3Root, input, IMPORT_LIMITS);
    if (files.length === 0) throw new JobError(`No objects were found at ${job.inputS3Uri} (local directory ${input.dir}).`);
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    if (totalBytes > IMPORT_LIMITS.maxJobBytes) throw new JobError(`The input holds ${totalBytes} bytes, more than the 10 GB import job quota.`);

    // Files are converted a few at a time: while one waits for its staged frames to reach the disk (fsync),
    // another is decoded and encoded. Results keep the input order, so the same input gives the same documents.
    const outcomes: Array<StagedInstance | FailureLine | undefined> = new Array(files.length);
    let next = 0;
    // Each file is read whole: big ones are converted alone, so memory stays near that of one file at a time.
    let bytesInFlight = 0;
    const waiting: Array<() => void> = [];
    const admit = async (size: number) => {
      while (bytesInFlight > 0 && bytesInFlight + size > BYTES_IN_FLIGHT) await new Promise<void>((resolve) => waiting.push(resolve));
      bytesInFlight += size;
    };
    const release = (size: number) => {
      bytesInFlight -= size;
      for (const resolve of waiting.splice(0)) resolve();
    };
    const convertNext = async (): Promise<void> => {
      while (next < files.length) {
        const index = next++;
        const file = files[index]!;
        await admit(file.size);
        // Converting is CPU-bound: give other requests a turn between files.
        await yieldToEventLoop();
        try {
          if (file.size > IMPORT_LIMITS.maxFileBytes) throw new InputFileError('The file is larger than the 4 GB per-file quota.');
          const instance = await stageFile(this.service, files.length >= POOL_MIN_FILES ? this.pool : undefined, datastore.losslessStorageFormat, file.path, file.key);
          outcomes[index] = instance;
          // Registered at once, so that a failure elsewhere still removes its staged frames.
          staged.push(instance);
        } catch (err) {
          if (!isInputError(err)) this.service.log(`import job ${job.jobId}: ${file.key}: ${err instanceof Error ? err.stack : String(err)}`);
          outcomes[index] = {
            inputFile: `${file.key}`,
            exception: {
              exceptionType: isInputError(err) ? 'ValidationException' : 'InternalServerException',
              message: err instanceof Error ? err.message : String(err),
            },
          };
        } finally {
          release(file.size);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, convertNext));
    const failures = outcomes.filter((o): o is FailureLine => o !== undefined && 'exception' in o);
    staged.length = 0;
    staged.push(...outcomes.filter((o): o is StagedInstance => o !== undefined && 'frames' in o));

    await this.setPhase(job, 'committing');
    const placements = await placeInstances(this.service, datastore, staged);
    staged.length = 0;
    await writeJobOutput(this.service, job, files.length, placements, failures);
    await this.finish(job, 'COMPLETED');
  }
}

class JobError extends Error {}

/** The DICOM layer (dcmjs and the WASM codecs) loads on the first import, not at service start. */
let dicomLayer: Promise<[typeof import('../dicom/p10.js'), typeof import('../dicom/frames.js')]> | undefined;
const loadDicomLayer = () => (dicomLayer ??= Promise.all([import('../dicom/p10.js'), import('../dicom/frames.js')]));

/** Per-file failures that are the input's fault (reported as ValidationException lines, not server errors). */
export class InputFileError extends Error {}
const isInputError = (err: unknown) => err instanceof InputFileError || (err instanceof Error && err.name === 'DicomParseError');

async function stageFile(service: ServiceContext, pool: ConvertPool | undefined, losslessFormat: 'HTJ2K' | 'JPEG_2000_LOSSLESS', filePath: string, source: string): Promise<StagedInstance> {
  const bytes = new Uint8Array(await fs.readFile(filePath));
  if (!pool) return stageInstance(service, losslessFormat, bytes, source);
  const { parsed, prepared } = await pool.convert(bytes, losslessFormat);
  return stagePrepared(service, parsed, prepared, source);
}

/** Parses one P10 instance and writes its frames, converted per spec §5, to staging files. */
export async function stageInstance(service: ServiceContext, losslessFormat: 'HTJ2K' | 'JPEG_2000_LOSSLESS', bytes: Uint8Array, source: string): Promise<StagedInstance> {
  return stageParsed(service, losslessFormat, await parseInstance(bytes), source);
}

/** Parses one P10 instance; throws DicomParseError when it is not one that can be imported. */
export async function parseInstance(bytes: Uint8Array): Promise<ParsedInstance> {
  const [{ parseP10 }] = await loadDicomLayer();
  return parseP10(bytes);
}

/**
 * Writes the frames of a parsed instance, converted per spec §5, to staging files. Separate from parsing so that
 * STOW-RS can refuse an instance on its identifiers before paying for the conversion.
 */
export async function stageParsed(service: ServiceContext, losslessFormat: 'HTJ2K' | 'JPEG_2000_LOSSLESS', parsed: ParsedInstance, source: string): Promise<StagedInstance> {
  const [, { prepareFrames }] = await loadDicomLayer();
  const prepared = await prepareFrames(parsed, { losslessFormat });
  const { frameData: _pixels, ...metadata } = parsed;
  return stagePrepared(service, metadata, prepared, source);
}

/** Writes prepared frames to staging files (fsynced when the store is durable). */
async function stagePrepared(service: ServiceContext, parsed: Omit<ParsedInstance, 'frameData'>, prepared: PreparedFrames, source: string): Promise<StagedInstance> {
  const frames: StagedInstance['frames'] = [];
  try {
    for (const frame of prepared.frames) {
      frames.push({
        staged: await service.store.writer.stage(frame.bytes),
        entry: {
          ID: newId(),
          PixelDataChecksumFromBaseToFullResolution: [{ Width: frame.width, Height: frame.height, Checksum: frame.checksum }],
          MinPixelValue: frame.min,
          MaxPixelValue: frame.max,
          FrameSizeInBytes: frame.bytes.length,
        },
      });
    }
  } catch (err) {
    await Promise.all(frames.map((f) => fs.rm(f.staged, { force: true })));
    throw err;
  }
  return { source, parsed, storedTransferSyntaxUID: prepared.storedTransferSyntaxUID, frames };
}

async function writeJobOutput(service: ServiceContext, job: JobRecord, scanned: number, placements: Map<string, Placement>, failures: FailureLine[]): Promise<void> {
  const { store, settings } = service;
  const out = mapS3Uri(settings.s3Root, job.outputS3Uri, 'outputS3Uri');
  const uri = job.outputS3Uri.endsWith('/') ? job.outputS3Uri : `${job.outputS3Uri}/`;
  const imageSets = new Map<string, { imageSetId: string; imageSetVersion: number; isPrimary: boolean; numberOfMatchedSOPInstances: number }>();
  const successLines: string[] = [];
  for (const [inputFile, placement] of placements) {
    successLines.push(JSON.stringify({ inputFile, importResponse: { imageSetId: placement.imageSetId, isPrimary: placement.isPrimary } }));
    const summary = imageSets.get(placement.imageSetId) ?? { ...placement, numberOfMatchedSOPInstances: 0 };
    summary.numberOfMatchedSOPInstances++;
    imageSets.set(placement.imageSetId, summary);
  }
  const manifest = {
    jobSummary: {
      jobId: job.jobId,
      datastoreId: job.datastoreId,
      inputS3Uri: job.inputS3Uri,
      outputS3Uri: uri,
      successOutputS3Uri: `${uri}SUCCESS/`,
      failureOutputS3Uri: `${uri}FAILURE/`,
      warningsOutputS3Uri: `${uri}WARNING/`,
      numberOfScannedFiles: scanned,
      numberOfImportedFiles: placements.size,
      numberOfFilesWithCustomerError: failures.filter((f) => f.exception.exceptionType !== 'InternalServerException').length,
      numberOfFilesWithServerError: failures.filter((f) => f.exception.exceptionType === 'InternalServerException').length,
      numberOfGeneratedImageSets: imageSets.size,
      imageSetsSummary: [...imageSets.values()],
    },
  };
  const ndjson = (lines: string[]) => (lines.length ? `${lines.join('\n')}\n` : '');
  await store.writer.write(path.join(out.dir, 'job-output-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await store.writer.write(path.join(out.dir, 'SUCCESS', 'success.ndjson'), ndjson(successLines));
  await store.writer.write(path.join(out.dir, 'FAILURE', 'failure.ndjson'), ndjson(failures.map((f) => JSON.stringify(f))));
}
