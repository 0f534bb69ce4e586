/**
 * AWS errors as agents should see them: the error name, the service's message, what to do next, and the request ID
 * to quote to AWS Support.
 */
export interface DescribedError {
  name: string;
  message: string;
  hint: string;
  requestId?: string;
  httpStatus?: number;
}

const HINTS: Record<string, string> = {
  ResourceNotFoundException: 'Check the IDs: list_datastores and search_image_sets return valid ones.',
  ValidationException: 'Fix the input the message names, then call again.',
  ConflictException: 'The target is locked or changed since you read it: call get_image_set (or get_datastore) for its current state and latest_version_id, then retry.',
  AccessDeniedException: 'The AWS identity the server runs as lacks the IAM permission for this action (medical-imaging:*); ask the operator to grant it.',
  ServiceQuotaExceededException: 'A HealthImaging quota was reached; free capacity (delete unused resources) or ask for a quota increase.',
  ThrottlingException: 'HealthImaging is throttling requests; wait a few seconds and retry.',
  InternalServerException: 'HealthImaging failed internally; retry, and quote the request ID if it persists.',
  CredentialsProviderError: 'No AWS credentials were found: configure a profile (--profile), environment variables, SSO or a role for the server.',
  MetadataTooLargeError: 'Use the summary tools, or ask the operator to raise --max-metadata-bytes.',
  ResponseTooLargeError: 'The endpoint sent far more than this operation returns; check --endpoint-url, or ask the operator to raise --max-response-bytes.',
  UpdateRejected: 'HealthImaging would refuse this update: fix what the message names (force=true where it says so), then call again.',
  UpdateFailed: 'The update does not fit this image set: check the series and instance UIDs with get_image_set_metadata.',
  ConnectionLost: 'The connection to the endpoint broke mid-answer, even after retries: retry; if it persists, check the network and --endpoint-url.',
  InvalidBackendResponse: 'The endpoint did not answer as HealthImaging does: check --endpoint-url (a proxy or captive portal may be in the way), then retry.',
  TimeoutError: 'The backend did not answer in time (--request-timeout-seconds), even after retries; retry later, and check the endpoint if it persists.',
  AbortError: 'The call was cancelled.',
};

/**
 * Errors of this server (the write guard's refusals) carry their own `hint`; AWS and network errors get one by name.
 */
export function describeError(err: unknown): DescribedError {
  const e = err as {
    name?: string;
    message?: string;
    code?: string;
    hint?: unknown;
    $metadata?: { requestId?: string; httpStatusCode?: number };
    $response?: { statusCode?: number; headers?: Record<string, string> };
  };
  let name = typeof e?.name === 'string' && e.name !== 'Error' ? e.name : 'Error';
  // The SDK appends a line about a field agents cannot inspect; the first line is what went wrong.
  const raw = typeof e?.message === 'string' && e.message ? e.message : String(err);
  const unparsable = /\n\s*Deserialization error: /.test(raw);
  let message = raw.replace(/\n\s*Deserialization error: .*$/s, '');
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND') name = 'BackendUnreachable';
  else if (e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || /^(socket hang up|aborted)$/.test(message)) {
    name = 'ConnectionLost';
    message = `The endpoint closed the connection before its answer was complete (${message}).`;
  } else if (unparsable && e?.$response && name !== 'ResponseTooLargeError') {
    // A body the SDK could not parse: HTML from a proxy or captive portal, a truncated or mistyped answer.
    const type = e.$response.headers?.['content-type'] ?? 'no content type';
    name = 'InvalidBackendResponse';
    message = `The endpoint answered HTTP ${e.$response.statusCode ?? '?'} (${type}) with a body HealthImaging never sends: ${message}`;
  } else if (typeof e?.code === 'string' && e.code.startsWith('Z_')) {
    name = 'InvalidBackendResponse';
    message = `The endpoint's gzip body is corrupt or truncated: ${message}`;
  }
  const hint =
    (typeof e?.hint === 'string' ? e.hint : undefined) ??
    HINTS[name] ??
    (name === 'BackendUnreachable'
      ? 'The HealthImaging endpoint could not be reached: check --endpoint-url, --region and the network.'
      : 'Check the input and retry; if it persists, report the error with its request ID.');
  return {
    name,
    message,
    hint,
    ...(e?.$metadata?.requestId && { requestId: e.$metadata.requestId }),
    ...(e?.$metadata?.httpStatusCode && { httpStatus: e.$metadata.httpStatusCode }),
  };
}

export function formatError(d: DescribedError): string {
  return `${d.name}: ${d.message}\nNext step: ${d.hint}${d.requestId ? `\nAWS request ID: ${d.requestId}` : ''}`;
}
