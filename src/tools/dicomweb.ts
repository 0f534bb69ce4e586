/**
 * Toolset `dicomweb`: HealthImaging's DICOMweb API (shared/healthimaging-api.md §4) through src/aws/dicomweb.ts.
 * STOW-RS stores Part 10 files without an import job; QIDO-RS searches studies, series and instances; WADO-RS reads
 * instance and series metadata and saves an instance as a Part 10 file.
 *
 * With --redact-phi the DICOM JSON these tools show is masked as it arrives (src/aws/dicomweb.ts, src/dicom/redact.ts).
 *
 * Files are read from and saved to the allowed directories only (ctx.files: `--allow-dir`, or the client's roots
 * over stdio). `save_dicom_instance` changes nothing in HealthImaging but writes a file on the server's machine, so it
 * is a write tool (hidden under --read-only, audited), though never destructive: it refuses to replace a file.
 */
import { promises as fs, createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { SearchImageSetsCommand } from '@aws-sdk/client-medical-imaging';
import { z } from 'zod';
import { DicomwebClient, DicomwebError, limitedChunks, ok, type StoreResponse, type StoreSource } from '../aws/dicomweb.js';
import type { DicomJsonAttribute, DicomJsonDataset } from '../dicom/dicom-json.js';
import { tagOf } from '../dicom/dicom-json.js';
import { HEX_TAG, lookupAttribute } from '../dicom/dictionary.js';
import { MultipartParser, parseMediaType } from '../dicom/multipart.js';
import { DicomParseError, identifyP10, NeedWholeFile, type P10Identity } from '../dicom/p10.js';
import { LONG_VRS } from '../dicom/structure.js';
import { GuardError } from '../guard/errors.js';
import { datastoreId, imageSetId } from './fields.js';
import { defineTool, READ, type ToolContext } from './types.js';

// ---- limits -----------------------------------------------------------------------------------------------------

/** HealthImaging accepts at most 1 GB per STOW-RS request (spec §4.2); a store_dicom call is one request. */
export const MAX_STORE_BYTES = 1024 ** 3;
/** base64 travels inside the JSON-RPC message: for a few small files only. */
export const MAX_BASE64_BYTES = 16 * 1024 * 1024;
export const MAX_STORE_FILES = 1000;
/** A saved instance passes through memory once (the atomic write takes a buffer). */
export const MAX_SAVE_BYTES = 1024 ** 3;
/** Results reach the model's context: text and structured content together stay well under 20,000 characters by default. */
const DEFAULT_MAX_CHARS = 12_000;

// ---- fields -----------------------------------------------------------------------------------------------------

const uid = z.string().min(1).max(64).regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID (digits and dots, e.g. 1.2.840.113619.2.1)');
const studyUid = uid.describe('StudyInstanceUID, from search_dicom_studies');
const seriesUid = uid.describe('SeriesInstanceUID, from search_dicom_series');
const sopUid = uid.describe('SOPInstanceUID, from search_dicom_instances');
const retrieveImageSet = imageSetId
  .optional()
  .describe('Read from this image set (any, including non-primary ones); default: the primary image sets, as DICOMweb does');

/** A DICOM keyword (PatientName) or tag (00100010 or (0010,0010)) the dictionary knows; normalised to the 8-hex tag. */
const attributeKey = z
  .string()
  .min(1)
  .max(64)
  .transform((key, ctx) => {
    const compact = key.replace(/[(),\s]/g, '');
    const tag = HEX_TAG.test(compact) ? compact.toUpperCase() : tagOf(key);
    if (!tag) {
      ctx.addIssue({ code: 'custom', message: `unknown DICOM attribute '${key}': use a keyword such as PatientName or a tag such as 00100010` });
      return z.NEVER;
    }
    return tag;
  });

const MATCH_KEYS = [
  'PatientName', 'PatientID', 'PatientBirthDate', 'PatientBirthTime', 'StudyInstanceUID', 'StudyDate', 'StudyTime', 'StudyID',
  'AccessionNumber', 'StudyDescription', 'ReferringPhysicianName', 'ModalitiesInStudy', 'SeriesInstanceUID', 'Modality',
  'SeriesNumber', 'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime', 'SOPClassUID', 'SOPInstanceUID',
] as const;

const match = z
  .strictObject(Object.fromEntries(MATCH_KEYS.map((key) => [key, z.string().min(1).max(256).optional()])) as Record<(typeof MATCH_KEYS)[number], z.ZodOptional<z.ZodString>>)
  .optional()
  .describe(
    'Match keys by DICOM keyword (the ones HealthImaging supports), e.g. {"PatientID":"P-1","StudyDate":"20240101-20241231"}. ' +
      'Exact and case-sensitive; * and ? are wildcards (StudyDescription "*CHEST*"); dates and times take ranges (from-to). ' +
      'A study matches when any of its instances does.',
  );

const searchPaging = {
  fuzzy_matching: z.boolean().default(false).describe('PatientName matching ignores case and matches word prefixes'),
  include_fields: z
    .array(attributeKey)
    .max(50)
    .optional()
    .describe('Extra attributes to return as columns, by keyword or tag (e.g. ["PatientSex","00180050"])'),
  limit: z.number().int().min(1).max(1000).default(25).describe('Rows per page (HealthImaging allows up to 1,000)'),
  offset: z.number().int().min(0).max(9000).default(0).describe('Rows to skip: pass the previous offset + limit for the next page (at most 9,000)'),
};

// ---- DICOM JSON as text -----------------------------------------------------------------------------------------

const keywordOfTag = (tag: string) => lookupAttribute(tag)?.keyword ?? (Number.parseInt(tag.slice(3, 4), 16) % 2 === 1 ? 'private' : 'unknown');
const first = (dataset: DicomJsonDataset | undefined, tag: string): unknown => dataset?.[tag]?.Value?.[0];

/** One attribute's value as short text: PN by its alphabetic form, several values joined with `\`. */
export function valueText(attribute: DicomJsonAttribute | undefined): string {
  if (!attribute) return '';
  if (attribute.BulkDataURI) return '<bulk data>';
  if (attribute.InlineBinary !== undefined) return `<binary, ${Math.floor((attribute.InlineBinary.length * 3) / 4)} bytes>`;
  if (!attribute.Value) return '';
  if (attribute.vr === 'SQ') return `<${attribute.Value.length} item${attribute.Value.length === 1 ? '' : 's'}>`;
  return attribute.Value.map((v) => (v !== null && typeof v === 'object' ? ((v as { Alphabetic?: string }).Alphabetic ?? JSON.stringify(v)) : String(v ?? ''))).join('\\');
}

/** A dataset as lines `(gggg,eeee) Keyword VR: value`, sequences indented below their attribute. */
export function datasetLines(dataset: DicomJsonDataset, indent = ''): string[] {
  const lines: string[] = [];
  for (const tag of Object.keys(dataset).sort()) {
    const attribute = dataset[tag]!;
    lines.push(`${indent}(${tag.slice(0, 4)},${tag.slice(4)}) ${keywordOfTag(tag)} ${attribute.vr}: ${valueText(attribute)}`);
    if (attribute.vr === 'SQ') {
      (attribute.Value ?? []).forEach((item, i) => {
        lines.push(`${indent}  item ${i + 1}:`);
        lines.push(...datasetLines(item as DicomJsonDataset, `${indent}    `));
      });
    }
  }
  return lines;
}

/** Only the attributes asked for (top level), or all. */
function select(dataset: DicomJsonDataset, tags: readonly string[] | undefined): DicomJsonDataset {
  if (!tags?.length) return dataset;
  return Object.fromEntries(tags.filter((tag) => tag in dataset).map((tag) => [tag, dataset[tag]!]));
}

/** Lines up to `maxChars`; says how many lines were left out. */
function capLines(lines: string[], maxChars: number): { text: string; shown: number; cut: boolean } {
  let size = 0;
  let shown = 0;
  for (const line of lines) {
    if (size + line.length + 1 > maxChars) break;
    size += line.length + 1;
    shown++;
  }
  return { text: lines.slice(0, shown).join('\n'), shown, cut: shown < lines.length };
}

const maxChars = z
  .number()
  .int()
  .min(1000)
  .max(200_000)
  .default(DEFAULT_MAX_CHARS)
  .describe('Largest output, counting the text and the DICOM JSON of what is shown; longer output is cut and the result says what was left out');
const attributes = z
  .array(attributeKey)
  .min(1)
  .max(200)
  .optional()
  .describe('Return only these attributes, by keyword or tag (e.g. ["PatientName","00280010","WindowCenter"]); default: all');

// ---- QIDO-RS ----------------------------------------------------------------------------------------------------

interface Column {
  header: string;
  tag: string;
}

const col = (header: string): Column => ({ header, tag: tagOf(header)! });
const STUDY_COLUMNS = ['StudyInstanceUID', 'StudyDate', 'PatientID', 'PatientName', 'AccessionNumber', 'ModalitiesInStudy', 'StudyDescription', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'].map(col);
const SERIES_COLUMNS = ['SeriesInstanceUID', 'StudyInstanceUID', 'Modality', 'SeriesNumber', 'SeriesDescription', 'NumberOfSeriesRelatedInstances'].map(col);
const INSTANCE_COLUMNS = ['SOPInstanceUID', 'SeriesInstanceUID', 'StudyInstanceUID', 'InstanceNumber', 'SOPClassUID', 'Rows', 'Columns', 'NumberOfFrames'].map(col);

const searchOutput = {
  datastore_id: z.string(),
  offset: z.number(),
  count: z.number().describe('Rows on this page'),
  next_offset: z.number().optional().describe('Offset of the next page; absent when this page was the last'),
  columns: z.array(z.string()),
  rows: z.array(z.array(z.string())).describe('One row per match, values in the order of columns'),
};

type SearchArgs = { datastore_id: string; match?: Partial<Record<string, string | undefined>>; fuzzy_matching: boolean; include_fields?: string[]; limit: number; offset: number };

async function qido(ctx: ToolContext, args: SearchArgs, what: string, pathName: string, columns: Column[]) {
  const client = await DicomwebClient.forClient(ctx.config, ctx.client);
  const extra = (args.include_fields ?? []).filter((tag) => !columns.some((c) => c.tag === tag)).map((tag) => ({ header: lookupAttribute(tag)?.keyword ?? tag, tag }));
  const all = [...columns, ...extra];
  const query: Record<string, string | string[]> = { limit: String(args.limit), offset: String(args.offset) };
  for (const [key, value] of Object.entries(args.match ?? {})) if (value !== undefined) query[key] = value;
  if (args.fuzzy_matching) query.fuzzymatching = 'true';
  query.includefield = all.map((c) => c.tag);
  const results = await client.getJson(args.datastore_id, pathName, query, ctx.signal);
  const rows = results.map((row) => all.map((c) => valueText(row[c.tag])));
  const more = results.length === args.limit;
  const structured = {
    datastore_id: args.datastore_id,
    offset: args.offset,
    count: rows.length,
    ...(more && { next_offset: args.offset + rows.length }),
    columns: all.map((c) => c.header),
    rows,
  };
  if (!rows.length) return { text: `No ${what} match${args.offset ? ` at offset ${args.offset}` : ''}.`, structured };
  const table = [all.map((c) => c.header).join(' | '), ...rows.map((r) => r.join(' | '))];
  const from = args.offset + 1;
  const footer = more ? `More may match: call again with offset=${args.offset + rows.length}.` : 'That is all.';
  return { text: [`${what[0]!.toUpperCase()}${what.slice(1)} ${from}–${args.offset + rows.length}:`, ...table, footer].join('\n'), structured };
}

const searchStudies = defineTool({
  name: 'search_dicom_studies',
  title: 'Search DICOM studies (QIDO-RS)',
  description:
    'Finds studies in a datastore with DICOMweb QIDO-RS: one row per study (StudyInstanceUID, date, patient, accession, modalities, description, series and instance counts). ' +
    'Matches by DICOM keywords with wildcards and date ranges; pages with limit/offset. Searches primary image sets only. ' +
    'Next: search_dicom_series for a study\'s series; search_image_sets finds the image sets themselves.',
  toolset: 'dicomweb',
  inputSchema: { datastore_id: datastoreId, match, ...searchPaging },
  outputSchema: searchOutput,
  annotations: READ,
  handler: (args, ctx) => qido(ctx, args, 'studies', '/studies', STUDY_COLUMNS),
});

const searchSeries = defineTool({
  name: 'search_dicom_series',
  title: 'Search DICOM series (QIDO-RS)',
  description:
    'Finds series with DICOMweb QIDO-RS, in one study (study_instance_uid) or the whole datastore: one row per series (SeriesInstanceUID, StudyInstanceUID, modality, number, description, instance count), ordered by SeriesNumber. ' +
    'Next: search_dicom_instances or get_dicom_series_metadata.',
  toolset: 'dicomweb',
  inputSchema: { datastore_id: datastoreId, study_instance_uid: studyUid.optional(), match, ...searchPaging },
  outputSchema: searchOutput,
  annotations: READ,
  handler: (args, ctx) => qido(ctx, args, 'series', args.study_instance_uid ? `/studies/${args.study_instance_uid}/series` : '/series', SERIES_COLUMNS),
});

const searchInstances = defineTool({
  name: 'search_dicom_instances',
  title: 'Search DICOM instances (QIDO-RS)',
  description:
    'Finds instances with DICOMweb QIDO-RS, in one series (study_instance_uid + series_instance_uid), one study, or the whole datastore: one row per instance (SOPInstanceUID, series, study, InstanceNumber, SOP class, rows, columns, frames), ordered by InstanceNumber. ' +
    'Next: get_dicom_instance_metadata, save_dicom_instance.',
  toolset: 'dicomweb',
  inputSchema: { datastore_id: datastoreId, study_instance_uid: studyUid.optional(), series_instance_uid: seriesUid.optional().describe('SeriesInstanceUID (needs study_instance_uid)'), match, ...searchPaging },
  outputSchema: searchOutput,
  annotations: READ,
  handler: (args, ctx) => {
    if (args.series_instance_uid && !args.study_instance_uid) throw new DicomwebError('ValidationException', 'series_instance_uid needs study_instance_uid', 400, undefined, 'Pass the study too, or put the series in match: {"SeriesInstanceUID": "…"}.');
    const scope = args.study_instance_uid ? `/studies/${args.study_instance_uid}${args.series_instance_uid ? `/series/${args.series_instance_uid}` : ''}` : '';
    return qido(ctx, args, 'instances', `${scope}/instances`, INSTANCE_COLUMNS);
  },
});

// ---- WADO-RS metadata -------------------------------------------------------------------------------------------

const metadataOutput = {
  datastore_id: z.string(),
  instances: z.number().describe('Instances in the response'),
  offset: z.number().describe('Instances skipped before the first one shown'),
  shown: z.number().describe('Instances with at least one attribute shown'),
  cut: z.boolean().describe('Whether the output was cut at max_chars'),
  next_offset: z.number().optional().describe('Offset to continue with, when instances were left out'),
  common: z.record(z.string(), z.unknown()).optional().describe('Series only: the DICOM JSON attributes every instance has with the same value'),
  datasets: z.array(z.record(z.string(), z.unknown())).describe('The DICOM JSON attributes shown, per instance (for a series: those that differ between instances)'),
};

const query = (id: string | undefined) => (id ? { imageSetId: id } : undefined);

/** One top-level attribute as text lines (its sequence items below it), with its DICOM JSON. */
interface Unit {
  tag: string;
  lines: string[];
  size: number;
}

function units(dataset: DicomJsonDataset, indent: string): Unit[] {
  return Object.keys(dataset)
    .sort()
    .map((tag) => {
      const lines = datasetLines({ [tag]: dataset[tag]! }, indent);
      return { tag, lines, size: lines.reduce((n, l) => n + l.length + 1, 0) + JSON.stringify(dataset[tag]).length };
    });
}

/**
 * Datasets as text, cut at `limit` characters counting the text and the DICOM JSON of what is shown (both reach the
 * agent): whole attributes only, and a note that says what was left out and how to get it.
 */
function metadataResult(datastore: string, all: DicomJsonDataset[], tags: string[] | undefined, limit: number, options: { series?: { offset: number } } = {}) {
  const selected = all.map((d) => select(d, tags));
  const series = options.series;
  // For a series without an attribute list: what all instances share once, then per instance what differs.
  const common: DicomJsonDataset = {};
  if (series && !tags?.length && selected.length > 1) {
    for (const [tag, attribute] of Object.entries(selected[0]!)) {
      const json = JSON.stringify(attribute);
      if (selected.every((d) => d[tag] !== undefined && JSON.stringify(d[tag]) === json)) common[tag] = attribute;
    }
  }
  const offset = series?.offset ?? 0;
  const lines: string[] = [];
  let used = 0;
  let cut = false;
  const fit = (unit: Unit) => {
    if (used + unit.size > limit) return false;
    used += unit.size;
    lines.push(...unit.lines);
    return true;
  };
  const commonTags = Object.keys(common);
  const shownCommon: DicomJsonDataset = {};
  if (commonTags.length) {
    lines.push(`Common to all ${selected.length} instances:`);
    for (const unit of units(common, '  ')) {
      if (!fit(unit)) {
        cut = true;
        break;
      }
      shownCommon[unit.tag] = common[unit.tag]!;
    }
  }
  const shownSets: DicomJsonDataset[] = [];
  let index = offset;
  for (; !cut && index < selected.length; index++) {
    const own = Object.fromEntries(Object.entries(selected[index]!).filter(([tag]) => !(tag in common)));
    const header = series ? `Instance ${index + 1} of ${selected.length}: ${String(first(all[index], '00080018') ?? '?')} (InstanceNumber ${String(first(all[index], '00200013') ?? '?')})` : undefined;
    if (header && !fit({ tag: '', lines: [header], size: header.length + 1 })) {
      cut = true;
      break;
    }
    const shown: DicomJsonDataset = {};
    for (const unit of units(own, series ? '  ' : '')) {
      if (!fit(unit)) {
        cut = true;
        break;
      }
      shown[unit.tag] = own[unit.tag]!;
    }
    shownSets.push(shown);
    if (cut) break;
  }
  // An instance cut part-way is shown again from its start on the next page.
  const complete = cut ? index - offset : shownSets.length;
  // Nothing of an instance shown (the shared attributes filled the output): no offset helps, attributes or max_chars do.
  const nextOffset = series && shownSets.length && offset + complete < selected.length ? offset + Math.max(complete, 1) : undefined;
  const last = offset + shownSets.length;
  const missing = tags?.filter((t) => !all.some((d) => t in d)) ?? [];
  const notes = [
    ...(missing.length ? [`Not present: ${missing.map((t) => lookupAttribute(t)?.keyword ?? t).join(', ')}.`] : []),
    ...(series && offset >= selected.length ? [`The series has ${selected.length} instances; offset ${offset} is past the end.`] : []),
    ...(cut
      ? [
          series
            ? shownSets.length
              ? `Cut at max_chars=${limit}: instances ${offset + 1}–${last} of ${selected.length} shown${complete < shownSets.length ? ' (the last one partly)' : ''}. Continue with offset=${nextOffset}, choose attributes, or raise max_chars.`
              : `Cut at max_chars=${limit}: the attributes all ${selected.length} instances share fill it; choose attributes, or raise max_chars.`
            : `Cut at max_chars=${limit}: ${Object.keys(shownSets[0] ?? {}).length} of ${Object.keys(selected[0] ?? {}).length} attributes shown; pass attributes to choose, or raise max_chars.`,
        ]
      : []),
  ];
  return {
    text: [...lines, ...notes].join('\n'),
    structured: {
      datastore_id: datastore,
      instances: selected.length,
      offset,
      shown: shownSets.filter((d) => Object.keys(d).length).length,
      cut,
      ...(nextOffset !== undefined && { next_offset: nextOffset }),
      ...(commonTags.length && { common: shownCommon }),
      datasets: shownSets,
    },
  };
}

const instanceMetadata = defineTool({
  name: 'get_dicom_instance_metadata',
  title: 'Get DICOM instance metadata (WADO-RS)',
  description:
    'Reads one instance\'s DICOM attributes with DICOMweb WADO-RS, as lines "(gggg,eeee) Keyword VR: value" (sequences indented; large binary values as <bulk data>). ' +
    'Choose attributes by keyword or tag; output is cut at max_chars, saying so. For a whole series use get_dicom_series_metadata; for pixels use get_image_frame.',
  toolset: 'dicomweb',
  inputSchema: { datastore_id: datastoreId, study_instance_uid: studyUid, series_instance_uid: seriesUid, sop_instance_uid: sopUid, image_set_id: retrieveImageSet, attributes, max_chars: maxChars },
  outputSchema: metadataOutput,
  annotations: READ,
  handler: async (args, ctx) => {
    const client = await DicomwebClient.forClient(ctx.config, ctx.client);
    const path = `/studies/${args.study_instance_uid}/series/${args.series_instance_uid}/instances/${args.sop_instance_uid}/metadata`;
    const datasets = await client.getJson(args.datastore_id, path, query(args.image_set_id), ctx.signal);
    return metadataResult(args.datastore_id, datasets, args.attributes, args.max_chars);
  },
});

const seriesMetadata = defineTool({
  name: 'get_dicom_series_metadata',
  title: 'Get DICOM series metadata (WADO-RS)',
  description:
    'Reads the DICOM attributes of every instance of a series with DICOMweb WADO-RS: the attributes all instances share, once, then per instance (in the server\'s order) those that differ. ' +
    'With attributes (e.g. ["InstanceNumber","SliceLocation","ImagePositionPatient"]) only those, per instance. Output is cut at max_chars and says which offset continues it.',
  toolset: 'dicomweb',
  inputSchema: {
    datastore_id: datastoreId,
    study_instance_uid: studyUid,
    series_instance_uid: seriesUid,
    image_set_id: retrieveImageSet,
    attributes,
    offset: z.number().int().min(0).default(0).describe('Instances to skip (the next_offset of a cut result)'),
    max_chars: maxChars,
  },
  outputSchema: metadataOutput,
  annotations: READ,
  handler: async (args, ctx) => {
    const client = await DicomwebClient.forClient(ctx.config, ctx.client);
    const path = `/studies/${args.study_instance_uid}/series/${args.series_instance_uid}/metadata`;
    const datasets = await client.getJson(args.datastore_id, path, query(args.image_set_id), ctx.signal);
    return metadataResult(args.datastore_id, datasets, args.attributes, args.max_chars, { series: { offset: args.offset } });
  },
});

// ---- WADO-RS instance → file ------------------------------------------------------------------------------------

const TRANSFER_SYNTAX_ALIASES: Record<string, string> = {
  explicit_vr_little_endian: '1.2.840.10008.1.2.1',
  // HealthImaging's lossless storage format: returned as stored, without transcoding.
  htj2k: '1.2.840.10008.1.2.4.202',
};
const saveInstance = defineTool({
  name: 'save_dicom_instance',
  title: 'Save DICOM instance to a file (WADO-RS)',
  description:
    'Retrieves one instance with DICOMweb WADO-RS and saves it as a DICOM Part 10 file at path, inside a directory the operator allows (--allow-dir, or the client\'s roots over stdio). ' +
    'Uncompressed (Explicit VR Little Endian) by default, or as stored (HTJ2K) without transcoding. Never replaces an existing file. Changes nothing in HealthImaging.',
  toolset: 'dicomweb',
  inputSchema: {
    datastore_id: datastoreId,
    study_instance_uid: studyUid,
    series_instance_uid: seriesUid,
    sop_instance_uid: sopUid,
    image_set_id: retrieveImageSet,
    path: z.string().min(1).max(4096).describe('Where to save, e.g. "ct/slice-12.dcm": absolute, or relative to the first allowed directory; the directory must exist'),
    transfer_syntax: z
      .union([z.enum(['explicit_vr_little_endian', 'htj2k']), uid])
      .default('explicit_vr_little_endian')
      .describe(
        'explicit_vr_little_endian (uncompressed, readable by every DICOM tool), htj2k (1.2.840.10008.1.2.4.202, as HealthImaging stores lossless images: no transcoding), or a transfer syntax UID the instance is stored in; an unavailable one is refused naming those available',
      ),
  },
  outputSchema: { path: z.string(), bytes: z.number(), sop_instance_uid: z.string(), transfer_syntax_uid: z.string().optional() },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    // A Part 10 file carries every attribute as stored; under --redact-phi it would carry the identity the results hide.
    if (ctx.config.redactPhi)
      throw new GuardError(
        'PhiRedactionActive',
        'saving DICOM files is refused while --redact-phi is on: the file would hold the patient-identifying attributes that tool results mask',
        'Look at the instance with get_dicom_instance_metadata or get_image_frame instead, or ask the operator for a server without --redact-phi.',
      );
    const target = await ctx.files.resolveWritable(args.path);
    const client = await DicomwebClient.forClient(ctx.config, ctx.client);
    const response = await client.request(args.datastore_id, {
      path: `/studies/${args.study_instance_uid}/series/${args.series_instance_uid}/instances/${args.sop_instance_uid}`,
      ...(args.image_set_id && { query: { imageSetId: args.image_set_id } }),
      headers: { accept: client.instanceAccept(TRANSFER_SYNTAX_ALIASES[args.transfer_syntax] ?? args.transfer_syntax) },
      signal: ctx.signal,
    });
    await ok(response);
    // Streamed to the file as it arrives (an instance may be hundreds of MB); the file appears only when complete.
    const file = checkedP10(instanceBytes(String(response.headers['content-type'] ?? ''), response.body, MAX_SAVE_BYTES));
    try {
      await ctx.files.writeAtomic(target, file);
    } finally {
      // Also when nothing was read (a refused multipart header, a file that could not be opened): free the connection.
      response.body.destroy();
    }
    const { syntax, bytes } = file.result();
    return {
      text: `Saved instance ${args.sop_instance_uid} (${bytes} bytes, transfer syntax ${syntax || 'unknown'}) to ${target}.`,
      structured: { path: target, bytes, sop_instance_uid: args.sop_instance_uid, ...(syntax && { transfer_syntax_uid: syntax }) },
    };
  },
});

/**
 * The Part 10 file of a WADO-RS instance response as it arrives: the body, or the first part of a multipart/related
 * body (the rest is not read). At most `limit` bytes.
 */
async function* instanceBytes(contentType: string, body: Readable, limit: number): AsyncGenerator<Uint8Array> {
  const chunks = limitedChunks(body, limit);
  const media = parseMediaType(contentType);
  if (media.type !== 'multipart/related') return yield* chunks;
  const boundary = media.params.get('boundary')?.value;
  if (!boundary) throw new DicomwebError('InvalidResponse', 'the DICOMweb endpoint sent multipart/related without a boundary', 200, undefined);
  const parser = new MultipartParser(boundary);
  for await (const chunk of chunks) {
    for (const event of parser.push(chunk)) {
      if (event.kind === 'data') yield event.bytes;
      else if (event.kind === 'partEnd') {
        // The first part is complete (the next delimiter has arrived): the rest is not needed.
        body.destroy();
        return;
      }
    }
  }
  parser.end();
}

/** At most this much of a file is held to find its transfer syntax (the file meta group is rarely over 1 KB). */
const P10_META_BYTES = 16 * 1024 * 1024;

/**
 * `source`, passed through once its first bytes show a P10 file (else InvalidResponse, before anything is written);
 * `result()` then gives the transfer syntax ('' when the file meta group names none) and the byte count.
 */
function checkedP10(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> & { result(): { syntax: string; bytes: number } } {
  let syntax: string | undefined;
  let bytes = 0;
  /** Whether `head` decides the transfer syntax (throwing when it shows the file is not P10). */
  const decided = (head: Buffer, ended: boolean) => {
    const found = fileTransferSyntax(head);
    if (found === MORE && !ended && head.length < P10_META_BYTES) return false;
    syntax = found === MORE ? (head.length < 132 ? undefined : '') : found;
    if (syntax === undefined) throw new DicomwebError('InvalidResponse', 'the DICOMweb endpoint did not return a DICOM Part 10 file (no DICM preamble); nothing was saved', 200, undefined);
    return true;
  };
  return {
    async *[Symbol.asyncIterator]() {
      let head: Buffer | undefined = Buffer.alloc(0);
      for await (const chunk of source) {
        bytes += chunk.length;
        if (head === undefined) {
          yield chunk;
          continue;
        }
        head = Buffer.concat([head, chunk]);
        if (!decided(head, false)) continue;
        yield head;
        head = undefined;
      }
      if (head !== undefined && decided(head, true)) yield head;
    },
    result: () => ({ syntax: syntax ?? '', bytes }),
  };
}

const MORE = Symbol('more bytes needed');

/**
 * The TransferSyntaxUID (0002,0010) of a P10 file, from its first bytes: undefined when they are not P10, '' when the
 * file meta group ends without one, MORE when the group runs on past them.
 */
function fileTransferSyntax(bytes: Uint8Array): string | undefined | typeof MORE {
  if (bytes.length < 132) return MORE;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.toString('latin1', 128, 132) !== 'DICM') return undefined;
  for (let at = 132; ; ) {
    if (at + 2 > buffer.length) return MORE;
    if (buffer.readUInt16LE(at) !== 0x0002) return '';
    if (at + 8 > buffer.length) return MORE;
    const element = buffer.readUInt16LE(at + 2);
    const long = LONG_VRS.has(buffer.toString('latin1', at + 4, at + 6));
    if (long && at + 12 > buffer.length) return MORE;
    const length = long ? buffer.readUInt32LE(at + 8) : buffer.readUInt16LE(at + 6);
    const start = at + (long ? 12 : 8);
    if (element === 0x0010) return start + length > buffer.length ? MORE : buffer.toString('latin1', start, start + length).replace(/[\0 ]+$/, '');
    at = start + length;
  }
}

// ---- STOW-RS ----------------------------------------------------------------------------------------------------

interface Candidate {
  name: string;
  source: StoreSource;
  sopInstanceUID: string;
  sopClassUID: string;
  seriesInstanceUID: string;
  studyInstanceUID: string;
}

interface FileFailure {
  file: string;
  sop_instance_uid?: string;
  reason: string;
  reason_code?: number;
  /** False: refused before sending; true: the server refused it. */
  sent: boolean;
}

/** DICOM failure reasons (PS3.4 C.4.2.1.4, PS3.18 Annex I) in words. */
const FAILURE_REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match the SOP class or the study',
  0xc000: 'cannot understand (not a readable DICOM instance)',
  0xc122: 'transfer syntax not supported',
};

