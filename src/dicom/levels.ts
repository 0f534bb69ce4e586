/**
 * Which level of the metadata document an attribute belongs to (shared/healthimaging-api.md §2.2, after the
 * HealthImaging *Metadata normalization* page): the Patient module at the patient level; General Study, Patient
 * Study and Clinical Trial Study at the study level; General Series, Clinical Trial Series, General Equipment and
 * Frame of Reference at the series level; everything else (incl. group 0002 and all private or unknown
 * attributes) at the instance level.
 */
import type { Level } from './diff.js';

export type { Level };

const PATIENT = [
  // Patient module
  'PatientName', 'PatientID', 'IssuerOfPatientID', 'IssuerOfPatientIDQualifiersSequence', 'TypeOfPatientID',
  'PatientBirthDate', 'PatientBirthDateInAlternativeCalendar', 'PatientDeathDateInAlternativeCalendar',
  'PatientAlternativeCalendar', 'PatientSex', 'ReferencedPatientPhotoSequence', 'QualityControlSubject',
  'ReferencedPatientSequence', 'PatientBirthTime', 'OtherPatientIDs', 'OtherPatientIDsSequence', 'OtherPatientNames',
  'EthnicGroup', 'PatientComments', 'PatientSpeciesDescription', 'PatientSpeciesCodeSequence',
  'PatientBreedDescription', 'PatientBreedCodeSequence', 'BreedRegistrationSequence', 'StrainDescription',
  'StrainNomenclature', 'StrainCodeSequence', 'StrainAdditionalInformation', 'StrainStockSequence',
  'GeneticModificationsSequence', 'ResponsiblePerson', 'ResponsiblePersonRole', 'ResponsibleOrganization',
  'PatientIdentityRemoved', 'DeidentificationMethod', 'DeidentificationMethodCodeSequence',
  // Patient Group macro
  'SourcePatientGroupIdentificationSequence', 'GroupOfPatientsIdentificationSequence',
  // Clinical Trial Subject module
  'ClinicalTrialSponsorName', 'ClinicalTrialProtocolID', 'ClinicalTrialProtocolName',
  'IssuerOfClinicalTrialProtocolID', 'OtherClinicalTrialProtocolIDsSequence', 'ClinicalTrialSiteID',
  'ClinicalTrialSiteName', 'IssuerOfClinicalTrialSiteID', 'ClinicalTrialSubjectID', 'IssuerOfClinicalTrialSubjectID',
  'ClinicalTrialSubjectReadingID', 'IssuerOfClinicalTrialSubjectReadingID', 'ClinicalTrialProtocolEthicsCommitteeName',
  'ClinicalTrialProtocolEthicsCommitteeApprovalNumber', 'EthicsCommitteeApprovalEffectivenessStartDate',
  'EthicsCommitteeApprovalEffectivenessEndDate',
] as const;

const STUDY = [
  // General Study module
  'StudyInstanceUID', 'StudyDate', 'StudyTime', 'ReferringPhysicianName', 'ReferringPhysicianIdentificationSequence',
  'ConsultingPhysicianName', 'ConsultingPhysicianIdentificationSequence', 'StudyID', 'AccessionNumber',
  'IssuerOfAccessionNumberSequence', 'StudyDescription', 'PhysiciansOfRecord', 'PhysiciansOfRecordIdentificationSequence',
  'NameOfPhysiciansReadingStudy', 'PhysiciansReadingStudyIdentificationSequence', 'RequestingService',
  'RequestingServiceCodeSequence', 'ReferencedStudySequence', 'ProcedureCodeSequence',
  'ReasonForPerformedProcedureCodeSequence',
  // Patient Study module
  'AdmittingDiagnosesDescription', 'AdmittingDiagnosesCodeSequence', 'PatientAge', 'PatientSize', 'PatientWeight',
  'PatientBodyMassIndex', 'MeasuredAPDimension', 'MeasuredLateralDimension', 'PatientSizeCodeSequence', 'MedicalAlerts',
  'Allergies', 'SmokingStatus', 'PregnancyStatus', 'LastMenstrualDate', 'PatientState', 'Occupation',
  'AdditionalPatientHistory', 'AdmissionID', 'IssuerOfAdmissionIDSequence', 'ReasonForVisit',
  'ReasonForVisitCodeSequence', 'ServiceEpisodeID', 'ServiceEpisodeDescription', 'IssuerOfServiceEpisodeIDSequence',
  'PatientSexNeutered',
  // Clinical Trial Study module
  'ClinicalTrialTimePointID', 'ClinicalTrialTimePointDescription', 'LongitudinalTemporalOffsetFromEvent',
  'LongitudinalTemporalEventType', 'ClinicalTrialTimePointTypeCodeSequence', 'IssuerOfClinicalTrialTimePointID',
  'ConsentForClinicalTrialUseSequence',
] as const;

const SERIES = [
  // General Series module
  'Modality', 'SeriesInstanceUID', 'SeriesNumber', 'Laterality', 'SeriesDate', 'SeriesTime', 'PerformingPhysicianName',
  'PerformingPhysicianIdentificationSequence', 'ProtocolName', 'SeriesDescription', 'SeriesDescriptionCodeSequence',
  'OperatorsName', 'OperatorIdentificationSequence', 'ReferencedPerformedProcedureStepSequence',
  'RelatedSeriesSequence', 'BodyPartExamined', 'PatientPosition', 'SmallestPixelValueInSeries',
  'LargestPixelValueInSeries', 'RequestAttributesSequence', 'AnatomicalOrientationType', 'TreatmentSessionUID',
  // Clinical Trial Series module
  'ClinicalTrialCoordinatingCenterName', 'ClinicalTrialSeriesID', 'ClinicalTrialSeriesDescription',
  'IssuerOfClinicalTrialSeriesID',
  // General Equipment module
  'Manufacturer', 'InstitutionName', 'InstitutionAddress', 'StationName', 'InstitutionalDepartmentName',
  'InstitutionalDepartmentTypeCodeSequence', 'ManufacturerModelName', 'ManufacturerDeviceClassUID',
  'DeviceSerialNumber', 'SoftwareVersions', 'GantryID', 'UDISequence', 'DeviceUID', 'SpatialResolution',
  'DateOfLastCalibration', 'TimeOfLastCalibration', 'PixelPaddingValue',
  // Frame of Reference module
  'FrameOfReferenceUID', 'PositionReferenceIndicator',
] as const;

/** The keywords placed at each level above the instance, for documentation and tests. */
export const LEVEL_KEYWORDS: Readonly<Record<Exclude<Level, 'Instance'>, readonly string[]>> = {
  Patient: PATIENT,
  Study: STUDY,
  Series: SERIES,
};

const LEVEL_OF: ReadonlyMap<string, Level> = new Map<string, Level>([
  ...PATIENT.map((k): [string, Level] => [k, 'Patient']),
  ...STUDY.map((k): [string, Level] => [k, 'Study']),
  ...SERIES.map((k): [string, Level] => [k, 'Series']),
]);

/** The level of an attribute key: a keyword, or an 8-hex tag (always Instance: private and unknown attributes). */
export function levelOf(keyword: string): Level {
  return LEVEL_OF.get(keyword) ?? 'Instance';
}
