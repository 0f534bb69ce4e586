/**
 * The pure pieces under the DICOMweb endpoints: multipart parsing at every chunking, media types and Accept
 * headers, QIDO matching rules, and the DICOM JSON model.
 */
import { describe, expect, it } from 'vitest';
import { bulkDataHash, findBulkData, personName, toDicomJson } from '../../src/dicom/dicom-json.js';
import { MultipartError, MultipartParser, multipartBody, parseAccept, parseMediaType } from '../../src/dicom/multipart.js';
import { packBitFrames } from '../../src/dicom/p10-writer.js';
import { matcherFor } from '../../src/local/dicomweb/matching.js';
import { chooseFrameRendition, chooseInstanceRendition } from '../../src/local/dicomweb/negotiate.js';

function parseAll(body: Uint8Array, boundary: string, chunkSize: number) {
  const parser = new MultipartParser(boundary);
  const parts: Array<{ headers: Record<string, string>; body: Buffer[] }> = [];
  for (let i = 0; i < body.length; i += chunkSize) {
    for (const event of parser.push(body.subarray(i, i + chunkSize))) {
      if (event.kind === 'partStart') parts.push({ headers: event.headers, body: [] });
      else if (event.kind === 'data') parts.at(-1)!.body.push(Buffer.from(event.bytes));
    }
  }
  parser.end();
  return parts.map((p) => ({ headers: p.headers, body: Buffer.concat(p.body) }));
}

describe('multipart/related parsing', () => {
  // Bodies that contain CR LF, dashes and most of the delimiter, to catch partial matches across chunks.
  const tricky = Buffer.from('--bound\r\n--boun\r\n-\r\n--bounda');
  const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) & 0xff));
  const body = multipartBody('boundary', [
    { headers: { 'Content-Type': 'application/dicom' }, body: tricky },
    { headers: { 'Content-Type': 'application/dicom', 'Content-Length': String(binary.length) }, body: binary },
    { headers: {}, body: Buffer.alloc(0) },
  ]);

  it('yields the same parts whatever the chunk size', () => {
    for (const size of [1, 2, 3, 7, 13, 64, 1000, body.length]) {
      const parts = parseAll(body, 'boundary', size);
      expect(parts.map((p) => p.body.toString('hex')), `chunk size ${size}`).toEqual([tricky.toString('hex'), binary.toString('hex'), '']);
      expect(parts[1]!.headers).toEqual({ 'content-type': 'application/dicom', 'content-length': '3000' });
      expect(parts[2]!.headers).toEqual({});
    }
  });

  it('skips a preamble and an epilogue, and allows transport padding after a boundary', () => {
    const padded = Buffer.from('preamble text\r\n--b  \r\nContent-Type: application/dicom\r\n\r\nONE\r\n--b\t\r\n\r\nTWO\r\n--b--\r\nepilogue');
    expect(parseAll(padded, 'b', 5).map((p) => p.body.toString())).toEqual(['ONE', 'TWO']);
  });

  it('reports a body that ends before its closing delimiter, and refuses unusable boundaries', () => {
    const cut = body.subarray(0, body.length - 10);
    expect(() => parseAll(cut, 'boundary', 100)).toThrow(MultipartError);
    expect(() => new MultipartParser('')).toThrow(MultipartError);
    expect(() => new MultipartParser('x'.repeat(71))).toThrow(MultipartError);
  });
});

