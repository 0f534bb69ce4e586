/** Toolset `image_sets`: search image sets, read them, their metadata, frames and versions. */
import {
  GetImageFrameCommand,
  GetImageSetCommand,
  ListImageSetVersionsCommand,
  SearchImageSetsCommand,
  type ImageSetsMetadataSummary,
  type SearchFilter,
} from '@aws-sdk/client-medical-imaging';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { fetchMetadata, fetchMetadataDocument } from '../aws/metadata.js';
import { decodeFrame } from '../dicom/codecs.js';
import { crc32 } from '../dicom/crc32.js';
import { geometryOf } from '../dicom/p10.js';
import { DEFAULT_MAX_SIZE, frameAttributes, renderFrame, WINDOW_PRESET_NAMES, type WindowPreset, type WindowRequest } from '../dicom/render.js';
import { ABSENT, diffDocuments, formatChange, type MetadataChange } from '../dicom/diff.js';
import { renderContactSheet } from '../dicom/contact-sheet.js';
import { formatSummary, locateFrame, SUMMARY_INSTANCE_ATTRIBUTES, summarizeMetadata, transferSyntaxName } from '../dicom/summary.js';
import { parsePrunedDocument } from '../dicom/prune.js';
import { attributeKey, clip, clipValues, defaultLevel, fitChunks, formatRowsAsJson, formatRowsAsTable, viewMetadata, ViewError, type ViewRow } from '../dicom/metadata-view.js';
import { metadataUri } from '../resources/uris.js';
import { datastoreId, imageFrameId, imageSetId, isoTime, maxResults, nextToken, versionId } from './fields.js';
import { defineTool, READ } from './types.js';

// ---- search ---------------------------------------------------------------------------------------------------

const studyDate = z
  .string()
  .regex(/^\d{4}-?\d{2}-?\d{2}$/, 'a date as YYYYMMDD or YYYY-MM-DD')
  .transform((d) => d.replaceAll('-', ''));
const timestamp = z.iso.datetime({ offset: true, message: 'an ISO 8601 date-time such as 2024-05-01T00:00:00Z' }).transform((t) => new Date(t));
const uid = z.string().max(64).regex(/^[0-9.]+$/, 'a DICOM UID (digits and dots)');

const rawFilter = z.object({
  operator: z.enum(['EQUAL', 'BETWEEN']),
  values: z
    .array(z.record(z.string(), z.unknown()))
    .min(1)
    .max(2)
    .describe('Search values in the API form, e.g. {"DICOMPatientId":"X"} or {"DICOMStudyDateAndTime":{"DICOMStudyDate":"20240101"}}'),
});

const searchInput = {
  datastore_id: datastoreId,
  patient_id: z.string().max(64).optional().describe('DICOM PatientID, exact match'),
  accession_number: z.string().max(64).optional().describe('DICOM AccessionNumber, exact match'),
  study_id: z.string().max(64).optional().describe('DICOM StudyID, exact match'),
  study_instance_uid: uid.optional().describe('StudyInstanceUID, exact match'),
  series_instance_uid: uid.optional().describe('SeriesInstanceUID, exact match'),
  study_date: studyDate.optional().describe('Study date, exact (YYYYMMDD or YYYY-MM-DD)'),
  study_date_from: studyDate.optional().describe('Study date range start, inclusive'),
  study_date_to: studyDate.optional().describe('Study date range end, inclusive'),
  created_after: timestamp.optional().describe('Image sets created at or after this ISO time'),
  created_before: timestamp.optional().describe('Image sets created at or before this ISO time'),
  updated_after: timestamp.optional().describe('Image sets updated at or after this ISO time'),
  updated_before: timestamp.optional().describe('Image sets updated at or before this ISO time'),
  is_primary: z.boolean().optional().describe('Only primary (true) or only non-primary (false) image sets'),
  filters: z.array(rawFilter).min(1).max(2).optional().describe('Advanced: the API\'s own filters (instead of the fields above)'),
  sort_by: z.enum(['updatedAt', 'createdAt', 'DICOMStudyDateAndTime']).optional().describe('Sort field (default updatedAt)'),
  sort_order: z.enum(['ASC', 'DESC']).optional().describe('Sort order (default DESC)'),
  max_results: maxResults(20),
  next_token: nextToken.optional(),
};

type SearchArgs = z.output<z.ZodObject<typeof searchInput>>;

const FAR_PAST = new Date(0);
const FAR_FUTURE = new Date('9999-12-31T23:59:59Z');

