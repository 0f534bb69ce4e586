/**
 * SearchImageSets (spec §3.5): up to two filters ANDed together, EQUAL or BETWEEN, sorted (default updatedAt
 * DESC), keyset-paged. Deleted image sets are never returned; LOCKED ones are.
 *
 * Choices where the spec marks behaviour as inferred (tested in test/local/search.test.ts):
 * - BETWEEN applies to createdAt, updatedAt and DICOMStudyDateAndTime only; on other attributes it is a
 *   ValidationException. Bounds are inclusive.
 * - DICOMStudyDateAndTime EQUAL without a time matches every time on that date; with a time it matches
 *   the date and the time (compared on HHMMSS, fractions ignored). A missing time in a BETWEEN bound is 00:00:00.
 * - ID attributes match exactly and case-sensitively.
 * - DICOMNumberOfStudyRelatedSeries/Instances count what the image set holds.
 */
import { z } from 'zod';
import type { ImageSetMetadataDocument } from '../../dicom/types.js';
import { validationError } from '../errors.js';
import type { Route } from '../http.js';
import type { ImageSetRecord, SearchTags } from '../store/records.js';
import * as v from '../validation.js';
import { activeDatastore, compareKeys, paginate, parseInput, parseJsonBody, queryValue, type ServiceContext } from './context.js';

const len = (max: number) => `Member must have length less than or equal to ${max}`;
const dicomString = (max: number) => z.string().max(max, len(max));
const uidString = z.string().max(512, len(512)).regex(/^[0-9.]+$/, 'Member must satisfy regular expression pattern: [0-9.]+');
const epoch = z.number({ error: 'Member must be a timestamp (epoch seconds)' });

const searchValue = z
  .object({
    DICOMPatientId: dicomString(512).optional(),
    DICOMAccessionNumber: dicomString(512).optional(),
    DICOMStudyId: dicomString(512).optional(),
    DICOMStudyInstanceUID: uidString.optional(),
    DICOMSeriesInstanceUID: uidString.optional(),
    createdAt: epoch.optional(),
    updatedAt: epoch.optional(),
    DICOMStudyDateAndTime: z
      .object({
        DICOMStudyDate: z.string().max(18, len(18)).regex(/^\d{8}$/, 'Member must be a date in YYYYMMDD format'),
        DICOMStudyTime: z
          .string()
          .max(28, len(28))
          .regex(/^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/, 'Member must be a time in HHMMSS[.FFFFFF] format')
          .optional(),
      })
      .optional(),
    isPrimary: z.boolean({ error: 'Member must be a boolean' }).optional(),
  })
  .superRefine((value, ctx) => {
    const keys = Object.entries(value).filter(([, x]) => x !== undefined);
    if (keys.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `Each search value must set exactly one attribute (got ${keys.length})` });
    }
  });

type SearchValue = z.infer<typeof searchValue>;
type Attribute = keyof SearchValue;

const BETWEEN_ATTRIBUTES: readonly Attribute[] = ['createdAt', 'updatedAt', 'DICOMStudyDateAndTime'];

const criteriaSchema = z.object({
  filters: z
    .array(
      z.object({
        values: z.array(searchValue).min(1, 'Member must have length greater than or equal to 1').max(2, 'Member must have length less than or equal to 2'),
        operator: v.enumOf(['EQUAL', 'BETWEEN']),
      }),
    )
    .min(1, 'Member must have length greater than or equal to 1')
    .max(2, 'Member must have length less than or equal to 2')
    .optional(),
  sort: z
    .object({
      sortOrder: v.enumOf(['ASC', 'DESC']),
      sortField: v.enumOf(['updatedAt', 'createdAt', 'DICOMStudyDateAndTime']),
    })
    .optional(),
});

type Criteria = z.infer<typeof criteriaSchema>;
type Predicate = (record: ImageSetRecord) => boolean;

const attributeOf = (value: SearchValue): Attribute => Object.keys(value).find((k) => value[k as Attribute] !== undefined) as Attribute;

