/**
 * The DICOM input cannot be used: it is not a P10 file, it is cut short, it lacks an identifying attribute, or
 * its pixel data cannot be decoded or is of a kind the DICOM layer does not support. The message says which, in
 * words the sender can act on. The local service reports these as per-file ValidationException lines.
 */
export class DicomParseError extends Error {
  override readonly name = 'DicomParseError';
}
