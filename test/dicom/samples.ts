/**
 * Test inputs of the DICOM layer: pydicom's sample files (Debian package python3-pydicom) and dcmtk as an
 * independent encoder (Debian package dcmtk). scripts/system-deps.mjs installs both before `npm test`; where they
 * are missing, the tests that need them skip and say so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PYDICOM_FILES } from '../helpers/dicom-files.js';

export const haveSamples = existsSync(path.join(PYDICOM_FILES, 'CT_small.dcm'));
export const haveDcmtk = existsSync('/usr/bin/dcmcjpeg') && existsSync('/usr/bin/dcmcjpls') && existsSync('/usr/bin/dcmcrle');

if (!haveSamples) console.warn(`[test/dicom] skipping tests on pydicom's sample files: ${PYDICOM_FILES} is missing (apt-get install python3-pydicom)`);
if (!haveDcmtk) console.warn('[test/dicom] skipping the dcmtk cross-checks: dcmcjpeg/dcmcjpls/dcmcrle are missing (apt-get install dcmtk)');

export function sample(name: string): Uint8Array {
  return new Uint8Array(readFileSync(path.join(PYDICOM_FILES, name)));
}

/** Runs a dcmtk converter (`dcmcjpeg +e1 in out`, …) on `input` and returns the file it wrote. */
export function dcmtk(tool: string, options: string[], input: Uint8Array): Uint8Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'dicom-test-'));
  try {
    const inFile = path.join(dir, 'in.dcm');
    const outFile = path.join(dir, 'out.dcm');
    writeFileSync(inFile, input);
    execFileSync(tool, [...options, inFile, outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(readFileSync(outFile));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Byte-wise equality with a readable failure (first differing offset) instead of two huge arrays. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number | undefined {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const index = Buffer.from(a.buffer, a.byteOffset, a.length).compare(Buffer.from(b.buffer, b.byteOffset, b.length));
  if (index === 0) return undefined;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return undefined;
}

export interface Htj2kMainHeader {
  signed: boolean;
  precision: number;
  components: number;
  width: number;
  height: number;
  progressionOrder: number;
  decompositions: number;
  codeBlockWidth: number;
  codeBlockHeight: number;
  reversible: boolean;
  colourTransform: boolean;
  hasTlm: boolean;
  /** The CAP marker segment, which marks an HTJ2K (Part 15) codestream. */
  hasCap: boolean;
  tileParts: number;
}

/**
 * Reads the main header markers of a JPEG 2000 codestream (ISO 15444-1 Annex A) and counts the tile-parts, to
 * check what the encoder wrote independently of any decoder.
 */
export function readMainHeader(c: Uint8Array): Htj2kMainHeader {
  const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
  const header: Partial<Htj2kMainHeader> = { hasTlm: false, hasCap: false, tileParts: 0 };
  let pos = 2; // after SOC
  while (pos + 4 <= c.length) {
    const marker = view.getUint16(pos);
    const length = view.getUint16(pos + 2);
    const body = pos + 4;
    if (marker === 0xff51) {
      header.width = view.getUint32(body + 2) - view.getUint32(body + 10);
      header.height = view.getUint32(body + 6) - view.getUint32(body + 14);
      header.components = view.getUint16(body + 34);
      const ssiz = c[body + 36]!;
      header.signed = (ssiz & 0x80) !== 0;
      header.precision = (ssiz & 0x7f) + 1;
    } else if (marker === 0xff52) {
      header.progressionOrder = c[body + 1]!;
      header.colourTransform = c[body + 4] === 1;
      header.decompositions = c[body + 5]!;
      header.codeBlockWidth = 1 << (c[body + 6]! + 2);
      header.codeBlockHeight = 1 << (c[body + 7]! + 2);
      header.reversible = c[body + 9] === 1;
    } else if (marker === 0xff55) header.hasTlm = true;
    else if (marker === 0xff50) header.hasCap = true;
    else if (marker === 0xff90) {
      // SOT: Psot is the tile-part length from the SOT marker on; walk the tile-parts to the EOC.
      for (let sot = pos; sot + 10 <= c.length && view.getUint16(sot) === 0xff90; ) {
        header.tileParts!++;
        const psot = view.getUint32(sot + 6);
        if (psot === 0) break; // the last tile-part runs to the end
        sot += psot;
      }
      break;
    }
    pos = body + length - 2;
  }
  return header as Htj2kMainHeader;
}
