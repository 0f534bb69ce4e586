/**
 * PHI redaction (`--redact-phi`): masks the attributes that identify the patient in the three shapes DICOM data reaches
 * the MCP layer in: the HealthImaging metadata document, DICOM JSON datasets (DICOMweb), and the DICOMTags of
 * SearchImageSets results.
 *
 * Which attributes: those of DICOM PS3.15 Annex E, Table E.1-1 (Basic Application Level Confidentiality Profile) that
 * name, identify, locate or reach the patient, or key straight into their records:
 * - the Patient module and demographics: names (incl. other, birth and mother's birth names), IDs (incl. other IDs,
 *   their issuers and sequences), birth date and time (incl. alternative calendars), address, region and country of
 *   residence, telephone and telecom, ethnic group, religion, occupation, military rank and branch, insurance plan,
 *   medical record locator, responsible person and organisation, comments, medical alerts, allergies, history, last
 *   menstrual date, referenced patient, alias and photo sequences;
 * - the visit: admission and service-episode IDs with their issuers, admitting date and time, patient location and
 *   residence, patient state, special needs, transport arrangements, visit comments, pre-medication;
 * - identifiers of the patient's orders and trial enrolment: AccessionNumber (and its issuer), StudyID,
 *   RequestedProcedureID, ClinicalTrialSubjectID and ClinicalTrialSubjectReadingID; IdentifyingComments; and the
 *   PersonAddress / PersonTelephoneNumbers / PersonTelecomInformation of person macros;
 * - every private data element (Annex E removes them unless "Retain Safe Private" is in force, and vendors do put
 *   names and IDs in them). Private creator elements (gggg,0010–00FF) are kept: they name the vendor's block.
 *
 * Kept on purpose: PatientSex, PatientAge, PatientSize, PatientWeight, PatientSexNeutered, SmokingStatus and
 * PregnancyStatus (the profile's "Retain Patient Characteristics" option; EthnicGroup, which that option would keep,
 * is masked); UIDs, dates other than birth, descriptions, and the names of staff, institutions and devices (they are
 * the handles the tools work with, or identify the care provider rather than the patient). Pixel data is not touched:
 * text burned into images is out of scope.
 *
 * How: a masked value becomes a keyed pseudonym, `[redacted 1a2b3c4d]` (HMAC-SHA-256 of the value under a key that
 * never leaves the process, 32 bits shown). Equal values give equal pseudonyms, so an agent can still tell that two
 * image sets belong to the same patient, or that an update changed a name, without seeing a value; without the key a
 * pseudonym cannot be reversed or tested against a guess. Empty values (null, "", []) stay empty; sequences keep their
 * shape with every value inside masked. Functions return new objects and never change their input.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { HEX_TAG } from './dictionary.js';
import type { ImageSetMetadataDocument } from './types.js';

export interface PhiAttribute {
  /** 8 hex digits, upper case. */
  tag: string;
  /** PS3.6 keyword, as HealthImaging keys the metadata document. */
  keyword: string;
}

