/**
 * Resolving and checking the targets of guarded writes, and describing them to the person asked to confirm: the
 * reads that write-tool previews share.
 */
import { GetImageSetCommand, type GetImageSetCommandOutput, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { fetchMetadata } from '../aws/metadata.js';
import { summarizeMetadata } from '../dicom/summary.js';
import { GuardError } from '../guard/errors.js';

/** The image set's latest version, checked to be ACTIVE and, when `expectedVersion` is given, to be that version. */
export async function activeImageSet(
  client: MedicalImagingClient,
  ref: { datastoreId: string; imageSetId: string; expectedVersion?: string; field?: string },
  signal: AbortSignal,
): Promise<GetImageSetCommandOutput> {
  const set = await client.send(new GetImageSetCommand({ datastoreId: ref.datastoreId, imageSetId: ref.imageSetId }), { abortSignal: signal });
  if (set.imageSetState !== 'ACTIVE') {
    throw new GuardError(
      'TargetNotReady',
      `Image set ${ref.imageSetId} is ${set.imageSetState}${set.imageSetWorkflowStatus ? ` (${set.imageSetWorkflowStatus})` : ''}; it can be changed only when ACTIVE. Nothing was changed.`,
      'Poll get_image_set until it is ACTIVE, then retry.',
    );
  }
  if (ref.expectedVersion !== undefined && ref.expectedVersion !== set.versionId) {
    const field = ref.field ?? 'latest_version_id';
    throw new GuardError(
      'StaleVersion',
      `${field} ${ref.expectedVersion} is not the latest version of image set ${ref.imageSetId}: the latest is ${set.versionId}. Nothing was changed.`,
      `Someone changed it since you read it: check the current metadata (get_image_set_metadata), then retry with ${field}=${set.versionId} if the change still makes sense.`,
    );
  }
  return set;
}

/** "version 3, primary" */
export const versionLabel = (set: GetImageSetCommandOutput) => `version ${set.versionId}${set.isPrimary === false ? ', non-primary' : set.isPrimary ? ', primary' : ''}`;

/**
 * One line saying what an image set holds, for the person deciding about it: patient, study, modalities and counts.
 * The person confirming sees it in their own client; it is never logged.
 */
export async function describeImageSet(client: MedicalImagingClient, ref: { datastoreId: string; imageSetId: string }, options: { maxBytes: number; signal: AbortSignal }): Promise<string> {
  const { document } = await fetchMetadata(client, ref, options);
  const { patient, study, series, instance_count, frame_count } = summarizeMetadata(document, { maxInstances: 0 });
  const modalities = [...new Set(series.map((s) => s.modality ?? '?'))].join('/');
  return [
    `Patient ${patient.name ?? '(no name)'} (ID ${patient.id ?? '?'})`,
    `study ${study.description ? `"${study.description}" ` : ''}${study.date ? `of ${study.date} ` : ''}(${study.study_instance_uid ?? '?'})`,
    `${series.length} ${modalities} series, ${instance_count} instance(s), ${frame_count} frame(s)`,
  ].join('; ');
}