/** The friendly criteria as API filters; HealthImaging accepts at most two. */
export function buildFilters(args: SearchArgs): SearchFilter[] | undefined {
  const filters: Array<{ label: string; filter: SearchFilter }> = [];
  const equal = (label: string, value: SearchFilter['values'] extends (infer V)[] | undefined ? V : never) =>
    filters.push({ label, filter: { operator: 'EQUAL', values: [value] } });
  if (args.patient_id !== undefined) equal('patient_id', { DICOMPatientId: args.patient_id });
  if (args.accession_number !== undefined) equal('accession_number', { DICOMAccessionNumber: args.accession_number });
  if (args.study_id !== undefined) equal('study_id', { DICOMStudyId: args.study_id });
  if (args.study_instance_uid !== undefined) equal('study_instance_uid', { DICOMStudyInstanceUID: args.study_instance_uid });
  if (args.series_instance_uid !== undefined) equal('series_instance_uid', { DICOMSeriesInstanceUID: args.series_instance_uid });
  if (args.is_primary !== undefined) equal('is_primary', { isPrimary: args.is_primary });
  if (args.study_date !== undefined) equal('study_date', { DICOMStudyDateAndTime: { DICOMStudyDate: args.study_date } });
  if (args.study_date_from !== undefined || args.study_date_to !== undefined) {
    filters.push({
      label: 'study_date_from/study_date_to',
      filter: {
        operator: 'BETWEEN',
        values: [
          { DICOMStudyDateAndTime: { DICOMStudyDate: args.study_date_from ?? '19000101', DICOMStudyTime: '000000' } },
          { DICOMStudyDateAndTime: { DICOMStudyDate: args.study_date_to ?? '99991231', DICOMStudyTime: '235959' } },
        ],
      },
    });
  }
  if (args.created_after !== undefined || args.created_before !== undefined) {
    filters.push({ label: 'created_after/created_before', filter: { operator: 'BETWEEN', values: [{ createdAt: args.created_after ?? FAR_PAST }, { createdAt: args.created_before ?? FAR_FUTURE }] } });
  }
  if (args.updated_after !== undefined || args.updated_before !== undefined) {
    filters.push({ label: 'updated_after/updated_before', filter: { operator: 'BETWEEN', values: [{ updatedAt: args.updated_after ?? FAR_PAST }, { updatedAt: args.updated_before ?? FAR_FUTURE }] } });
  }
  if (args.filters) {
    if (filters.length) throw new Error('Give either the criteria fields or filters, not both.');
    return args.filters as unknown as SearchFilter[];
  }
  if (filters.length > 2) {
    throw new Error(
      `HealthImaging searches on at most two criteria; you gave ${filters.length} (${filters.map((f) => f.label).join(', ')}). Keep the two most selective and check the rest in the results.`,
    );
  }
  return filters.length ? filters.map((f) => f.filter) : undefined;
}

const summaryShape = z.object({
  image_set_id: z.string(),
  version: z.number().optional(),
  is_primary: z.boolean().optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  patient_name: z.string().optional(),
  patient_id: z.string().optional(),
  study_instance_uid: z.string().optional(),
  study_date: z.string().optional(),
  study_description: z.string().optional(),
  accession_number: z.string().optional(),
  series_instance_uid: z.string().optional(),
  modality: z.string().optional(),
  series_number: z.number().optional(),
  instance_count: z.number().optional(),
});

function summaryOf(s: ImageSetsMetadataSummary): z.infer<typeof summaryShape> {
  const t = s.DICOMTags ?? {};
  return {
    image_set_id: s.imageSetId!,
    version: s.version,
    is_primary: s.isPrimary,
    created_at: isoTime(s.createdAt),
    updated_at: isoTime(s.updatedAt),
    patient_name: t.DICOMPatientName,
    patient_id: t.DICOMPatientId,
    study_instance_uid: t.DICOMStudyInstanceUID,
    study_date: t.DICOMStudyDate,
    study_description: t.DICOMStudyDescription,
    accession_number: t.DICOMAccessionNumber,
    series_instance_uid: t.DICOMSeriesInstanceUID,
    modality: t.DICOMSeriesModality,
    series_number: t.DICOMSeriesNumber,
    instance_count: t.DICOMNumberOfStudyRelatedInstances,
  };
}

export const searchImageSets = defineTool({
  name: 'search_image_sets',
  title: 'Search image sets',
  description:
    'Finds image sets (≈ one DICOM series each) in a datastore by patient ID, accession number, study/series UID, study date (exact or range), creation/update time or primary flag; at most two criteria per search (a HealthImaging limit). Returns one line per image set with its image_set_id, version, patient, study and series; page with next_token. Next: get_image_set_metadata for one of them.',
  toolset: 'image_sets',
  inputSchema: searchInput,
  outputSchema: { image_sets: z.array(summaryShape), next_token: z.string().optional() },
  annotations: READ,
  async handler(args, { client, signal }) {
    const filters = buildFilters(args);
    const sort = args.sort_by || args.sort_order ? { sortField: args.sort_by ?? 'updatedAt', sortOrder: args.sort_order ?? 'DESC' } : undefined;
    const res = await client.send(
      new SearchImageSetsCommand({
        datastoreId: args.datastore_id,
        searchCriteria: { ...(filters && { filters }), ...(sort && { sort }) },
        maxResults: args.max_results,
        nextToken: args.next_token,
      }),
      { abortSignal: signal },
    );
    const imageSets = (res.imageSetsMetadataSummaries ?? []).map(summaryOf);
    const lines = imageSets.map(
      (s) =>
        `${s.image_set_id} v${s.version ?? '?'}${s.is_primary === false ? ' non-primary' : ''}  ${s.patient_name ?? '?'} (${s.patient_id ?? '?'})  study ${s.study_date ?? '?'} ${s.study_description ?? ''}  ${s.modality ?? '?'} series #${s.series_number ?? '?'}  ${s.instance_count ?? '?'} instance(s)`,
    );
    const text = [
      imageSets.length ? `${imageSets.length} image set(s):` : 'No image sets match.',
      ...lines,
      ...(res.nextToken ? [`More: call again with the same criteria and next_token="${res.nextToken}"`] : []),
    ].join('\n');
    return { text, structured: { image_sets: imageSets, ...(res.nextToken && { next_token: res.nextToken }) } };
  },
});

// ---- image set, versions ----------------------------------------------------------------------------------------

const imageSetShape = {
  datastore_id: z.string(),
  image_set_id: z.string(),
  version_id: z.string(),
  state: z.string(),
  workflow_status: z.string().optional(),
  is_primary: z.boolean().optional(),
  arn: z.string().optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
  message: z.string().optional(),
  forced: z.boolean().optional(),
};

