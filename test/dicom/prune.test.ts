/** The pruned parse of a metadata document: JSON.parse less the instance attributes left out, or JSON.parse itself. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrunedDocument } from '../../src/dicom/prune.js';
import { SUMMARY_INSTANCE_ATTRIBUTES, summarizeMetadata } from '../../src/dicom/summary.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

// --- What the result must be ---------------------------------------------------------------------------------------

/** JSON.parse of the text, with each instance's DICOM object holding only the kept attributes (in their order). */
function expectedPruned(text: string, keep: ReadonlySet<string>): unknown {
  const doc = JSON.parse(text) as ImageSetMetadataDocument;
  for (const series of Object.values(doc.Study.Series)) {
    for (const instance of Object.values(series.Instances)) {
      // Object.fromEntries makes "__proto__" an own property, as JSON.parse does.
      instance.DICOM = Object.fromEntries(Object.entries(instance.DICOM).filter(([key]) => keep.has(key)));
    }
  }
  return doc;
}

/**
 * A value as nested lists that toEqual compares exactly: own keys in their order (enumerable or not), prototypes,
 * and -0 apart from 0. toEqual alone does not see key order, a prototype set from "__proto__", or a key hidden.
 */
function exact(value: unknown): unknown {
  if (Array.isArray(value)) return ['array', value.map(exact)];
  if (value !== null && typeof value === 'object') {
    return [
      Object.getPrototypeOf(value) === Object.prototype ? 'object' : 'object with another prototype',
      Reflect.ownKeys(value).map((key) => {
        const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
        return [String(key), descriptor.enumerable, descriptor.writable, exact(descriptor.value)];
      }),
    ];
  }
  return Object.is(value, -0) ? '-0' : value;
}

function expectSame(actual: unknown, expected: unknown): void {
  expect(exact(actual)).toEqual(exact(expected));
  expect(actual).toEqual(expected);
}

function instanceDicom(doc: ImageSetMetadataDocument, seriesUid: string, sopUid: string): Record<string, unknown> {
  const series = Object.getOwnPropertyDescriptor(doc.Study.Series, seriesUid)?.value as ImageSetMetadataDocument['Study']['Series'][string];
  const instance = Object.getOwnPropertyDescriptor(series.Instances, sopUid)?.value as (typeof series.Instances)[string];
  return instance.DICOM;
}

/** What JSON.parse throws for the text (it must throw). */
function parseError(text: string): Error {
  try {
    JSON.parse(text);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`JSON.parse accepted ${JSON.stringify(text)}`);
}

function expectSameError(text: string, keep: ReadonlySet<string> = SUMMARY_INSTANCE_ATTRIBUTES): void {
  const error = parseError(text);
  expect(error).toBeInstanceOf(SyntaxError);
  expect(() => parsePrunedDocument(text, keep), JSON.stringify(text)).toThrow(SyntaxError);
  expect(() => parsePrunedDocument(text, keep), JSON.stringify(text)).toThrow(error.message);
}

// --- Random documents ------------------------------------------------------------------------------------------------

/** Characters that matter to a scanner of JSON text, and some that are not ASCII (a lone surrogate among them). */
const TRICKY_CHARS = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '/', 'é', '中', '😀', '\u2028', '\ud800', '\udfff', 'a', 'Z', '0', '-', 'e', '.', 'u'];

const trickyString = fc.oneof(
  fc.string({ unit: fc.constantFrom(...TRICKY_CHARS), maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('', '\\"', '"}', '\\\\', '{"a":[1,2]}', 'true', '-1e5', 'null'),
);

/** Keys of attributes, the kept ones and ones a parser might confuse with a level or the prototype among them. */
const KEY_POOL = [
  'Rows',
  'Columns',
  'InstanceNumber',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'a"b',
  'a\\"b',
  'a\\b',
  '\\',
  '"',
  'é',
  'Größe',
  '😀',
  '',
  '0',
  '7',
  '00280010',
  '00091001',
  'DICOM',
  'Instances',
  'Series',
  'Study',
  'ImageFrames',
  'x y',
  '{',
  '}]',
];
const attributeKey = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KEY_POOL) }, { weight: 1, arbitrary: trickyString });

const number = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e21, -1.5e-7, 5e-324, -2.5e300, Number.MAX_VALUE, 123456789012345680000),
);
const leaf: fc.Arbitrary<Json> = fc.oneof(trickyString, number, fc.boolean(), fc.constant(null));

