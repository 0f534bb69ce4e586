/**
 * QIDO-RS (spec §4.4): SearchDICOMStudies, SearchDICOMSeries (study-scoped and all), SearchDICOMInstances
 * (series-scoped, study-scoped and all). Results are DICOM JSON arrays; no match is 204 with no body.
 *
 * Every match key is tested against each instance of the image sets in scope together with its series, study and
 * patient attributes, and the matching instances are then grouped at the level searched: a study matches when any
 * of its instances does (so `ModalitiesInStudy=MR` finds studies with an MR series). Counts and modalities of a
 * result cover all of its instances in scope, not only the matching ones.
 *
 * Choices where HealthImaging's behaviour is not documented:
 * - a match key outside the documented list, or an unknown parameter, is a 400 naming the supported keys (rather
 *   than being ignored, which would return unfiltered results);
 * - `limit` above 1,000 is lowered to 1,000 with a Warning header; `offset` above 9,000 is a 400;
 * - studies are ordered most recently updated first; series by SeriesNumber; instances by InstanceNumber (within a
 *   study-scoped search, most recently updated image set first, as documented);
 * - study attributes come from the study's most recently updated image set.
 */
import { lookupAttribute } from '../../dicom/dictionary.js';
import { tagOf, toDicomJson } from '../../dicom/dicom-json.js';
import type { DicomAttributes } from '../../dicom/types.js';
import { queryValue } from '../api/context.js';
import { validationError } from '../errors.js';
import type { RequestContext, Reply } from '../http.js';
import type { CatalogInstance, CatalogSeries, DicomwebCatalog } from './catalog.js';
import { matcherFor, textValues, type Matcher } from './matching.js';
import { requireDicomJson } from './negotiate.js';
import { dicomJsonReply, noContent, ResourceUrls, warning } from './responses.js';

export type SearchLevel = 'study' | 'series' | 'instance';

export interface SearchTarget {
  level: SearchLevel;
  datastoreId: string;
  /** From the path: `/studies/{study}/series`, `/studies/{study}/instances`, `/studies/{study}/series/{series}/instances`. */
  study?: string;
  series?: string;
}

/** Match keys HealthImaging documents (spec §4.4), by keyword. */
const MATCH_KEYS: ReadonlySet<string> = new Set([
  'StudyDate', 'StudyTime', 'AccessionNumber', 'ModalitiesInStudy', 'Modality', 'ReferringPhysicianName', 'StudyDescription',
  'PatientName', 'PatientID', 'PatientBirthDate', 'PatientBirthTime', 'StudyInstanceUID', 'StudyID', 'SeriesInstanceUID',
  'SeriesNumber', 'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime', 'SOPClassUID', 'SOPInstanceUID',
]);

/** Attributes returned by default at each level (PS3.18 Table 10.6.3-3/-4/-5). */
const RETURN_KEYS: Readonly<Record<SearchLevel, readonly string[]>> = {
  study: [
    'SpecificCharacterSet', 'StudyDate', 'StudyTime', 'AccessionNumber', 'InstanceAvailability', 'ModalitiesInStudy',
    'ReferringPhysicianName', 'TimezoneOffsetFromUTC', 'RetrieveURL', 'PatientName', 'PatientID', 'PatientBirthDate',
    'PatientSex', 'StudyInstanceUID', 'StudyID', 'StudyDescription', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances',
  ],
  series: [
    'SpecificCharacterSet', 'Modality', 'TimezoneOffsetFromUTC', 'SeriesDescription', 'RetrieveURL', 'SeriesInstanceUID',
    'SeriesNumber', 'NumberOfSeriesRelatedInstances', 'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime',
  ],
  instance: ['SpecificCharacterSet', 'SOPClassUID', 'SOPInstanceUID', 'InstanceAvailability', 'TimezoneOffsetFromUTC', 'RetrieveURL', 'InstanceNumber', 'Rows', 'Columns', 'BitsAllocated', 'NumberOfFrames'],
};

const MAX_LIMIT = 1000;
const MAX_OFFSET = 9000;
const RESERVED = new Set(['limit', 'offset', 'includefield', 'fuzzymatching', 'imageSetId']);

interface Filter {
  keyword: string;
  /** Undefined for universal matching. */
  matcher: Matcher | undefined;
}

interface ParsedQuery {
  filters: Filter[];
  include: Set<string> | 'all';
  limit: number;
  offset: number;
  imageSetId: string | undefined;
  warnings: string[];
}

/** A DICOM keyword from a query parameter name: a keyword or an 8-hex tag. */
function keywordOf(name: string): string | undefined {
  const entry = lookupAttribute(name);
  return entry?.keyword;
}

