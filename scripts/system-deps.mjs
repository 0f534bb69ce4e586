#!/usr/bin/env node
// Installs the Debian packages that the test suite uses as independent peers (dcmtk, pydicom's sample
// DICOM files, Orthanc with its DICOMweb plugin). Runs before `npm test`. It never fails the run: where a
// package cannot be installed (not root, no apt, offline), the tests that need it skip with a visible message.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian package → a file whose presence proves it is installed. */
const PACKAGES = {
  dcmtk: '/usr/bin/dcmdump',
  'python3-pydicom': '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm',
  orthanc: '/usr/sbin/Orthanc',
  'orthanc-dicomweb': '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
};

const log = (msg) => process.stderr.write(`[system-deps] ${msg}\n`);

if (process.env.HEALTHIMAGING_SKIP_SYSTEM_DEPS === '1') process.exit(0);
const missing = Object.entries(PACKAGES)
  .filter(([, probe]) => !existsSync(probe))
  .map(([name]) => name);
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) {
  log(`missing ${missing.join(', ')}; install them with apt-get (as root) to run the interop tests that use them`);
  process.exit(0);
}
try {
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
    timeout: 600_000,
  });
  // Debian starts the Orthanc service on install; the tests start their own instance on a free port.
  spawnSync('sh', ['-c', 'service orthanc stop >/dev/null 2>&1 || true']);
} catch (err) {
  log(`apt-get failed (${err instanceof Error ? err.message : String(err)}); interop tests that need these packages will skip`);
}