/** The masked attributes (see the module comment); tags and keywords from PS3.6. */
export const PHI_ATTRIBUTES: readonly PhiAttribute[] = [
  // Patient identity and demographics
  { tag: '00100010', keyword: 'PatientName' },
  { tag: '00100020', keyword: 'PatientID' },
  { tag: '00100021', keyword: 'IssuerOfPatientID' },
  { tag: '00100024', keyword: 'IssuerOfPatientIDQualifiersSequence' },
  { tag: '00100030', keyword: 'PatientBirthDate' },
  { tag: '00100032', keyword: 'PatientBirthTime' },
  { tag: '00100033', keyword: 'PatientBirthDateInAlternativeCalendar' },
  { tag: '00100034', keyword: 'PatientDeathDateInAlternativeCalendar' },
  { tag: '00100050', keyword: 'PatientInsurancePlanCodeSequence' },
  { tag: '00100101', keyword: 'PatientPrimaryLanguageCodeSequence' },
  { tag: '00100102', keyword: 'PatientPrimaryLanguageModifierCodeSequence' },
  { tag: '00101000', keyword: 'OtherPatientIDs' },
  { tag: '00101001', keyword: 'OtherPatientNames' },
  { tag: '00101002', keyword: 'OtherPatientIDsSequence' },
  { tag: '00101005', keyword: 'PatientBirthName' },
  { tag: '00101040', keyword: 'PatientAddress' },
  { tag: '00101050', keyword: 'InsurancePlanIdentification' },
  { tag: '00101060', keyword: 'PatientMotherBirthName' },
  { tag: '00101080', keyword: 'MilitaryRank' },
  { tag: '00101081', keyword: 'BranchOfService' },
  { tag: '00101090', keyword: 'MedicalRecordLocator' },
  { tag: '00101100', keyword: 'ReferencedPatientPhotoSequence' },
  { tag: '00102000', keyword: 'MedicalAlerts' },
  { tag: '00102110', keyword: 'Allergies' },
  { tag: '00102150', keyword: 'CountryOfResidence' },
  { tag: '00102152', keyword: 'RegionOfResidence' },
  { tag: '00102154', keyword: 'PatientTelephoneNumbers' },
  { tag: '00102155', keyword: 'PatientTelecomInformation' },
  { tag: '00102160', keyword: 'EthnicGroup' },
  { tag: '00102180', keyword: 'Occupation' },
  { tag: '001021B0', keyword: 'AdditionalPatientHistory' },
  { tag: '001021D0', keyword: 'LastMenstrualDate' },
  { tag: '001021F0', keyword: 'PatientReligiousPreference' },
  { tag: '00102297', keyword: 'ResponsiblePerson' },
  { tag: '00102299', keyword: 'ResponsibleOrganization' },
  { tag: '00104000', keyword: 'PatientComments' },
  { tag: '00081120', keyword: 'ReferencedPatientSequence' },
  { tag: '00380004', keyword: 'ReferencedPatientAliasSequence' },
  // Visit
  { tag: '00380010', keyword: 'AdmissionID' },
  { tag: '00380011', keyword: 'IssuerOfAdmissionID' },
  { tag: '00380014', keyword: 'IssuerOfAdmissionIDSequence' },
  { tag: '0038001E', keyword: 'ScheduledPatientInstitutionResidence' },
  { tag: '00380020', keyword: 'AdmittingDate' },
  { tag: '00380021', keyword: 'AdmittingTime' },
  { tag: '00380040', keyword: 'DischargeDiagnosisDescription' },
  { tag: '00380050', keyword: 'SpecialNeeds' },
  { tag: '00380060', keyword: 'ServiceEpisodeID' },
  { tag: '00380061', keyword: 'IssuerOfServiceEpisodeID' },
  { tag: '00380062', keyword: 'ServiceEpisodeDescription' },
  { tag: '00380064', keyword: 'IssuerOfServiceEpisodeIDSequence' },
  { tag: '00380300', keyword: 'CurrentPatientLocation' },
  { tag: '00380400', keyword: 'PatientInstitutionResidence' },
  { tag: '00380500', keyword: 'PatientState' },
  { tag: '00384000', keyword: 'VisitComments' },
  { tag: '00400012', keyword: 'PreMedication' },
  { tag: '00401004', keyword: 'PatientTransportArrangements' },
  { tag: '00403001', keyword: 'ConfidentialityConstraintOnPatientDataDescription' },
  // Identifiers of the patient's orders and trial enrolment; person contact macros
  { tag: '00080050', keyword: 'AccessionNumber' },
  { tag: '00080051', keyword: 'IssuerOfAccessionNumberSequence' },
  { tag: '00200010', keyword: 'StudyID' },
  { tag: '00401001', keyword: 'RequestedProcedureID' },
  { tag: '00120040', keyword: 'ClinicalTrialSubjectID' },
  { tag: '00120042', keyword: 'ClinicalTrialSubjectReadingID' },
  { tag: '00084000', keyword: 'IdentifyingComments' },
  { tag: '00401102', keyword: 'PersonAddress' },
  { tag: '00401103', keyword: 'PersonTelephoneNumbers' },
  { tag: '00401104', keyword: 'PersonTelecomInformation' },
];

