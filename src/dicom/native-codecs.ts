/**
 * RLE, JPEG (baseline, extended, lossless), JPEG-LS, JPEG 2000 and JPEG XL through dcmjs-codecs 0.0.8 (one 4 MB
 * WASM module with libjpeg-turbo, CharLS, OpenJPEG, libjxl). Its public entry point is a P10 → P10 transcoder;
 * this module uses the per-frame `NativeCodecs` functions underneath it instead, which take one encoded frame and
 * return its samples without building a dataset around it.
 */
import dcmjsCodecs from 'dcmjs-codecs';

type NativeCodecsApi = typeof dcmjsCodecs.NativeCodecs;
type CodecContext = InstanceType<typeof dcmjsCodecs.Context>;

export type NativeDecoding = 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg2000' | 'jpeg-xl';

/** What the codecs need to know about a frame (the DICOM Image Pixel attributes). */
export interface FrameLayout {
  width: number;
  height: number;
  bitsAllocated: number;
  bitsStored: number;
  samplesPerPixel: number;
  pixelRepresentation: 0 | 1;
  planarConfiguration: 0 | 1;
  photometricInterpretation: string;
}

// The codecs report failures by throwing; what they also log (through loglevel, to the console) only repeats it.
dcmjsCodecs.log.setLevel('silent');

let loading: Promise<NativeCodecsApi> | undefined;

/** Instantiates the WASM module once; concurrent first callers share the same promise. */
function load(): Promise<NativeCodecsApi> {
  loading ??= dcmjsCodecs.NativeCodecs.initializeAsync().then(
    () => dcmjsCodecs.NativeCodecs,
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}

/**
 * Runs `work` with the codecs. When a codec fails, the exception has unwound through WASM frames without
 * releasing what they allocated (and an abort may have left the module inconsistent), so the instance is
 * replaced before the next call.
 */
async function withCodecs<T>(work: (codecs: NativeCodecsApi) => T): Promise<T> {
  const instance = load();
  const codecs = await instance;
  try {
    return work(codecs);
  } catch (err) {
    if (loading === instance) loading = undefined;
    throw err;
  }
}

const KNOWN_PHOTOMETRICS: readonly string[] = Object.values(dcmjsCodecs.constants.PhotometricInterpretation);

function contextFor(layout: FrameLayout, buffers: { encodedBuffer?: Uint8Array; decodedBuffer?: Uint8Array }): CodecContext {
  // The codecs only look at the photometric interpretation to convert colour; one they do not list would fail
  // their validation, so it is replaced by the neutral value for the sample count.
  const photometric = KNOWN_PHOTOMETRICS.includes(layout.photometricInterpretation)
    ? layout.photometricInterpretation
    : layout.samplesPerPixel === 1 ? 'MONOCHROME2' : 'RGB';
  return new dcmjsCodecs.Context({ ...layout, photometricInterpretation: photometric, ...buffers });
}

export interface DecodeOptions {
  /** JPEG only: convert YCbCr to RGB (libjpeg's conversion). */
  convertToRgb?: boolean;
}

/** Decodes one frame; returns its samples in the codec's output layout (a copy out of the WASM heap). */
export function decodeNative(decoding: NativeDecoding, encoded: Uint8Array, layout: FrameLayout, options: DecodeOptions = {}): Promise<Uint8Array> {
  return withCodecs((codecs) => {
    const context = contextFor(layout, { encodedBuffer: encoded });
    const decoded = run(codecs, decoding, context, options).getDecodedBuffer();
    if (!decoded) throw new Error('the decoder returned no pixels');
    return decoded;
  });
}

function run(codecs: NativeCodecsApi, decoding: NativeDecoding, context: CodecContext, options: DecodeOptions): CodecContext {
  switch (decoding) {
    case 'rle':
      return codecs.decodeRle(context);
    case 'jpeg':
      return codecs.decodeJpeg(context, { convertColorspaceToRgb: options.convertToRgb === true });
    case 'jpeg-ls':
      return codecs.decodeJpegLs(context);
    case 'jpeg2000':
      return codecs.decodeJpeg2000(context);
    case 'jpeg-xl':
      return codecs.decodeJpegXl(context);
  }
}

/** Runs one of the lossless RPCL encoders on a frame and returns its codestream. */
function encodeLosslessRpcl(codec: 'encodeJpeg2000' | 'encodeHtJpeg2000', samples: Uint8Array, layout: FrameLayout): Promise<Uint8Array> {
  return withCodecs((codecs) => {
    const context = contextFor(layout, { decodedBuffer: samples });
    const progressionOrder = dcmjsCodecs.constants.Jpeg2000ProgressionOrder.Rpcl;
    const encoded = codecs[codec](context, { lossy: false, progressionOrder }).getEncodedBuffer();
    if (!encoded) throw new Error(`the ${codec === 'encodeJpeg2000' ? 'JPEG 2000' : 'HTJ2K'} encoder returned no codestream`);
    return encoded;
  });
}

/** Lossless (reversible 5/3) JPEG 2000 codestream with RPCL progression (OpenJPEG). */
export const encodeJpeg2000Lossless = (samples: Uint8Array, layout: FrameLayout) => encodeLosslessRpcl('encodeJpeg2000', samples, layout);

/**
 * Lossless HTJ2K codestream with RPCL progression and TLM markers (OpenJPH built into dcmjs-codecs). Used for frames
 * the @cornerstonejs/codec-openjph WASM encoder codes wrongly (the lowest value of the sample range: unsigned 0
 * decodes as 2^(B-1), signed -2^(B-1) as 0): a lossless store must round-trip every value.
 */
export const encodeHtj2kLossless = (samples: Uint8Array, layout: FrameLayout) => encodeLosslessRpcl('encodeHtJpeg2000', samples, layout);
