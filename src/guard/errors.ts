/**
 * Refusals by the write guard. Each failure a person can act on has its own name (shown to the agent as
 * `<name>: <message>` with `Next step: <hint>`, and recorded in the audit log), and none of them means that anything
 * was written.
 */
export type GuardErrorName =
  /** The call names a datastore outside `--datastore-ids`. */
  | 'DatastoreNotAllowed'
  /** The action needs a confirmation this client cannot give, and `--confirm-mode elicit` refuses the alternatives. */
  | 'ConfirmationUnavailable'
  /** The confirmation dialog could not be shown or answered (not a decline: those are ordinary results). */
  | 'ConfirmationFailed'
  /** The token is not one this server process issued (malformed, altered, or from before a restart). */
  | 'ConfirmationTokenInvalid'
  | 'ConfirmationTokenExpired'
  /** The token was already used once. */
  | 'ConfirmationTokenReplayed'
  /** The token was issued for another tool, other arguments or another session. */
  | 'ConfirmationTokenMismatch'
  /** The target changed after the token was issued. */
  | 'ConfirmationTokenStale'
  /** The target changed while the confirmation dialog was open. */
  | 'TargetChanged'
  /** The target is not in a state the change can start from (LOCKED, not ACTIVE, a datastore that is not empty). */
  | 'TargetNotReady'
  /** `latest_version_id` is not the image set's current latest version. */
  | 'StaleVersion'
  /** A file path outside the allowed directories (`--allow-dir`, or the client's roots), or no directory is allowed. */
  | 'PathNotAllowed'
  | 'FileNotFound'
  /** The path names a directory or another non-regular file. */
  | 'NotAFile'
  /** The file to save exists and overwriting was not asked for. */
  | 'FileExists'
  /** `--redact-phi` is on and the call would put identifying values where redaction cannot reach (a saved DICOM file). */
  | 'PhiRedactionActive';

export class GuardError extends Error {
  constructor(
    override readonly name: GuardErrorName,
    message: string,
    /** What the agent (or the person behind it) should do next. */
    readonly hint: string,
  ) {
    super(message);
  }
}
