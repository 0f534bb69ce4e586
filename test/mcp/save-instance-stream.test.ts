/**
 * save_dicom_instance streams the instance to its file as it arrives. What only a misbehaving DICOMweb server shows,
 * shown against one: a plain HTTP server standing in for a DICOMweb root (--dicomweb-endpoint-url), answering
 * WADO-RS instance requests with what each test sets. Well-behaved servers are covered by test/mcp/dicomweb.test.ts
 * (the local service) and test/interop/orthanc-dicomweb.test.ts (Orthanc).
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctSeriesFiles } from '../helpers/dicom-files.js';
import { startTestService, tempDir, type TestService } from '../helpers/local.js';
import { connectMcp, type McpHarness, textOf } from '../helpers/mcp.js';

const DATASTORE = '0123456789abcdef0123456789abcdef';
const IDS = { datastore_id: DATASTORE, study_instance_uid: '1.2.3', series_instance_uid: '1.2.3.4', sop_instance_uid: '1.2.3.4.5' };
const BOUNDARY = 'test-boundary-42';

/** How the fake endpoint answers the next instance request. */
let answer: (res: http.ServerResponse) => void;

let server: http.Server;
let local: TestService;
let h: McpHarness;
let dir: string;
const instance = Object.values(ctSeriesFiles({ slices: 1, seed: 77, size: 256 }))[0]!;

beforeAll(async () => {
  dir = tempDir('himcp-save-stream-');
  server = http.createServer((req, res) => answer(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  local = await startTestService();
  h = await connectMcp({ allowWrite: true, confirmMode: 'none', allowDir: dir, dicomwebEndpointUrl: `http://127.0.0.1:${port}/dicom-web` }, { local });
});

afterAll(async () => {
  await h?.close();
  await local?.stop();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await fs.rm(dir, { recursive: true, force: true });
});

/** Writes `bytes` in small pieces, each its own write, so that the client meets every boundary mid-chunk. */
async function dribble(res: http.ServerResponse, bytes: Uint8Array, piece = 997): Promise<void> {
  for (let at = 0; at < bytes.length; at += piece) {
    if (!res.write(bytes.subarray(at, at + piece))) await new Promise((resolve) => res.once('drain', resolve));
  }
}

const part = (body: Uint8Array) => Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n`), body, Buffer.from('\r\n')]);
const leftovers = () => fs.readdir(dir);

describe('save_dicom_instance, streamed', () => {
  it('saves the first part of a multipart answer as it arrives, without waiting for the rest', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}` });
      // The first part in full, then the start of a second that never ends: the tool must not wait for it.
      void dribble(res, Buffer.concat([part(instance), Buffer.from(`--${BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\nDICM…`)]));
    };
    const saved = await h.call('save_dicom_instance', { ...IDS, path: 'first-part.dcm' });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    expect(saved.structuredContent).toMatchObject({ bytes: instance.length, transfer_syntax_uid: '1.2.840.10008.1.2.1' });
    expect(Buffer.compare(await fs.readFile(path.join(dir, 'first-part.dcm')), Buffer.from(instance))).toBe(0);
  });

  it('refuses an answer that is not Part 10, writing nothing', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}` });
      res.end(Buffer.concat([part(Buffer.from('<html>a login page</html>')), Buffer.from(`--${BOUNDARY}--\r\n`)]));
    };
    const saved = await h.call('save_dicom_instance', { ...IDS, path: 'not-dicom.dcm' });
    expect(textOf(saved)).toMatch(/^InvalidResponse: the DICOMweb endpoint did not return a DICOM Part 10 file \(no DICM preamble\); nothing was saved/);
    expect(await leftovers()).not.toContain('not-dicom.dcm');
    expect((await leftovers()).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves no file when the answer breaks off midway', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/dicom', 'content-length': String(instance.length) });
      void dribble(res, instance.subarray(0, instance.length / 2)).then(() => res.socket?.destroy());
    };
    const saved = await h.call('save_dicom_instance', { ...IDS, path: 'cut.dcm' });
    expect(saved.isError).toBe(true);
    expect(await leftovers()).not.toContain('cut.dcm');
    expect((await leftovers()).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves no file when a multipart answer ends inside its first part', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': `multipart/related; type="application/dicom"; boundary=${BOUNDARY}` });
      res.end(part(instance).subarray(0, 100_000));
    };
    const saved = await h.call('save_dicom_instance', { ...IDS, path: 'unclosed.dcm' });
    expect(textOf(saved)).toMatch(/ended inside part 1 before its closing boundary/);
    expect(await leftovers()).not.toContain('unclosed.dcm');
    expect((await leftovers()).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('frees the connection when the answer is refused before any of it is read', async () => {
    let closed!: Promise<void>;
    answer = (res) => {
      closed = new Promise((resolve) => res.socket!.once('close', () => resolve()));
      res.writeHead(200, { 'content-type': 'multipart/related; type="application/dicom"' });
      // A body that would go on for a long time.
      void dribble(res, new Uint8Array(8 * 1024 * 1024), 64 * 1024).catch(() => undefined);
    };
    const saved = await h.call('save_dicom_instance', { ...IDS, path: 'no-boundary.dcm' });
    expect(textOf(saved)).toMatch(/^InvalidResponse: the DICOMweb endpoint sent multipart\/related without a boundary/);
    await closed;
    expect(await leftovers()).not.toContain('no-boundary.dcm');
  });

  it('finds the transfer syntax after a file meta group longer than the first chunks', async () => {
    // A 70,000-byte (0002,0001) value put first: legal, and it pushes (0002,0010) far from the start.
    const big = Buffer.alloc(12 + 70_000);
    big.writeUInt16LE(0x0002, 0);
    big.writeUInt16LE(0x0001, 2);
    big.write('OB', 4, 'latin1');
    big.writeUInt32LE(70_000, 8);
    const file = Buffer.concat([instance.subarray(0, 132), big, instance.subarray(132)]);
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/dicom' });
      void dribble(res, file).then(() => res.end());
    };
    const saved = await h.call('save_dicom_instance', { ...IDS, path: 'long-meta.dcm' });
    expect(saved.isError, textOf(saved)).toBeFalsy();
    expect(saved.structuredContent).toMatchObject({ bytes: file.length, transfer_syntax_uid: '1.2.840.10008.1.2.1' });
    expect(Buffer.compare(await fs.readFile(path.join(dir, 'long-meta.dcm')), file)).toBe(0);
  });
});

