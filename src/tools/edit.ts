/** Toolsets `edit` (update and copy image sets) and `delete` (delete image sets). */
import {
  CopyImageSetCommand,
  DeleteImageSetCommand,
  GetImageSetCommand,
  type GetImageSetCommandOutput,
  type MedicalImagingClient,
  UpdateImageSetMetadataCommand,
} from '@aws-sdk/client-medical-imaging';
import { z } from 'zod';
import { fetchMetadata } from '../aws/metadata.js';
import { diffDocuments, formatChange } from '../dicom/diff.js';
import { applyMetadataUpdate } from '../dicom/update.js';
import { datastoreId, imageSetId, versionId } from './fields.js';
import { activeImageSet, describeImageSet, versionLabel } from './targets.js';
import { defineTool, type ToolContext, type WritePreview } from './types.js';

/** UpdateImageSetMetadata's payload quota (per attribute document). */
export const MAX_UPDATE_BYTES = 10 * 1024;
const WAIT_MS = 15_000;

const waitInput = z.boolean().default(true).describe('Wait (up to 15 s) until the change is applied and report its outcome (default true)');

/** Polls GetImageSet until the image set leaves LOCKED, or the time runs out (then returns the last answer). */
export async function waitUntilUnlocked(client: MedicalImagingClient, datastoreId_: string, imageSetId_: string, signal: AbortSignal, timeoutMs = WAIT_MS): Promise<GetImageSetCommandOutput | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: GetImageSetCommandOutput | undefined;
  for (let delay = 100; Date.now() < deadline && !signal.aborted; delay = Math.min(delay * 2, 2000)) {
    try {
      last = await client.send(new GetImageSetCommand({ datastoreId: datastoreId_, imageSetId: imageSetId_ }), { abortSignal: signal });
    } catch (err) {
      // A deleted image set disappears: that is the end state of a delete.
      if ((err as Error).name === 'ResourceNotFoundException') return undefined;
      throw err;
    }
    if (last.imageSetState !== 'LOCKED') return last;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  return last;
}

const outcome = (r: GetImageSetCommandOutput | undefined) =>
  r ? `${r.imageSetState}${r.imageSetWorkflowStatus ? ` / ${r.imageSetWorkflowStatus}` : ''}${r.message ? ` (${r.message})` : ''}` : 'gone';

/** An attribute document as it is sent (and previewed): the given JSON with SchemaVersion. */
const attributeDocumentOf = (value: Record<string, unknown>) => ({ SchemaVersion: '1.1', ...value });

/** Attribute documents as the API wants them: JSON with SchemaVersion, UTF-8, within the payload quota. */
function encodeAttributes(value: Record<string, unknown>, field: string): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(attributeDocumentOf(value)));
  if (bytes.length > MAX_UPDATE_BYTES) {
    throw new Error(`${field} is ${bytes.length} bytes as JSON; HealthImaging accepts at most ${MAX_UPDATE_BYTES} bytes per update. Split the change into several updates.`);
  }
  return bytes;
}

const attributeDocument = z
  .record(z.string(), z.unknown())
  .refine((v) => Object.keys(v).every((k) => ['SchemaVersion', 'Patient', 'Study'].includes(k)), 'top-level keys are Patient and Study (and optionally SchemaVersion)');

const updateInput = {
  datastore_id: datastoreId,
  image_set_id: imageSetId,
  latest_version_id: versionId.describe('The current latest version of the image set (optimistic lock): from get_image_set'),
  updates: attributeDocument.optional().describe('Attributes to set, as a JSON object (not base64)'),
  removals: attributeDocument.optional().describe('Attributes to remove, as a JSON object'),
  revert_to_version_id: versionId.optional().describe('Revert to this earlier version instead of updating'),
  force: z.boolean().default(false).describe('Override HealthImaging\'s metadata constraints (see description)'),
  dry_run: z.boolean().default(false).describe('Only preview: apply the change to the current metadata locally and return the diff (level, attribute, old → new) without writing'),
  wait: waitInput,
};
const updateOutput = { image_set_id: z.string(), latest_version_id: z.string(), state: z.string(), workflow_status: z.string().optional(), message: z.string().optional() };
type UpdateArgs = z.output<z.ZodObject<typeof updateInput>>;