function objectOf(key: fc.Arbitrary<string>, value: fc.Arbitrary<Json>, maxLength: number): fc.Arbitrary<JsonObject> {
  return fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength }).map((entries) => Object.fromEntries(entries) as JsonObject);
}

const { json } = fc.letrec<{ json: Json; array: Json[]; object: JsonObject }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 4 }),
  object: objectOf(attributeKey, tie('json'), 4),
}));

const attributes = objectOf(attributeKey, json, 7);

/** Members a level may also carry, without the ones that make it that level. */
function extras(structural: string[]): fc.Arbitrary<[string, Json][]> {
  const keys = ['DICOM', 'Instances', 'Series', 'Study', 'Patient', 'ImageFrames', 'Rows', '__proto__', 'ChecksumType', 'x"y'].filter((k) => !structural.includes(k));
  return fc.uniqueArray(fc.tuple(fc.constantFrom(...keys), json), { selector: ([k]) => k, maxLength: 2 });
}

/** An object of the members, in a random order. */
function shuffled(members: [string, Json][]): fc.Arbitrary<JsonObject> {
  return fc.shuffledSubarray(members, { minLength: members.length, maxLength: members.length }).map((m) => Object.fromEntries(m) as JsonObject);
}

const uid = fc.oneof(fc.constantFrom('1.2.840.113619.2.55.3', '__proto__', 'constructor', '0', '12', 'a"b', '\\', 'é'), trickyString);

function uidMap(value: fc.Arbitrary<JsonObject>, maxLength: number): fc.Arbitrary<JsonObject> {
  return objectOf(uid, value, maxLength);
}

const frame: fc.Arbitrary<Json> = fc.oneof(
  fc.record({ ID: trickyString, FrameSizeInBytes: fc.nat(), MinPixelValue: fc.oneof(fc.integer(), fc.constant(null)) }),
  json,
);

const instance = fc
  .tuple(attributes, objectOf(attributeKey, fc.constantFrom('US', 'OB', 'SQ', 'LO'), 3), trickyString, fc.array(frame, { maxLength: 3 }), extras(['DICOM', 'DICOMVRs', 'StoredTransferSyntaxUID', 'ImageFrames']))
  .chain(([DICOM, DICOMVRs, ts, ImageFrames, more]) =>
    shuffled([['DICOM', DICOM], ['DICOMVRs', DICOMVRs], ['StoredTransferSyntaxUID', ts], ['ImageFrames', ImageFrames], ...more]),
  );

const series = fc
  .tuple(attributes, uidMap(instance, 4), extras(['DICOM', 'Instances']))
  .chain(([DICOM, Instances, more]) => shuffled([['DICOM', DICOM], ['Instances', Instances], ...more]));

const metadataDocument = fc
  .tuple(attributes, attributes, uidMap(series, 3), extras(['DICOM', 'Series']), extras(['SchemaVersion', 'DatastoreID', 'ImageSetID', 'Patient', 'Study']))
  .chain(([patient, study, allSeries, studyExtras, docExtras]) =>
    fc.tuple(shuffled([['DICOM', study], ['Series', allSeries], ...studyExtras]), shuffled([['DICOM', patient]])).chain(([Study, Patient]) =>
      shuffled([
        ['SchemaVersion', '1.1'],
        ['DatastoreID', 'a'.repeat(32)],
        ['ImageSetID', 'b'.repeat(32)],
        ['Patient', Patient],
        ['Study', Study],
        ...docExtras,
      ]),
    ),
  );

/** Sets of attributes to keep: from the pool (the summary's among them) and any other keys. */
const keepSet = fc
  .tuple(fc.subarray(KEY_POOL), fc.array(trickyString, { maxLength: 2 }), fc.boolean())
  .map(([pooled, other, summary]) => new Set([...pooled, ...other, ...(summary ? SUMMARY_INSTANCE_ATTRIBUTES : [])]));

const indentation = fc.constantFrom<undefined | number | string>(undefined, 2, '\t');

// --- Text JSON.stringify does not write ------------------------------------------------------------------------------

/** A small deterministic generator, so a failing text can be written again from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * JSON text of the value as JSON.stringify does not write it: white space (CR LF and tabs too) between any tokens,
 * characters written as \u escapes and "/" as "\/", numbers as 5.0 or 5E+0, and inside any object that is not one of
 * the document's levels a member written twice (an earlier duplicate that the later one replaces).
 */