/** Per-file lists in a result; the counts are always complete. */
const MAX_LISTED = 100;

const storeOutput = {
  datastore_id: z.string(),
  status: z.enum(['stored', 'partial']).describe('stored: every file; partial: some files failed (see failed)'),
  stored_count: z.number(),
  failed_count: z.number(),
  stored: z.array(z.object({ file: z.string(), sop_instance_uid: z.string(), series_instance_uid: z.string(), study_instance_uid: z.string(), retrieve_url: z.string().optional(), warning: z.string().optional() })),
  failed: z.array(z.object({ file: z.string(), sop_instance_uid: z.string().optional(), reason: z.string(), reason_code: z.number().optional(), sent: z.boolean() })).describe(`The files not stored and why (the first ${MAX_LISTED})`),
  image_sets: z.array(z.object({ image_set_id: z.string(), series_instance_uid: z.string(), is_primary: z.boolean() })).describe('The image sets the stored instances are in'),
  request_id: z.string().optional(),
};

const storeDicom = defineTool({
  name: 'store_dicom',
  title: 'Store DICOM files (STOW-RS)',
  description:
    'Stores DICOM Part 10 files in a datastore with DICOMweb STOW-RS, without an import job: they are organised into image sets as an import would (new or merged primary image sets; conflicting ones non-primary). ' +
    'Give paths (files inside the directories the operator allows) or files_base64 (a few small files, at most 16 MB in all). Each file is checked first: one that is not DICOM, is truncated, or belongs to another study than study_instance_uid is reported and not sent. ' +
    `At most ${MAX_STORE_FILES} files and 1 GB per call. Returns the stored and failed instances (with DICOM failure reasons) and the image sets they are in. Sends progress notifications when the client asks. For S3 data use start_dicom_import_job.`,
  toolset: 'dicomweb',
  inputSchema: {
    datastore_id: datastoreId,
    paths: z.array(z.string().min(1).max(4096)).min(1).max(MAX_STORE_FILES).optional().describe('DICOM P10 files on the server\'s machine: absolute, or relative to the first allowed directory'),
    files_base64: z.array(z.string().min(1)).min(1).max(100).optional().describe('DICOM P10 files as base64, for small inputs (at most 16 MB decoded in all); use paths for anything larger'),
    study_instance_uid: studyUid.optional().describe('Store into this study (StoreDICOMStudy): every file must belong to it; others are reported and not sent'),
  },
  outputSchema: storeOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  handler: async (args, ctx) => {
    if (!args.paths && !args.files_base64) throw new DicomwebError('ValidationException', 'give paths or files_base64', 400, undefined, 'Pass the DICOM files to store.');
    const inputs = [...(await fileInputs(args.paths ?? [], ctx)), ...base64Inputs(args.files_base64 ?? [])];
    const total = inputs.reduce((n, i) => n + i.source.size, 0);
    if (total > MAX_STORE_BYTES) {
      throw new DicomwebError('RequestTooLarge', `the files add up to ${total} bytes; one store is at most ${MAX_STORE_BYTES} bytes (1 GB, HealthImaging's limit per request)`, 413, undefined, 'Store the files in several calls of under 1 GB each.');
    }
    const { candidates, failures } = await checkFiles(inputs, args.study_instance_uid, ctx.signal);
    if (!candidates.length) throw storeFailed(failures, 'no file could be sent');

    const client = await DicomwebClient.forClient(ctx.config, ctx.client);
    const progress = progressReporter(ctx, candidates.length);
    const response = await client.store(
      args.datastore_id,
      args.study_instance_uid,
      candidates.map((c) => c.source),
      { signal: ctx.signal, onProgress: progress },
    );
    const outcome = interpret(response, candidates);
    const allFailures = [...failures, ...outcome.failed];
    if (!outcome.stored.length) throw storeFailed(allFailures, 'the endpoint stored none of the files', response.requestId);
    const imageSets = client.healthImagingLayout
      ? await imageSetsOf(ctx, args.datastore_id, outcome.stored)
      : { found: [], note: 'The DICOMweb endpoint is a plain DICOMweb server (--dicomweb-endpoint-url), not HealthImaging: it keeps no image sets.' };
    const structured = {
      datastore_id: args.datastore_id,
      status: allFailures.length ? ('partial' as const) : ('stored' as const),
      stored_count: outcome.stored.length,
      failed_count: allFailures.length,
      stored: outcome.stored.slice(0, MAX_LISTED),
      failed: allFailures.slice(0, MAX_LISTED),
      image_sets: imageSets.found,
      ...(response.requestId && { request_id: response.requestId }),
    };
    return { text: storeText(structured, imageSets.note), structured };
  },
});

