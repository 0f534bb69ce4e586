/**
 * The IAM permissions each tool needs. HealthImaging's IAM actions are named after its API operations
 * (`medical-imaging:GetImageSet`), the DICOMweb ones after the DICOMweb operations (`medical-imaging:SearchDICOMStudies`).
 * docs/iam.md and `healthimaging-mcp doctor` are generated from this map; test/docs/iam.test.ts keeps it in step with
 * the tools (every tool has an entry, no entry outlives its tool).
 */

/** An IAM action of HealthImaging, without the `medical-imaging:` prefix. */
export type HealthImagingAction =
  | 'CreateDatastore'
  | 'GetDatastore'
  | 'ListDatastores'
  | 'DeleteDatastore'
  | 'StartDICOMImportJob'
  | 'GetDICOMImportJob'
  | 'ListDICOMImportJobs'
  | 'SearchImageSets'
  | 'GetImageSet'
  | 'GetImageSetMetadata'
  | 'GetImageFrame'
  | 'ListImageSetVersions'
  | 'UpdateImageSetMetadata'
  | 'CopyImageSet'
  | 'DeleteImageSet'
  | 'TagResource'
  | 'UntagResource'
  | 'ListTagsForResource'
  | 'StoreDICOM'
  | 'StoreDICOMStudy'
  | 'SearchDICOMStudies'
  | 'SearchDICOMSeries'
  | 'SearchDICOMInstances'
  | 'GetDICOMInstance'
  | 'GetDICOMInstanceMetadata'
  | 'GetDICOMSeriesMetadata'
  | 'GetDICOMInstanceFrames'
  | 'GetDICOMBulkdata';

/** Actions that read, for the read-only policy. Every other action changes something. */
export const READ_ACTIONS: ReadonlySet<HealthImagingAction> = new Set<HealthImagingAction>([
  'GetDatastore',
  'ListDatastores',
  'GetDICOMImportJob',
  'ListDICOMImportJobs',
  'SearchImageSets',
  'GetImageSet',
  'GetImageSetMetadata',
  'GetImageFrame',
  'ListImageSetVersions',
  'ListTagsForResource',
  'SearchDICOMStudies',
  'SearchDICOMSeries',
  'SearchDICOMInstances',
  'GetDICOMInstance',
  'GetDICOMInstanceMetadata',
  'GetDICOMSeriesMetadata',
  'GetDICOMInstanceFrames',
  'GetDICOMBulkdata',
]);

/** Actions IAM authorizes only on `*` (they act on no datastore). */
export const ACCOUNT_ACTIONS: ReadonlySet<HealthImagingAction> = new Set<HealthImagingAction>(['ListDatastores', 'CreateDatastore']);

export interface ToolPermissions {
  /** Needed on every call. */
  actions: HealthImagingAction[];
  /** Needed only for some calls: when `when` holds, also these actions (of HealthImaging or another service). */
  conditional?: Array<{ when: string; actions: string[] }>;
}