function noisyText(value: Json, levels: ReadonlySet<object>, seed: number): string {
  const next = random(seed);
  const pick = <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)]!;
  const space = () => (next() < 0.5 ? '' : pick([' ', '\n', '\r\n', '\t', ' \n\t  ', '\r']));
  const string = (s: string): string => {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
      const c = s.charAt(i);
      const code = s.charCodeAt(i);
      const escaped = `\\u${code.toString(16).padStart(4, '0')}`;
      if (c === '"' || c === '\\' || code < 0x20 || (code >= 0xd800 && code <= 0xdfff)) out += next() < 0.5 ? escaped : JSON.stringify(c).slice(1, -1);
      else if (c === '/') out += pick(['/', '\\/']);
      else out += next() < 0.15 ? (next() < 0.5 ? escaped : escaped.toUpperCase().replace('\\U', '\\u')) : c;
    }
    return `${out}"`;
  };
  const num = (n: number): string => {
    let s = JSON.stringify(n);
    if (s.includes('e')) return next() < 0.5 ? s.replace('e', 'E') : s;
    if (!s.includes('.') && next() < 0.5) s += pick(['.0', 'e0', 'E+0', '.00e-0', 'e-00']);
    return s;
  };
  const write = (v: Json): string => {
    if (v === null || typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return num(v);
    if (typeof v === 'string') return string(v);
    if (Array.isArray(v)) return `[${space()}${v.map((item) => `${write(item)}${space()}`).join(`,${space()}`)}]`;
    const members: string[] = [];
    for (const [key, item] of Object.entries(v)) {
      if (!levels.has(v) && next() < 0.2) members.push(`${string(key)}${space()}:${space()}${write(pick<Json>([null, 0, 'decoy', [], {}, { Rows: 1 }]))}${space()}`);
      members.push(`${string(key)}${space()}:${space()}${write(item)}${space()}`);
    }
    return `{${space()}${members.join(`,${space()}`)}}`;
  };
  return `${space()}${write(value)}${space()}`;
}

/** The objects that are the document's levels: itself, Patient, Study, the series and instances and their maps. */
function levelsOf(doc: JsonObject): Set<object> {
  const study = doc.Study as JsonObject;
  const levels = new Set<object>([doc, doc.Patient as JsonObject, study, study.Series as JsonObject]);
  for (const s of Object.values(study.Series as JsonObject) as JsonObject[]) {
    levels.add(s).add(s.Instances as JsonObject);
    for (const i of Object.values(s.Instances as JsonObject) as JsonObject[]) levels.add(i);
  }
  return levels;
}

// --- Documents summarizeMetadata reads -------------------------------------------------------------------------------

const integerText = fc.integer({ min: -20, max: 2000 }).chain((n) => fc.constantFrom<Json>(n, `${n}`, `${n} `, ` ${n}`, [n], [`${n} `], `${n}.7`));
const oddValue = fc.constantFrom<Json>(null, '', ' ', 'abc', [], {}, true, 1.5, '0x10', '1e3');
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 4 });
const dicomText = fc.oneof(trickyString, fc.array(trickyString, { maxLength: 2 }), fc.constant(null), fc.integer());

function withOptional(base: JsonObject, optional: Record<string, Json | undefined>): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) out[key] = value;
  return out;
}

const summaryInstance: fc.Arbitrary<JsonObject> = fc
  .record({
    base: attributes,
    instanceNumber: maybe(fc.oneof({ weight: 5, arbitrary: integerText }, { weight: 1, arbitrary: oddValue })),
    rows: maybe(fc.oneof({ weight: 5, arbitrary: integerText }, { weight: 1, arbitrary: oddValue })),
    columns: maybe(fc.oneof({ weight: 5, arbitrary: integerText }, { weight: 1, arbitrary: oddValue })),
    frames: fc.array(
      fc.record({
        ID: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }), trickyString),
        PixelDataChecksumFromBaseToFullResolution: fc.array(fc.record({ Width: fc.nat(), Height: fc.nat(), Checksum: fc.nat() }), { maxLength: 2 }),
      }),
      { maxLength: 5 },
    ),
    ts: maybe(fc.constantFrom('1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.1', '1.2.3.weird')),
  })
  .map(({ base, instanceNumber, rows, columns, frames, ts }) =>
    withOptional(
      { DICOM: withOptional(base, { InstanceNumber: instanceNumber, Rows: rows, Columns: columns }), DICOMVRs: {}, ImageFrames: frames },
      { StoredTransferSyntaxUID: ts },
    ),
  );