interface Input {
  name: string;
  source: StoreSource;
  read(): Promise<Uint8Array>;
  /** The first `count` bytes (all of them when there are fewer). */
  head(count: number): Promise<Uint8Array>;
}

async function fileInputs(paths: string[], ctx: ToolContext): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const given of paths) {
    // Confinement failures refuse the whole call: nothing is sent when a path was not allowed.
    const real = await ctx.files.resolveReadable(given);
    const { size } = await fs.stat(real);
    inputs.push({
      name: given,
      source: { name: given, size, open: () => createReadStream(real, { start: 0, end: Math.max(size - 1, 0), highWaterMark: 1024 * 1024 }) },
      read: () => fs.readFile(real),
      head: (count) => readHead(real, count),
    });
  }
  return inputs;
}

function base64Inputs(files: string[]): Input[] {
  const buffers = files.map((b64, i) => {
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(b64)) throw new DicomwebError('ValidationException', `files_base64[${i}] is not base64`, 400, undefined, 'Encode each file with standard base64.');
    return Buffer.from(b64, 'base64');
  });
  const total = buffers.reduce((n, b) => n + b.length, 0);
  if (total > MAX_BASE64_BYTES) {
    throw new DicomwebError('RequestTooLarge', `files_base64 holds ${total} bytes; base64 input is for at most ${MAX_BASE64_BYTES} bytes`, 413, undefined, 'Put the files in an allowed directory and pass paths instead.');
  }
  return buffers.map((bytes, i) => {
    const name = `files_base64[${i}]`;
    return { name, source: { name, size: bytes.length, open: () => Readable.from([bytes]) }, read: async () => bytes, head: async (count: number) => bytes.subarray(0, count) };
  });
}

