/**
 * What the DICOMweb endpoints see of a datastore: the series and instances of its image sets, read from their
 * current metadata documents. Searches and retrievals act on primary image sets unless `?imageSetId=` names one
 * (spec §4), so the catalog answers for either scope.
 *
 * Documents are immutable per version, so each image set's summary is cached under its current document version
 * and rebuilt only when a write gives it a new one. The summary keeps the patient, study and series attributes and
 * a few instance attributes (those searches match on and return); retrievals read the whole document, of which
 * the most recently used few stay parsed.
 */
import type { DicomAttributes, ImageSetMetadataDocument, InstanceDocument } from '../../dicom/types.js';
import { activeDatastore, findImageSet, type ServiceContext } from '../api/context.js';
import { isLivePrimary } from '../api/image-set-writes.js';
import { notFound } from '../errors.js';
import { currentDocumentVersion } from '../organize.js';
import type { ImageSetRecord } from '../store/records.js';

/** Instance attributes kept for searches: the match keys and default return keys of the instance level. */
const INSTANCE_KEYS = [
  'SpecificCharacterSet', 'SOPClassUID', 'SOPInstanceUID', 'InstanceNumber', 'Rows', 'Columns', 'BitsAllocated',
  'NumberOfFrames', 'TimezoneOffsetFromUTC', 'PerformedProcedureStepStartDate', 'PerformedProcedureStepStartTime',
] as const;

export interface CatalogInstance {
  sopInstanceUID: string;
  attributes: DicomAttributes;
  frameCount: number;
  storedTransferSyntaxUID: string;
}

export interface CatalogSeries {
  datastoreId: string;
  imageSetId: string;
  isPrimary: boolean;
  updatedAt: number;
  /** The document version this summary was read from. */
  documentVersionId: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  patient: DicomAttributes;
  study: DicomAttributes;
  series: DicomAttributes;
  instances: CatalogInstance[];
}

/** The instance as the document holds it, with all levels merged, for retrievals. */
export interface FoundInstance {
  series: CatalogSeries;
  document: InstanceDocument;
  /** Patient, study, series and instance attributes in one object. */
  attributes: DicomAttributes;
}

const text = (value: unknown): string => String((Array.isArray(value) ? value[0] : value) ?? '').trim();

/** Parsed documents kept for retrievals: a viewer reads one series' frames one request at a time. */
const DOCUMENT_CACHE_SIZE = 4;

export class DicomwebCatalog {
  private readonly summaries = new Map<string, { version: string; series: Promise<CatalogSeries[]> }>();
  /** Least recently used first (Map order). */
  private readonly documents = new Map<string, Promise<ImageSetMetadataDocument>>();

  constructor(private readonly service: ServiceContext) {}

  /**
   * The series in scope: those of the live primary image sets, or, with `imageSetId`, of that image set (primary
   * or not; 404 when it does not exist).
   */
  async seriesInScope(datastoreId: string, imageSetId?: string): Promise<CatalogSeries[]> {
    activeDatastore(this.service, datastoreId);
    if (imageSetId !== undefined) return this.summary(findImageSet(this.service, datastoreId, imageSetId));
    const live: ImageSetRecord[] = [];
    for (const record of this.service.store.imageSets(datastoreId)) if (isLivePrimary(record)) live.push(record);
    this.forgetAllBut(datastoreId, new Set(live.map((r) => r.imageSetId)));
    return (await Promise.all(live.map((record) => this.summary(record)))).flat();
  }

  /** The series in scope with this UID (one, unless non-primary image sets share it and one is named). */
  async findSeries(datastoreId: string, study: string, series: string, imageSetId?: string): Promise<CatalogSeries[]> {
    const found = (await this.seriesInScope(datastoreId, imageSetId)).filter((s) => s.studyInstanceUID === study && s.seriesInstanceUID === series);
    if (found.length === 0) throw notFound(`Series ${series} of study ${study} does not exist in ${imageSetId ? `image set ${imageSetId}` : `the primary image sets of datastore ${datastoreId}`}.`);
    return found;
  }

