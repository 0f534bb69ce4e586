/**
 * Views of a metadata document sized for an agent: one level (patient, study, series or instance), optionally only
 * some attributes, optionally one series or instance, instances a page at a time; as a compact table or as JSON, under
 * a hard character cap that says what was cut and how to get the rest. Pure functions; the tool does the I/O.
 */
import { HEX_TAG, lookupAttribute } from './dictionary.js';
import type { Level } from './diff.js';
import { levelOf } from './levels.js';
import type { DicomAttributes, ImageSetMetadataDocument } from './types.js';

export type ViewLevel = 'patient' | 'study' | 'series' | 'instance';
export const VIEW_LEVELS: readonly ViewLevel[] = ['patient', 'study', 'series', 'instance'];
const DEPTH: Record<ViewLevel, number> = { patient: 0, study: 1, series: 2, instance: 3 };
const FROM_LEVEL: Record<Level, ViewLevel> = { Patient: 'patient', Study: 'study', Series: 'series', Instance: 'instance' };

export class ViewError extends Error {
  override readonly name = 'InvalidViewRequest';
  readonly hint = 'Fix the argument the message names and call again.';
}

/** `PatientName`, `00100010`, `(0010,0010)` or `0010,0010` → the key the document uses (keyword, or 8-hex tag). */
export function attributeKey(input: string): string {
  const trimmed = input.trim();
  const hex = trimmed.replace(/^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$/, '$1$2');
  if (HEX_TAG.test(hex)) {
    const entry = lookupAttribute(hex);
    return entry ? entry.keyword.replace(/^RETIRED_/, '') : hex.toUpperCase();
  }
  const entry = lookupAttribute(trimmed) ?? lookupAttribute(`RETIRED_${trimmed}`);
  if (!entry) throw new ViewError(`'${input}' is neither a DICOM keyword (e.g. PatientName, SliceThickness) nor a tag (e.g. 00100010 or (0010,0010)).`);
  return entry.keyword.replace(/^RETIRED_/, '');
}

/** The level an attribute lives at in HealthImaging documents (private and unknown tags: instance). */
export const levelOfKey = (key: string): ViewLevel => (HEX_TAG.test(key) ? 'instance' : FROM_LEVEL[levelOf(key)]);

export interface ViewRow {
  level: ViewLevel;
  series_instance_uid?: string;
  sop_instance_uid?: string;
  instance_number?: number;
  frame_count?: number;
  /** The instance's frame IDs (for get_image_frame): the first few, or a page of them when one instance is asked for. */
  frame_ids?: string[];
  /** Index of the first frame in frame_ids (0-based). */
  frame_offset?: number;
  attributes: DicomAttributes;
}

export interface ViewRequest {
  level: ViewLevel;
  /** Document keys (see attributeKey); undefined = every attribute of the level. */
  attributes?: string[];
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
  /** First row to return (paging); rows are series in document order, instances by series then InstanceNumber. */
  offset: number;
  /** Most rows to return. */
  limit: number;
  /** With sopInstanceUid: the first frame ID to list (frames page instead of rows). */
  frameOffset?: number;
}

/** Frame IDs listed per page when one instance is asked for. */
export const MAX_FRAME_IDS = 100;

export interface View {
  rows: ViewRow[];
  /** Rows matching the request before paging. */
  total: number;
  /** Requested attributes found nowhere in the rows returned. */
  missing: string[];
}

const instanceNumber = (attrs: DicomAttributes): number | undefined => {
  const raw = Array.isArray(attrs.InstanceNumber) ? attrs.InstanceNumber[0] : attrs.InstanceNumber;
  const n = typeof raw === 'number' ? raw : Number.parseInt(String(raw ?? ''), 10);
  return Number.isFinite(n) ? n : undefined;
};

