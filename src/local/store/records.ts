/** What the local service persists about each resource (the metadata documents themselves are stored gzipped). */
import type { DatastoreStatus, ImageSetState, ImageSetWorkflowStatus, JobStatus } from '../model.js';

export type Tags = Record<string, string>;
/** Epoch seconds with millisecond fraction, as HealthImaging timestamps are on the wire. */
export type EpochSeconds = number;

export const nowSeconds = (): EpochSeconds => Date.now() / 1000;

export interface DatastoreRecord {
  datastoreId: string;
  datastoreName: string;
  datastoreStatus: DatastoreStatus;
  datastoreArn: string;
  region: string;
  createdAt: EpochSeconds;
  updatedAt: EpochSeconds;
  kmsKeyArn?: string;
  lambdaAuthorizerArn?: string;
  losslessStorageFormat: 'HTJ2K' | 'JPEG_2000_LOSSLESS';
  clientToken: string;
  /** Fingerprint of the create request, to tell an idempotent retry from a clientToken reuse. */
  requestFingerprint: string;
  tags: Tags;
}

/** The DICOM summary SearchImageSets returns and filters on (DICOMTags in ImageSetsMetadataSummary). */
export interface SearchTags {
  DICOMPatientId?: string;
  DICOMPatientName?: string;
  DICOMPatientBirthDate?: string;
  DICOMPatientSex?: string;
  DICOMStudyInstanceUID?: string;
  DICOMStudyId?: string;
  DICOMStudyDescription?: string;
  DICOMNumberOfStudyRelatedSeries?: number;
  DICOMNumberOfStudyRelatedInstances?: number;
  DICOMAccessionNumber?: string;
  DICOMSeriesInstanceUID?: string;
  DICOMSeriesModality?: string;
  DICOMSeriesBodyPart?: string;
  DICOMSeriesNumber?: number;
  DICOMStudyDate?: string;
  DICOMStudyTime?: string;
}

export interface VersionRecord {
  versionId: string;
  createdAt: EpochSeconds;
  updatedAt?: EpochSeconds;
  imageSetState: ImageSetState;
  imageSetWorkflowStatus: ImageSetWorkflowStatus;
  message?: string;
  forced?: boolean;
  isPrimary: boolean;
  /** Search tags of this version's document (undefined for a version whose change failed). */
  searchTags?: SearchTags;
  /** Whether a metadata document is stored for this version (failed copies reuse the previous one). */
  documentVersionId: string;
}

export interface ImageSetRecord {
  datastoreId: string;
  imageSetId: string;
  imageSetArn: string;
  createdAt: EpochSeconds;
  updatedAt: EpochSeconds;
  deletedAt?: EpochSeconds;
  imageSetState: ImageSetState;
  imageSetWorkflowStatus: ImageSetWorkflowStatus;
  message?: string;
  isPrimary: boolean;
  latestVersionId: string;
  storageTier: 'FREQUENT_ACCESS' | 'ARCHIVE_INSTANT_ACCESS';
  /** Oldest first. */
  versions: VersionRecord[];
  tags: Tags;
  searchTags: SearchTags;
  /**
   * Set while the image set is LOCKED by a change that is already durable: what it becomes when the lock is
   * released (after the transition delay, or at the next start if the process stopped first).
   */
  pending?: PendingTransition;
}

export type PendingTransition =
  | { kind: 'finish'; versionId: string; imageSetWorkflowStatus: ImageSetWorkflowStatus; message?: string }
  | { kind: 'delete' };

export interface JobRecord {
  datastoreId: string;
  jobId: string;
  jobName?: string;
  jobStatus: JobStatus;
  dataAccessRoleArn: string;
  inputS3Uri: string;
  /** The job's own output folder: `<given outputS3Uri>/<datastoreId>-DicomImport-<jobId>/`. */
  outputS3Uri: string;
  inputOwnerAccountId?: string;
  clientToken: string;
  requestFingerprint: string;
  submittedAt: EpochSeconds;
  endedAt?: EpochSeconds;
  message?: string;
}
