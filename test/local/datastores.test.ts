import {
  CreateDatastoreCommand,
  DeleteDatastoreCommand,
  GetDatastoreCommand,
  ListDatastoresCommand,
  ListTagsForResourceCommand,
  paginateListDatastores,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection, startTestService, type TestService, waitFor } from '../helpers/local.js';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ maxDatastores: 4 });
});
afterAll(async () => t.stop());

const activeDatastore = async (name: string, extra: Record<string, unknown> = {}) => {
  const created = await t.client.send(new CreateDatastoreCommand({ datastoreName: name, ...extra }));
  await waitFor(
    () => t.client.send(new GetDatastoreCommand({ datastoreId: created.datastoreId })),
    (r) => r.datastoreProperties?.datastoreStatus === 'ACTIVE',
  );
  return created.datastoreId!;
};

describe('datastores', () => {
  it('creates a datastore that goes from CREATING to ACTIVE, with ARN, timestamps and tags', async () => {
    const created = await t.client.send(new CreateDatastoreCommand({ datastoreName: 'ds-lifecycle', tags: { team: 'radiology' } }));
    expect(created.datastoreId).toMatch(/^[0-9a-z]{32}$/);
    expect(created.datastoreStatus).toBe('CREATING');
    expect(created.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const got = await waitFor(
      () => t.client.send(new GetDatastoreCommand({ datastoreId: created.datastoreId })),
      (r) => r.datastoreProperties?.datastoreStatus === 'ACTIVE',
    );
    const props = got.datastoreProperties!;
    expect(props.datastoreName).toBe('ds-lifecycle');
    expect(props.datastoreArn).toBe(`arn:aws:medical-imaging:us-east-1:${t.service.accountId}:datastore/${created.datastoreId}`);
    expect(props.createdAt).toBeInstanceOf(Date);
    expect(props.updatedAt!.getTime()).toBeGreaterThanOrEqual(props.createdAt!.getTime());
    expect(props.losslessStorageFormat).toBe('HTJ2K');
    const tags = await t.client.send(new ListTagsForResourceCommand({ resourceArn: props.datastoreArn }));
    expect(tags.tags).toEqual({ team: 'radiology' });
  });

  it('is idempotent on clientToken and rejects a reused token with other parameters', async () => {
    const first = await t.client.send(new CreateDatastoreCommand({ datastoreName: 'ds-idem', clientToken: 'token-1' }));
    const again = await t.client.send(new CreateDatastoreCommand({ datastoreName: 'ds-idem', clientToken: 'token-1' }));
    expect(again.datastoreId).toBe(first.datastoreId);
    const err = await rejection(t.client.send(new CreateDatastoreCommand({ datastoreName: 'other', clientToken: 'token-1' })));
    expect(err.name).toBe('ConflictException');
    expect(err.$metadata?.httpStatusCode).toBe(409);
  });

  it('enforces the datastore quota with 402 ServiceQuotaExceededException', async () => {
    // maxDatastores is 4 here; two exist from the tests above.
    await t.client.send(new CreateDatastoreCommand({ datastoreName: 'ds-q1' }));
    await t.client.send(new CreateDatastoreCommand({ datastoreName: 'ds-q2' }));
    const err = await rejection(t.client.send(new CreateDatastoreCommand({ datastoreName: 'ds-q3' })));
    expect(err.name).toBe('ServiceQuotaExceededException');
    expect(err.$metadata?.httpStatusCode).toBe(402);
  });

  it('lists with a status filter and pages with maxResults until no nextToken', async () => {
    const ids: string[] = [];
    for await (const page of paginateListDatastores({ client: t.client, pageSize: 1 }, {})) {
      expect(page.datastoreSummaries!.length).toBeLessThanOrEqual(1);
      ids.push(...page.datastoreSummaries!.map((d) => d.datastoreId!));
    }
    expect(ids.length).toBe(4);
    expect(new Set(ids).size).toBe(4);
    const last = await t.client.send(new ListDatastoresCommand({ maxResults: 50 }));
    expect(last.nextToken).toBeUndefined();
    await waitFor(
      () => t.client.send(new ListDatastoresCommand({ datastoreStatus: 'ACTIVE' })),
      (r) => r.datastoreSummaries!.length === 4,
    );
    const creating = await t.client.send(new ListDatastoresCommand({ datastoreStatus: 'CREATE_FAILED' }));
    expect(creating.datastoreSummaries).toEqual([]);
  });

  it('deletes a datastore: DELETING then DELETED, and frees quota', async () => {
    const list = await t.client.send(new ListDatastoresCommand({}));
    const victim = list.datastoreSummaries!.find((d) => d.datastoreName === 'ds-q2')!;
    const deleted = await t.client.send(new DeleteDatastoreCommand({ datastoreId: victim.datastoreId }));
    expect(deleted.datastoreStatus).toBe('DELETING');
    await waitFor(
      () => t.client.send(new GetDatastoreCommand({ datastoreId: victim.datastoreId })),
      (r) => r.datastoreProperties?.datastoreStatus === 'DELETED',
    );
    const again = await rejection(t.client.send(new DeleteDatastoreCommand({ datastoreId: victim.datastoreId })));
    expect(again.name).toBe('ResourceNotFoundException');
    const replacement = await activeDatastore('ds-q2-replacement');
    expect(replacement).toMatch(/^[0-9a-z]{32}$/);
  });

  it('answers 404 for an unknown datastore and 400 for a malformed ID, naming the field', async () => {
    const missing = await rejection(t.client.send(new GetDatastoreCommand({ datastoreId: 'f'.repeat(32) })));
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    const bad = await rejection(t.client.send(new GetDatastoreCommand({ datastoreId: 'BAD/ID' })));
    expect(bad.name).toBe('ValidationException');
    expect(bad.message).toContain("'datastoreId'");
    const empty = await rejection(t.client.send(new GetDatastoreCommand({ datastoreId: '' })));
    expect(empty.$metadata?.httpStatusCode).toBeGreaterThanOrEqual(400);
  });

  it('validates every create field and list parameter', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ datastoreName: 'bad name with spaces' }, 'datastoreName'],
      [{ datastoreName: 'x'.repeat(257) }, 'datastoreName'],
      [{ datastoreName: 'ok', losslessStorageFormat: 'PNG' }, 'losslessStorageFormat'],
      [{ datastoreName: 'ok', kmsKeyArn: 'not-an-arn' }, 'kmsKeyArn'],
      [{ datastoreName: 'ok', tags: { 'aws:reserved': 'x' } }, 'tags'],
    ];
    for (const [input, field] of cases) {
      const err = await rejection(t.client.send(new CreateDatastoreCommand(input as never)));
      expect(err.name, JSON.stringify(input)).toBe('ValidationException');
      expect(err.message).toContain(field);
    }
    for (const maxResults of [0, 51]) {
      const err = await rejection(t.client.send(new ListDatastoresCommand({ maxResults })));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain('maxResults');
    }
    const token = await rejection(t.client.send(new ListDatastoresCommand({ nextToken: 'garbage' })));
    expect(token.name).toBe('ValidationException');
  });
});