  async findInstance(datastoreId: string, study: string, series: string, sop: string, imageSetId?: string): Promise<FoundInstance> {
    for (const entry of await this.findSeries(datastoreId, study, series, imageSetId)) {
      if (!entry.instances.some((i) => i.sopInstanceUID === sop)) continue;
      const [found] = await this.instancesOf(entry, [sop]);
      if (found) return found;
    }
    throw notFound(`Instance ${sop} does not exist in series ${series} of study ${study}.`);
  }

  /** Full documents of instances of one catalog series (all of them when `sops` is omitted), in catalog order. */
  async instancesOf(entry: CatalogSeries, sops?: readonly string[]): Promise<FoundInstance[]> {
    const doc = await this.document(entry.datastoreId, entry.imageSetId, entry.documentVersionId);
    const series = doc.Study.Series[entry.seriesInstanceUID];
    if (!series) return [];
    const wanted = sops ?? entry.instances.map((i) => i.sopInstanceUID);
    const common = { ...doc.Patient.DICOM, ...doc.Study.DICOM, ...series.DICOM };
    return wanted.flatMap((sop) => {
      const document = series.Instances[sop];
      return document ? [{ series: entry, document, attributes: { ...common, ...document.DICOM } }] : [];
    });
  }

  /** A document version, parsed; versions never change, so a cached one is never stale. */
  private document(datastoreId: string, imageSetId: string, version: string): Promise<ImageSetMetadataDocument> {
    const key = `${datastoreId}/${imageSetId}/${version}`;
    let doc = this.documents.get(key);
    if (doc) this.documents.delete(key);
    else {
      doc = this.service.store.readDocument(datastoreId, imageSetId, version);
      doc.catch(() => this.documents.delete(key));
    }
    this.documents.set(key, doc);
    if (this.documents.size > DOCUMENT_CACHE_SIZE) this.documents.delete(this.documents.keys().next().value!);
    return doc;
  }

  private summary(record: ImageSetRecord): Promise<CatalogSeries[]> {
    const key = `${record.datastoreId}/${record.imageSetId}`;
    const version = currentDocumentVersion(record);
    const cached = this.summaries.get(key);
    if (cached?.version === version) return cached.series.then((series) => series.map((s) => ({ ...s, updatedAt: record.updatedAt })));
    const series = this.document(record.datastoreId, record.imageSetId, version).then((doc) => summarise(doc, record, version));
    // A failed read is not cached: the next request tries again.
    series.catch(() => this.summaries.delete(key));
    this.summaries.set(key, { version, series });
    return series;
  }

  private forgetAllBut(datastoreId: string, live: ReadonlySet<string>): void {
    for (const key of this.summaries.keys()) {
      const [ds, imageSetId] = key.split('/') as [string, string];
      if (ds === datastoreId && !live.has(imageSetId)) this.summaries.delete(key);
    }
  }
}

function summarise(doc: ImageSetMetadataDocument, record: ImageSetRecord, version: string): CatalogSeries[] {
  return Object.entries(doc.Study.Series).map(([seriesUid, series]) => ({
    datastoreId: record.datastoreId,
    imageSetId: record.imageSetId,
    isPrimary: record.isPrimary,
    updatedAt: record.updatedAt,
    documentVersionId: version,
    studyInstanceUID: text(doc.Study.DICOM.StudyInstanceUID),
    seriesInstanceUID: seriesUid,
    patient: doc.Patient.DICOM,
    study: doc.Study.DICOM,
    series: series.DICOM,
    instances: Object.entries(series.Instances).map(([sop, instance]) => ({
      sopInstanceUID: sop,
      attributes: Object.fromEntries(INSTANCE_KEYS.filter((k) => k in instance.DICOM).map((k) => [k, instance.DICOM[k]])),
      frameCount: instance.ImageFrames.length,
      storedTransferSyntaxUID: instance.StoredTransferSyntaxUID,
    })),
  }));
}