/** `attrs` restricted to `keys` (in their order); undefined keys = all. Absent keys are left out. */
function pick(sources: DicomAttributes[], keys: string[] | undefined): DicomAttributes {
  if (!keys) return { ...sources[0] };
  const out: DicomAttributes = {};
  for (const key of keys) {
    const hit = sources.find((s) => Object.hasOwn(s, key) || (HEX_TAG.test(key) && Object.keys(s).some((k) => k.toUpperCase() === key)));
    if (!hit) continue;
    const actual = Object.hasOwn(hit, key) ? key : Object.keys(hit).find((k) => k.toUpperCase() === key)!;
    out[key] = hit[actual];
  }
  return out;
}

/** The rows of a view, paged; throws ViewError when a filter names a series or instance the document lacks. */
export function viewMetadata(doc: ImageSetMetadataDocument, request: ViewRequest): View {
  const { level, attributes: keys } = request;
  const patient = doc.Patient.DICOM;
  const study = doc.Study.DICOM;
  let seriesEntries = Object.entries(doc.Study.Series);
  if (request.seriesInstanceUid !== undefined) {
    seriesEntries = seriesEntries.filter(([uid]) => uid === request.seriesInstanceUid);
    if (!seriesEntries.length) throw new ViewError(`Series ${request.seriesInstanceUid} is not in this image set; its series are: ${Object.keys(doc.Study.Series).join(', ')}.`);
  }

  let all: ViewRow[];
  if (level === 'patient') all = [{ level, attributes: pick([patient], keys) }];
  else if (level === 'study') all = [{ level, attributes: pick([study, patient], keys) }];
  else if (level === 'series') all = seriesEntries.map(([uid, se]) => ({ level, series_instance_uid: uid, attributes: pick([se.DICOM, study, patient], keys) }));
  else {
    all = [];
    for (const [uid, se] of seriesEntries) {
      const instances = Object.entries(se.Instances)
        .filter(([sop]) => request.sopInstanceUid === undefined || sop === request.sopInstanceUid)
        .sort(([, a], [, b]) => (instanceNumber(a.DICOM) ?? 0) - (instanceNumber(b.DICOM) ?? 0));
      for (const [sop, inst] of instances) {
        all.push({
          level,
          series_instance_uid: uid,
          sop_instance_uid: sop,
          instance_number: instanceNumber(inst.DICOM),
          frame_count: inst.ImageFrames.length,
          ...(request.sopInstanceUid !== undefined
            ? { frame_ids: inst.ImageFrames.slice(request.frameOffset ?? 0, (request.frameOffset ?? 0) + MAX_FRAME_IDS).map((f) => f.ID), frame_offset: request.frameOffset ?? 0 }
            : { frame_ids: inst.ImageFrames.slice(0, 3).map((f) => f.ID) }),
          attributes: pick([inst.DICOM, se.DICOM, study, patient], keys),
        });
      }
    }
    if (request.sopInstanceUid !== undefined && !all.length) throw new ViewError(`Instance ${request.sopInstanceUid} is not in ${request.seriesInstanceUid ? `series ${request.seriesInstanceUid} of ` : ''}this image set.`);
  }
  const rows = all.slice(request.offset, request.offset + request.limit);
  const missing = keys ? keys.filter((k) => !rows.some((r) => Object.hasOwn(r.attributes, k))) : [];
  return { rows, total: all.length, missing };
}

/** The level a view of these attributes defaults to: the deepest level any of them lives at. */
export function defaultLevel(keys: string[]): ViewLevel {
  return keys.map(levelOfKey).reduce<ViewLevel>((deepest, l) => (DEPTH[l] > DEPTH[deepest] ? l : deepest), 'patient');
}

// ---- text --------------------------------------------------------------------------------------------------------

/** Longest value shown in a table cell; longer ones are cut with their length noted. */
export const MAX_VALUE_CHARS = 200;