export const getImageSet = defineTool({
  name: 'get_image_set',
  title: 'Get image set',
  description:
    'Shows an image set: its latest (or given) version, state (ACTIVE, LOCKED, DELETED), workflow status (UPDATED, COPY_FAILED with a message, …), primary flag and ARN. Use it for the latest_version_id that update and copy need.',
  toolset: 'image_sets',
  inputSchema: { datastore_id: datastoreId, image_set_id: imageSetId, version_id: versionId.optional().describe('A specific version (default: the latest)') },
  outputSchema: imageSetShape,
  annotations: READ,
  async handler(args, { client, signal }) {
    const r = await client.send(new GetImageSetCommand({ datastoreId: args.datastore_id, imageSetId: args.image_set_id, versionId: args.version_id }), { abortSignal: signal });
    const s = {
      datastore_id: r.datastoreId!,
      image_set_id: r.imageSetId!,
      version_id: r.versionId!,
      state: r.imageSetState!,
      workflow_status: r.imageSetWorkflowStatus,
      is_primary: r.isPrimary,
      arn: r.imageSetArn,
      created_at: isoTime(r.createdAt),
      updated_at: isoTime(r.updatedAt),
      message: r.message,
      forced: r.overrides?.forced,
    };
    const text = [
      `Image set ${s.image_set_id} version ${s.version_id}: ${s.state}${s.workflow_status ? ` / ${s.workflow_status}` : ''}${s.is_primary === false ? ' (non-primary)' : s.is_primary ? ' (primary)' : ''}`,
      ...(s.message ? [`Message: ${s.message}`] : []),
      `Updated ${s.updated_at ?? '?'}; created ${s.created_at ?? '?'}${s.forced ? '; made with force' : ''}`,
      ...(s.arn ? [`ARN: ${s.arn}`] : []),
      ...(s.state === 'LOCKED' ? ['It is LOCKED by a change in progress: poll get_image_set until ACTIVE before changing it.'] : []),
    ].join('\n');
    return { text, structured: s };
  },
});

export const listImageSetVersions = defineTool({
  name: 'list_image_set_versions',
  title: 'List image set versions',
  description: 'Lists the versions of an image set, newest first, with the status of the change that made each (CREATED, IMPORTED, UPDATED, COPIED, …_FAILED with a message). Old versions stay readable (get_image_set_metadata with version_id).',
  toolset: 'image_sets',
  inputSchema: { datastore_id: datastoreId, image_set_id: imageSetId, max_results: maxResults(20), next_token: nextToken.optional() },
  outputSchema: {
    versions: z.array(z.object({ version_id: z.string(), state: z.string().optional(), workflow_status: z.string().optional(), created_at: z.string().optional(), updated_at: z.string().optional(), message: z.string().optional(), forced: z.boolean().optional() })),
    next_token: z.string().optional(),
  },
  annotations: READ,
  async handler(args, { client, signal }) {
    const res = await client.send(
      new ListImageSetVersionsCommand({ datastoreId: args.datastore_id, imageSetId: args.image_set_id, maxResults: args.max_results, nextToken: args.next_token }),
      { abortSignal: signal },
    );
    const versions = (res.imageSetPropertiesList ?? []).map((v) => ({
      version_id: v.versionId!,
      state: v.imageSetState,
      workflow_status: v.ImageSetWorkflowStatus,
      created_at: isoTime(v.createdAt),
      updated_at: isoTime(v.updatedAt),
      message: v.message,
      forced: v.overrides?.forced,
    }));
    const text = [
      `${versions.length} version(s) of ${args.image_set_id}, newest first:`,
      ...versions.map((v) => `v${v.version_id}  ${v.workflow_status ?? v.state ?? ''}  ${v.updated_at ?? v.created_at ?? ''}${v.forced ? '  (forced)' : ''}${v.message ? `  ${v.message}` : ''}`),
      ...(res.nextToken ? [`More: next_token="${res.nextToken}"`] : []),
    ].join('\n');
    return { text, structured: { versions, ...(res.nextToken && { next_token: res.nextToken }) } };
  },
});

// ---- metadata ----------------------------------------------------------------------------------------------------

/** Characters a metadata view may spend on rows, text and structured copy together: the result stays well under 20,000. */
export const VIEW_BUDGET = 14_000;
/** Series listed in the summary; the rest are counted. */
const SUMMARY_MAX_SERIES = 20;

const viewRowShape = z.object({
  level: z.enum(['patient', 'study', 'series', 'instance']),
  series_instance_uid: z.string().optional(),
  sop_instance_uid: z.string().optional(),
  instance_number: z.number().optional(),
  frame_count: z.number().optional(),
  frame_ids: z.array(z.string()).optional(),
  frame_offset: z.number().optional(),
  attributes: z.record(z.string(), z.unknown()),
});

/** An opaque page token: the next row, bound to the request it continues. */
function pageToken(offset: number, fingerprint: string): string {
  return Buffer.from(JSON.stringify({ o: offset, f: fingerprint })).toString('base64url');
}
function readPageToken(token: string, fingerprint: string): number {
  let parsed: { o?: unknown; f?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; f?: unknown };
  } catch {
    throw new ViewError('next_token is not one this tool returned; call again without it to start from the first page.');
  }
  if (typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) throw new ViewError('next_token is not one this tool returned; call again without it to start from the first page.');
  if (parsed.f !== fingerprint) throw new ViewError('next_token belongs to a request with other level, attributes, filters, format or version; repeat that request exactly, or start again without next_token.');
  return parsed.o;
}

