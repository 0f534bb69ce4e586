/**
 * File access for tools that read or save files on the server's machine (store_dicom, saving frames and instances).
 *
 * Every path is confined to the allowed directories:
 * - the operator's `--allow-dir` directories, when given: they are the bound, whatever the client says;
 * - otherwise the client's MCP roots (`file://` URIs), but only over stdio, where the client runs on this machine and
 *   its roots name this machine's directories (over HTTP they would name the client's);
 * - with neither, file tools are refused, naming `--allow-dir`.
 *
 * A path is allowed when its real path (symlinks resolved; for a file to be written, its parent's real path) lies
 * inside the real path of an allowed directory, so `..`, symlinks and links out of the tree cannot escape. Saved files
 * are written atomically (a temporary file in the same directory, fsync, rename) and never replace an existing file
 * unless asked.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuardError } from './errors.js';

/** The client's roots, as `file://` URIs; an empty list when it offers none. */
export type RootsSource = () => Promise<string[]>;

export class FileAccess {
  constructor(
    /** `--allow-dir`, absolute; undefined when not given. */
    private readonly operatorDirs: readonly string[] | undefined,
    /** The client's roots; undefined when roots must not be used (HTTP transport). */
    private readonly roots?: RootsSource,
  ) {}

  /** The directories tools may use now, and where they come from. */
  async allowedDirectories(): Promise<{ dirs: string[]; source: 'allow-dir' | 'roots' | 'none' }> {
    if (this.operatorDirs?.length) return { dirs: [...this.operatorDirs], source: 'allow-dir' };
    if (this.roots) {
      const uris = await this.roots().catch(() => []);
      const dirs = uris.filter((uri) => uri.startsWith('file://')).map((uri) => path.resolve(fileURLToPath(uri)));
      if (dirs.length) return { dirs, source: 'roots' };
    }
    return { dirs: [], source: 'none' };
  }

  /** An existing regular file inside an allowed directory: its real path. */
  async resolveReadable(input: string): Promise<string> {
    const dirs = await this.realAllowedDirs();
    const absolute = this.absolute(input, dirs);
    const real = await realPathOf(absolute, dirs, input, () => new GuardError('FileNotFound', `no such file: ${input}`, 'Check the path; list the directory or pass an absolute path inside an allowed directory.'));
    assertInside(real, dirs, input);
    const stat = await fs.stat(real);
    if (!stat.isFile()) throw new GuardError('NotAFile', `not a regular file: ${input}`, 'Pass the path of a file (directories are not expanded).');
    return real;
  }

  /**
   * Where a new file may be written: the target path with its parent's real path, inside an allowed directory. An
   * existing file is refused unless `overwrite`, and a symlink is never written through.
   */
  async resolveWritable(input: string, options: { overwrite?: boolean } = {}): Promise<string> {
    const dirs = await this.realAllowedDirs();
    const absolute = this.absolute(input, dirs);
    const parent = await realPathOf(path.dirname(absolute), dirs, input, () => new GuardError('FileNotFound', `no such directory: ${path.dirname(input)}`, 'Save into an existing directory inside an allowed directory.'));
    const target = path.join(parent, path.basename(absolute));
    assertInside(target, dirs, input);
    const existing = await fs.lstat(target).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
    if (existing?.isSymbolicLink()) throw new GuardError('PathNotAllowed', `refusing to write through a symbolic link: ${input}`, 'Choose a path that is not a link.');
    if (existing?.isDirectory()) throw new GuardError('NotAFile', `a directory is in the way: ${input}`, 'Give a file name, not a directory.');
    if (existing && !options.overwrite) throw new GuardError('FileExists', `the file exists: ${input}`, 'Choose another name, or pass overwrite: true to replace it.');
    return target;
  }

  /**
   * Writes `data` (or the chunks of a stream, as they come) to a path from resolveWritable: temporary file, fsync,
   * then into place; nothing is left half-written, also when the stream fails midway. Without `overwrite` the file is
   * put in place with a hard link, which fails rather than replace a file that appeared meanwhile (on a file system
   * without hard links, resolveWritable's check is what holds).
   */
  async writeAtomic(target: string, data: Uint8Array | string | AsyncIterable<Uint8Array>, options: { overwrite?: boolean } = {}): Promise<void> {
    const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await fs.open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else for await (const chunk of data) await writeAll(handle, chunk);
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    try {
      await putInPlace(temp, target, options.overwrite ?? false);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  private async realAllowedDirs(): Promise<string[]> {
    const { dirs } = await this.allowedDirectories();
    if (!dirs.length)
      throw new GuardError(
        'PathNotAllowed',
        'no directory is allowed for file access',
        'Ask the operator to start the server with --allow-dir <directory> (or, over stdio, use a client that offers MCP roots); base64 input works without files.',
      );
    const real = await Promise.all(dirs.map((dir) => fs.realpath(dir).catch(() => undefined)));
    return real.filter((dir): dir is string => dir !== undefined);
  }

  /** Relative paths are taken relative to the first allowed directory, never to the server's working directory. */
  private absolute(input: string, dirs: string[]): string {
    if (!input || input.includes('\0')) throw new GuardError('PathNotAllowed', 'the path is empty or contains a NUL character', 'Pass a plain file path.');
    if (path.isAbsolute(input)) return path.resolve(input);
    if (!dirs.length) throw new GuardError('PathNotAllowed', `no allowed directory exists for ${input}`, 'Ask the operator to check --allow-dir.');
    return path.resolve(dirs[0]!, input);
  }
}

/** Renames `temp` to `target`, or (without `overwrite`) links it there, refusing a file that exists by now. */
async function putInPlace(temp: string, target: string, overwrite: boolean): Promise<void> {
  if (overwrite) return fs.rename(temp, target);
  try {
    await fs.link(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new GuardError('FileExists', `the file exists: ${target} (it appeared while this one was being written)`, 'Choose another name, or pass overwrite: true to replace it.');
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err;
    await fs.rename(temp, target);
  }
}

async function writeAll(handle: fs.FileHandle, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; ) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
}

function assertInside(real: string, dirs: string[], input: string): void {
  const inside = dirs.some((dir) => real === dir || real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep));
  if (!inside)
    throw new GuardError('PathNotAllowed', `${input} is outside the allowed directories (${dirs.join(', ')})`, 'Use a file inside an allowed directory, or ask the operator to allow its directory with --allow-dir.');
}

/**
 * The real path of `absolute`, or the `missing` error when it does not exist. A missing path outside the allowed
 * directories is "not allowed", whether or not it exists: no probing the machine.
 */
async function realPathOf(absolute: string, dirs: string[], input: string, missing: () => GuardError): Promise<string> {
  try {
    return await fs.realpath(absolute);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    assertInside(await realOfMissing(absolute), dirs, input);
    throw missing();
  }
}

/** Where a missing path would be: the real path of its deepest existing ancestor, with the missing rest appended. */
async function realOfMissing(absolute: string): Promise<string> {
  const rest: string[] = [];
  for (let current = absolute; ; current = path.dirname(current)) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch (err) {
      if (!isNotFound(err) || path.dirname(current) === current) throw err;
      rest.push(path.basename(current));
    }
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT' || (err as NodeJS.ErrnoException)?.code === 'ENOTDIR';
}
