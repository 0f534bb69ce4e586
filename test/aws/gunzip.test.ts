/** Gunzipping metadata documents under a size limit, in one piece sized by the gzip trailer, which may lie. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeDocument, gunzipLimited, MetadataTooLargeError } from '../../src/aws/metadata.js';

const doc = Buffer.from(JSON.stringify({ Study: { Series: {}, text: 'x'.repeat(300_000) } }));
const gz = gzipSync(doc);

/** The gzip bytes with the trailer's ISIZE (uncompressed length mod 2^32) replaced. */
function withTrailerSize(bytes: Buffer, size: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt32LE(size >>> 0, copy.length - 4);
  return copy;
}

describe('gunzipLimited', () => {
  it('returns the document whole, in a buffer of exactly its size', async () => {
    const out = await gunzipLimited(gz, 1 << 20);
    expect(out.equals(doc)).toBe(true);
    expect(out.length).toBe(doc.length);
  });

  it('refuses a body whose trailer lies about the size (zlib checks it), whatever it claims', async () => {
    for (const claimed of [1, 0, doc.length - 1, doc.length * 10, 0xffffffff]) {
      await expect(gunzipLimited(withTrailerSize(gz, claimed), 1 << 20), `trailer says ${claimed}`).rejects.toThrow(/incorrect length check/);
    }
  });

  it('refuses a document over the limit with MetadataTooLargeError, and stops a bomb whose trailer understates it at the limit', async () => {
    await expect(gunzipLimited(gz, doc.length - 1)).rejects.toBeInstanceOf(MetadataTooLargeError);
    expect((await gunzipLimited(gz, doc.length)).length).toBe(doc.length);
    // 64 MiB of zeros in about 64 KB, claiming 100 bytes: read in pieces, refused once past the 1 MiB limit.
    const bomb = withTrailerSize(gzipSync(Buffer.alloc(64 << 20)), 100);
    await expect(gunzipLimited(bomb, 1 << 20)).rejects.toBeInstanceOf(MetadataTooLargeError);
  });

  it('takes a limit larger than the largest Buffer (the option has no upper bound)', async () => {
    expect((await gunzipLimited(gz, Number.MAX_SAFE_INTEGER)).equals(doc)).toBe(true);
  });

  it('passes plain JSON through, under the same limit', async () => {
    expect((await gunzipLimited(doc, doc.length)).equals(doc)).toBe(true);
    await expect(gunzipLimited(doc, doc.length - 1)).rejects.toBeInstanceOf(MetadataTooLargeError);
  });

  it('fails on corrupt gzip with zlib\'s error, not a partial document', async () => {
    const corrupt = Buffer.from(gz);
    corrupt.fill(0xff, 20, 60);
    await expect(gunzipLimited(corrupt, 1 << 20)).rejects.toMatchObject({ code: expect.stringMatching(/^Z_/) });
    await expect(gunzipLimited(gz.subarray(0, gz.length - 10), 1 << 20)).rejects.toThrow(/unexpected end of file/);
  });
});

describe('decodeDocument', () => {
  it('decodes ASCII and UTF-8 documents to the same text as UTF-8 decoding', () => {
    for (const text of ['{"PatientName":"DOE^JANE"}', '{"PatientName":"Müller^Zoë","Note":"日本語 😀"}', '']) {
      expect(decodeDocument(Buffer.from(text, 'utf8'))).toBe(text);
    }
  });
});