/** `YYYYMMDDHHMMSS` of a study, for ordering and ranges. */
function studyDateTime(date: string | undefined, time: string | undefined): string {
  if (!date) return '';
  const hhmmss = (time ?? '').replace(/\..*$/, '').padEnd(6, '0').slice(0, 6);
  return `${date}${hhmmss}`;
}

function numberAttribute(record: ImageSetRecord, attribute: 'createdAt' | 'updatedAt'): number {
  return record[attribute];
}

function buildPredicate(filter: NonNullable<Criteria['filters']>[number], index: number): Predicate {
  const where = `searchCriteria.filters.${index}`;
  const attributes = new Set(filter.values.map(attributeOf));
  if (attributes.size !== 1) throw validationError(`${where}: all values of one filter must use the same attribute`);
  const attribute = [...attributes][0]!;

  if (filter.operator === 'BETWEEN') {
    if (filter.values.length !== 2) throw validationError(`${where}: BETWEEN needs exactly 2 values (lower bound, upper bound)`);
    if (!BETWEEN_ATTRIBUTES.includes(attribute)) {
      throw validationError(`${where}: BETWEEN is supported for ${BETWEEN_ATTRIBUTES.join(', ')}, not ${attribute}; use EQUAL`);
    }
    const [lo, hi] = filter.values as [SearchValue, SearchValue];
    if (attribute === 'DICOMStudyDateAndTime') {
      const low = studyDateTime(lo.DICOMStudyDateAndTime?.DICOMStudyDate, lo.DICOMStudyDateAndTime?.DICOMStudyTime);
      const high = studyDateTime(hi.DICOMStudyDateAndTime?.DICOMStudyDate, hi.DICOMStudyDateAndTime?.DICOMStudyTime ?? '235959');
      return (r) => {
        const x = studyDateTime(r.searchTags.DICOMStudyDate, r.searchTags.DICOMStudyTime);
        return x !== '' && x >= low && x <= high;
      };
    }
    const key = attribute as 'createdAt' | 'updatedAt';
    const low = lo[key]!;
    const high = hi[key]!;
    return (r) => numberAttribute(r, key) >= low && numberAttribute(r, key) <= high;
  }

  if (filter.values.length !== 1) throw validationError(`${where}: EQUAL takes exactly 1 value`);
  const value = filter.values[0]!;
  switch (attribute) {
    case 'createdAt':
    case 'updatedAt': {
      const wanted = value[attribute]!;
      return (r) => numberAttribute(r, attribute) === wanted;
    }
    case 'isPrimary':
      return (r) => r.isPrimary === value.isPrimary;
    case 'DICOMStudyDateAndTime': {
      const { DICOMStudyDate: date, DICOMStudyTime: time } = value.DICOMStudyDateAndTime!;
      if (time === undefined) return (r) => r.searchTags.DICOMStudyDate === date;
      const wanted = studyDateTime(date, time);
      return (r) => studyDateTime(r.searchTags.DICOMStudyDate, r.searchTags.DICOMStudyTime) === wanted;
    }
    default: {
      const wanted = value[attribute];
      return (r) => r.searchTags[attribute as keyof SearchTags] === wanted;
    }
  }
}

function sortKey(field: 'updatedAt' | 'createdAt' | 'DICOMStudyDateAndTime'): (r: ImageSetRecord) => string | number {
  if (field === 'DICOMStudyDateAndTime') return (r) => studyDateTime(r.searchTags.DICOMStudyDate, r.searchTags.DICOMStudyTime);
  return (r) => r[field];
}

export function searchSummary(record: ImageSetRecord) {
  return {
    imageSetId: record.imageSetId,
    version: Number(record.latestVersionId),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    storageTier: record.storageTier,
    DICOMTags: record.searchTags,
    isPrimary: record.isPrimary,
  };
}