const metadataInput = {
  datastore_id: datastoreId,
  image_set_id: imageSetId,
  version_id: versionId.optional().describe('A specific version (default: the latest)'),
  level: z
    .enum(['summary', 'patient', 'study', 'series', 'instance'])
    .optional()
    .describe('What to show: summary (default without attributes or filters), or the attributes of the patient, the study, each series, or each instance (paged)'),
  attributes: z
    .array(z.string().min(1).max(80))
    .min(1)
    .max(50)
    .optional()
    .describe('Only these attributes, as keywords or tags (e.g. ["PatientName", "SliceThickness", "00180050", "(0020,0013)"]); values are looked up at their own level, so instance rows can show patient and series attributes too. Without level, the view is at the deepest level among them'),
  series_instance_uid: uid.optional().describe('Only this series'),
  sop_instance_uid: uid.optional().describe('Only this instance, with its frame IDs (100 per page)'),
  max_instances: z.number().int().min(1).max(100).default(10).describe('Instances (or series) per page (default 10)'),
  next_token: nextToken.optional(),
  format: z.enum(['table', 'json']).default('table').describe('table: compact text (default); json: the rows as JSON text'),
};
type MetadataArgs = z.output<z.ZodObject<typeof metadataInput>>;

export const getImageSetMetadata = defineTool({
  name: 'get_image_set_metadata',
  title: 'Get image set metadata',
  description:
    'Shows an image set\'s DICOM metadata in agent-sized views: by default a summary (patient, study, series, instance and frame counts, stored transfer syntaxes, a page of instances with their frame IDs for get_image_frame); or the attributes of one level (patient, study, series, instance), only chosen ones (keywords or tags), of one series or instance, a page at a time, as a table or JSON. ' +
    'Without level, chosen attributes are shown at the deepest level they live at; instance rows show patient and series attributes too when named. Instances page with max_instances and next_token. ' +
    `Output is capped (about ${VIEW_BUDGET.toLocaleString('en')} characters, values cut at 200): the result says what was cut and how to get the rest. The whole document is the linked healthimaging:// resource. Accepts version_id for an older version.`,
  toolset: 'image_sets',
  inputSchema: metadataInput,
  outputSchema: {
    image_set_id: z.string(),
    version_id: z.string().optional(),
    document_bytes: z.number(),
    level: z.enum(['summary', 'patient', 'study', 'series', 'instance']),
    patient: z.object({ name: z.string().optional(), id: z.string().optional(), birth_date: z.string().optional(), sex: z.string().optional() }).optional(),
    study: z
      .object({
        study_instance_uid: z.string().optional(),
        date: z.string().optional(),
        time: z.string().optional(),
        description: z.string().optional(),
        accession_number: z.string().optional(),
        study_id: z.string().optional(),
      })
      .optional(),
    series: z
      .array(
        z.object({
          series_instance_uid: z.string(),
          modality: z.string().optional(),
          series_number: z.number().optional(),
          description: z.string().optional(),
          body_part: z.string().optional(),
          instance_count: z.number(),
          frame_count: z.number(),
        }),
      )
      .optional(),
    series_count: z.number().optional(),
    instance_count: z.number().optional(),
    frame_count: z.number().optional(),
    transfer_syntaxes: z.record(z.string(), z.number()).optional(),
    instances: z
      .array(
        z.object({
          sop_instance_uid: z.string(),
          series_instance_uid: z.string(),
          instance_number: z.number().optional(),
          rows: z.number().optional(),
          columns: z.number().optional(),
          frame_count: z.number(),
          frame_ids: z.array(z.string()),
          stored_transfer_syntax: z.string(),
        }),
      )
      .optional(),
    instance_offset: z.number().optional(),
    rows: z.array(viewRowShape).optional().describe('The view\'s rows (level other than summary)'),
    total_rows: z.number().optional(),
    missing_attributes: z.array(z.string()).optional(),
    truncated: z.boolean().optional().describe('True when rows were cut to keep the result small'),
    next_token: z.string().optional(),
    resource_uri: z.string(),
  },
  annotations: READ,
  async handler(args, { client, config, signal }) {
    const keys = args.attributes?.map(attributeKey);
    const level: MetadataArgs['level'] =
      args.level ??
      (keys || args.series_instance_uid || args.sop_instance_uid
        ? defaultLevel([...(keys ?? []), ...(args.sop_instance_uid ? ['SOPInstanceUID'] : []), ...(args.series_instance_uid ? ['SeriesInstanceUID'] : [])])
        : 'summary');
    if (level === 'summary' && (keys || args.series_instance_uid || args.sop_instance_uid)) {
      throw new ViewError('The summary takes no attributes or filters; give level patient, study, series or instance with them (or leave level out).');
    }
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([level, keys, args.series_instance_uid, args.sop_instance_uid, args.version_id, args.format, args.max_instances]))
      .digest('hex')
      .slice(0, 16);
    const offset = args.next_token ? readPageToken(args.next_token, fingerprint) : 0;

    const read = await fetchMetadata(
      client,
      { datastoreId: args.datastore_id, imageSetId: args.image_set_id, versionId: args.version_id },
      { maxBytes: config.maxMetadataBytes, signal },
    );
    const uri = metadataUri(args.datastore_id, args.image_set_id, args.version_id);
    const bytes = read.byteLength;
    const base = { image_set_id: args.image_set_id, ...(args.version_id && { version_id: args.version_id }), document_bytes: bytes, resource_uri: uri };
    const link = { type: 'resource_link' as const, uri, name: `metadata-${args.image_set_id}${args.version_id ? `-v${args.version_id}` : ''}.json`, mimeType: 'application/json', description: `The full metadata document (${bytes} bytes)` };
    const which = `Image set ${args.image_set_id}${args.version_id ? ` version ${args.version_id}` : ' (latest version)'}`;

    if (level === 'summary') {
      // Parsed without the instance attributes the summary does not read: on 50 MB, 65 ms instead of 220 (garbage
      // collection included) and a third less peak memory.
      const summary = summarizeMetadata(parsePrunedDocument(read.text, SUMMARY_INSTANCE_ATTRIBUTES), { maxInstances: args.max_instances, offset, maxSeries: SUMMARY_MAX_SERIES });
      const next = offset + summary.instances.length < summary.instance_count ? pageToken(offset + summary.instances.length, fingerprint) : undefined;
      const header = `${which}: ${summary.instance_count} instance(s), ${summary.frame_count} frame(s); full document ${bytes} bytes at ${uri}`;
      const structured = { ...base, level, ...summary, ...(next && { next_token: next }) };
      const body = args.format === 'json' ? JSON.stringify({ ...summary }) : formatSummary(summary);
      return {
        text: [header, body, ...(next ? [`More instances: call again with next_token="${next}"; level "instance" with attributes shows chosen attributes per instance.`] : [])].join('\n'),
        structured,
        content: [link],
      };
    }

    // One instance is one row: its frame IDs page instead.
    const framePaging = level === 'instance' && args.sop_instance_uid !== undefined;
    const view = viewMetadata(read.document, {
      level,
      attributes: keys,
      seriesInstanceUid: args.series_instance_uid,
      sopInstanceUid: args.sop_instance_uid,
      offset: framePaging ? 0 : offset,
      limit: args.max_instances,
      ...(framePaging && { frameOffset: offset }),
    });
    const rows = view.rows.map(clipValues);
    // Each row costs its text and its structured copy; keep whole rows while both fit the budget.
    const textChunks = args.format === 'json' ? formatRowsAsJson(rows) : formatRowsAsTable(rows, keys);
    const header = keys && args.format === 'table' && rows.length ? textChunks.shift()! : [];
    const costs = textChunks.map((chunk, i) => [...chunk, JSON.stringify(rows[i])]);
    const fit = fitChunks(costs, VIEW_BUDGET);
    // A single row too big for the budget (thousands of attributes) is shown with its first attributes only.
    const shownRows = fit.cutInside ? [trimAttributes(rows[0]!, VIEW_BUDGET / 3)] : rows.slice(0, fit.taken);
    const shownText = fit.cutInside
      ? (args.format === 'json' ? formatRowsAsJson(shownRows) : formatRowsAsTable(shownRows, keys).slice(header.length)).flat()
      : textChunks.slice(0, fit.taken).flat();
    const taken = shownRows.length;
    const shownFrames = framePaging ? (shownRows[0]?.frame_ids?.length ?? 0) : 0;
    const nextOffset = framePaging ? offset + shownFrames : offset + taken;
    const truncated = taken < rows.length || fit.cutInside;
    const next = nextOffset < (framePaging ? (shownRows[0]?.frame_count ?? 0) : view.total) ? pageToken(nextOffset, fingerprint) : undefined;
    const paged = (level === 'series' || level === 'instance') && !framePaging;
    const lines = [
      `${which}, ${level} level${args.series_instance_uid ? `, series ${args.series_instance_uid}` : ''}${args.sop_instance_uid ? `, instance ${args.sop_instance_uid}` : ''}${keys ? `, ${keys.length} attribute(s)` : ''}: ${
        paged ? `${view.total === 0 ? 'no rows' : `rows ${offset + 1}–${offset + taken} of ${view.total}`}` : `${Object.keys(shownRows[0]?.attributes ?? {}).length} attribute(s)`
      }; full document ${bytes} bytes at ${uri}`,
      ...header,
      ...(args.format === 'json' ? [`[${shownText.join(',\n')}]`] : shownText),
      ...(framePaging && keys && args.format === 'table' && shownRows[0]
        ? [`Frame IDs, frames ${offset + 1}–${offset + shownFrames} of ${shownRows[0].frame_count}: ${shownRows[0].frame_ids!.join(', ')}`]
        : []),
      ...(view.missing.length ? [`Not present: ${view.missing.join(', ')}.`] : []),
      ...(fit.cutInside ? [`Cut: the row has more attributes than fit in about ${VIEW_BUDGET.toLocaleString('en')} characters; name the ones you need with attributes, or read the full document (${uri}).`] : []),
      ...(taken < rows.length ? [`Cut: ${rows.length - taken} more row(s) of this page did not fit in about ${VIEW_BUDGET.toLocaleString('en')} characters.`] : []),
      ...(next && framePaging ? [`More frame IDs: call again with the same arguments and next_token="${next}".`] : []),
      ...(next && !framePaging ? [`More: call again with the same arguments and next_token="${next}"${keys ? '' : '; attributes=[…] gives a compact table instead'}.`] : []),
    ];
    return {
      text: lines.join('\n'),
      structured: {
        ...base,
        level,
        rows: shownRows,
        total_rows: view.total,
        ...(view.missing.length && { missing_attributes: view.missing }),
        ...(truncated && { truncated: true }),
        ...(next && { next_token: next }),
      },
      content: [link],
    };
  },
});

