import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAccess } from '../../src/guard/paths.js';

let root: string;
let allowed: string;
let outside: string;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'paths-'));
  allowed = path.join(root, 'allowed');
  outside = path.join(root, 'outside');
  await fs.mkdir(path.join(allowed, 'sub'), { recursive: true });
  await fs.mkdir(outside);
  await fs.writeFile(path.join(allowed, 'a.dcm'), 'inside');
  await fs.writeFile(path.join(outside, 'secret.dcm'), 'outside');
  await fs.symlink(path.join(outside, 'secret.dcm'), path.join(allowed, 'link-out.dcm'));
  await fs.symlink(outside, path.join(allowed, 'dir-out'));
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

const refusal = (promise: Promise<unknown>) => promise.then(() => 'allowed', (err: Error) => err.name);

describe('FileAccess', () => {
  it('reads files inside --allow-dir, absolute or relative to it', async () => {
    const files = new FileAccess([allowed]);
    expect(await files.resolveReadable(path.join(allowed, 'a.dcm'))).toBe(await fs.realpath(path.join(allowed, 'a.dcm')));
    expect(await files.resolveReadable('a.dcm')).toBe(await fs.realpath(path.join(allowed, 'a.dcm')));
  });

  it('refuses paths that escape: .., symlinked files and directories, absolute paths elsewhere', async () => {
    const files = new FileAccess([allowed]);
    expect(await refusal(files.resolveReadable('../outside/secret.dcm'))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveReadable(path.join(allowed, 'sub', '..', '..', 'outside', 'secret.dcm')))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveReadable('link-out.dcm'))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveReadable('dir-out/secret.dcm'))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveReadable('/etc/passwd'))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveWritable('dir-out/new.png'))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveWritable('../outside/new.png'))).toBe('PathNotAllowed');
    // A sibling whose name starts with the allowed directory's name is not inside it.
    await fs.mkdir(`${allowed}-evil`, { recursive: true });
    await fs.writeFile(`${allowed}-evil/x.dcm`, 'x');
    expect(await refusal(files.resolveReadable(`${allowed}-evil/x.dcm`))).toBe('PathNotAllowed');
  });

  it('names missing files, directories and NUL bytes', async () => {
    const files = new FileAccess([allowed]);
    expect(await refusal(files.resolveReadable('missing.dcm'))).toBe('FileNotFound');
    expect(await refusal(files.resolveReadable('sub'))).toBe('NotAFile');
    expect(await refusal(files.resolveReadable('a.dcm\0.png'))).toBe('PathNotAllowed');
    expect(await refusal(files.resolveWritable('nope/x.png'))).toBe('FileNotFound');
  });

  it('refuses everything when no directory is allowed, and uses roots only when offered', async () => {
    expect(await refusal(new FileAccess(undefined).resolveReadable(path.join(allowed, 'a.dcm')))).toBe('PathNotAllowed');
    const withRoots = new FileAccess(undefined, async () => [pathToFileURL(allowed).href]);
    expect(await withRoots.allowedDirectories()).toEqual({ dirs: [allowed], source: 'roots' });
    expect(await refusal(withRoots.resolveReadable(path.join(outside, 'secret.dcm')))).toBe('PathNotAllowed');
    // The operator's directories win over the client's roots.
    const both = new FileAccess([outside], async () => [pathToFileURL(allowed).href]);
    expect(await refusal(both.resolveReadable(path.join(allowed, 'a.dcm')))).toBe('PathNotAllowed');
  });

  it('writes atomically, never over an existing file unless asked, never through a link', async () => {
    const files = new FileAccess([allowed]);
    const target = await files.resolveWritable('sub/out.png');
    await files.writeAtomic(target, new Uint8Array([1, 2, 3]));
    expect([...(await fs.readFile(target))]).toEqual([1, 2, 3]);
    expect(await refusal(files.resolveWritable('sub/out.png'))).toBe('FileExists');
    await files.writeAtomic(await files.resolveWritable('sub/out.png', { overwrite: true }), 'new', { overwrite: true });
    expect(await fs.readFile(target, 'utf8')).toBe('new');
    // A file that appears between the check and the write is not replaced either.
    const late = await files.resolveWritable('sub/late.png');
    await fs.writeFile(late, 'theirs');
    expect(await refusal(files.writeAtomic(late, 'ours'))).toBe('FileExists');
    expect(await fs.readFile(late, 'utf8')).toBe('theirs');
    expect(await refusal(files.resolveWritable('link-out.dcm', { overwrite: true }))).toBe('PathNotAllowed');
    expect((await fs.readdir(path.join(allowed, 'sub'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('writes a stream chunk by chunk, and leaves nothing (no file, no temporary) when the stream fails midway', async () => {
    const files = new FileAccess([allowed]);
    const chunks = Array.from({ length: 50 }, (_, i) => new Uint8Array(1000).fill(i));
    const target = await files.resolveWritable('streamed.bin');
    await files.writeAtomic(
      target,
      (async function* () {
        yield* chunks;
      })(),
    );
    expect(Buffer.compare(await fs.readFile(target), Buffer.concat(chunks))).toBe(0);

    const broken = await files.resolveWritable('broken.bin');
    const failing = (async function* () {
      yield chunks[0]!;
      yield chunks[1]!;
      throw new Error('the connection dropped');
    })();
    await expect(files.writeAtomic(broken, failing)).rejects.toThrow('the connection dropped');
    const left = await fs.readdir(allowed);
    expect(left).not.toContain('broken.bin');
    expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

