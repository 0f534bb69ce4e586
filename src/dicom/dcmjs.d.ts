/**
 * The part of dcmjs 0.51.1 that src/dicom uses. dcmjs ships no types; values stay `unknown` where their shape
 * depends on the VR, and the code that reads them narrows with type guards.
 */
declare module 'dcmjs' {
  /** One element of a raw (tag-keyed) dataset, as `DicomMessage.readFile` returns it. */
  export interface DicomElement {
    vr: string;
    /**
     * Text VRs: strings (PN: `{ Alphabetic }` objects; DS/IS: numbers). Binary numeric VRs: numbers.
     * OB/OW/OF/OD/UN: ArrayBuffers (encapsulated pixel data: one per fragment, or per frame with an offset table).
     * SQ: item datasets.
     */
    Value?: unknown[];
    /** The value as read from the file before dcmjs formats it (text VRs only): a string or an array of strings. */
    _rawValue?: unknown;
  }

  /** A raw dataset keyed by 8-hex uppercase tag (`00100010`). */
  export type DicomDataset = Record<string, DicomElement>;

  export interface DictionaryEntry {
    tag: string;
    vr: string;
    vm: string;
    name: string;
  }

  export interface ReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }

  export class DicomDict {
    constructor(meta: DicomDataset);
    meta: DicomDataset;
    dict: DicomDataset;
    write(options?: { allowInvalidVRLength?: boolean; fragmentMultiframe?: boolean }): ArrayBuffer;
  }

  export interface DicomMessageStatic {
    readFile(buffer: ArrayBuffer, options?: ReadOptions): DicomDict;
  }

  export interface DicomMetaDictionaryStatic {
    /** Keyword → entry. */
    nameMap: Record<string, DictionaryEntry | undefined>;
    /** `(GGGG,EEEE)` or `GGGGEEEE` → entry (a lazily filled proxy: `Object.keys` is empty). */
    dictionary: Record<string, DictionaryEntry | undefined>;
    /** Keyword-keyed dataset (`{ PatientName: …, _vrMap? }`) → tag-keyed dataset, VRs from the dictionary. */
    denaturalizeDataset(dataset: Record<string, unknown>): DicomDataset;
  }

  export interface Logger {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
  }

  export interface RootLogger extends Logger {
    getLoggers(): Record<string, Logger>;
  }

  const dcmjs: {
    data: {
      DicomMessage: DicomMessageStatic;
      DicomMetaDictionary: DicomMetaDictionaryStatic;
      DicomDict: typeof DicomDict;
    };
    log: RootLogger;
  };
  export default dcmjs;
}