/** A row with only as many attributes as fit in `budget` characters of JSON. */
function trimAttributes(row: ViewRow, budget: number): ViewRow {
  const attributes: Record<string, unknown> = {};
  let used = 0;
  for (const [key, value] of Object.entries(row.attributes)) {
    used += key.length + JSON.stringify(value ?? null).length + 4;
    if (used > budget) break;
    attributes[key] = value;
  }
  return { ...row, attributes };
}

// ---- frames ------------------------------------------------------------------------------------------------------

const kb = (n: number) => `${Math.round(n / 1024)} KB`;

const presetNames = ['auto', ...WINDOW_PRESET_NAMES] as [WindowPreset | 'auto', ...Array<WindowPreset | 'auto'>];

/** The window inputs shared by the image tools. */
const windowFields = (scope: string) => ({
  window_center: z.number().optional().describe(`Window centre in modality units (e.g. Hounsfield units) ${scope}; give with window_width`),
  window_width: z.number().positive().optional().describe(`Window width in modality units ${scope}; give with window_center`),
  preset: z.enum(presetNames).optional().describe(`A named window (CT: lung, bone, soft_tissue, brain) or auto (the frame's value range) ${scope}; default: the instance's own window`),
});

/** The window the image tools were asked for, or undefined for the instance's own. */
function windowRequest(args: { window_center?: number; window_width?: number; preset?: WindowPreset | 'auto' }): WindowRequest | undefined {
  if ((args.window_center === undefined) !== (args.window_width === undefined)) throw new Error('Give window_center and window_width together, or neither.');
  if (args.preset && args.window_center !== undefined) throw new Error('Give a preset or an explicit window, not both.');
  return args.window_center !== undefined ? { center: args.window_center, width: args.window_width! } : args.preset;
}

