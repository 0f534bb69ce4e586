/**
 * Crash-safe file writes. Every file the local service writes goes through `writeFileAtomic`: the bytes go to a
 * temporary file in the store's tmp directory (same filesystem), are fsynced, renamed over the destination, and the
 * destination directory is fsynced, so a crash at any point leaves either the old or the new file, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';

export class AtomicWriter {
  constructor(
    private readonly tmpDir: string,
    private readonly durable = true,
  ) {}

  async init(): Promise<void> {
    await fs.mkdir(this.tmpDir, { recursive: true });
  }

  /** Removes temporary files left by a crash; called once at startup before any write. */
  async sweep(): Promise<number> {
    const entries = await fs.readdir(this.tmpDir).catch(() => [] as string[]);
    await Promise.all(entries.map((name) => fs.rm(path.join(this.tmpDir, name), { recursive: true, force: true })));
    return entries.length;
  }

  tempPath(): string {
    return path.join(this.tmpDir, `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.tmp`);
  }

  /** Writes `data` to a temp file and fsyncs it; returns its path, ready for `commit`. */
  async stage(data: Uint8Array | string): Promise<string> {
    const tmp = this.tempPath();
    const handle = await fs.open(tmp, constants.O_CREAT | constants.O_WRONLY | constants.O_EXCL, 0o644);
    try {
      await handle.writeFile(data);
      if (this.durable) await handle.sync();
    } finally {
      await handle.close();
    }
    return tmp;
  }

  /** Moves a staged file into place and makes the rename durable. */
  async commit(staged: string, destination: string): Promise<void> {
    await fs.mkdir(path.dirname(destination), { recursive: true });
    await fs.rename(staged, destination);
    if (this.durable) await syncDirectory(path.dirname(destination));
  }

  async write(destination: string, data: Uint8Array | string): Promise<void> {
    const staged = await this.stage(data);
    try {
      await this.commit(staged, destination);
    } catch (err) {
      await fs.rm(staged, { force: true });
      throw err;
    }
  }

  async writeJson(destination: string, value: unknown): Promise<void> {
    await this.write(destination, `${JSON.stringify(value, null, 1)}\n`);
  }
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

export async function readJsonIfExists<T>(file: string): Promise<T | undefined> {
  try {
    return await readJson<T>(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