export const TOOL_PERMISSIONS: Readonly<Record<string, ToolPermissions>> = {
  list_datastores: { actions: ['ListDatastores'] },
  get_datastore: { actions: ['GetDatastore'] },
  create_datastore: {
    actions: ['CreateDatastore'],
    conditional: [
      { when: 'with tags', actions: ['medical-imaging:TagResource'] },
      { when: 'with kms_key_arn', actions: ['kms:DescribeKey', 'kms:CreateGrant', 'kms:GenerateDataKey', 'kms:Decrypt'] },
    ],
  },
  // The preview checks that the datastore is ACTIVE and empty before anyone is asked to confirm.
  delete_datastore: { actions: ['GetDatastore', 'SearchImageSets', 'DeleteDatastore'] },
  search_image_sets: { actions: ['SearchImageSets'] },
  get_image_set: { actions: ['GetImageSet'] },
  get_image_set_metadata: { actions: ['GetImageSetMetadata'] },
  // The PNG rendering reads the metadata (geometry, stored transfer syntax, checksum); format "raw" does not.
  // GetImageSet names the latest version, whose document may already be cached (src/aws/metadata.ts).
  get_image_frame: { actions: ['GetImageFrame', 'GetImageSet', 'GetImageSetMetadata'] },
  get_contact_sheet: { actions: ['GetImageSet', 'GetImageSetMetadata', 'GetImageFrame'] },
  list_image_set_versions: { actions: ['ListImageSetVersions'] },
  compare_image_set_versions: { actions: ['GetImageSet', 'GetImageSetMetadata'] },
  start_dicom_import_job: {
    actions: ['StartDICOMImportJob'],
    conditional: [{ when: 'on the data_access_role_arn, which it passes to HealthImaging', actions: ['iam:PassRole'] }],
  },
  get_dicom_import_job: { actions: ['GetDICOMImportJob'] },
  list_dicom_import_jobs: { actions: ['ListDICOMImportJobs'] },
  // Writes check the target's version and wait for the image set to unlock; previews (dry runs, and calls that ask a
  // person to confirm) also read the metadata to show what will change.
  update_image_set_metadata: {
    actions: ['GetImageSet', 'UpdateImageSetMetadata'],
    conditional: [{ when: 'with dry_run, force, revert_to_version_id or whole-instance removals (the preview)', actions: ['medical-imaging:GetImageSetMetadata'] }],
  },
  copy_image_set: {
    actions: ['GetImageSet', 'CopyImageSet'],
    conditional: [{ when: 'with force (the preview)', actions: ['medical-imaging:GetImageSetMetadata'] }],
  },
  delete_image_set: { actions: ['GetImageSet', 'GetImageSetMetadata', 'DeleteImageSet'] },
  list_tags_for_resource: { actions: ['ListTagsForResource'] },
  // Both report the tags as they are afterwards (untag also checks the keys exist first).
  tag_resource: { actions: ['TagResource', 'ListTagsForResource'] },
  untag_resource: { actions: ['UntagResource', 'ListTagsForResource'] },
  // DICOMweb (spec §4.1).
  // After storing, SearchImageSets names the image sets the instances landed in (without it the result says so).
  store_dicom: { actions: ['StoreDICOM', 'SearchImageSets'], conditional: [{ when: 'with study_instance_uid (STOW-RS to one study)', actions: ['medical-imaging:StoreDICOMStudy'] }] },
  search_dicom_studies: { actions: ['SearchDICOMStudies'] },
  search_dicom_series: { actions: ['SearchDICOMSeries'] },
  search_dicom_instances: { actions: ['SearchDICOMInstances'] },
  get_dicom_instance_metadata: { actions: ['GetDICOMInstanceMetadata'] },
  get_dicom_series_metadata: { actions: ['GetDICOMSeriesMetadata'] },
  save_dicom_instance: { actions: ['GetDICOMInstance'] },
};

/** Every `medical-imaging:*` action a tool may need, its conditional HealthImaging actions included. */
export function healthImagingActionsOf(tool: string): HealthImagingAction[] {
  const p = TOOL_PERMISSIONS[tool];
  if (!p) return [];
  const extra = (p.conditional ?? []).flatMap((c) => c.actions).filter((a) => a.startsWith('medical-imaging:'));
  return [...new Set([...p.actions, ...extra.map((a) => a.slice('medical-imaging:'.length) as HealthImagingAction)])];
}

/** The tools that need `action`, for explaining an AccessDenied. */
export function toolsNeeding(action: HealthImagingAction, tools: readonly string[]): string[] {
  return tools.filter((tool) => TOOL_PERMISSIONS[tool]?.actions.includes(action));
}

/** ARN patterns for a policy's Resource element: the given datastores (and their image sets), or all of them. */
export function resourceArns(datastoreIds: readonly string[] | undefined, region = '*', account = '*'): string[] {
  const base = `arn:aws:medical-imaging:${region}:${account}:datastore/`;
  if (!datastoreIds?.length) return [`${base}*`];
  return datastoreIds.flatMap((id) => [`${base}${id}`, `${base}${id}/imageset/*`]);
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<{ Sid: string; Effect: 'Allow'; Action: string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string>> }>;
}

/**
 * A least-privilege identity policy for these tools: account-level actions on `*`, the rest on the datastores' ARNs,
 * and the other services' actions they need (iam:PassRole, KMS) where the tools need them.
 */
export function policyFor(tools: readonly string[], options: { datastoreIds?: readonly string[] } = {}): PolicyDocument {
  const actions = new Set(tools.flatMap(healthImagingActionsOf));
  const sorted = (set: Iterable<string>) => [...set].sort();
  const account = sorted([...actions].filter((a) => ACCOUNT_ACTIONS.has(a)).map((a) => `medical-imaging:${a}`));
  const scoped = sorted([...actions].filter((a) => !ACCOUNT_ACTIONS.has(a)).map((a) => `medical-imaging:${a}`));
  const statements: PolicyDocument['Statement'] = [];
  if (account.length) statements.push({ Sid: 'HealthImagingAccount', Effect: 'Allow', Action: account, Resource: '*' });
  if (scoped.length) statements.push({ Sid: 'HealthImagingDatastores', Effect: 'Allow', Action: scoped, Resource: resourceArns(options.datastoreIds) });
  if (tools.includes('start_dicom_import_job')) {
    statements.push({
      Sid: 'PassImportRole',
      Effect: 'Allow',
      Action: ['iam:PassRole'],
      Resource: 'arn:aws:iam::*:role/YOUR-HEALTHIMAGING-IMPORT-ROLE',
      Condition: { StringEquals: { 'iam:PassedToService': 'medical-imaging.amazonaws.com' } },
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