export const getImageFrame = defineTool({
  name: 'get_image_frame',
  title: 'Get image frame',
  description:
    'Shows one frame as an image you can look at: the stored pixel data (usually HTJ2K) is decoded, the modality LUT and a window applied (the request\'s, a preset, the instance\'s own, or auto), and a PNG returned, downscaled to max_size on its long edge (under 1 MB). The caption names the instance, size and window, and says whether the decoded pixels match the checksum HealthImaging recorded. format "raw" returns the stored codestream instead. save_to saves the full-resolution PNG (or, with raw, the codestream) to a file in an allowed directory instead of returning it, and gives its path and size. Frame IDs come from get_image_set_metadata.',
  toolset: 'image_sets',
  inputSchema: {
    datastore_id: datastoreId,
    image_set_id: imageSetId,
    image_frame_id: imageFrameId,
    ...windowFields('for this frame'),
    max_size: z.number().int().min(32).max(4096).default(DEFAULT_MAX_SIZE).describe(`Longest edge of the PNG in pixels (default ${DEFAULT_MAX_SIZE})`),
    format: z.enum(['png', 'raw']).default('png').describe('png: a rendered image (default); raw: the stored bytes as an embedded resource'),
    save_to: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe('Save to this file instead of returning the image: a path inside an allowed directory (--allow-dir, or the client\'s roots over stdio). png saves the full-resolution rendering (max_size ignored), raw the stored codestream'),
    overwrite: z.boolean().default(false).describe('With save_to: replace an existing file (default: refuse)'),
  },
  outputSchema: {
    image_frame_id: z.string(),
    format: z.enum(['png', 'raw']),
    content_type: z.string(),
    bytes: z.number(),
    sop_instance_uid: z.string().optional(),
    series_instance_uid: z.string().optional(),
    frame_number: z.number().optional(),
    width: z.number().optional(),
    height: z.number().optional(),
    rendered_width: z.number().optional(),
    rendered_height: z.number().optional(),
    window: z.object({ center: z.number(), width: z.number(), source: z.string() }).nullable().optional(),
    checksum_ok: z.boolean().optional(),
    embedded: z.boolean().optional(),
    saved_path: z.string().optional().describe('Where the file was saved (save_to)'),
    saved_bytes: z.number().optional(),
  },
  annotations: READ,
  async handler(args, { client, config, files, signal }) {
    const window = windowRequest(args);
    // Checked before anything is read, so that a path that cannot be written costs nothing.
    const target = args.save_to === undefined ? undefined : await files.resolveWritable(args.save_to, { overwrite: args.overwrite });
    const frameRequest = client.send(
      new GetImageFrameCommand({ datastoreId: args.datastore_id, imageSetId: args.image_set_id, imageFrameInformation: { imageFrameId: args.image_frame_id } }),
      { abortSignal: signal },
    );
    // The document is read while the frame downloads (and usually comes from the cache).
    const documentRequest = args.format === 'raw' ? undefined : fetchMetadataDocument(client, { datastoreId: args.datastore_id, imageSetId: args.image_set_id }, { maxBytes: config.maxMetadataBytes, signal });
    documentRequest?.catch(() => undefined);
    const res = await frameRequest;
    const bytes = await res.imageFrameBlob!.transformToByteArray();
    const contentType = res.contentType ?? 'application/octet-stream';

    if (args.format === 'raw' && target !== undefined) {
      await files.writeAtomic(target, bytes, { overwrite: args.overwrite });
      return {
        text: `Frame ${args.image_frame_id}: the stored codestream (${contentType}, ${bytes.length} bytes) saved to ${target}.`,
        structured: { image_frame_id: args.image_frame_id, format: 'raw' as const, content_type: contentType, bytes: bytes.length, saved_path: target, saved_bytes: bytes.length },
      };
    }
    if (args.format === 'raw') {
      const embedded = bytes.length <= config.maxFrameBytes;
      const uri = `healthimaging://datastores/${args.datastore_id}/image-sets/${args.image_set_id}/frames/${args.image_frame_id}`;
      return {
        text: `Frame ${args.image_frame_id}: ${bytes.length} bytes, ${contentType}${embedded ? ' (attached)' : ` (not attached: over the ${config.maxFrameBytes}-byte limit)`}.`,
        structured: { image_frame_id: args.image_frame_id, format: 'raw' as const, content_type: contentType, bytes: bytes.length, embedded },
        ...(embedded && { content: [{ type: 'resource' as const, resource: { uri, mimeType: contentType, blob: Buffer.from(bytes).toString('base64') } }] }),
      };
    }

    const { document } = await documentRequest!;
    const located = locateFrame(document, args.image_frame_id);
    if (!located) throw new Error(`Frame ${args.image_frame_id} is not in the latest version of image set ${args.image_set_id}; get_image_set_metadata lists its frame IDs.`);
    const attributes = frameAttributes(located.attributes, located.frameIndex);
    const decoded = await decodeFrame(bytes, located.storedTransferSyntaxUID, geometryOf(attributes));
    const checksumOk = located.checksum === undefined ? undefined : crc32(decoded.pixels) === located.checksum;
    // Saved PNGs keep the full resolution, whatever their size; inline ones are held to max_size and 1 MB.
    const rendered = renderFrame(decoded, attributes, {
      ...(window !== undefined && { window }),
      ...(target !== undefined ? { maxSize: Math.max(decoded.width, decoded.height), maxBytes: Number.MAX_SAFE_INTEGER } : { maxSize: args.max_size }),
    });
    if (target !== undefined) await files.writeAtomic(target, rendered.png, { overwrite: args.overwrite });
    const shownWindow = rendered.window ? `window ${rendered.window.center}/${rendered.window.width} (${rendered.window.source})` : 'colour as stored';
    const caption = [
      `Frame ${args.image_frame_id}: frame ${located.frameIndex + 1} of instance ${located.sopInstanceUID} (series ${located.seriesInstanceUID}).`,
      `${rendered.sourceWidth}×${rendered.sourceHeight} ${transferSyntaxName(located.storedTransferSyntaxUID)} (${kb(bytes.length)}) → ${rendered.width}×${rendered.height} PNG (${kb(rendered.png.length)}), ${shownWindow}.`,
      checksumOk === undefined ? 'No checksum recorded for this frame.' : checksumOk ? 'Decoded pixels match the recorded CRC32.' : `WARNING: the decoded pixels do not match the recorded CRC32 (${located.checksum}); the stored frame may be corrupt.`,
      ...rendered.notes,
      ...(target !== undefined ? [`Saved to ${target} (${rendered.png.length} bytes); not attached.`] : []),
    ].join('\n');
    return {
      text: caption,
      structured: {
        image_frame_id: args.image_frame_id,
        format: 'png' as const,
        content_type: contentType,
        bytes: bytes.length,
        sop_instance_uid: located.sopInstanceUID,
        series_instance_uid: located.seriesInstanceUID,
        frame_number: located.frameIndex + 1,
        width: rendered.sourceWidth,
        height: rendered.sourceHeight,
        rendered_width: rendered.width,
        rendered_height: rendered.height,
        window: rendered.window && { center: rendered.window.center, width: rendered.window.width, source: rendered.window.source },
        ...(checksumOk !== undefined && { checksum_ok: checksumOk }),
        ...(target !== undefined && { saved_path: target, saved_bytes: rendered.png.length }),
      },
      ...(target === undefined && { content: [{ type: 'image' as const, data: Buffer.from(rendered.png).toString('base64'), mimeType: 'image/png' }] }),
    };
  },
});

