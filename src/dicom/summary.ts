/** A compact, agent-sized view of a metadata document: who, which study and series, how many instances and frames. */
import type { DicomAttributes, ImageSetMetadataDocument } from './types.js';

export interface InstanceSummary {
  sop_instance_uid: string;
  series_instance_uid: string;
  instance_number?: number;
  rows?: number;
  columns?: number;
  frame_count: number;
  frame_ids: string[];
  stored_transfer_syntax: string;
}

export interface MetadataSummary {
  patient: { name?: string; id?: string; birth_date?: string; sex?: string };
  study: { study_instance_uid?: string; date?: string; time?: string; description?: string; accession_number?: string; study_id?: string };
  /** The first series (all of them unless `maxSeries` is given). */
  series: Array<{ series_instance_uid: string; modality?: string; series_number?: number; description?: string; body_part?: string; instance_count: number; frame_count: number }>;
  series_count: number;
  instance_count: number;
  frame_count: number;
  transfer_syntaxes: Record<string, number>;
  /** A page of instances (from `offset`), by series then InstanceNumber. */
  instances: InstanceSummary[];
  /** Index of the first instance listed. */
  instance_offset: number;
}

const TS_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.4.202': 'HTJ2K lossless RPCL',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian (uncompressed)',
};
export const transferSyntaxName = (uid: string) => TS_NAMES[uid] ?? uid;

/** A value's first scalar as text; undefined for none, and for sequences and other objects a document may hold. */
const text = (v: unknown): string | undefined => {
  const first: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof first !== 'string' && typeof first !== 'number') return undefined;
  const s = String(first).trim();
  return s === '' ? undefined : s;
};
const int = (v: unknown): number | undefined => {
  const n = Number.parseInt(text(v) ?? '', 10);
  return Number.isFinite(n) ? n : undefined;
};
const num = (attrs: DicomAttributes, key: string) => (typeof attrs[key] === 'number' ? (attrs[key] as number) : int(attrs[key]));

/** The instance-level attributes `summarizeMetadata` reads: a document parsed with only these gives the same summary. */
export const SUMMARY_INSTANCE_ATTRIBUTES: ReadonlySet<string> = new Set(['InstanceNumber', 'Rows', 'Columns']);

export function summarizeMetadata(doc: ImageSetMetadataDocument, options: { maxInstances: number; offset?: number; maxSeries?: number; maxFrameIdsPerInstance?: number }): MetadataSummary {
  const offset = options.offset ?? 0;
  const p = doc.Patient.DICOM;
  const s = doc.Study.DICOM;
  const transferSyntaxes: Record<string, number> = {};
  const series: MetadataSummary['series'] = [];
  const instances: InstanceSummary[] = [];
  let instanceCount = 0;
  let frameCount = 0;
  let index = 0;
  for (const [seriesUid, se] of Object.entries(doc.Study.Series)) {
    let seriesFrames = 0;
    // Each instance number read once, not once per comparison.
    const entries = Object.entries(se.Instances)
      .map(([sop, inst]) => ({ sop, inst, number: num(inst.DICOM, 'InstanceNumber') }))
      .sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
    for (const { sop, inst, number } of entries) {
      const frames = inst.ImageFrames.length;
      seriesFrames += frames;
      const ts = inst.StoredTransferSyntaxUID ?? '1.2.840.10008.1.2.4.202';
      transferSyntaxes[ts] = (transferSyntaxes[ts] ?? 0) + 1;
      if (index++ >= offset && instances.length < options.maxInstances) {
        instances.push({
          sop_instance_uid: sop,
          series_instance_uid: seriesUid,
          instance_number: number,
          rows: num(inst.DICOM, 'Rows'),
          columns: num(inst.DICOM, 'Columns'),
          frame_count: frames,
          frame_ids: inst.ImageFrames.slice(0, options.maxFrameIdsPerInstance ?? 3).map((f) => f.ID),
          stored_transfer_syntax: ts,
        });
      }
    }
    instanceCount += entries.length;
    frameCount += seriesFrames;
    if (series.length < (options.maxSeries ?? Number.POSITIVE_INFINITY)) series.push({
      series_instance_uid: seriesUid,
      modality: text(se.DICOM.Modality),
      series_number: int(se.DICOM.SeriesNumber),
      description: text(se.DICOM.SeriesDescription),
      body_part: text(se.DICOM.BodyPartExamined),
      instance_count: entries.length,
      frame_count: seriesFrames,
    });
  }
  return {
    patient: { name: text(p.PatientName), id: text(p.PatientID), birth_date: text(p.PatientBirthDate), sex: text(p.PatientSex) },
    study: {
      study_instance_uid: text(s.StudyInstanceUID),
      date: text(s.StudyDate),
      time: text(s.StudyTime),
      description: text(s.StudyDescription),
      accession_number: text(s.AccessionNumber),
      study_id: text(s.StudyID),
    },
    series,
    series_count: Object.keys(doc.Study.Series).length,
    instance_count: instanceCount,
    frame_count: frameCount,
    transfer_syntaxes: transferSyntaxes,
    instances,
    instance_offset: offset,
  };
}