async function readHead(file: string, count: number): Promise<Uint8Array> {
  const handle = await fs.open(file);
  try {
    const buffer = Buffer.allocUnsafe(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** How far checkFiles reads ahead: reading is I/O, and the checks before anything is sent are time the receiver waits. */
const READ_AHEAD = { files: 4, bytes: 64 * 1024 * 1024 };
/** What checkFiles reads of a file first: enough for most files (whose pixel data, last, need only fit the file). */
const CHECK_HEAD_BYTES = 64 * 1024;

/** identifyP10 on the file's first bytes, or on all of them when those do not decide. */
async function identify(input: Input): Promise<P10Identity> {
  if (input.source.size > CHECK_HEAD_BYTES) {
    try {
      return identifyP10(await input.head(CHECK_HEAD_BYTES), input.source.size);
    } catch (err) {
      if (!(err instanceof NeedWholeFile)) throw err;
    }
  }
  return identifyP10(await input.read());
}

type Checked = { ok: true; identity: P10Identity } | { ok: false; error: unknown };

/**
 * Checks each file: complete P10, its UIDs, the study asked for, no twin. What can be sent, and why the rest
 * cannot. Reads a few files ahead (at most READ_AHEAD, though always one), most of them only their first 64 KB, and
 * holds no file once it is checked. The receiver parses the files in full and reports what it refuses.
 */
async function checkFiles(inputs: Input[], study: string | undefined, signal: AbortSignal): Promise<{ candidates: Candidate[]; failures: FileFailure[] }> {
  const candidates: Candidate[] = [];
  const failures: FileFailure[] = [];
  const seen = new Map<string, string>();
  const pending: Array<Promise<Checked>> = [];
  let next = 0;
  let inFlight = 0;
  const readAhead = () => {
    while (next < inputs.length && pending.length < READ_AHEAD.files && (pending.length === 0 || inFlight + inputs[next]!.source.size <= READ_AHEAD.bytes)) {
      const input = inputs[next++]!;
      inFlight += input.source.size;
      pending.push(
        identify(input).then(
          (identity): Checked => ({ ok: true, identity }),
          (error: unknown): Checked => ({ ok: false, error }),
        ).finally(() => (inFlight -= input.source.size)),
      );
    }
  };
  for (const input of inputs) {
    signal.throwIfAborted();
    readAhead();
    const checked = await pending.shift()!;
    if (!checked.ok) {
      if (!(checked.error instanceof DicomParseError)) throw checked.error;
      failures.push({ file: input.name, reason: `not a usable DICOM file: ${checked.error.message}`, reason_code: 0xc000, sent: false });
      continue;
    }
    const { identity } = checked;
    const ids = { sopInstanceUID: identity.sopInstanceUID, sopClassUID: identity.sopClassUID, seriesInstanceUID: identity.seriesInstanceUID, studyInstanceUID: identity.studyInstanceUID };
    if (study !== undefined && identity.studyInstanceUID !== study) {
      failures.push({ file: input.name, sop_instance_uid: ids.sopInstanceUID, reason: `belongs to study ${ids.studyInstanceUID}, not to study ${study}`, reason_code: 0xa900, sent: false });
      continue;
    }
    const twin = seen.get(ids.sopInstanceUID);
    if (twin !== undefined) {
      failures.push({ file: input.name, sop_instance_uid: ids.sopInstanceUID, reason: `the same instance as ${twin}`, sent: false });
      continue;
    }
    seen.set(ids.sopInstanceUID, input.name);
    candidates.push({ name: input.name, source: input.source, ...ids });
  }
  return { candidates, failures };
}

/** Progress notifications, when the client sent a progress token: bytes sent of the total, at most every 200 ms. */
function progressReporter(ctx: ToolContext, count: number): ((sent: number, total: number, instances: number) => void) | undefined {
  const progressToken = ctx.extra._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  let last = 0;
  return (sent, total, instances) => {
    const now = Date.now();
    if (instances < count && now - last < 200) return;
    last = now;
    void ctx.extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken, progress: sent, total, message: `${instances} of ${count} files sent` } })
      .catch(() => undefined);
  };
}