// ---- version comparison ----------------------------------------------------------------------------------------

const changeShape = z.object({
  kind: z.string(),
  level: z.string().optional(),
  series: z.string().optional(),
  instance: z.string().optional(),
  attribute: z.string().optional(),
  /** Absent when the attribute did not exist in that version. */
  before: z.unknown().optional(),
  after: z.unknown().optional(),
});

/** A change with long values cut, like the metadata views'. */
function clipChange(change: MetadataChange): MetadataChange {
  if (change.kind !== 'attribute') return change;
  return { ...change, before: change.before === ABSENT ? ABSENT : clip(change.before), after: change.after === ABSENT ? ABSENT : clip(change.after) };
}

/** A change as JSON: an absent side is left out rather than encoded as a value. */
function changeJson(change: MetadataChange): z.infer<typeof changeShape> {
  if (change.kind !== 'attribute') return { ...change };
  const { before, after, ...rest } = change;
  return { ...rest, ...(before !== ABSENT && { before }), ...(after !== ABSENT && { after }) };
}

export const compareImageSetVersions = defineTool({
  name: 'compare_image_set_versions',
  title: 'Compare image set versions',
  description:
    'Shows what changed between two versions of an image set, one line per change: attribute, level (Patient, Study, Series, Instance), old → new, and instances or series added or removed. to_version_id defaults to the latest version. Use it to review an update or a copy after the fact; list_image_set_versions gives the version IDs.',
  toolset: 'image_sets',
  inputSchema: {
    datastore_id: datastoreId,
    image_set_id: imageSetId,
    from_version_id: versionId.describe('The earlier version'),
    to_version_id: versionId.optional().describe('The later version (default: the latest)'),
    max_changes: z.number().int().min(1).max(500).default(100).describe('How many changes to list (default 100); the count of all changes is always given'),
  },
  outputSchema: { from_version_id: z.string(), to_version_id: z.string(), change_count: z.number(), changes: z.array(changeShape), truncated: z.boolean() },
  annotations: READ,
  async handler(args, { client, config, signal }) {
    const ref = (versionId?: string) => ({ datastoreId: args.datastore_id, imageSetId: args.image_set_id, ...(versionId && { versionId }) });
    const toVersion =
      args.to_version_id ??
      (await client.send(new GetImageSetCommand({ datastoreId: args.datastore_id, imageSetId: args.image_set_id }), { abortSignal: signal })).versionId!;
    const [before, after] = await Promise.all([
      fetchMetadata(client, ref(args.from_version_id), { maxBytes: config.maxMetadataBytes, signal }),
      fetchMetadata(client, ref(toVersion), { maxBytes: config.maxMetadataBytes, signal }),
    ]);
    const changes = diffDocuments(before.document, after.document).map(clipChange);
    const candidates = changes.slice(0, args.max_changes);
    // Whole changes, text line and structured copy, while they fit the budget.
    const fit = fitChunks(candidates.map((c) => [formatChange(c), JSON.stringify(changeJson(c))]), VIEW_BUDGET);
    const shown = candidates.slice(0, Math.max(fit.taken, Math.min(1, candidates.length)));
    const more = changes.length - shown.length;
    const text = [
      changes.length === 0
        ? `Versions ${args.from_version_id} and ${toVersion} of ${args.image_set_id} have the same metadata.`
        : `${changes.length} change(s) from version ${args.from_version_id} to ${toVersion} of ${args.image_set_id}:`,
      ...shown.map(formatChange),
      ...(more > 0
        ? [
            shown.length < candidates.length
              ? `… ${more} more: the list stops at about ${VIEW_BUDGET.toLocaleString('en')} characters. Compare closer versions, or read both documents (${metadataUri(args.datastore_id, args.image_set_id, args.from_version_id)} and …/versions/${toVersion}/metadata).`
              : `… ${more} more; raise max_changes (up to 500) to see them.`,
          ]
        : []),
    ].join('\n');
    return {
      text,
      structured: { from_version_id: args.from_version_id, to_version_id: toVersion, change_count: changes.length, changes: shown.map(changeJson), truncated: changes.length > shown.length },
    };
  },
});