function checkUpdateArgs(args: UpdateArgs): void {
  if ((args.updates !== undefined || args.removals !== undefined) === (args.revert_to_version_id !== undefined)) {
    throw new Error('Give updates and/or removals, or revert_to_version_id, but not both and not neither.');
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isEmptyObject = (x: unknown) => isObject(x) && Object.keys(x).length === 0;

/** True when `removals` takes out whole instances or series: an empty object in their place, as the service reads it. */
function removesWhole(removals: Record<string, unknown> | undefined): boolean {
  const study = removals?.Study;
  const series = isObject(study) && isObject(study.Series) ? Object.values(study.Series) : [];
  return series.some((s) => isEmptyObject(s) || (isObject(s) && isObject(s.Instances) && Object.values(s.Instances).some(isEmptyObject)));
}

/**
 * What an update would change: the current metadata with the change applied by the same rules HealthImaging (and
 * the local service) apply, as a diff. Serves dry runs and the confirmation of guarded updates.
 */
async function previewUpdate(args: UpdateArgs, { client, config, signal }: ToolContext): Promise<WritePreview<z.output<z.ZodObject<typeof updateOutput>>>> {
  checkUpdateArgs(args);
  const ref = { datastoreId: args.datastore_id, imageSetId: args.image_set_id };
  const set = await activeImageSet(client, { ...ref, expectedVersion: args.latest_version_id }, signal);
  const read = (versionId?: string) => fetchMetadata(client, { ...ref, ...(versionId && { versionId }) }, { maxBytes: config.maxMetadataBytes, signal }).then((r) => r.document);
  const before = await read();
  const after =
    args.revert_to_version_id !== undefined
      ? await read(args.revert_to_version_id)
      : applyMetadataUpdate(
          before,
          { updatableAttributes: args.updates && attributeDocumentOf(args.updates), removableAttributes: args.removals && attributeDocumentOf(args.removals) },
          { force: args.force },
        );
  const changes = diffDocuments(before, after).map(formatChange);
  const next = String(Number(set.versionId) + 1);
  return {
    action: `${args.revert_to_version_id !== undefined ? `Revert image set ${args.image_set_id} to the content of version ${args.revert_to_version_id}` : `Update the metadata of image set ${args.image_set_id}`} in datastore ${args.datastore_id}, version ${set.versionId} → ${next}${args.force ? ', with force' : ''}.`,
    changes: changes.length ? changes : ['(no attribute changes; a new version is still created)'],
    version: `version ${set.versionId}`,
    current: { image_set_id: args.image_set_id, latest_version_id: set.versionId!, state: set.imageSetState!, ...(set.imageSetWorkflowStatus && { workflow_status: set.imageSetWorkflowStatus }) },
  };
}

export const updateImageSetMetadata = defineTool({
  name: 'update_image_set_metadata',
  title: 'Update image set metadata',
  description: [
    'Changes an image set\'s DICOM metadata, creating a new version (old versions stay readable). Give exactly one of:',
    '- updates: attributes to set, shaped like the metadata document, e.g. {"Patient":{"DICOM":{"PatientName":"DOE^JANE"}}} or {"Study":{"Series":{"<SeriesUID>":{"Instances":{"<SOPUID>":{"DICOM":{"InstanceNumber":"2"}}}}}}};',
    '- removals: attributes to remove, same shape (values ignored); {"Study":{"Series":{"<SeriesUID>":{"Instances":{"<SOPUID>":{}}}}}} removes a whole instance;',
    '- revert_to_version_id: make the content of an earlier version the new latest.',
    'updates and removals may be combined. latest_version_id must be the current latest version (get_image_set). force=true is required for UIDs, private tags, sequences, multi-valued attributes and instance removal.',
    'dry_run=true returns the resulting diff without writing. force, reverts and whole-instance removals ask the user to confirm.',
  ].join('\n'),
  toolset: 'edit',
  inputSchema: updateInput,
  outputSchema: updateOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  guard: {
    confirmation(args) {
      const reasons = [
        ...(args.force ? ['force=true overrides HealthImaging\'s metadata checks'] : []),
        ...(args.revert_to_version_id !== undefined ? [`it replaces the current metadata with that of version ${args.revert_to_version_id}`] : []),
        ...(removesWhole(args.removals) ? ['it removes whole instances or series'] : []),
      ];
      return reasons.length ? reasons.join(', and ') : undefined;
    },
    dryRun: (args) => args.dry_run,
    preview: previewUpdate,
  },
  async handler(args, { client, signal }) {
    checkUpdateArgs(args);
    const changes = args.updates !== undefined || args.removals !== undefined;
    const res = await client.send(
      new UpdateImageSetMetadataCommand({
        datastoreId: args.datastore_id,
        imageSetId: args.image_set_id,
        latestVersionId: args.latest_version_id,
        force: args.force || undefined,
        updateImageSetMetadataUpdates: changes
          ? {
              DICOMUpdates: {
                ...(args.updates && { updatableAttributes: encodeAttributes(args.updates, 'updates') }),
                ...(args.removals && { removableAttributes: encodeAttributes(args.removals, 'removals') }),
              },
            }
          : { revertToVersionId: args.revert_to_version_id! },
      }),
      { abortSignal: signal },
    );
    const final = args.wait ? await waitUntilUnlocked(client, args.datastore_id, args.image_set_id, signal) : undefined;
    const state = final?.imageSetState ?? res.imageSetState!;
    const workflow = final?.imageSetWorkflowStatus ?? res.imageSetWorkflowStatus;
    const failed = workflow === 'UPDATE_FAILED';
    return {
      text: `Image set ${args.image_set_id} version ${res.latestVersionId}: ${final ? outcome(final) : `${res.imageSetState} / ${res.imageSetWorkflowStatus}`}.${failed ? ' The change was not applied; the version keeps the previous content.' : state === 'LOCKED' ? ' Still being applied: poll get_image_set.' : ''}`,
      structured: { image_set_id: args.image_set_id, latest_version_id: res.latestVersionId!, state, ...(workflow && { workflow_status: workflow }), ...(final?.message && { message: final.message }) },
    };
  },
});

const copyInput = {
  datastore_id: datastoreId,
  source_image_set_id: imageSetId.describe('The image set to copy from'),
  source_latest_version_id: versionId.describe('The source\'s current latest version (get_image_set)'),
  destination_image_set_id: imageSetId.optional().describe('Copy into this existing image set (default: a new image set)'),
  destination_latest_version_id: versionId.optional().describe('The destination\'s current latest version; required with destination_image_set_id'),
  instances: z
    .record(z.string().regex(/^[0-9.]+$/), z.array(z.string().regex(/^[0-9.]+$/)))
    .optional()
    .describe('Copy only these instances: { "<SeriesInstanceUID>": ["<SOPInstanceUID>", …] } (an empty list copies the whole series)'),
  force: z.boolean().default(false).describe('Copy even when patient/study/series metadata differ'),
  promote_to_primary: z.boolean().default(false).describe('Make the new copy the primary image set of its series'),
  wait: waitInput,
};
const copiedImageSet = { image_set_id: z.string(), latest_version_id: z.string(), state: z.string().optional(), workflow_status: z.string().optional() };
const copyOutput = {
  source: z.object(copiedImageSet),
  destination: z.object({ ...copiedImageSet, message: z.string().optional() }).optional().describe('The image set copied into (absent when nothing was copied)'),
};
type CopyArgs = z.output<z.ZodObject<typeof copyInput>>;

function checkCopyArgs(args: CopyArgs): void {
  if ((args.destination_image_set_id === undefined) !== (args.destination_latest_version_id === undefined)) {
    throw new Error('destination_image_set_id and destination_latest_version_id go together.');
  }
}

const imageSetState = (set: GetImageSetCommandOutput) => ({
  image_set_id: set.imageSetId!,
  latest_version_id: set.versionId!,
  state: set.imageSetState,
  workflow_status: set.imageSetWorkflowStatus,
});

async function previewCopy(args: CopyArgs, { client, config, signal }: ToolContext): Promise<WritePreview<z.output<z.ZodObject<typeof copyOutput>>>> {
  checkCopyArgs(args);
  const ds = args.datastore_id;
  const source = await activeImageSet(client, { datastoreId: ds, imageSetId: args.source_image_set_id, expectedVersion: args.source_latest_version_id, field: 'source_latest_version_id' }, signal);
  const destination = args.destination_image_set_id
    ? await activeImageSet(client, { datastoreId: ds, imageSetId: args.destination_image_set_id, expectedVersion: args.destination_latest_version_id, field: 'destination_latest_version_id' }, signal)
    : undefined;
  const describe = (imageSetId: string) => describeImageSet(client, { datastoreId: ds, imageSetId }, { maxBytes: config.maxMetadataBytes, signal });
  const selection = args.instances
    ? Object.entries(args.instances).map(([series, sops]) => (sops.length ? `${sops.length} instance(s) of series ${series}` : `series ${series}`)).join(', ')
    : 'all of it';
  return {
    action: `Copy ${selection === 'all of it' ? 'image set' : `${selection} of image set`} ${args.source_image_set_id} (${versionLabel(source)}) into ${
      destination ? `existing image set ${args.destination_image_set_id} (${versionLabel(destination)} → ${Number(destination.versionId) + 1})` : 'a new image set'
    } in datastore ${ds}${args.force ? ', with force' : ''}.`,
    changes: [
      `Source: ${await describe(args.source_image_set_id)}`,
      ...(destination ? [`Destination: ${await describe(args.destination_image_set_id!)}`] : []),
      ...(args.force ? [destination ? 'With force the copied instances join the destination even if patient, study or series differ, and take its patient, study and series metadata.' : 'With force the copy goes ahead even where metadata would otherwise block it.'] : []),
      ...(args.promote_to_primary ? ['The new copy becomes the primary image set of its series.'] : []),
    ],
    version: `source version ${source.versionId}${destination ? `, destination version ${destination.versionId}` : ''}`,
    current: { source: imageSetState(source), ...(destination && { destination: imageSetState(destination) }) },
  };
}

export const copyImageSet = defineTool({
  name: 'copy_image_set',
  title: 'Copy image set',
  description:
    'Copies an image set, or some of its instances, to a new image set or into an existing one (which gets a new version). Without force, the destination\'s series, patient and study must match (else its new version is COPY_FAILED). With force, the destination keeps its own patient/study/series metadata; force asks the user to confirm. promote_to_primary makes a new copy the primary image set of its series.',
  toolset: 'edit',
  inputSchema: copyInput,
  outputSchema: copyOutput,
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  guard: {
    confirmation: (args) => (args.force ? 'force=true copies even where patient, study or series metadata differ' : undefined),
    preview: previewCopy,
  },
  async handler(args, { client, signal }) {
    checkCopyArgs(args);
    const copiableAttributes = args.instances
      ? JSON.stringify({
          SchemaVersion: '1.1',
          Study: { Series: Object.fromEntries(Object.entries(args.instances).map(([series, sops]) => [series, sops.length ? { Instances: Object.fromEntries(sops.map((sop) => [sop, {}])) } : {}])) },
        })
      : undefined;
    const res = await client.send(
      new CopyImageSetCommand({
        datastoreId: args.datastore_id,
        sourceImageSetId: args.source_image_set_id,
        force: args.force || undefined,
        promoteToPrimary: args.promote_to_primary || undefined,
        copyImageSetInformation: {
          sourceImageSet: { latestVersionId: args.source_latest_version_id, ...(copiableAttributes && { DICOMCopies: { copiableAttributes } }) },
          ...(args.destination_image_set_id && { destinationImageSet: { imageSetId: args.destination_image_set_id, latestVersionId: args.destination_latest_version_id! } }),
        },
      }),
      { abortSignal: signal },
    );
    const dest = res.destinationImageSetProperties!;
    const src = res.sourceImageSetProperties!;
    const final = args.wait ? await waitUntilUnlocked(client, args.datastore_id, dest.imageSetId!, signal) : undefined;
    if (args.wait) await waitUntilUnlocked(client, args.datastore_id, src.imageSetId!, signal);
    const workflow = final?.imageSetWorkflowStatus ?? dest.imageSetWorkflowStatus;
    return {
      text: `Copied ${src.imageSetId} v${src.latestVersionId} into ${args.destination_image_set_id ? 'existing' : 'new'} image set ${dest.imageSetId} version ${dest.latestVersionId}: ${final ? outcome(final) : `${dest.imageSetState} / ${dest.imageSetWorkflowStatus}`}.${workflow === 'COPY_FAILED' ? ' Nothing was copied; use force=true to copy anyway, keeping the destination\'s metadata.' : ''}`,
      structured: {
        source: { image_set_id: src.imageSetId!, latest_version_id: src.latestVersionId!, state: src.imageSetState, workflow_status: src.imageSetWorkflowStatus },
        destination: {
          image_set_id: dest.imageSetId!,
          latest_version_id: dest.latestVersionId!,
          state: final?.imageSetState ?? dest.imageSetState,
          workflow_status: workflow,
          ...(final?.message && { message: final.message }),
        },
      },
    };
  },
});

export const deleteImageSet = defineTool({
  name: 'delete_image_set',
  title: 'Delete image set',
  description: 'Deletes an image set with all its versions and frames. Irreversible, so it asks the user to confirm. The image set goes LOCKED/DELETING, then disappears from search and reads.',
  toolset: 'delete',
  inputSchema: { datastore_id: datastoreId, image_set_id: imageSetId, wait: waitInput },
  outputSchema: { image_set_id: z.string(), state: z.string(), workflow_status: z.string().optional() },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  guard: {
    confirmation: () => 'deleting an image set removes all its versions and frames for good',
    async preview(args, { client, config, signal }) {
      const ref = { datastoreId: args.datastore_id, imageSetId: args.image_set_id };
      const set = await activeImageSet(client, ref, signal);
      return {
        action: `Delete image set ${args.image_set_id} (${versionLabel(set)}) in datastore ${args.datastore_id}.`,
        changes: [await describeImageSet(client, ref, { maxBytes: config.maxMetadataBytes, signal }), `All ${set.versionId} version(s) and their frames are deleted; this cannot be undone.`],
        version: `version ${set.versionId}`,
        current: { image_set_id: args.image_set_id, state: set.imageSetState!, ...(set.imageSetWorkflowStatus && { workflow_status: set.imageSetWorkflowStatus }) },
      };
    },
  },
  async handler(args, { client, signal }) {
    const res = await client.send(new DeleteImageSetCommand({ datastoreId: args.datastore_id, imageSetId: args.image_set_id }), { abortSignal: signal });
    const final = args.wait ? await waitUntilUnlocked(client, args.datastore_id, args.image_set_id, signal) : undefined;
    const gone = args.wait && final === undefined;
    return {
      text: gone ? `Image set ${args.image_set_id} is deleted.` : `Image set ${args.image_set_id}: ${final ? outcome(final) : `${res.imageSetState} / ${res.imageSetWorkflowStatus}`}.`,
      structured: { image_set_id: args.image_set_id, state: gone ? 'DELETED' : (final?.imageSetState ?? res.imageSetState!), workflow_status: gone ? 'DELETED' : (final?.imageSetWorkflowStatus ?? res.imageSetWorkflowStatus) },
    };
  },
});

export const EDIT_TOOLS = [updateImageSetMetadata, copyImageSet, deleteImageSet];