const SEQUENCE = { referenced: '00081199', failed: '00081198' };
const TAGS = { sopInstance: '00081155', retrieveUrl: '00081190', warning: '00081196', failure: '00081197' };

/** The Store Instances Response, per file. */
function interpret(response: StoreResponse, candidates: Candidate[]) {
  const byUid = new Map(candidates.map((c, i) => [c.sopInstanceUID, { candidate: c, part: i + 1 }]));
  const items = (tag: string) => (response.dataset[tag]?.Value ?? []) as DicomJsonDataset[];
  const stored = items(SEQUENCE.referenced).flatMap((item) => {
    const found = byUid.get(String(first(item, TAGS.sopInstance)));
    if (!found) return [];
    const { candidate } = found;
    const url = first(item, TAGS.retrieveUrl);
    const warning = first(item, TAGS.warning);
    return [
      {
        file: candidate.name,
        sop_instance_uid: candidate.sopInstanceUID,
        series_instance_uid: candidate.seriesInstanceUID,
        study_instance_uid: candidate.studyInstanceUID,
        ...(typeof url === 'string' && { retrieve_url: url }),
        ...(warning !== undefined && { warning: `warning 0x${Number(warning).toString(16).toUpperCase()}` }),
      },
    ];
  });
  const storedUids = new Set(stored.map((s) => s.sop_instance_uid));
  // The endpoint's own words, where it gives them (the local service: `part N: …` in the Warning header).
  const words = new Map<number, string>();
  for (const text of response.warnings) {
    const m = /^part (\d+): (.*)$/s.exec(text);
    if (m) words.set(Number(m[1]), m[2]!);
  }
  const failed: FileFailure[] = [];
  const reported = new Set<string>();
  for (const item of items(SEQUENCE.failed)) {
    const uidValue = first(item, TAGS.sopInstance);
    const found = typeof uidValue === 'string' ? byUid.get(uidValue) : undefined;
    const code = Number(first(item, TAGS.failure));
    const reason = (found && words.get(found.part)) ?? FAILURE_REASONS[code] ?? `failure reason 0x${code.toString(16)}`;
    if (found) reported.add(found.candidate.sopInstanceUID);
    failed.push({ file: found?.candidate.name ?? 'unknown file', ...(typeof uidValue === 'string' && { sop_instance_uid: uidValue }), reason, ...(Number.isFinite(code) && { reason_code: code }), sent: true });
  }
  // Sent, yet neither stored nor reported failed: say so rather than claim success.
  for (const candidate of candidates) {
    if (!storedUids.has(candidate.sopInstanceUID) && !reported.has(candidate.sopInstanceUID)) {
      failed.push({ file: candidate.name, sop_instance_uid: candidate.sopInstanceUID, reason: 'sent, but the endpoint\'s response does not list it as stored', sent: true });
    }
  }
  return { stored, failed };
}