/** The DICOMTags of a SearchImageSets summary that carry PHI (the search API's own names). */
export const PHI_SEARCH_TAGS = ['DICOMPatientName', 'DICOMPatientId', 'DICOMPatientBirthDate', 'DICOMAccessionNumber', 'DICOMStudyId'] as const;

const BY_TAG = new Set(PHI_ATTRIBUTES.map((a) => a.tag));
// dcmjs prefixes retired keywords with RETIRED_; accept both spellings.
const BY_KEYWORD = new Set(PHI_ATTRIBUTES.flatMap((a) => [a.keyword, `RETIRED_${a.keyword}`]));

/** A private data element (odd group, element ≥ 0x1000); private creators (gggg,0010–00FF) are not. */
export function isPrivateDataElement(tag: string): boolean {
  if (!HEX_TAG.test(tag)) return false;
  const group = Number.parseInt(tag.slice(0, 4), 16);
  const element = Number.parseInt(tag.slice(4), 16);
  return group % 2 === 1 && group > 0x0008 && element >= 0x1000;
}

/** Whether an attribute, by keyword or 8-hex tag, is masked. */
export function isRedacted(key: string): boolean {
  return BY_KEYWORD.has(key) || (HEX_TAG.test(key) && (BY_TAG.has(key.toUpperCase()) || isPrivateDataElement(key)));
}

/** Turns one non-empty value into its mask. */
export type Masker = (value: string) => string;

/** Keyed pseudonyms (see the module comment); a fresh random key unless one is given (tests). */
export function pseudonymizer(key: Uint8Array = randomBytes(32)): Masker {
  // DICOM pads values to even length with spaces (and HealthImaging keeps the padding in documents but not in search
  // results): padding is not part of the value, so it does not change the pseudonym.
  return (value) => `[redacted ${createHmac('sha256', key).update(value.trim(), 'utf8').digest('hex').slice(0, 8)}]`;
}

/** How many values were masked, for the note that says so. */
export interface RedactionCount {
  masked: number;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Every value inside `value` masked, its shape (arrays, sequence items and their keys) kept. */
function maskDeep(value: unknown, mask: Masker, count: RedactionCount): unknown {
  if (value === null || value === undefined || value === '') return value;
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, mask, count));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, mask, count)]));
  count.masked += 1;
  return mask(typeof value === 'string' ? value : JSON.stringify(value));
}

/** Attributes keyed by keyword or 8-hex tag, as in the metadata document; recurses into sequence items. */
export function redactAttributes(attributes: Record<string, unknown>, mask: Masker, count: RedactionCount = { masked: 0 }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (isRedacted(key)) out[key] = maskDeep(value, mask, count);
    else if (Array.isArray(value) && value.some(isObject)) out[key] = value.map((item) => (isObject(item) ? redactAttributes(item, mask, count) : item));
    else out[key] = value;
  }
  return out;
}

/** The metadata document with the PHI of every level (Patient, Study, Series, Instance) masked. */
export function redactMetadataDocument(doc: ImageSetMetadataDocument, mask: Masker, count: RedactionCount = { masked: 0 }): ImageSetMetadataDocument {
  const series = Object.fromEntries(
    Object.entries(doc.Study.Series).map(([uid, se]) => [
      uid,
      {
        ...se,
        DICOM: redactAttributes(se.DICOM, mask, count),
        Instances: Object.fromEntries(Object.entries(se.Instances).map(([sop, inst]) => [sop, { ...inst, DICOM: redactAttributes(inst.DICOM, mask, count) }])),
      },
    ]),
  );
  return {
    ...doc,
    Patient: { ...doc.Patient, DICOM: redactAttributes(doc.Patient.DICOM, mask, count) },
    Study: { ...doc.Study, DICOM: redactAttributes(doc.Study.DICOM, mask, count), Series: series },
  };
}