export function searchRoutes(service: ServiceContext): Route[] {
  return [
    {
      method: 'POST',
      path: '/datastore/{datastoreId}/searchImageSets',
      handler: async (ctx) => {
        const { datastoreId } = parseInput(z.object({ datastoreId: v.datastoreId }), ctx.params);
        const query = parseInput(z.object({ nextToken: v.nextToken.optional(), maxResults: v.maxResults.optional() }), {
          nextToken: queryValue(ctx, 'nextToken'),
          maxResults: queryValue(ctx, 'maxResults'),
        });
        const criteria = parseInput(z.object({ searchCriteria: criteriaSchema }), { searchCriteria: parseJsonBody(ctx) }).searchCriteria;
        activeDatastore(service, datastoreId);
        const predicates = (criteria.filters ?? []).map(buildPredicate);
        const sort = criteria.sort ?? { sortField: 'updatedAt' as const, sortOrder: 'DESC' as const };
        const key = sortKey(sort.sortField);
        const direction = sort.sortOrder === 'ASC' ? 1 : -1;
        const compare = (a: { k: string | number; id: string }, b: { k: string | number; id: string }) => direction * compareKeys(a, b);

        const matches: ImageSetRecord[] = [];
        for (const record of service.store.imageSets(datastoreId)) {
          if (record.imageSetState !== 'DELETED' && predicates.every((p) => p(record))) matches.push(record);
        }
        const { page, nextToken } = paginate(matches, {
          key,
          id: (r) => r.imageSetId,
          compare,
          query: criteria,
          nextToken: query.nextToken,
          maxResults: query.maxResults ?? 50,
        });
        return { json: { imageSetsMetadataSummaries: page.map(searchSummary), sort, ...(nextToken && { nextToken }) } };
      },
    },
  ];
}

/** DICOM pads odd-length text with a space, and the document keeps it; search matches the value without it. */
const text = (value: unknown): string | undefined => {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === null || first === undefined) return undefined;
  const trimmed = String(first).trim();
  return trimmed === '' ? undefined : trimmed;
};

/** The DICOM summary of a metadata document that SearchImageSets filters on and returns. */
export function searchTagsOf(doc: ImageSetMetadataDocument): SearchTags {
  const patient = doc.Patient.DICOM;
  const study = doc.Study.DICOM;
  const seriesUids = Object.keys(doc.Study.Series);
  const firstSeries = seriesUids[0] === undefined ? undefined : doc.Study.Series[seriesUids[0]];
  const seriesNumber = Number.parseInt(text(firstSeries?.DICOM.SeriesNumber) ?? '', 10);
  let instances = 0;
  for (const uid of seriesUids) instances += Object.keys(doc.Study.Series[uid]!.Instances).length;
  const tags: SearchTags = {
    DICOMPatientId: text(patient.PatientID),
    DICOMPatientName: text(patient.PatientName),
    DICOMPatientBirthDate: text(patient.PatientBirthDate),
    DICOMPatientSex: text(patient.PatientSex),
    DICOMStudyInstanceUID: text(study.StudyInstanceUID),
    DICOMStudyId: text(study.StudyID),
    DICOMStudyDescription: text(study.StudyDescription),
    DICOMNumberOfStudyRelatedSeries: seriesUids.length,
    DICOMNumberOfStudyRelatedInstances: instances,
    DICOMAccessionNumber: text(study.AccessionNumber),
    DICOMSeriesInstanceUID: seriesUids[0],
    DICOMSeriesModality: text(firstSeries?.DICOM.Modality),
    DICOMSeriesBodyPart: text(firstSeries?.DICOM.BodyPartExamined),
    DICOMSeriesNumber: Number.isFinite(seriesNumber) ? seriesNumber : undefined,
    DICOMStudyDate: text(study.StudyDate),
    DICOMStudyTime: text(study.StudyTime),
  };
  return Object.fromEntries(Object.entries(tags).filter(([, x]) => x !== undefined)) as SearchTags;
}