function storeFailed(failures: FileFailure[], what: string, requestId?: string): Error {
  const lines = failures.slice(0, 20).map((f) => `  ${f.file}: ${f.reason}`);
  if (failures.length > 20) lines.push(`  … and ${failures.length - 20} more`);
  return new DicomwebError('StoreFailed', `${what}; nothing was stored:\n${lines.join('\n')}`, 409, requestId, 'Fix or leave out the files named above, then call again.');
}

type StoredItem = ReturnType<typeof interpret>['stored'][number];

/**
 * The image sets the instances are in. A RetrieveURL with `?imageSetId=` names a non-primary image set; the rest are
 * in the primary image set of their series, which SearchImageSets finds. A failed look-up does not undo the store.
 */
async function imageSetsOf(ctx: ToolContext, datastore: string, stored: StoredItem[]) {
  const found: Array<{ image_set_id: string; series_instance_uid: string; is_primary: boolean }> = [];
  const add = (id: string, series: string, primary: boolean) => {
    if (!found.some((f) => f.image_set_id === id)) found.push({ image_set_id: id, series_instance_uid: series, is_primary: primary });
  };
  const primarySeries = new Set<string>();
  for (const item of stored) {
    const id = item.retrieve_url && /[?&]imageSetId=([0-9a-z]{32})/.exec(item.retrieve_url)?.[1];
    if (id) add(id, item.series_instance_uid, false);
    else primarySeries.add(item.series_instance_uid);
  }
  let note: string | undefined;
  try {
    for (const series of primarySeries) {
      const output = await ctx.client.send(
        new SearchImageSetsCommand({
          datastoreId: datastore,
          searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMSeriesInstanceUID: series }] }, { operator: 'EQUAL', values: [{ isPrimary: true }] }] },
          maxResults: 10,
        }),
        { abortSignal: ctx.signal },
      );
      for (const summary of output.imageSetsMetadataSummaries ?? []) if (summary.imageSetId) add(summary.imageSetId, series, summary.isPrimary ?? true);
    }
  } catch (err) {
    note = `The image sets could not be looked up (${(err as Error).name}: ${(err as Error).message}); search_image_sets by series UID finds them.`;
  }
  if (!note && primarySeries.size && !found.some((f) => f.is_primary)) note = 'No primary image set was found for the stored series yet; search_image_sets by series UID finds it later.';
  return { found, ...(note && { note }) };
}

