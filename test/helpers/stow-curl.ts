/**
 * STOW-RS with curl exactly as the AWS documentation shows it (devguide dicomweb-storing), shared by the tests of
 * the local service and by the benchmark's curl peer. The commands read their inputs from the environment:
 * ENDPOINT, DATASTORE_ID, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, FILENAME and
 * CONTENT_TYPE (MULTIPART_SCRIPT sets the last two from the files given as arguments and OUT).
 */

/**
 * The AWS documentation's StoreDICOM example (devguide dicomweb-storing), with the endpoint and datastore as
 * variables; `stat -f %z` (BSD) becomes `wc -c`. An empty session token makes curl drop that header.
 */
export const DOC_CURL = `
CONTENT_LENGTH=$(wc -c < "$FILENAME" | tr -d ' ')
curl -X POST -sS -w '\\n%{http_code}' \\
  "$ENDPOINT/datastore/$DATASTORE_ID/studies" \\
  --aws-sigv4 "aws:amz:$AWS_REGION:medical-imaging" \\
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \\
  --header "x-amz-security-token:$AWS_SESSION_TOKEN" \\
  --header "x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD" \\
  --header "x-amz-decoded-content-length: $CONTENT_LENGTH" \\
  --header 'Accept: application/dicom+json' \\
  --header "Content-Type: $CONTENT_TYPE" \\
  --upload-file "$FILENAME"
`;

/** Builds a multipart/related body from DICOM files the way the documentation's shell script does. */
export const MULTIPART_SCRIPT = `
BOUNDARY="DICOMwebBoundary$(date +%s)"
FILENAME="$OUT"
: > "$FILENAME"
for f in "$@"; do
  printf -- "--%s\\r\\nContent-Type: application/dicom\\r\\n\\r\\n" "$BOUNDARY" >> "$FILENAME"
  cat "$f" >> "$FILENAME"
  printf "\\r\\n" >> "$FILENAME"
done
printf -- "--%s--\\r\\n" "$BOUNDARY" >> "$FILENAME"
CONTENT_TYPE="multipart/related; type=\\"application/dicom\\"; boundary=$BOUNDARY"
`;