/** One value as table text: multi-values joined with `\`, sequences as an item count, empty as `(empty)`. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '(empty)';
  if (Array.isArray(value)) {
    if (value.some((v) => typeof v === 'object' && v !== null)) return `[sequence, ${value.length} item(s)]`;
    return value.map((v) => cell(v)).join('\\');
  }
  const text = (typeof value === 'string' ? value.trim() : JSON.stringify(value)).replace(/[\r\n\t]+/g, ' ');
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}… (${text.length} chars)` : text;
}

const rowLabel = (row: ViewRow): string =>
  row.level === 'instance'
    ? row.frame_offset !== undefined && row.frame_count! > row.frame_ids!.length
      ? `Instance #${row.instance_number ?? '?'} ${row.sop_instance_uid} (${row.frame_count} frame(s); frames ${row.frame_offset + 1}–${row.frame_offset + row.frame_ids!.length}: ${row.frame_ids!.join(', ')})`
      : `Instance #${row.instance_number ?? '?'} ${row.sop_instance_uid} (${row.frame_count} frame(s): ${row.frame_ids!.join(', ')}${row.frame_count! > row.frame_ids!.length ? ', …' : ''})`
    : row.level === 'series'
      ? `Series ${row.series_instance_uid}`
      : row.level === 'patient'
        ? 'Patient'
        : 'Study';

/**
 * Rows as text lines. With chosen attributes, a table: a header and one `|`-separated line per row. Without, one block
 * per row: its label, then `Keyword: value` lines.
 */
export function formatRowsAsTable(rows: ViewRow[], keys: string[] | undefined): string[][] {
  if (keys) {
    const idColumns = rows[0]?.level === 'instance' ? ['#', 'SOPInstanceUID', 'frames'] : rows[0]?.level === 'series' ? ['SeriesInstanceUID'] : [];
    const header = [...idColumns, ...keys].join(' | ');
    const lines = rows.map((row) => {
      const ids = row.level === 'instance' ? [String(row.instance_number ?? '?'), row.sop_instance_uid!, String(row.frame_count)] : row.level === 'series' ? [row.series_instance_uid!] : [];
      return [[...ids, ...keys.map((k) => (Object.hasOwn(row.attributes, k) ? cell(row.attributes[k]) : '—'))].join(' | ')];
    });
    return [[header], ...lines];
  }
  return rows.map((row) => [rowLabel(row), ...Object.entries(row.attributes).map(([k, v]) => `  ${k}: ${cell(v)}`)]);
}

/** Rows as JSON text chunks, one per row (values as stored, long strings cut like table cells). */
export function formatRowsAsJson(rows: ViewRow[]): string[][] {
  return rows.map((row) => [JSON.stringify(clipValues(row))]);
}

/** A value with long strings inside it cut to MAX_VALUE_CHARS (so that one huge value cannot eat a whole budget). */
export function clip(value: unknown): unknown {
  if (typeof value === 'string') return value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}… (${value.length} chars)` : value;
  if (Array.isArray(value)) return value.map(clip);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, clip(x)]));
  return value;
}

/** A row with its long values cut. */
export function clipValues(row: ViewRow): ViewRow {
  return { ...row, attributes: clip(row.attributes) as DicomAttributes };
}

/**
 * Takes whole chunks (a row's lines) while they fit in `budget` characters; returns how many were taken. The first
 * chunk is always taken, cut at a line if it alone is too long, so that a result is never empty.
 */
export function fitChunks(chunks: string[][], budget: number): { lines: string[]; taken: number; cutInside: boolean } {
  const lines: string[] = [];
  let used = 0;
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    const size = chunk.reduce((n, line) => n + line.length + 1, 0);
    if (used + size <= budget) {
      lines.push(...chunk);
      used += size;
      continue;
    }
    if (i === 0) {
      for (const line of chunk) {
        if (used + line.length + 1 > budget) return { lines, taken: 1, cutInside: true };
        lines.push(line);
        used += line.length + 1;
      }
    }
    return { lines, taken: i, cutInside: false };
  }
  return { lines, taken: chunks.length, cutInside: false };
}