function storeText(result: { datastore_id: string; stored_count: number; failed_count: number; stored: StoredItem[]; failed: FileFailure[]; image_sets: Array<{ image_set_id: string; series_instance_uid: string; is_primary: boolean }>; request_id?: string }, note?: string): string {
  const total = result.stored_count + result.failed_count;
  const studies = [...new Set(result.stored.map((s) => s.study_instance_uid))];
  const more = studies.length > 3 ? ` and ${studies.length - 3} more` : '';
  const lines = [`Stored ${result.stored_count} of ${total} file${total === 1 ? '' : 's'} in datastore ${result.datastore_id} (study ${studies.slice(0, 3).join(', ')}${more}).`];
  if (result.failed_count) {
    lines.push(`Not stored (${result.failed_count}):`);
    for (const f of result.failed.slice(0, 20)) lines.push(`  ${f.file}: ${f.reason}${f.sent ? '' : ' (not sent)'}`);
    if (result.failed_count > 20) lines.push(`  … and ${result.failed_count - 20} more (the structured result lists the first ${MAX_LISTED})`);
  }
  if (result.image_sets.length) {
    lines.push('Image sets:');
    for (const s of result.image_sets) lines.push(`  ${s.image_set_id} (series ${s.series_instance_uid}${s.is_primary ? ', primary' : ', non-primary: pass image_set_id to read it'})`);
  }
  if (note) lines.push(note);
  if (result.request_id) lines.push(`Request ID: ${result.request_id}`);
  return lines.join('\n');
}

export const DICOMWEB_TOOLS = [storeDicom, searchStudies, searchSeries, searchInstances, instanceMetadata, seriesMetadata, saveInstance];
