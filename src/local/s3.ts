/**
 * The local service has no S3: `s3://bucket/key` maps to `<dataDir>/s3/bucket/key`. Keys with `.` or `..`
 * segments are rejected outright, the resolved path must stay under the root, and files reached through a
 * symlink that leads outside the root are skipped, so an import can never read or write outside it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { validationError } from './errors.js';

export interface S3Location {
  bucket: string;
  /** Key prefix without a leading slash; may be empty. */
  prefix: string;
  /** Absolute directory the prefix maps to. */
  dir: string;
}

export function mapS3Uri(s3Root: string, uri: string, field: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!match) throw validationError(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be an s3://bucket/prefix URI`);
  const bucket = match[1]!;
  const prefix = match[2] ?? '';
  const segments = prefix.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) {
    throw validationError(`1 validation error detected: Value at '${field}' failed to satisfy constraint: the key must not contain '.', '..', backslash or NUL segments`);
  }
  const root = path.resolve(s3Root);
  const dir = path.resolve(root, bucket, ...segments);
  if (!dir.startsWith(root + path.sep)) {
    throw validationError(`1 validation error detected: Value at '${field}' failed to satisfy constraint: the location escapes the local S3 root`);
  }
  return { bucket, prefix: segments.join('/'), dir };
}

export interface ScannedFile {
  /** Absolute path on disk. */
  path: string;
  /** The S3 key (relative to the bucket) reported in job output. */
  key: string;
  size: number;
}

export class ScanLimitError extends Error {}

/** Lists files under the location recursively, in a stable order, within the import quotas. */
export async function scanLocation(s3Root: string, location: S3Location, limits: { maxFiles: number; maxFolders: number }): Promise<ScannedFile[]> {
  const root = await fs.realpath(path.resolve(s3Root)).catch(() => path.resolve(s3Root));
  const files: ScannedFile[] = [];
  let folders = 0;
  const walk = async (dir: string, keyPrefix: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
      throw err;
    });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      const key = keyPrefix ? `${keyPrefix}/${entry.name}` : entry.name;
      const real = await fs.realpath(full).catch(() => undefined);
      if (!real || !(real === root || real.startsWith(root + path.sep))) continue;
      const stat = await fs.stat(real);
      if (stat.isDirectory()) {
        if (++folders > limits.maxFolders) throw new ScanLimitError(`The input contains more than ${limits.maxFolders} nested folders, the import job quota.`);
        await walk(full, key);
      } else if (stat.isFile()) {
        if (files.length >= limits.maxFiles) throw new ScanLimitError(`The input contains more than ${limits.maxFiles} files, the import job quota.`);
        files.push({ path: real, key, size: stat.size });
      }
    }
  };
  await walk(location.dir, location.prefix);
  return files;
}