// ---- contact sheet -------------------------------------------------------------------------------------------

/** `count` indices spread evenly over 0…length-1, first and last included. */
export function evenlySpaced(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, i) => i);
  return Array.from({ length: count }, (_, i) => Math.round((i * (length - 1)) / (count - 1)));
}

export const getContactSheet = defineTool({
  name: 'get_contact_sheet',
  title: 'Get series contact sheet',
  description:
    'One image with thumbnails of up to max_frames frames spread evenly across a series (by InstanceNumber, then frame), each labelled with its instance number: a quick look at a whole series before picking frames for get_image_frame. Same windows as get_image_frame (a preset or explicit window applies to every tile).',
  toolset: 'image_sets',
  inputSchema: {
    datastore_id: datastoreId,
    image_set_id: imageSetId,
    series_instance_uid: z.string().regex(/^[0-9.]+$/).optional().describe('Which series (default: the image set\'s first)'),
    max_frames: z.number().int().min(1).max(64).default(16).describe('How many frames to show (default 16)'),
    tile_size: z.number().int().min(32).max(512).default(192).describe('Thumbnail edge in pixels (default 192)'),
    ...windowFields('for every tile'),
  },
  outputSchema: {
    series_instance_uid: z.string(),
    frames_in_series: z.number(),
    tiles: z.array(z.object({ label: z.string(), sop_instance_uid: z.string(), image_frame_id: z.string(), frame_number: z.number() })),
    width: z.number(),
    height: z.number(),
  },
  annotations: READ,
  async handler(args, { client, config, signal }) {
    const window = windowRequest(args);
    const { document } = await fetchMetadataDocument(client, { datastoreId: args.datastore_id, imageSetId: args.image_set_id }, { maxBytes: config.maxMetadataBytes, signal });
    const seriesUid = args.series_instance_uid ?? Object.keys(document.Study.Series)[0];
    const series = seriesUid === undefined ? undefined : document.Study.Series[seriesUid];
    if (!series || seriesUid === undefined) throw new Error(`Series ${args.series_instance_uid ?? ''} is not in image set ${args.image_set_id}; get_image_set_metadata lists its series.`);
    const instanceNumber = (dicom: Record<string, unknown>) => Number.parseInt(String(dicom.InstanceNumber ?? ''), 10) || 0;
    const all = Object.entries(series.Instances)
      .sort(([, a], [, b]) => instanceNumber(a.DICOM) - instanceNumber(b.DICOM))
      .flatMap(([sop, instance]) => instance.ImageFrames.map((frame, index) => ({ sop, instance, frame, index })));
    if (all.length === 0) throw new Error(`Series ${seriesUid} has no frames to show.`);
    const chosen = evenlySpaced(all.length, args.max_frames).map((i) => all[i]!);
    const frames = await Promise.all(
      chosen.map(async ({ sop, instance, frame, index }) => {
        const res = await client.send(
          new GetImageFrameCommand({ datastoreId: args.datastore_id, imageSetId: args.image_set_id, imageFrameInformation: { imageFrameId: frame.ID } }),
          { abortSignal: signal },
        );
        const attributes = frameAttributes({ ...series.DICOM, ...instance.DICOM }, index);
        const decoded = await decodeFrame(await res.imageFrameBlob!.transformToByteArray(), instance.StoredTransferSyntaxUID ?? '1.2.840.10008.1.2.4.202', geometryOf(attributes));
        const label = `${instanceNumber(instance.DICOM) || '?'}${instance.ImageFrames.length > 1 ? `.${index + 1}` : ''}`;
        return { decoded, attributes, label, sop, frameId: frame.ID, frameNumber: index + 1 };
      }),
    );
    const sheet = renderContactSheet(frames, { tileSize: args.tile_size, ...(window !== undefined && { window }) });
    const text = [
      `Contact sheet of series ${seriesUid}: ${frames.length} of ${all.length} frame(s), ${sheet.columns}×${sheet.rows} tiles of ${sheet.tileSize} px (${sheet.width}×${sheet.height} PNG, ${kb(sheet.png.length)}), labelled by InstanceNumber[.frame].`,
      ...sheet.notes,
      'Next: get_image_frame with one of the image_frame_ids in the structured result for a full-size view.',
    ].join('\n');
    return {
      text,
      structured: {
        series_instance_uid: seriesUid,
        frames_in_series: all.length,
        tiles: frames.map((f) => ({ label: f.label, sop_instance_uid: f.sop, image_frame_id: f.frameId, frame_number: f.frameNumber })),
        width: sheet.width,
        height: sheet.height,
      },
      content: [{ type: 'image' as const, data: Buffer.from(sheet.png).toString('base64'), mimeType: 'image/png' }],
    };
  },
});

export const IMAGE_SET_TOOLS = [searchImageSets, getImageSet, getImageSetMetadata, getImageFrame, getContactSheet, listImageSetVersions, compareImageSetVersions];