describe('tags', () => {
  it('tags, lists and untags a datastore through its percent-encoded ARN', async () => {
    const id = await activeDatastore('ds-tags').catch(async () => {
      const list = await t.client.send(new ListDatastoresCommand({ datastoreStatus: 'ACTIVE' }));
      return list.datastoreSummaries![0]!.datastoreId!;
    });
    const { datastoreProperties } = await t.client.send(new GetDatastoreCommand({ datastoreId: id }));
    const arn = datastoreProperties!.datastoreArn!;
    await t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'a/b': '1', 'c:d': '2', plain: '3' } }));
    await t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { plain: 'changed' } }));
    expect((await t.client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toMatchObject({ 'a/b': '1', 'c:d': '2', plain: 'changed' });
    await t.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a/b', 'c:d'] }));
    const after = (await t.client.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags!;
    expect(after['a/b']).toBeUndefined();
    expect(after['c:d']).toBeUndefined();
    expect(after.plain).toBe('changed');
  });

  it('refuses aws: keys, more than 50 tags, and unknown or malformed ARNs', async () => {
    const { datastoreSummaries } = await t.client.send(new ListDatastoresCommand({ datastoreStatus: 'ACTIVE' }));
    const arn = datastoreSummaries![0]!.datastoreArn!;
    const reserved = await rejection(t.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'aws:x': 'y' } })));
    expect(reserved.name).toBe('ValidationException');
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await rejection(t.client.send(new TagResourceCommand({ resourceArn: arn, tags: many })));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.message).toContain('50');
    const unknown = await rejection(
      t.client.send(new ListTagsForResourceCommand({ resourceArn: arn.replace(/datastore\/.*/, `datastore/${'0'.repeat(32)}`) })),
    );
    expect(unknown.name).toBe('ResourceNotFoundException');
    const malformed = await rejection(t.client.send(new ListTagsForResourceCommand({ resourceArn: 'arn:aws:s3:::bucket' })));
    expect(malformed.name).toBe('ValidationException');
  });
});
