/** The healthimaging:// URIs of the server's resources. */
export const DATASTORES_URI = 'healthimaging://datastores';
export const DATASTORE_TEMPLATE = 'healthimaging://datastores/{datastoreId}';
export const METADATA_TEMPLATE = 'healthimaging://datastores/{datastoreId}/image-sets/{imageSetId}/metadata';
export const VERSION_METADATA_TEMPLATE = 'healthimaging://datastores/{datastoreId}/image-sets/{imageSetId}/versions/{versionId}/metadata';

export const datastoreUri = (datastoreId: string) => `${DATASTORES_URI}/${datastoreId}`;

/** The full gunzipped metadata document of an image set (latest version, or the given one). */
export function metadataUri(datastoreId: string, imageSetId: string, versionId?: string): string {
  const base = `${datastoreUri(datastoreId)}/image-sets/${imageSetId}`;
  return versionId === undefined ? `${base}/metadata` : `${base}/versions/${versionId}/metadata`;
}
