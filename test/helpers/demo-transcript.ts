/**
 * The README's demo transcript, produced by running it: a real MCP client (declaring form elicitation, as Claude Code
 * does) talks to the real server on the real local service with its demo data, and every tool result is shown as the
 * agent reads it. IDs and times differ between runs, so they are replaced by stable labels; the drift test in
 * test/docs/generated.test.ts re-runs the session and compares.
 */
import { rmSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createMedicalImagingClient } from '../../src/aws/client.js';
import { loadConfig } from '../../src/config.js';
import { AuditLog } from '../../src/guard/audit.js';
import { createServer } from '../../src/server.js';
import { startTestService, tempDir } from './local.js';
import { replaceSection } from './readme-tables.js';

interface Step {
  /** What the user says before this call, if anything. */
  user?: string;
  tool: string;
  args: (ids: Ids) => Record<string, unknown>;
  /** Keeps what later steps need from the result. */
  keep?: (result: CallToolResult, ids: Ids) => void;
}

interface Ids {
  datastore: string;
  imageSet?: string;
  frame?: string;
  version?: string;
}

const STEPS: Step[] = [
  {
    user: 'Find the chest CT of patient DEMO-0001 and show me a slice. Its study ID should read CT-2024-0001.',
    tool: 'search_image_sets',
    args: (ids) => ({ datastore_id: ids.datastore, patient_id: 'DEMO-0001' }),
    keep: (r, ids) => {
      ids.imageSet = (r.structuredContent as { image_sets: Array<{ image_set_id: string }> }).image_sets[0]!.image_set_id;
    },
  },
  {
    tool: 'get_image_set_metadata',
    args: (ids) => ({ datastore_id: ids.datastore, image_set_id: ids.imageSet, max_instances: 2 }),
    keep: (r, ids) => {
      ids.frame = (r.structuredContent as { instances: Array<{ frame_ids: string[] }> }).instances[0]!.frame_ids[0];
    },
  },
  { tool: 'get_image_frame', args: (ids) => ({ datastore_id: ids.datastore, image_set_id: ids.imageSet, image_frame_id: ids.frame, preset: 'lung', max_size: 256 }) },
  {
    tool: 'get_image_set',
    args: (ids) => ({ datastore_id: ids.datastore, image_set_id: ids.imageSet }),
    keep: (r, ids) => {
      ids.version = (r.structuredContent as { version_id: string }).version_id;
    },
  },
  {
    tool: 'update_image_set_metadata',
    args: (ids) => ({ datastore_id: ids.datastore, image_set_id: ids.imageSet, latest_version_id: ids.version, updates: { Study: { DICOM: { StudyID: 'CT-2024-0001' } } }, force: true, dry_run: true }),
  },
  {
    user: 'Looks right, go ahead.',
    tool: 'update_image_set_metadata',
    args: (ids) => ({ datastore_id: ids.datastore, image_set_id: ids.imageSet, latest_version_id: ids.version, updates: { Study: { DICOM: { StudyID: 'CT-2024-0001' } } }, force: true }),
  },
];

/** Replaces run-specific values (IDs, times, ports, paths) with stable labels, consistently within one transcript. */
function stabilizer(ids: Ids): (text: string) => string {
  const labels = new Map<string, string>();
  return (text) => {
    for (const [value, label] of [
      [ids.datastore, '<datastore-id>'],
      [ids.imageSet, '<image-set-id>'],
      [ids.frame, '<frame-id>'],
    ] as const) {
      if (value) text = text.replaceAll(value, label);
    }
    text = text.replace(/\b[0-9a-f]{32}\b/g, (id) => {
      if (!labels.has(id)) labels.set(id, `<id-${labels.size + 1}>`);
      return labels.get(id)!;
    });
    text = text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>');
    return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<request-id>');
  };
}

const indent = (text: string, prefix: string) => text.split('\n').map((line, i) => (i === 0 ? line : `${prefix}${line}`)).join('\n');

function shown(result: CallToolResult): string {
  return result.content
    .map((block) => {
      if (block.type === 'text') return block.text;
      if (block.type === 'image') return `[${block.mimeType} image, ${Math.round((block.data.length * 3) / 4 / 1024)} KB]`;
      if (block.type === 'resource_link') return `[resource link ${block.uri}]`;
      return `[${block.type}]`;
    })
    .join('\n');
}

/** Runs the session and returns the transcript as the text of a code block. */
export async function demoTranscript(): Promise<string> {
  const dataDir = tempDir('himcp-demo-');
  const local = await startTestService({ seedDemo: true, dataDir });
  const config = loadConfig({ backend: 'aws', region: 'us-east-1', allowWrite: true }, {});
  const sdk = createMedicalImagingClient(config, { endpoint: local.service.endpoint, credentials: local.service.credentials });
  const handle = createServer(config, { client: sdk, backendDescription: 'the local service', audit: new AuditLog([]) });
  const client = new Client({ name: 'demo', version: '0' }, { capabilities: { elicitation: { form: {} } } });
  const lines: string[] = [];
  const ids: Ids = { datastore: local.service.demoDatastoreId! };
  const stable = stabilizer(ids);
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    lines.push(`⇄ confirmation dialog shown to the person:`, `    ${indent(stable(request.params.message), '    ')}`, '  the person ticks "Yes, go ahead" and accepts');
    return { action: 'accept', content: { confirm: true } };
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  try {
    await Promise.all([handle.server.connect(b), client.connect(a)]);
    for (const step of STEPS) {
      if (step.user) lines.push(...(lines.length ? [''] : []), `user: ${step.user}`, '');
      const args = step.args(ids);
      lines.push(`→ ${step.tool} ${stable(JSON.stringify(args))}`);
      const result = (await client.callTool({ name: step.tool, arguments: args })) as CallToolResult;
      if (result.isError) throw new Error(`${step.tool} failed in the demo: ${shown(result)}`);
      step.keep?.(result, ids);
      lines.push(`← ${indent(stable(shown(result)), '  ')}`);
    }
  } finally {
    await client.close();
    await handle.close();
    sdk.destroy();
    await local.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return lines.join('\n');
}

export async function renderDemo(doc: string): Promise<string> {
  return replaceSection(doc, 'demo', ['```text', await demoTranscript(), '```'].join('\n'));
}