function integerParam(ctx: RequestContext, name: string, fallback: number): number {
  const raw = queryValue(ctx, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw validationError(`Query parameter '${name}' must be a non-negative integer.`);
  return Number(raw);
}

function parseQuery(ctx: RequestContext, target: SearchTarget): ParsedQuery {
  const warnings: string[] = [];
  const fuzzyRaw = queryValue(ctx, 'fuzzymatching');
  if (fuzzyRaw !== undefined && fuzzyRaw !== 'true' && fuzzyRaw !== 'false') throw validationError("Query parameter 'fuzzymatching' must be true or false.");
  const fuzzy = fuzzyRaw === 'true';

  let limit = integerParam(ctx, 'limit', MAX_LIMIT);
  if (limit === 0) throw validationError("Query parameter 'limit' must be at least 1.");
  if (limit > MAX_LIMIT) {
    warnings.push(`limit ${limit} exceeds the maximum of ${MAX_LIMIT}; at most ${MAX_LIMIT} results are returned per request`);
    limit = MAX_LIMIT;
  }
  const offset = integerParam(ctx, 'offset', 0);
  if (offset > MAX_OFFSET) throw validationError(`Query parameter 'offset' must be at most ${MAX_OFFSET}.`);

  const imageSetId = queryValue(ctx, 'imageSetId');
  if (imageSetId !== undefined && !/^[0-9a-z]{32}$/.test(imageSetId)) throw validationError("Query parameter 'imageSetId' must be 32 lowercase letters or digits.");

  const include = parseIncludeFields(ctx);
  const filters: Filter[] = [];
  for (const name of Object.keys(ctx.query)) {
    if (RESERVED.has(name)) continue;
    const keyword = keywordOf(name);
    if (!keyword) throw validationError(`Query parameter '${name}' is neither a search option (${[...RESERVED].join(', ')}) nor a DICOM attribute keyword or tag.`);
    if (!MATCH_KEYS.has(keyword)) throw validationError(`${keyword} is not supported as a match key; supported: ${[...MATCH_KEYS].join(', ')}.`);
    const value = queryValue(ctx, name) ?? '';
    filters.push({ keyword, matcher: matcherFor(keyword, lookupAttribute(keyword)!.vr, value, { fuzzy }) });
  }
  // The path's UIDs are match keys too.
  if (target.study) filters.push({ keyword: 'StudyInstanceUID', matcher: matcherFor('StudyInstanceUID', 'UI', target.study, { fuzzy }) });
  if (target.series) filters.push({ keyword: 'SeriesInstanceUID', matcher: matcherFor('SeriesInstanceUID', 'UI', target.series, { fuzzy }) });
  return { filters, include, limit, offset, imageSetId, warnings };
}

function parseIncludeFields(ctx: RequestContext): Set<string> | 'all' {
  const raw = ctx.query.includefield;
  const names = (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return 'all';
  const keywords = new Set<string>();
  for (const name of names) {
    const keyword = keywordOf(name);
    if (!keyword) throw validationError(`includefield '${name}' is not a DICOM attribute keyword or tag.`);
    keywords.add(keyword);
  }
  return keywords;
}

// ---------------------------------------------------------------------------------------------------------------

interface Row {
  series: CatalogSeries;
  instance: CatalogInstance;
}

/** A row's value of an attribute at any level; ModalitiesInStudy is the row's series' Modality. */
function valueOf(row: Row, keyword: string): unknown {
  if (keyword === 'ModalitiesInStudy') return row.series.series.Modality;
  const { instance, series } = row;
  for (const level of [instance.attributes, series.series, series.study, series.patient]) {
    if (keyword in level) return level[keyword];
  }
  return undefined;
}

const numberOf = (value: unknown): number => {
  const n = Number(textValues(value)[0]);
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
};

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface Result {
  rows: Row[];
  /** All rows of the result in scope, for counts and modalities. */
  members: Row[];
  /** The member most recently updated: a study result returns its study attributes and sorts by its update time. */
  newest: Row;
}

function group(matched: Row[], all: Row[], key: (row: Row) => string): Result[] {
  const members = new Map<string, Row[]>();
  for (const row of all) {
    const k = key(row);
    const list = members.get(k) ?? [];
    list.push(row);
    members.set(k, list);
  }
  const results = new Map<string, Result>();
  for (const row of matched) {
    const k = key(row);
    let result = results.get(k);
    if (!result) {
      const all = members.get(k) ?? [row];
      result = { rows: [], members: all, newest: all.reduce((a, b) => (b.series.updatedAt > a.series.updatedAt ? b : a)) };
      results.set(k, result);
    }
    result.rows.push(row);
  }
  return [...results.values()];
}

function sortResults(level: SearchLevel, target: SearchTarget, results: Result[]): Result[] {
  const first = (r: Result) => r.rows[0]!;
  const compare = {
    study: (a: Result, b: Result) => b.newest.series.updatedAt - a.newest.series.updatedAt || byText(first(a).series.studyInstanceUID, first(b).series.studyInstanceUID),
    series: (a: Result, b: Result) =>
      numberOf(first(a).series.series.SeriesNumber) - numberOf(first(b).series.series.SeriesNumber) || byText(first(a).series.seriesInstanceUID, first(b).series.seriesInstanceUID),
    instance: (a: Result, b: Result) => {
      const byUpdate = target.study && !target.series ? first(b).series.updatedAt - first(a).series.updatedAt : 0;
      return (
        byUpdate ||
        numberOf(first(a).instance.attributes.InstanceNumber) - numberOf(first(b).instance.attributes.InstanceNumber) ||
        byText(first(a).instance.sopInstanceUID, first(b).instance.sopInstanceUID)
      );
    },
  }[level];
  return results.sort(compare);
}

/** Runs a search and answers it. */
export async function search(catalog: DicomwebCatalog, ctx: RequestContext, target: SearchTarget): Promise<Reply> {
  requireDicomJson(ctx.headers.accept);
  const query = parseQuery(ctx, target);
  const all: Row[] = (await catalog.seriesInScope(target.datastoreId, query.imageSetId)).flatMap((series) => series.instances.map((instance) => ({ series, instance })));
  const matched = all.filter((row) => query.filters.every((f) => !f.matcher || f.matcher(valueOf(row, f.keyword))));
  const key = {
    study: (r: Row) => r.series.studyInstanceUID,
    series: (r: Row) => `${r.series.studyInstanceUID}/${r.series.seriesInstanceUID}`,
    instance: (r: Row) => `${r.series.imageSetId}/${r.series.seriesInstanceUID}/${r.instance.sopInstanceUID}`,
  }[target.level];
  const page = sortResults(target.level, target, group(matched, all, key)).slice(query.offset, query.offset + query.limit);
  const headers = query.warnings.length ? { warning: query.warnings.map(warning).join(', ') } : undefined;
  if (page.length === 0) return { ...noContent(), ...(headers && { headers }) };

  const urls = new ResourceUrls(ctx, target.datastoreId);
  const body = await Promise.all(page.map((result) => describe(catalog, target, query, result, urls)));
  return dicomJsonReply(body, { ...(headers && { headers }) });
}

/** Levels whose attributes a result carries: the one searched, and those above it that the path does not fix. */
function levelsReturned(target: SearchTarget): SearchLevel[] {
  if (target.level === 'study') return ['study'];
  if (target.level === 'series') return target.study ? ['series'] : ['study', 'series'];
  return [...(target.study ? [] : (['study'] as const)), ...(target.series ? [] : (['series'] as const)), 'instance'];
}

const isFileMeta = (key: string) => tagOf(key)?.startsWith('0002') ?? false;

/** The attributes returned for one result, as DICOM JSON. */
async function describe(catalog: DicomwebCatalog, target: SearchTarget, query: ParsedQuery, result: Result, urls: ResourceUrls) {
  const { level } = target;
  const row = level === 'study' ? result.newest : result.rows[0]!;
  const { series } = row;
  const keys = new Set<string>(levelsReturned(target).flatMap((l) => RETURN_KEYS[l]));
  for (const filter of query.filters) keys.add(filter.keyword);
  if (query.include !== 'all') for (const k of query.include) keys.add(k);

  // Instance attributes beyond the few the catalog keeps are read from the document.
  const wantsMore = query.include === 'all' || query.include.size > 0;
  const full = level === 'instance' && wantsMore ? (await catalog.instancesOf(series, [row.instance.sopInstanceUID]))[0] : undefined;
  const lookup = (keyword: string): unknown => (full && keyword in full.attributes ? full.attributes[keyword] : valueOf(row, keyword));

  const attributes: DicomAttributes = {};
  if (query.include === 'all') {
    const levels = level === 'study' ? [series.patient, series.study] : [series.patient, series.study, series.series, full?.attributes ?? {}];
    for (const [k, v] of levels.flatMap((l) => Object.entries(l))) if (!isFileMeta(k)) attributes[k] = v;
  }
  for (const k of keys) {
    const value = k === 'ModalitiesInStudy' ? undefined : lookup(k);
    if (value !== undefined) attributes[k] = value;
    // A universal match key is returned even when the result has no value for it.
    else if (query.filters.some((f) => f.keyword === k)) attributes[k] = null;
  }

  attributes.InstanceAvailability = 'ONLINE';
  const studyUid = series.studyInstanceUID;
  if (level === 'study') {
    attributes.ModalitiesInStudy = [...new Set(result.members.flatMap((r) => textValues(r.series.series.Modality)))].sort();
    attributes.NumberOfStudyRelatedSeries = String(new Set(result.members.map((r) => r.series.seriesInstanceUID)).size);
    attributes.NumberOfStudyRelatedInstances = String(result.members.length);
    attributes.RetrieveURL = urls.study(studyUid, query.imageSetId);
  } else if (level === 'series') {
    attributes.NumberOfSeriesRelatedInstances = String(result.members.length);
    attributes.RetrieveURL = urls.series(studyUid, series.seriesInstanceUID, query.imageSetId);
  } else {
    attributes.RetrieveURL = urls.instance(studyUid, series.seriesInstanceUID, row.instance.sopInstanceUID, query.imageSetId);
  }
  return toDicomJson(attributes, full?.document.DICOMVRs ?? {});
}
