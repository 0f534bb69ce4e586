/**
 * A readable diff between two metadata documents: which attribute changed, at which level, old → new. Used for
 * dry runs and confirmation summaries of updates, and to compare image-set versions.
 */
import type { DicomAttributes, ImageSetMetadataDocument } from './types.js';

export type Level = 'Patient' | 'Study' | 'Series' | 'Instance';

export type MetadataChange =
  | { kind: 'attribute'; level: Level; series?: string; instance?: string; attribute: string; before: unknown; after: unknown }
  | { kind: 'instance-added' | 'instance-removed'; series: string; instance: string }
  | { kind: 'series-added' | 'series-removed'; series: string };

/** Marks an attribute that is absent (as opposed to present with a null value). */
export const ABSENT = Symbol('absent');

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function diffAttributes(before: DicomAttributes, after: DicomAttributes, where: { level: Level; series?: string; instance?: string }): MetadataChange[] {
  const changes: MetadataChange[] = [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const attribute of [...keys].sort()) {
    const had = Object.hasOwn(before, attribute);
    const has = Object.hasOwn(after, attribute);
    if (had && has && same(before[attribute], after[attribute])) continue;
    changes.push({ kind: 'attribute', ...where, attribute, before: had ? before[attribute] : ABSENT, after: has ? after[attribute] : ABSENT });
  }
  return changes;
}

export function diffDocuments(before: ImageSetMetadataDocument, after: ImageSetMetadataDocument): MetadataChange[] {
  const changes = [
    ...diffAttributes(before.Patient.DICOM, after.Patient.DICOM, { level: 'Patient' }),
    ...diffAttributes(before.Study.DICOM, after.Study.DICOM, { level: 'Study' }),
  ];
  const seriesUids = new Set([...Object.keys(before.Study.Series), ...Object.keys(after.Study.Series)]);
  for (const series of [...seriesUids].sort()) {
    const a = before.Study.Series[series];
    const b = after.Study.Series[series];
    if (!a) {
      changes.push({ kind: 'series-added', series });
      continue;
    }
    if (!b) {
      changes.push({ kind: 'series-removed', series });
      continue;
    }
    changes.push(...diffAttributes(a.DICOM, b.DICOM, { level: 'Series', series }));
    const instances = new Set([...Object.keys(a.Instances), ...Object.keys(b.Instances)]);
    for (const instance of [...instances].sort()) {
      const x = a.Instances[instance];
      const y = b.Instances[instance];
      if (!x) changes.push({ kind: 'instance-added', series, instance });
      else if (!y) changes.push({ kind: 'instance-removed', series, instance });
      else changes.push(...diffAttributes({ ...x.DICOM, ...prefixed(x.DICOMVRs) }, { ...y.DICOM, ...prefixed(y.DICOMVRs) }, { level: 'Instance', series, instance }));
    }
  }
  return changes;
}

/** VR declarations are part of what an update can change; show them as `DICOMVRs.<tag>`. */
const prefixed = (vrs: Record<string, string> | undefined) => Object.fromEntries(Object.entries(vrs ?? {}).map(([k, vr]) => [`DICOMVRs.${k}`, vr]));

const show = (value: unknown) => (value === ABSENT ? '(absent)' : JSON.stringify(value));

/** One line per change, e.g. `Patient PatientName: "DOE^J" → "DOE^JANE"`. */
export function formatChange(change: MetadataChange): string {
  switch (change.kind) {
    case 'attribute': {
      const where = change.instance ? `Instance ${change.instance}` : change.series ? `Series ${change.series}` : change.level;
      return `${where} ${change.attribute}: ${show(change.before)} → ${show(change.after)}`;
    }
    case 'instance-added':
      return `Instance ${change.instance} added to series ${change.series}`;
    case 'instance-removed':
      return `Instance ${change.instance} removed from series ${change.series}`;
    case 'series-added':
      return `Series ${change.series} added`;
    case 'series-removed':
      return `Series ${change.series} removed`;
  }
}