describe('media types and Accept', () => {
  it('parses parameters, quoted or not, and orders Accept ranges by q', () => {
    const media = parseMediaType('Multipart/Related; type="application/dicom"; boundary=abc; transfer-syntax=1.2.840.10008.1.2.1');
    expect(media.type).toBe('multipart/related');
    expect(media.params.get('type')).toEqual({ value: 'application/dicom', quoted: true });
    expect(media.params.get('boundary')).toEqual({ value: 'abc', quoted: false });
    expect(parseAccept('a/b;q=0.5, c/d, e/f;q=0').map((m) => m.type)).toEqual(['c/d', 'a/b']);
  });

  it('chooses frame representations: stored bytes for their media type, decoded for octet-stream', () => {
    const stored = { storedTransferSyntaxUID: '1.2.840.10008.1.2.4.202', decodable: true };
    expect(chooseFrameRendition(undefined, stored)).toMatchObject({ native: true, transferSyntaxUID: '1.2.840.10008.1.2.1' });
    expect(chooseFrameRendition('multipart/related; type="image/jphc"; transfer-syntax=*', stored)).toMatchObject({ native: false, mediaType: 'image/jphc' });
    expect(() => chooseFrameRendition('multipart/related; type="image/jphc"; transfer-syntax="1.2.840.10008.1.2.4.202"', stored)).toThrow(/must not be quoted/);
    const video = { storedTransferSyntaxUID: '1.2.840.10008.1.2.4.102', decodable: false };
    expect(chooseFrameRendition('*/*', video)).toMatchObject({ native: false, mediaType: 'video/mp4' });
    expect(() => chooseFrameRendition('multipart/related; type=application/octet-stream', video)).toThrow(/available: multipart\/related; type="video\/mp4"/);
  });

  it('defaults instances to Explicit VR Little Endian, and to the stored syntax only where frames cannot be decoded', () => {
    const htj2k = { storedTransferSyntaxUID: '1.2.840.10008.1.2.4.202', decodable: true };
    expect(chooseInstanceRendition(undefined, htj2k)).toMatchObject({ transferSyntaxUID: '1.2.840.10008.1.2.1', multipart: false });
    expect(chooseInstanceRendition('multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.202', htj2k)).toMatchObject({ transferSyntaxUID: '1.2.840.10008.1.2.4.202', multipart: true });
    expect(chooseInstanceRendition('application/dicom', { storedTransferSyntaxUID: '1.2.840.10008.1.2.4.102', decodable: false })).toMatchObject({ transferSyntaxUID: '1.2.840.10008.1.2.4.102' });
    expect(() => chooseInstanceRendition('application/dicom; transfer-syntax=1.2.840.10008.1.2.4.50', htj2k)).toThrow(/available as application\/dicom/);
  });
});

describe('QIDO matching', () => {
  const match = (keyword: string, vr: string, query: string, value: unknown, fuzzy = false) => matcherFor(keyword, vr, query, { fuzzy })!(value);

  it('matches text exactly and case-sensitively, with * and ? wildcards, on any value of a multi-valued attribute', () => {
    expect(match('StudyDescription', 'LO', 'CT CHEST', 'CT CHEST ')).toBe(true);
    expect(match('StudyDescription', 'LO', 'ct chest', 'CT CHEST')).toBe(false);
    expect(match('StudyDescription', 'LO', '*CHE?T', 'CT CHEST')).toBe(true);
    expect(match('StudyDescription', 'LO', '*.*', 'CT CHEST')).toBe(false);
    expect(match('Modality', 'CS', 'MR', ['CT', 'MR'])).toBe(true);
    expect(matcherFor('PatientID', 'LO', '', { fuzzy: false })).toBeUndefined();
  });

  it('matches UID lists, numbers, date and time ranges', () => {
    expect(match('StudyInstanceUID', 'UI', '1.2,1.3', '1.3')).toBe(true);
    expect(match('StudyInstanceUID', 'UI', '1.2\\1.3', '1.4')).toBe(false);
    expect(match('SeriesNumber', 'IS', '2', '02 ')).toBe(true);
    expect(match('StudyDate', 'DA', '20240101-20241231', '20240115')).toBe(true);
    expect(match('StudyDate', 'DA', '20240101-', '20231231')).toBe(false);
    expect(match('StudyDate', 'DA', '-20231231', '20231231')).toBe(true);
    expect(match('StudyTime', 'TM', '0900-1000', '093000.123')).toBe(true);
    expect(match('StudyTime', 'TM', '0900-09', '095959')).toBe(true);
    expect(match('StudyTime', 'TM', '101500', '101500.000')).toBe(true);
    expect(() => matcherFor('StudyDate', 'DA', '2024', { fuzzy: false })).toThrow(/not a valid DA/);
  });

  it('fuzzy-matches person names by word prefixes, ignoring case', () => {
    expect(match('PatientName', 'PN', 'doe jo', 'DOE^JOHN', true)).toBe(true);
    expect(match('PatientName', 'PN', 'john', 'DOE^JOHN', true)).toBe(true);
    expect(match('PatientName', 'PN', 'oe', 'DOE^JOHN', true)).toBe(false);
    expect(match('PatientName', 'PN', 'doe', 'DOE^JOHN', false)).toBe(false);
  });
});

