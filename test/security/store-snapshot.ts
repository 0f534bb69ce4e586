/** Everything a write could change in the local service, read through the real SDK, for "nothing was written" checks. */
import {
  ListDatastoresCommand,
  ListDICOMImportJobsCommand,
  ListImageSetVersionsCommand,
  ListTagsForResourceCommand,
  type MedicalImagingClient,
  SearchImageSetsCommand,
} from '@aws-sdk/client-medical-imaging';

export async function storeSnapshot(client: MedicalImagingClient): Promise<unknown> {
  const { datastoreSummaries = [] } = await client.send(new ListDatastoresCommand({ maxResults: 50 }));
  const datastores = [];
  for (const ds of datastoreSummaries.sort((a, b) => a.datastoreId!.localeCompare(b.datastoreId!))) {
    const entry: Record<string, unknown> = { id: ds.datastoreId, name: ds.datastoreName, status: ds.datastoreStatus, updatedAt: ds.updatedAt?.toISOString() };
    if (ds.datastoreStatus === 'ACTIVE') {
      entry.tags = (await client.send(new ListTagsForResourceCommand({ resourceArn: ds.datastoreArn }))).tags;
      entry.jobs = (await client.send(new ListDICOMImportJobsCommand({ datastoreId: ds.datastoreId, maxResults: 50 }))).jobSummaries?.map((j) => j.jobId).sort();
      const sets = (await client.send(new SearchImageSetsCommand({ datastoreId: ds.datastoreId, searchCriteria: {}, maxResults: 50 }))).imageSetsMetadataSummaries ?? [];
      entry.imageSets = [];
      for (const set of sets.sort((a, b) => a.imageSetId!.localeCompare(b.imageSetId!))) {
        const versions = await client.send(new ListImageSetVersionsCommand({ datastoreId: ds.datastoreId, imageSetId: set.imageSetId }));
        const arn = `${ds.datastoreArn}/imageset/${set.imageSetId}`;
        (entry.imageSets as unknown[]).push({
          id: set.imageSetId,
          version: set.version,
          updatedAt: set.updatedAt?.toISOString(),
          primary: set.isPrimary,
          versions: versions.imageSetPropertiesList?.map((v) => `${v.versionId}:${v.imageSetState}:${v.ImageSetWorkflowStatus}`),
          tags: (await client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags,
        });
      }
    }
    datastores.push(entry);
  }
  return datastores;
}
