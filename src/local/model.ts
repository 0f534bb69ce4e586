/** Enumerations of the HealthImaging API (shared/healthimaging-api.md §1.4). */
export type DatastoreStatus = 'CREATING' | 'CREATE_FAILED' | 'ACTIVE' | 'DELETING' | 'DELETED';
export type JobStatus = 'SUBMITTED' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
export type ImageSetState = 'ACTIVE' | 'LOCKED' | 'DELETED';
export type ImageSetWorkflowStatus =
  | 'CREATED'
  | 'COPIED'
  | 'COPYING'
  | 'COPYING_WITH_READ_ONLY_ACCESS'
  | 'COPY_FAILED'
  | 'UPDATING'
  | 'UPDATED'
  | 'UPDATE_FAILED'
  | 'DELETING'
  | 'DELETED'
  | 'IMPORTING'
  | 'IMPORTED'
  | 'IMPORT_FAILED';
