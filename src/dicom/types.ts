/**
 * Shapes of the AWS HealthImaging image-set metadata document (shared/healthimaging-api.md §2)
 * and of the DICOM layer's contract with its users (the local service and the MCP tools).
 */

/** Attributes keyed by DICOM keyword, or 8-hex tag for private/unknown attributes, encoded per §2.3. */
export type DicomAttributes = Record<string, unknown>;

export interface PixelChecksum {
  Width: number;
  Height: number;
  /** Unsigned CRC32 of the decoded little-endian pixel buffer of the frame at this resolution. */
  Checksum: number;
}

export interface ImageFrameEntry {
  ID: string;
  PixelDataChecksumFromBaseToFullResolution: PixelChecksum[];
  MinPixelValue: number | null;
  MaxPixelValue: number | null;
  FrameSizeInBytes: number;
}

export interface InstanceDocument {
  DICOM: DicomAttributes;
  DICOMVRs: Record<string, string>;
  StoredTransferSyntaxUID: string;
  ChecksumType?: 'DECOMPRESSED';
  ImageFrames: ImageFrameEntry[];
}

export interface SeriesDocument {
  DICOM: DicomAttributes;
  Instances: Record<string, InstanceDocument>;
}

export interface ImageSetMetadataDocument {
  SchemaVersion: string;
  DatastoreID: string;
  ImageSetID: string;
  Patient: { DICOM: DicomAttributes };
  Study: { DICOM: DicomAttributes; Series: Record<string, SeriesDocument> };
}

/** Geometry and pixel format of an instance's frames, enough to decode a stored frame. */
export interface FrameGeometry {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  photometricInterpretation: string;
  planarConfiguration: 0 | 1;
  numberOfFrames: number;
}

/** One parsed DICOM P10 instance, split into the levels of the metadata document. */
export interface ParsedInstance {
  /** Transfer syntax of the received file. */
  transferSyntaxUID: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  sopClassUID: string;
  patient: DicomAttributes;
  study: DicomAttributes;
  series: DicomAttributes;
  /** Instance-level attributes (incl. group 0002) without PixelData, and VRs of private/unknown tags. */
  instance: { DICOM: DicomAttributes; DICOMVRs: Record<string, string> };
  /** Undefined for instances without pixel data (e.g. SR, presentation states). */
  geometry?: FrameGeometry;
  /** Encoded or native pixel data per frame exactly as found in the file (one entry per frame). */
  frameData: Uint8Array[];
}

/** A frame ready to store: the bytes to serve from GetImageFrame and what the metadata says about them. */
export interface PreparedFrame {
  bytes: Uint8Array;
  width: number;
  height: number;
  /** Unsigned CRC32 of the decoded little-endian pixel buffer. */
  checksum: number;
  /** Stored pixel value range; null for frames kept in a lossy encoding. */
  min: number | null;
  max: number | null;
}

export interface PreparedFrames {
  storedTransferSyntaxUID: string;
  frames: PreparedFrame[];
}

export type LosslessStorageFormat = 'HTJ2K' | 'JPEG_2000_LOSSLESS';

/** Decoded pixels of one frame: little-endian samples, interleaved (planar configuration 0) for colour. */
export interface DecodedFrame {
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  signed: boolean;
  pixels: Uint8Array;
}

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  deflatedLE: '1.2.840.10008.1.2.1.99',
  explicitBE: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
  htj2kLossless: '1.2.840.10008.1.2.4.201',
  htj2kLosslessRpcl: '1.2.840.10008.1.2.4.202',
  htj2k: '1.2.840.10008.1.2.4.203',
  rle: '1.2.840.10008.1.2.5',
} as const;