/** The summary as a few lines of text. */
export function formatSummary(summary: MetadataSummary): string {
  const { patient: p, study: s } = summary;
  const lines = [
    `Patient: ${p.name ?? '(no name)'} (ID ${p.id ?? '?'})${p.birth_date ? `, born ${p.birth_date}` : ''}${p.sex ? `, sex ${p.sex}` : ''}`,
    `Study: ${s.study_instance_uid ?? '?'}${s.date ? ` on ${s.date}${s.time ? ` ${s.time}` : ''}` : ''}${s.description ? ` "${s.description}"` : ''}${s.accession_number ? `, accession ${s.accession_number}` : ''}`,
    ...summary.series.map(
      (se) =>
        `Series ${se.series_instance_uid}: ${se.modality ?? '?'}${se.series_number !== undefined ? ` #${se.series_number}` : ''}${se.description ? ` "${se.description}"` : ''}${se.body_part ? ` ${se.body_part}` : ''}, ${se.instance_count} instance(s), ${se.frame_count} frame(s)`,
    ),
    ...(summary.series_count > summary.series.length ? [`… and ${summary.series_count - summary.series.length} more series (level "series" lists them all, a page at a time)`] : []),
    `Stored as: ${Object.entries(summary.transfer_syntaxes).map(([ts, n]) => `${transferSyntaxName(ts)} (${ts}) ×${n}`).join('; ') || 'no frames'}`,
    summary.instances.length === 0
      ? `Instances: none listed (${summary.instance_count} in all).`
      : `Instances ${summary.instance_offset + 1}–${summary.instance_offset + summary.instances.length} of ${summary.instance_count}, by series then InstanceNumber:`,
    ...summary.instances.map(
      (i) =>
        `  #${i.instance_number ?? '?'} ${i.sop_instance_uid}${i.rows ? ` ${i.columns}×${i.rows}` : ''}, ${i.frame_count} frame(s): ${i.frame_ids.join(', ')}${i.frame_count > i.frame_ids.length ? ', …' : ''}`,
    ),
    ...(summary.instances.some((i) => i.frame_count > i.frame_ids.length) ? ['All frame IDs of an instance: call again with its sop_instance_uid.'] : []),
  ];
  return lines.join('\n');
}

export interface LocatedFrame {
  seriesInstanceUID: string;
  sopInstanceUID: string;
  /** 0-based index of the frame in its instance. */
  frameIndex: number;
  /** Series attributes with the instance's on top: what rendering a frame needs (e.g. PixelPaddingValue is a Series attribute). */
  attributes: DicomAttributes;
  storedTransferSyntaxUID: string;
  /** CRC32 of the decoded full-resolution frame, as the metadata records it. */
  checksum: number | undefined;
}

/** Finds the instance a frame ID belongs to. */
export function locateFrame(doc: ImageSetMetadataDocument, frameId: string): LocatedFrame | undefined {
  for (const [seriesInstanceUID, series] of Object.entries(doc.Study.Series)) {
    for (const [sopInstanceUID, instance] of Object.entries(series.Instances)) {
      const frameIndex = instance.ImageFrames.findIndex((f) => f.ID === frameId);
      if (frameIndex < 0) continue;
      return {
        seriesInstanceUID,
        sopInstanceUID,
        frameIndex,
        attributes: { ...series.DICOM, ...instance.DICOM },
        storedTransferSyntaxUID: instance.StoredTransferSyntaxUID ?? '1.2.840.10008.1.2.4.202',
        checksum: instance.ImageFrames[frameIndex]!.PixelDataChecksumFromBaseToFullResolution.at(-1)?.Checksum,
      };
    }
  }
  return undefined;
}