const summarySeries: fc.Arbitrary<JsonObject> = fc
  .record({
    base: attributes,
    modality: maybe(dicomText),
    number: maybe(fc.oneof(integerText, oddValue)),
    description: maybe(dicomText),
    bodyPart: maybe(dicomText),
    instances: uidMap(summaryInstance, 6),
  })
  .map(({ base, modality, number, description, bodyPart, instances }) => ({
    DICOM: withOptional(base, { Modality: modality, SeriesNumber: number, SeriesDescription: description, BodyPartExamined: bodyPart }),
    Instances: instances,
  }));

const summaryDocument: fc.Arbitrary<JsonObject> = fc
  .record({
    patient: fc.record({ PatientName: dicomText, PatientID: dicomText, PatientBirthDate: dicomText, PatientSex: dicomText }, { requiredKeys: [] }),
    study: fc.record({ StudyInstanceUID: dicomText, StudyDate: dicomText, StudyTime: dicomText, StudyDescription: dicomText, AccessionNumber: dicomText, StudyID: dicomText }, { requiredKeys: [] }),
    series: uidMap(summarySeries, 3),
  })
  .map(({ patient, study, series }) => ({
    SchemaVersion: '1.1',
    DatastoreID: 'a'.repeat(32),
    ImageSetID: 'b'.repeat(32),
    Patient: { DICOM: patient as JsonObject },
    Study: { DICOM: study as JsonObject, Series: series },
  }));

const summaryOptions = fc.record(
  { maxInstances: fc.nat({ max: 12 }), offset: fc.nat({ max: 12 }), maxSeries: fc.nat({ max: 4 }), maxFrameIdsPerInstance: fc.nat({ max: 5 }) },
  { requiredKeys: ['maxInstances'] },
);

function outcome<T>(f: () => T): { summary: T } | { error: string } {
  try {
    return { summary: f() };
  } catch (err) {
    return { error: String(err) };
  }
}

// --- Tests -----------------------------------------------------------------------------------------------------------

