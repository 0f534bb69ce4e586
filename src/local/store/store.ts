/**
 * The local service's persistent state: a directory tree under `<data-dir>/store/`, with every record held in
 * memory for fast reads and search. Writes are persisted first (atomically) and only then made visible in memory,
 * so no request can observe state that a crash could take back.
 *
 *   store/LOCK                                            pid of the process that owns the store
 *   store/.tmp/                                           staging for atomic writes (swept at startup)
 *   store/datastores/<ds>/datastore.json
 *   store/datastores/<ds>/jobs/<jobId>.json
 *   store/datastores/<ds>/image-sets/<is>/image-set.json  written last: an image set exists once this file does
 *   store/datastores/<ds>/image-sets/<is>/versions/<v>.json.gz   metadata document, served as stored
 *   store/datastores/<ds>/image-sets/<is>/frames/<frameId>.<ext> frame bytes, extension from the stored syntax
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { ImageSetMetadataDocument } from '../../dicom/types.js';
import { AtomicWriter, readJsonIfExists } from './atomic.js';
import { KeyedMutex } from './mutex.js';
import type { DatastoreRecord, ImageSetRecord, JobRecord } from './records.js';

const gzip = promisify(zlib.gzip);
const gunzip = promisify(zlib.gunzip);

/** GetImageFrame content type and on-disk extension for each stored transfer syntax (spec §1.6). */
const FRAME_FORMATS: ReadonlyArray<{ ext: string; contentType: string; syntaxes: readonly string[] }> = [
  { ext: 'jph', contentType: 'image/jph', syntaxes: ['1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.201'] },
  { ext: 'jphc', contentType: 'image/jphc', syntaxes: ['1.2.840.10008.1.2.4.203'] },
  { ext: 'jpg', contentType: 'image/jpeg', syntaxes: ['1.2.840.10008.1.2.4.50'] },
  { ext: 'j2c', contentType: 'image/j2c', syntaxes: ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91'] },
  { ext: 'jxl', contentType: 'image/jxl', syntaxes: ['1.2.840.10008.1.2.4.110', '1.2.840.10008.1.2.4.111', '1.2.840.10008.1.2.4.112'] },
  { ext: 'mpg', contentType: 'video/mpeg', syntaxes: ['1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.100.1', '1.2.840.10008.1.2.4.101', '1.2.840.10008.1.2.4.101.1'] },
  {
    ext: 'mp4',
    contentType: 'video/mp4',
    syntaxes: ['1.2.840.10008.1.2.4.102', '1.2.840.10008.1.2.4.102.1', '1.2.840.10008.1.2.4.103', '1.2.840.10008.1.2.4.103.1', '1.2.840.10008.1.2.4.104', '1.2.840.10008.1.2.4.104.1', '1.2.840.10008.1.2.4.105', '1.2.840.10008.1.2.4.105.1', '1.2.840.10008.1.2.4.106', '1.2.840.10008.1.2.4.106.1'],
  },
  { ext: 'h265', contentType: 'video/H256', syntaxes: ['1.2.840.10008.1.2.4.107', '1.2.840.10008.1.2.4.108'] },
  { ext: 'bin', contentType: 'application/octet-stream', syntaxes: [] },
];

export function frameFormat(storedTransferSyntaxUID: string | undefined): { ext: string; contentType: string } {
  // A missing StoredTransferSyntaxUID means HTJ2K RPCL (spec §2.1).
  const ts = storedTransferSyntaxUID ?? '1.2.840.10008.1.2.4.202';
  return FRAME_FORMATS.find((f) => f.syntaxes.includes(ts)) ?? FRAME_FORMATS[FRAME_FORMATS.length - 1]!;
}

const contentTypeOfExt = (ext: string) => FRAME_FORMATS.find((f) => f.ext === ext)?.contentType ?? 'application/octet-stream';

export class StoreInUseError extends Error {}

export interface StoreOptions {
  /** fsync files and directories on every write (default true). Tests of durability rely on it. */
  durable?: boolean;
}

export class Store {
  readonly root: string;
  readonly writer: AtomicWriter;
  /** Serialises read-modify-write sequences per image set, datastore and job. */
  readonly locks = new KeyedMutex();
  private readonly datastoreRecords = new Map<string, DatastoreRecord>();
  private readonly imageSetRecords = new Map<string, Map<string, ImageSetRecord>>();
  private readonly jobRecords = new Map<string, Map<string, JobRecord>>();
  private readonly frameIndex = new Map<string, Map<string, string>>();
  /** Serialises the writes of each record file so the last write carries the newest state. */
  private readonly fileLocks = new KeyedMutex();

  private constructor(root: string, options: StoreOptions) {
    this.root = root;
    this.writer = new AtomicWriter(path.join(root, '.tmp'), options.durable ?? true);
  }

  static async open(dataDir: string, options: StoreOptions = {}): Promise<Store> {
    const store = new Store(path.join(path.resolve(dataDir), 'store'), options);
    await fs.mkdir(path.join(store.root, 'datastores'), { recursive: true });
    await store.acquireLock();
    await store.writer.init();
    await store.writer.sweep();
    await store.load();
    return store;
  }

  async close(): Promise<void> {
    await this.locks.drain();
    await this.fileLocks.drain();
    await fs.rm(path.join(this.root, 'LOCK'), { force: true });
  }

  // ---- paths ------------------------------------------------------------------------------------------------

  datastoreDir(datastoreId: string): string {
    return path.join(this.root, 'datastores', datastoreId);
  }
  imageSetDir(datastoreId: string, imageSetId: string): string {
    return path.join(this.datastoreDir(datastoreId), 'image-sets', imageSetId);
  }
  documentPath(datastoreId: string, imageSetId: string, versionId: string): string {
    return path.join(this.imageSetDir(datastoreId, imageSetId), 'versions', `${versionId}.json.gz`);
  }
  framePath(datastoreId: string, imageSetId: string, frameId: string, storedTransferSyntaxUID: string | undefined): string {
    return path.join(this.imageSetDir(datastoreId, imageSetId), 'frames', `${frameId}.${frameFormat(storedTransferSyntaxUID).ext}`);
  }

  // ---- datastores ---------------------------------------------------------------------------------------------

  datastores(): DatastoreRecord[] {
    return [...this.datastoreRecords.values()];
  }
  datastore(datastoreId: string): DatastoreRecord | undefined {
    return this.datastoreRecords.get(datastoreId);
  }
  async putDatastore(record: DatastoreRecord): Promise<void> {
    await this.persist(path.join(this.datastoreDir(record.datastoreId), 'datastore.json'), record);
    this.datastoreRecords.set(record.datastoreId, record);
    if (!this.imageSetRecords.has(record.datastoreId)) this.imageSetRecords.set(record.datastoreId, new Map());
    if (!this.jobRecords.has(record.datastoreId)) this.jobRecords.set(record.datastoreId, new Map());
  }
  /** Removes a deleted datastore's image sets and jobs from disk, keeping its record (status DELETED). */
  async purgeDatastoreData(datastoreId: string): Promise<void> {
    const dir = this.datastoreDir(datastoreId);
    for (const sub of ['image-sets', 'jobs']) {
      const target = path.join(dir, sub);
      const trash = this.writer.tempPath();
      await fs.rename(target, trash).catch(() => undefined);
      await fs.rm(trash, { recursive: true, force: true });
    }
    this.imageSetRecords.set(datastoreId, new Map());
    this.jobRecords.set(datastoreId, new Map());
  }

  // ---- image sets ---------------------------------------------------------------------------------------------

  imageSets(datastoreId: string): Iterable<ImageSetRecord> {
    return this.imageSetRecords.get(datastoreId)?.values() ?? [];
  }
  imageSetCount(datastoreId: string, predicate: (r: ImageSetRecord) => boolean): number {
    let n = 0;
    for (const r of this.imageSets(datastoreId)) if (predicate(r)) n++;
    return n;
  }
  imageSet(datastoreId: string, imageSetId: string): ImageSetRecord | undefined {
    return this.imageSetRecords.get(datastoreId)?.get(imageSetId);
  }
  async putImageSet(record: ImageSetRecord): Promise<void> {
    await this.persist(path.join(this.imageSetDir(record.datastoreId, record.imageSetId), 'image-set.json'), record);
    this.imageSetRecords.get(record.datastoreId)?.set(record.imageSetId, record);
    this.frameIndex.delete(record.imageSetId);
  }

  /** Deletes an image set in one rename of its directory, so a crash leaves it either whole or gone. */
  async removeImageSet(datastoreId: string, imageSetId: string): Promise<void> {
    const dir = this.imageSetDir(datastoreId, imageSetId);
    const trash = this.writer.tempPath();
    await fs.rename(dir, trash);
    this.imageSetRecords.get(datastoreId)?.delete(imageSetId);
    this.frameIndex.delete(imageSetId);
    await fs.rm(trash, { recursive: true, force: true });
  }

  /** Makes `frameId` of image set `from` also a frame of image set `to` (a hard link: no bytes are copied). */
  async linkFrame(datastoreId: string, from: string, to: string, frameId: string): Promise<void> {
    const source = await this.findFrame(datastoreId, from, frameId);
    if (!source) throw new Error(`frame ${frameId} of image set ${from} is missing from the store`);
    const target = path.join(this.imageSetDir(datastoreId, to), 'frames', path.basename(source.path));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.link(source.path, target).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return;
      if (err.code !== 'EXDEV' && err.code !== 'EPERM') throw err;
      await this.writer.write(target, await fs.readFile(source.path));
    });
    this.frameIndex.delete(to);
  }

  /** Stores a metadata document version (gzipped, as GetImageSetMetadata serves it). */
  async writeDocument(doc: ImageSetMetadataDocument, versionId: string): Promise<void> {
    const body = await gzip(JSON.stringify(doc));
    await this.writer.write(this.documentPath(doc.DatastoreID, doc.ImageSetID, versionId), body);
  }
  async readDocument(datastoreId: string, imageSetId: string, versionId: string): Promise<ImageSetMetadataDocument> {
    const gz = await fs.readFile(this.documentPath(datastoreId, imageSetId, versionId));
    return JSON.parse((await gunzip(gz)).toString('utf8')) as ImageSetMetadataDocument;
  }

  /** Where a frame of the image set is stored, and the content type to serve it with. */
  async findFrame(datastoreId: string, imageSetId: string, frameId: string): Promise<{ path: string; contentType: string } | undefined> {
    let index = this.frameIndex.get(imageSetId);
    if (!index) {
      index = new Map();
      const dir = path.join(this.imageSetDir(datastoreId, imageSetId), 'frames');
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        const dot = name.indexOf('.');
        if (dot > 0) index.set(name.slice(0, dot), name.slice(dot + 1));
      }
      this.frameIndex.set(imageSetId, index);
    }
    const ext = index.get(frameId);
    if (ext === undefined) return undefined;
    return {
      path: path.join(this.imageSetDir(datastoreId, imageSetId), 'frames', `${frameId}.${ext}`),
      contentType: contentTypeOfExt(ext),
    };
  }

  // ---- jobs ---------------------------------------------------------------------------------------------------

  jobs(datastoreId: string): Iterable<JobRecord> {
    return this.jobRecords.get(datastoreId)?.values() ?? [];
  }
  job(datastoreId: string, jobId: string): JobRecord | undefined {
    return this.jobRecords.get(datastoreId)?.get(jobId);
  }
  async putJob(record: JobRecord): Promise<void> {
    await this.persist(path.join(this.datastoreDir(record.datastoreId), 'jobs', `${record.jobId}.json`), record);
    this.jobRecords.get(record.datastoreId)?.set(record.jobId, record);
  }

  // ---- internals ----------------------------------------------------------------------------------------------

  private async persist(file: string, value: unknown): Promise<void> {
    const snapshot = `${JSON.stringify(value)}\n`;
    await this.fileLocks.run(file, () => this.writer.write(file, snapshot));
  }

  private async acquireLock(): Promise<void> {
    const lockFile = path.join(this.root, 'LOCK');
    const owner = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim());
    if (owner && owner !== process.pid && isAlive(owner)) {
      throw new StoreInUseError(`The data directory ${path.dirname(this.root)} is in use by another local service (pid ${owner}). Stop it or use another --data-dir.`);
    }
    await fs.writeFile(lockFile, `${process.pid}\n`);
  }

  /** Loads every record and repairs what a crash can leave: half-created image sets, versions past the latest. */
  private async load(): Promise<void> {
    const base = path.join(this.root, 'datastores');
    for (const datastoreId of await fs.readdir(base)) {
      const dir = path.join(base, datastoreId);
      const record = await readJsonIfExists<DatastoreRecord>(path.join(dir, 'datastore.json'));
      if (!record) {
        // CreateDatastore crashed before its record was durable: nothing was acknowledged.
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      this.datastoreRecords.set(datastoreId, record);
      this.imageSetRecords.set(datastoreId, await this.loadImageSets(dir));
      const jobs = new Map<string, JobRecord>();
      for (const name of await fs.readdir(path.join(dir, 'jobs')).catch(() => [] as string[])) {
        if (!name.endsWith('.json')) continue;
        const job = await readJsonIfExists<JobRecord>(path.join(dir, 'jobs', name));
        if (job) jobs.set(job.jobId, job);
      }
      this.jobRecords.set(datastoreId, jobs);
    }
  }

  private async loadImageSets(datastoreDir: string): Promise<Map<string, ImageSetRecord>> {
    const records = new Map<string, ImageSetRecord>();
    const base = path.join(datastoreDir, 'image-sets');
    for (const imageSetId of await fs.readdir(base).catch(() => [] as string[])) {
      const dir = path.join(base, imageSetId);
      const record = await readJsonIfExists<ImageSetRecord>(path.join(dir, 'image-set.json'));
      if (!record) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      // Documents of versions that were written but never committed to the record are leftovers of a crash.
      const known = new Set(record.versions.map((v) => `${v.documentVersionId}.json.gz`));
      for (const name of await fs.readdir(path.join(dir, 'versions')).catch(() => [] as string[])) {
        if (!known.has(name)) await fs.rm(path.join(dir, 'versions', name), { force: true });
      }
      records.set(imageSetId, record);
    }
    return records;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