/** One DICOM JSON attribute (PS3.18 F.2): `{ vr, Value?, InlineBinary?, BulkDataURI? }`. */
export interface DicomJsonAttribute {
  vr?: string;
  Value?: unknown[];
  InlineBinary?: string;
  BulkDataURI?: string;
}
export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);

/**
 * A masked DICOM JSON attribute that stays valid DICOM JSON: strings and person-name components masked, sequence
 * items masked throughout, and values that cannot hold a mask (numbers, binary, bulk data references) left out.
 */
function maskJsonAttribute(attribute: DicomJsonAttribute, mask: Masker, count: RedactionCount): DicomJsonAttribute {
  const { Value, InlineBinary, BulkDataURI, ...rest } = attribute;
  if (InlineBinary !== undefined || BulkDataURI !== undefined) count.masked += 1;
  if (!Value?.length) return rest;
  if (attribute.vr === 'SQ') return { ...rest, Value: Value.map((item) => (isObject(item) ? maskJsonDataset(item as DicomJsonDataset, mask, count) : item)) };
  if (attribute.vr === 'PN') return { ...rest, Value: Value.map((item) => maskDeep(item, mask, count)) };
  if (attribute.vr === undefined || STRING_VRS.has(attribute.vr)) return { ...rest, Value: Value.map((item) => maskDeep(item, mask, count)) };
  count.masked += Value.length;
  return rest;
}

function maskJsonDataset(dataset: DicomJsonDataset, mask: Masker, count: RedactionCount): DicomJsonDataset {
  return Object.fromEntries(Object.entries(dataset).map(([tag, attribute]) => [tag, isObject(attribute) ? maskJsonAttribute(attribute, mask, count) : attribute]));
}

/** A DICOM JSON dataset (tag-keyed, as QIDO-RS and WADO-RS metadata return) with PHI masked; recurses into sequences. */
export function redactDicomJson(dataset: DicomJsonDataset, mask: Masker, count: RedactionCount = { masked: 0 }): DicomJsonDataset {
  const out: DicomJsonDataset = {};
  for (const [tag, attribute] of Object.entries(dataset) as Array<[string, DicomJsonAttribute]>) {
    if (!isObject(attribute)) out[tag] = attribute;
    else if (isRedacted(tag)) out[tag] = maskJsonAttribute(attribute, mask, count);
    else if (attribute.vr === 'SQ' && Array.isArray(attribute.Value))
      out[tag] = { ...attribute, Value: attribute.Value.map((item) => (isObject(item) ? redactDicomJson(item as DicomJsonDataset, mask, count) : item)) };
    else out[tag] = attribute;
  }
  return out;
}

/** The DICOMTags of a SearchImageSets summary with PHI masked. */
export function redactSearchTags<T extends object>(tags: T, mask: Masker, count: RedactionCount = { masked: 0 }): T {
  const out: Record<string, unknown> = { ...(tags as Record<string, unknown>) };
  for (const key of PHI_SEARCH_TAGS) if (key in out) out[key] = maskDeep(out[key], mask, count);
  return out as T;
}

/** The line results carry while redaction is on. */
export const REDACTION_NOTE =
  'PHI redacted (--redact-phi): patient-identifying DICOM attributes (PS3.15 basic profile: names, IDs, birth dates, addresses, …) and private tags show as [redacted <pseudonym>]; equal values share a pseudonym. Pixel data is not redacted: text burned into images stays visible.';
