/** Toolset `tags`: tags on datastores and image sets. */
import { createHash } from 'node:crypto';
import { ListTagsForResourceCommand, TagResourceCommand, UntagResourceCommand } from '@aws-sdk/client-medical-imaging';
import { z } from 'zod';
import { canonicalJson } from '../guard/tokens.js';
import { resourceArn, tagKey, tags } from './fields.js';
import { defineTool, READ } from './types.js';

const formatTags = (t: Record<string, string>) => {
  const entries = Object.entries(t);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join('\n') : '(no tags)';
};

export const listTagsForResource = defineTool({
  name: 'list_tags_for_resource',
  title: 'List tags',
  description: 'Lists the tags of a datastore or image set, by ARN.',
  toolset: 'tags',
  inputSchema: { resource_arn: resourceArn },
  outputSchema: { tags: z.record(z.string(), z.string()) },
  annotations: READ,
  async handler(args, { client, signal }) {
    const res = await client.send(new ListTagsForResourceCommand({ resourceArn: args.resource_arn }), { abortSignal: signal });
    const t = res.tags ?? {};
    return { text: formatTags(t), structured: { tags: t } };
  },
});

export const tagResource = defineTool({
  name: 'tag_resource',
  title: 'Tag resource',
  description: 'Adds or overwrites tags on a datastore or image set (at most 50 tags per resource). Other tags are kept.',
  toolset: 'tags',
  inputSchema: { resource_arn: resourceArn, tags: tags.refine((t) => Object.keys(t).length > 0, 'give at least one tag') },
  outputSchema: { tags: z.record(z.string(), z.string()) },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, { client, signal }) {
    await client.send(new TagResourceCommand({ resourceArn: args.resource_arn, tags: args.tags }), { abortSignal: signal });
    const res = await client.send(new ListTagsForResourceCommand({ resourceArn: args.resource_arn }), { abortSignal: signal });
    return { text: `Tagged. Tags now:\n${formatTags(res.tags ?? {})}`, structured: { tags: res.tags ?? {} } };
  },
});

export const untagResource = defineTool({
  name: 'untag_resource',
  title: 'Untag resource',
  description: 'Removes tags (by key) from a datastore or image set; it asks the user to confirm. Keys that are not there are ignored.',
  toolset: 'tags',
  inputSchema: { resource_arn: resourceArn, tag_keys: z.array(tagKey).min(1).max(200).describe('Keys of the tags to remove') },
  outputSchema: { tags: z.record(z.string(), z.string()) },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  guard: {
    // Tags often drive access policies, cost allocation and retention; losing one is not always visible.
    confirmation: () => 'removing tags can change who may access the resource and how it is billed or retained',
    async preview(args, { client, signal }) {
      const { tags: current = {} } = await client.send(new ListTagsForResourceCommand({ resourceArn: args.resource_arn }), { abortSignal: signal });
      const removed = Object.fromEntries(args.tag_keys.filter((key) => Object.hasOwn(current, key)).map((key) => [key, current[key]!]));
      const resource = args.resource_arn.replace(/^.*:datastore\//, 'datastore ').replace('/imageset/', ', image set ');
      return {
        action: `Remove tag(s) ${args.tag_keys.join(', ')} from ${resource}.`,
        changes: args.tag_keys.map((key) => (Object.hasOwn(removed, key) ? `Tag ${key}=${removed[key]} removed` : `Tag ${key}: not present, nothing to remove`)),
        // The tags this call removes, as a digest: a confirmation is void once one of them changes.
        version: `tags ${createHash('sha256').update(canonicalJson(removed)).digest('hex').slice(0, 16)}`,
        current: { tags: current },
      };
    },
  },
  async handler(args, { client, signal }) {
    await client.send(new UntagResourceCommand({ resourceArn: args.resource_arn, tagKeys: args.tag_keys }), { abortSignal: signal });
    const res = await client.send(new ListTagsForResourceCommand({ resourceArn: args.resource_arn }), { abortSignal: signal });
    return { text: `Removed ${args.tag_keys.join(', ')}. Tags now:\n${formatTags(res.tags ?? {})}`, structured: { tags: res.tags ?? {} } };
  },
});

export const TAG_TOOLS = [listTagsForResource, tagResource, untagResource];