describe('DICOM JSON model', () => {
  it('converts document attributes: tags, VRs, numbers, person names, binaries, sequences, empty values', () => {
    const json = toDicomJson(
      {
        PatientName: 'DOE^JOHN=ideo=phon',
        SliceThickness: '5 ',
        ImagePositionPatient: ['-1.5', '2', '3e2'],
        SmallestImagePixelValue: -5,
        Rows: 512,
        AccessionNumber: null,
        ReferencedImageSequence: [{ ReferencedSOPInstanceUID: '1.2.3', '00291010': 'AAEC' }],
        '00090010': 'CREATOR ',
        FrameIncrementPointer: '00181063',
      },
      { '00091001': 'OB', '00090010': 'LO', '00291010': 'OB' },
    );
    expect(Object.keys(json)).toEqual(['00081140', '00090010', '00100010', '00180050', '00200032', '00280009', '00280010', '00280106', '00080050'].sort());
    expect(json['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'DOE^JOHN', Ideographic: 'ideo', Phonetic: 'phon' }] });
    expect(json['00180050']).toEqual({ vr: 'DS', Value: [5] });
    expect(json['00200032']).toEqual({ vr: 'DS', Value: [-1.5, 2, 300] });
    expect(json['00280106']).toEqual({ vr: 'SS', Value: [-5] });
    expect(json['00280010']).toEqual({ vr: 'US', Value: [512] });
    expect(json['00080050']).toEqual({ vr: 'SH' });
    expect(json['00090010']).toEqual({ vr: 'LO', Value: ['CREATOR'] });
    expect(json['00280009']).toEqual({ vr: 'AT', Value: ['00181063'] });
    expect(json['00081140']).toEqual({ vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: ['1.2.3'] }, '00291010': { vr: 'OB', InlineBinary: 'AAEC' } }] });
    expect(personName('')).toBeNull();
  });

  it('replaces large binaries with a BulkDataURI whose hash finds them again, nested ones included', () => {
    const big = Buffer.alloc(2000, 9).toString('base64');
    const attributes = { IconImageSequence: [{ PixelData: big }], EncapsulatedDocument: big };
    const json = toDicomJson(attributes, {}, { bulkDataThreshold: 1000, bulkDataUri: (hash) => `bulk/${hash}` });
    expect(json['00420011']).toEqual({ vr: 'OB', BulkDataURI: `bulk/${bulkDataHash('00420011')}` });
    const nested = (json['00880200']!.Value![0] as Record<string, { BulkDataURI?: string }>)['7FE00010']!.BulkDataURI!;
    expect(nested).toBe(`bulk/${bulkDataHash('00880200/0/7FE00010')}`);
    expect(Buffer.from(findBulkData(attributes, {}, nested.slice(5))!.bytes).equals(Buffer.alloc(2000, 9))).toBe(true);
  });
});

describe('Part 10 writing helpers', () => {
  it('packs 1-bit frames bit after bit when a frame does not fill its last byte', () => {
    // Two 3×3 frames (9 bits each): all ones, then a single one in the first pixel.
    const frames = [new Uint8Array([0xff, 0x01]), new Uint8Array([0x01, 0x00])];
    expect([...packBitFrames(frames, 9)]).toEqual([0xff, 0x03, 0x00]);
    expect([...packBitFrames([new Uint8Array([1]), new Uint8Array([2])], 8)]).toEqual([1, 2]);
  });
});