describe('parsePrunedDocument on random documents', () => {
  it('equals JSON.parse with each instance DICOM object holding only the kept attributes (property)', () => {
    let keptSeen = 0;
    let leftOutSeen = 0;
    fc.assert(
      fc.property(metadataDocument, keepSet, indentation, (doc, keep, indent) => {
        const text = JSON.stringify(doc, null, indent);
        const expected = expectedPruned(text, keep);
        expectSame(parsePrunedDocument(text, keep), expected);
        for (const s of Object.values((JSON.parse(text) as ImageSetMetadataDocument).Study.Series)) {
          for (const i of Object.values(s.Instances)) {
            for (const key of Object.keys(i.DICOM)) {
              if (keep.has(key)) keptSeen++;
              else leftOutSeen++;
            }
          }
        }
      }),
      { numRuns: 300 },
    );
    // The property was not vacuous: attributes were both kept and left out.
    expect(keptSeen).toBeGreaterThan(50);
    expect(leftOutSeen).toBeGreaterThan(50);
  });

  it('follows white space, escapes, number forms and duplicate members that JSON.stringify does not write (property)', () => {
    fc.assert(
      fc.property(metadataDocument, keepSet, fc.integer(), (doc, keep, seed) => {
        const text = noisyText(doc, levelsOf(doc), seed);
        expectSame(parsePrunedDocument(text, keep), expectedPruned(text, keep));
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same summary as the whole document (property)', () => {
    let listed = 0;
    fc.assert(
      fc.property(summaryDocument, summaryOptions, indentation, (doc, options, indent) => {
        const text = JSON.stringify(doc, null, indent);
        const pruned = parsePrunedDocument(text, SUMMARY_INSTANCE_ATTRIBUTES);
        const whole = outcome(() => summarizeMetadata(JSON.parse(text) as ImageSetMetadataDocument, options));
        // Whatever the values (objects such as {"toString":0} included), the summary is made, and the same on both.
        expect(whole).toHaveProperty('summary');
        expect(outcome(() => summarizeMetadata(pruned, options))).toEqual(whole);
        if ('summary' in whole) listed += whole.summary.instances.filter((i) => i.rows !== undefined || i.instance_number !== undefined).length;
        for (const s of Object.values(pruned.Study.Series)) {
          for (const i of Object.values(s.Instances)) for (const key of Object.keys(i.DICOM)) expect(SUMMARY_INSTANCE_ATTRIBUTES.has(key), key).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
    expect(listed).toBeGreaterThan(50);
  });
});

/** A document with the given series map text, the rest fixed. */
const withSeries = (seriesText: string) =>
  `{"SchemaVersion":"1.1","DatastoreID":"d","ImageSetID":"i","Patient":{"DICOM":{"PatientName":"P"}},"Study":{"DICOM":{"StudyInstanceUID":"1.2"},"Series":${seriesText}}}`;
/** A document with one series "1.2.3" of one instance "1.2.3.4" whose DICOM object is the given text. */
const withInstanceDicom = (dicomText: string) =>
  withSeries(`{"1.2.3":{"DICOM":{"Modality":"CT","Gone":1},"Instances":{"1.2.3.4":{"DICOM":${dicomText},"DICOMVRs":{},"StoredTransferSyntaxUID":"1.2.840.10008.1.2.1","ImageFrames":[{"ID":"f1"}]}}}}`);

describe('parsePrunedDocument on "__proto__"', () => {
  const text = withSeries(
    `{"__proto__":{"DICOM":{"__proto__":{"series":true}},"Instances":{"__proto__":{"DICOM":{"__proto__":{"polluted":true},"Rows":2,"Gone":{"x":[1]}},"DICOMVRs":{},"StoredTransferSyntaxUID":"t","ImageFrames":[]}}}}`,
  );

  it('makes a kept "__proto__" attribute and "__proto__" UIDs own properties, as JSON.parse does', () => {
    const doc = parsePrunedDocument(text, new Set(['__proto__', 'Rows']));
    const seriesMap = doc.Study.Series;
    expect(Object.getPrototypeOf(seriesMap)).toBe(Object.prototype);
    expect(Object.keys(seriesMap)).toEqual(['__proto__']);
    const dicom = instanceDicom(doc, '__proto__', '__proto__');
    expect(Object.getPrototypeOf(dicom)).toBe(Object.prototype);
    expect(Object.keys(dicom)).toEqual(['__proto__', 'Rows']);
    expect(Object.getOwnPropertyDescriptor(dicom, '__proto__')).toEqual({ value: { polluted: true }, writable: true, enumerable: true, configurable: true });
    expect((dicom as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expectSame(doc, expectedPruned(text, new Set(['__proto__', 'Rows'])));
  });

  it('leaves out a "__proto__" attribute that is not kept, without touching the prototype', () => {
    const doc = parsePrunedDocument(text, new Set(['Rows']));
    const dicom = instanceDicom(doc, '__proto__', '__proto__');
    expect(Object.getPrototypeOf(dicom)).toBe(Object.prototype);
    expect(Object.hasOwn(dicom, '__proto__')).toBe(false);
    expect(Object.keys(dicom)).toEqual(['Rows']);
    // The series' own DICOM object is not pruned.
    const series = Object.getOwnPropertyDescriptor(doc.Study.Series, '__proto__')!.value as { DICOM: object };
    expect(Object.getOwnPropertyDescriptor(series.DICOM, '__proto__')?.value).toEqual({ series: true });
    expectSame(doc, expectedPruned(text, new Set(['Rows'])));
  });

  it('reads "__proto__" written with escapes as the same key', () => {
    const escaped = withInstanceDicom('{"__pro\\u0074o__":{"p":1},"\\u0052ows":3,"Gone":4}');
    const dicom = instanceDicom(parsePrunedDocument(escaped, new Set(['__proto__', 'Rows'])), '1.2.3', '1.2.3.4');
    expect(Object.getOwnPropertyDescriptor(dicom, '__proto__')?.value).toEqual({ p: 1 });
    expect(Object.getPrototypeOf(dicom)).toBe(Object.prototype);
    expect(dicom).toEqual({ ['__proto__']: { p: 1 }, Rows: 3 });
    expectSame(parsePrunedDocument(escaped, new Set(['__proto__', 'Rows'])), expectedPruned(escaped, new Set(['__proto__', 'Rows'])));
  });
});

describe('parsePrunedDocument on duplicate keys', () => {
  it('takes the last of duplicate attributes, instances, series and levels, at the first one\'s place', () => {
    const text =
      '{"SchemaVersion":"1.0","Patient":{"DICOM":{}},"Study":{"Series":{"1":{"DICOM":{},"Instances":{}}},"DICOM":{"A":1,"A":2},' +
      '"Series":{' +
      '"s":{"DICOM":{"Modality":"MR"},"Instances":{"i":{"DICOM":{"Rows":1,"Gone":1},"ImageFrames":[]}}},' +
      '"t":{"DICOM":{},"Instances":{' +
      '"i":{"DICOM":{"Rows":1,"Columns":9,"Gone":{"a":1},"Rows":2,"Gone":[3],"__proto__":1,"__proto__":{"x":2}},"DICOM":{"Rows":5,"Columns":6,"Gone":7},"ImageFrames":[1]},' +
      '"j":{"DICOM":{"InstanceNumber":"1"},"ImageFrames":[]},' +
      '"i":{"DICOM":{"Columns":8,"__proto__":1,"Rows":3,"Rows":4,"Gone":0,"__proto__":{"x":2}},"ImageFrames":[2]}}},' +
      '"s":{"DICOM":{"Modality":"CT"},"Instances":{"k":{"DICOM":{"Rows":"7 "},"ImageFrames":[]}}}' +
      '}},"Study":"ignored?","SchemaVersion":"1.1"}';
    // The last "Study" member is a string: the walker cannot follow it, so the result is JSON.parse's, unpruned.
    expectSame(parsePrunedDocument(text, new Set(['Rows'])), JSON.parse(text));

    const followable = text.replace(',"Study":"ignored?"', '');
    const keep = new Set(['Rows', 'Columns', '__proto__']);
    const doc = parsePrunedDocument(followable, keep);
    expectSame(doc, expectedPruned(followable, keep));
    expect(doc.SchemaVersion).toBe('1.1');
    expect(doc.Study.DICOM).toEqual({ A: 2 });
    expect(Object.keys(doc.Study.Series)).toEqual(['s', 't']);
    expect(doc.Study.Series.s!.DICOM).toEqual({ Modality: 'CT' });
    expect(Object.keys(doc.Study.Series.t!.Instances)).toEqual(['i', 'j']);
    const dicom = doc.Study.Series.t!.Instances.i!.DICOM;
    expect(Object.getPrototypeOf(dicom)).toBe(Object.prototype);
    expect(Object.keys(dicom)).toEqual(['Columns', '__proto__', 'Rows']);
    expect(Object.getOwnPropertyDescriptor(dicom, '__proto__')?.value).toEqual({ x: 2 });
    expect([dicom.Columns, dicom.Rows]).toEqual([8, 4]);
    expect(doc.Study.Series.t!.Instances.i!.ImageFrames).toEqual([2]);
  });

  it('takes the last of a duplicated kept attribute, in an object JSON.parse orders', () => {
    const text = withInstanceDicom('{"Rows":1,"Gone":1,"Columns":2,"Rows":{"a":[1,{"b":2}]},"Gone":"x","Columns":3}');
    const doc = parsePrunedDocument(text, new Set(['Rows', 'Columns']));
    expect(instanceDicom(doc, '1.2.3', '1.2.3.4')).toEqual({ Rows: { a: [1, { b: 2 }] }, Columns: 3 });
    expect(Object.keys(instanceDicom(doc, '1.2.3', '1.2.3.4'))).toEqual(['Rows', 'Columns']);
    expectSame(doc, expectedPruned(text, new Set(['Rows', 'Columns'])));
  });
});

describe('parsePrunedDocument on text that is not JSON', () => {
  const valid = withInstanceDicom('{"Rows":512,"Columns":512,"InstanceNumber":"3 ","Gone":{"a":[1,"}]\\""]},"Also":-1.5e-3}');

  it('throws JSON.parse\'s SyntaxError for every truncation of a document', () => {
    expect(parsePrunedDocument(valid, SUMMARY_INSTANCE_ATTRIBUTES)).toEqual(expectedPruned(valid, SUMMARY_INSTANCE_ATTRIBUTES));
    for (let length = 0; length < valid.length; length++) expectSameError(valid.slice(0, length));
  });

  it('throws for trailing garbage, single quotes and other text that is not JSON', () => {
    for (const text of [
      `${valid} x`,
      `${valid}}`,
      `${valid},`,
      `${valid}{}`,
      `${valid} 1`,
      `\ufeff${valid}`,
      `${valid}\u00a0`,
      valid.replace('"SchemaVersion"', "'SchemaVersion'"),
      valid.replace('"Modality":"CT"', "'Modality':'CT'"),
      valid.replace('"Rows":512', "'Rows':512"),
      valid.replace('"Gone":{', "'Gone':{"),
      "'a single-quoted string'",
      '"',
      '',
      '   ',
      '{',
      '{"SchemaVersion":"1.1",}',
      valid.replace('"Rows":512,', '"Rows":512,,'),
      valid.replace('"Rows":512', '"Rows" 512'),
      valid.replace('"Rows":512,', '"Rows":512 '),
      valid.replace('"Rows":512', '"Rows":0512'),
      valid.replace('"Rows":512', '"Rows":512.'),
      valid.replace('"Rows":512', '"Rows":tru'),
      valid.replace('"Rows":512', '"Rows":"a\u0001b"'),
      valid.replace('"Rows":512', '"Rows":[1}'),
      valid.replace('"Rows":512', '"Rows":"x"y'),
      valid.replace('"Modality":"CT"', '"Modality":[1}'),
      valid.replace('"ImageFrames":[{"ID":"f1"}]', '"ImageFrames":[{"ID":"f1"]}'),
      valid.replace('"Gone":{"a"', '"Gone" {"a"'),
      valid.replace('"Gone":{"a"', '"Gone":{"a"}'),
    ]) {
      expectSameError(text);
    }
  });

  it('throws for a key JSON.parse refuses: a raw control character or a bad escape, at any level', () => {
    for (const text of [
      valid.replace('"SchemaVersion"', '"Schema\nVersion"'),
      valid.replace('"Modality"', '"Moda\u0000lity"'),
      valid.replace('"1.2.3.4"', '"1.2.3\t.4"'),
      valid.replace('"Rows"', '"Ro\u001fws"'),
      // A key of an attribute that is left out: the key is read even when the value is not.
      valid.replace('"Gone"', '"Go\nne"'),
      valid.replace('"Gone"', '"Go\\xne"'),
      valid.replace('"Gone"', '"Go\\u00"'),
      valid.replace('"Rows"', '"Rows\\'),
    ]) {
      expectSameError(text);
    }
  });

  it('does not check a left-out value beyond finding its end (the documented difference)', () => {
    const text = valid.replace('"Gone":{"a":[1,"}]\\""]}', '"Gone":[tru, "\u0001", 01]');
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const dicom = instanceDicom(parsePrunedDocument(text, SUMMARY_INSTANCE_ATTRIBUTES), '1.2.3', '1.2.3.4');
    expect(dicom).toEqual({ Rows: 512, Columns: 512, InstanceNumber: '3 ' });
    // The same value kept is parsed, and fails as in JSON.parse.
    expectSameError(text, new Set(['Gone']));
  });

  it('refuses a left-out value whose brackets do not pair up, so that it cannot swallow the attributes after it', () => {
    for (const gone of ['"Gone":{"a":[1},"x":2]', '"Gone":[1}', '"Gone":{"a":1]']) {
      const text = valid.replace('"Gone":{"a":[1,"}]\\""]}', gone);
      expect(text).not.toBe(valid);
      expectSameError(text);
    }
  });
});

describe('parsePrunedDocument on levels that are not objects', () => {
  it('falls back to JSON.parse, unpruned', () => {
    const cases = [
      '{"Patient":{"DICOM":{}},"Study":[{"Series":{}}]}',
      '{"Patient":{"DICOM":{}},"Study":"a study"}',
      '{"Patient":{"DICOM":{}},"Study":null}',
      '{"Patient":{"DICOM":{}},"Study":7}',
      withSeries('[]'),
      withSeries('"1.2.3"'),
      withSeries('{"1.2.3":[{"DICOM":{"Gone":1}}]}'),
      withSeries('{"1.2.3":{"DICOM":{},"Instances":"none"}}'),
      withSeries('{"1.2.3":{"DICOM":{},"Instances":{"a":{"DICOM":{"Rows":1,"Gone":2}},"b":null}}}'),
      withSeries('{"1.2.3":{"DICOM":{},"Instances":{"a":{"DICOM":{"Rows":1,"Gone":2}},"b":{"DICOM":[["Gone",2]]}}}}'),
      withSeries('{"1.2.3":{"DICOM":{},"Instances":{"a":{"DICOM":{"Rows":1,"Gone":2}}}},"4.5":{"DICOM":{},"Instances":{"b":{"DICOM":"Gone"}}}}'),
      '[]',
      '[{"Study":{"Series":{}}}]',
      'null',
      '"text"',
      ' 12 ',
    ];
    for (const text of cases) {
      const doc = parsePrunedDocument(text, new Set(['Rows']));
      expectSame(doc, JSON.parse(text));
    }
    // Unpruned indeed: "Gone" is still there where the walker gave up on the document.
    expect(JSON.stringify(parsePrunedDocument(cases[8]!, new Set(['Rows'])))).toContain('"Gone":2');
  });

  it('prunes when a level that is not an object is one the walker does not descend into', () => {
    const text = withSeries('{"1.2.3":{"DICOM":[1,2],"Instances":{"a":{"DICOM":{"Rows":1,"Gone":2},"ImageFrames":"none","DICOMVRs":null}}}}').replace(
      '"Patient":{"DICOM":{"PatientName":"P"}}',
      '"Patient":[],"Extra":{"Series":[1]}',
    );
    const doc = parsePrunedDocument(text, new Set(['Rows']));
    expectSame(doc, expectedPruned(text, new Set(['Rows'])));
    expect(instanceDicom(doc, '1.2.3', 'a')).toEqual({ Rows: 1 });
  });
});

describe('parsePrunedDocument on text that is not ASCII', () => {
  it('keeps and leaves out attributes with keys and values of any script, and UIDs too', () => {
    const text = withSeries(
      JSON.stringify({
        'série-ü': {
          DICOM: { SeriesDescription: 'Thorax – 胸部 😀', 'Größe': 'bleibt' },
          Instances: {
            'ínstance-中': {
              DICOM: { 'Größe': 1.75, Rows: '５１２', 胸部: ['😀', '\u2028', '\ud800'], Gone: 'Straße "zitat" \\ {[', '😀': { '😀': '😀' } },
              DICOMVRs: { 'Größe': 'DS' },
              ImageFrames: [{ ID: 'ïd' }],
            },
          },
        },
      }),
    );
    const keep = new Set(['Größe', '😀', 'Rows']);
    const doc = parsePrunedDocument(text, keep);
    expectSame(doc, expectedPruned(text, keep));
    const dicom = instanceDicom(doc, 'série-ü', 'ínstance-中');
    expect(dicom).toEqual({ 'Größe': 1.75, Rows: '５１２', '😀': { '😀': '😀' } });
    expect(Object.hasOwn(dicom, '胸部')).toBe(false);
    expect(Object.hasOwn(dicom, 'Gone')).toBe(false);
    expect(doc.Study.Series['série-ü']!.DICOM).toEqual({ SeriesDescription: 'Thorax – 胸部 😀', 'Größe': 'bleibt' });
  });

  it('reads non-ASCII keys written as \\u escapes, surrogate pairs among them', () => {
    const text = withInstanceDicom('{"Gr\\u00f6\\u00dfe":1,"\\ud83d\\ude00":2,"\\u80f8\\u90e8":3,"\\ud800":4}');
    const keep = new Set(['Größe', '😀', '\ud800']);
    const doc = parsePrunedDocument(text, keep);
    expect(instanceDicom(doc, '1.2.3', '1.2.3.4')).toEqual({ 'Größe': 1, '😀': 2, '\ud800': 4 });
    expectSame(doc, expectedPruned(text, keep));
  });
});

describe('parsePrunedDocument for the summary', () => {
  it('keeps only the summary\'s attributes and gives the summary of the whole document', () => {
    const instance = (number: Json, frames: number) => ({
      DICOM: { InstanceNumber: number, Rows: 512, Columns: '256 ', SOPClassUID: '1.2.840.10008.5.1.4.1.1.2', ImagePositionPatient: [0, 0, -12.5], PixelSpacing: [0.5, 0.5] },
      DICOMVRs: {},
      StoredTransferSyntaxUID: '1.2.840.10008.1.2.4.202',
      ImageFrames: Array.from({ length: frames }, (_, i) => ({ ID: `frame-${i}` })),
    });
    const text = JSON.stringify(
      {
        SchemaVersion: '1.1',
        DatastoreID: 'd',
        ImageSetID: 'i',
        Patient: { DICOM: { PatientName: 'Doe^Jane', PatientID: 'p1' } },
        Study: {
          DICOM: { StudyInstanceUID: '1.2', StudyDescription: 'CT' },
          Series: { '1.2.3': { DICOM: { Modality: 'CT', SeriesNumber: '2' }, Instances: { a: instance('3 ', 1), b: instance(1, 2), c: instance('2', 4), d: instance(' 10', 1) } } },
        },
      },
      null,
      2,
    );
    const pruned = parsePrunedDocument(text, SUMMARY_INSTANCE_ATTRIBUTES);
    expect(instanceDicom(pruned, '1.2.3', 'a')).toEqual({ InstanceNumber: '3 ', Rows: 512, Columns: '256 ' });
    const options = { maxInstances: 3, offset: 1, maxFrameIdsPerInstance: 2 };
    const summary = summarizeMetadata(pruned, options);
    expect(summary).toEqual(summarizeMetadata(JSON.parse(text) as ImageSetMetadataDocument, options));
    expect(summary.instances.map((i) => [i.sop_instance_uid, i.instance_number, i.rows, i.columns, i.frame_ids])).toEqual([
      ['c', 2, 512, 256, ['frame-0', 'frame-1']],
      ['a', 3, 512, 256, ['frame-0']],
      ['d', 10, 512, 256, ['frame-0']],
    ]);
    expect(summary.frame_count).toBe(8);
  });
});
