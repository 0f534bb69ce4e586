/**
 * Case 7: 8 concurrent MCP sessions over HTTP, each making a run of mixed read calls (search, image set, metadata
 * summary, versions, a frame as PNG), vs the same requests made directly with the SDK at the same concurrency.
 */
import { GetImageFrameCommand, GetImageSetMetadataCommand, GetImageSetCommand, ListImageSetVersionsCommand, SearchImageSetsCommand } from '@aws-sdk/client-medical-imaging';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import type { BenchEnv } from '../lib/env.js';
import { connectHttp } from '../lib/procs.js';
import { stats } from '../lib/stats.js';

const SESSIONS = 8;

interface Target {
  imageSetId: string;
  frameId: string;
  patientId: string;
}

export async function load(env: BenchEnv): Promise<void> {
  const { sdk, manifest } = await env.catalog();
  const { datastoreId } = manifest;
  const page = await sdk.send(new SearchImageSetsCommand({ datastoreId, maxResults: 20, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ isPrimary: true }] }] } }));
  const targets: Target[] = [];
  for (const s of page.imageSetsMetadataSummaries ?? []) {
    if (s.imageSetId === manifest.bigImageSetId) continue;
    const gz = await (await sdk.send(new GetImageSetMetadataCommand({ datastoreId, imageSetId: s.imageSetId }))).imageSetMetadataBlob!.transformToByteArray();
    const doc = JSON.parse(gunzipSync(gz).toString('utf8')) as ImageSetMetadataDocument;
    const instance = Object.values(Object.values(doc.Study.Series)[0]!.Instances)[0]!;
    targets.push({ imageSetId: s.imageSetId!, frameId: instance.ImageFrames[0]!.ID, patientId: s.DICOMTags!.DICOMPatientId! });
  }
  const calls = env.sizes.loadCallsPerSession;
  const mix = ['search_image_sets', 'get_image_set', 'get_image_set_metadata', 'list_image_set_versions', 'get_image_frame'] as const;
  const argsOf = (tool: (typeof mix)[number], t: Target): Record<string, unknown> => {
    const base = { datastore_id: datastoreId };
    if (tool === 'search_image_sets') return { ...base, patient_id: t.patientId };
    if (tool === 'get_image_frame') return { ...base, image_set_id: t.imageSetId, image_frame_id: t.frameId };
    return { ...base, image_set_id: t.imageSetId };
  };

  // Ours: 8 MCP sessions over HTTP against one server process.
  const server = await env.catalogMcpHttp();
  const clients: Client[] = await Promise.all(Array.from({ length: SESSIONS }, () => connectHttp(server.url)));
  const latencies: number[] = [];
  let errors = 0;
  let t = performance.now();
  await Promise.all(
    clients.map(async (client, s) => {
      for (let i = 0; i < calls; i++) {
        const tool = mix[(i + s) % mix.length]!;
        const start = performance.now();
        try {
          const result = await client.callTool({ name: tool, arguments: argsOf(tool, targets[(i * 7 + s) % targets.length]!) });
          if (result.isError) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - start);
      }
    }),
  );
  const oursSeconds = (performance.now() - t) / 1000;
  await Promise.all(clients.map((c) => c.close()));

  // Peer: the same requests with the SDK (no decoding or rendering), same concurrency.
  const direct = (tool: (typeof mix)[number], target: Target): Promise<unknown> => {
    const ref = { datastoreId, imageSetId: target.imageSetId };
    if (tool === 'search_image_sets') return sdk.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: target.patientId }] }] } }));
    if (tool === 'get_image_set') return sdk.send(new GetImageSetCommand(ref));
    if (tool === 'list_image_set_versions') return sdk.send(new ListImageSetVersionsCommand(ref));
    if (tool === 'get_image_set_metadata') return sdk.send(new GetImageSetMetadataCommand(ref)).then((r) => r.imageSetMetadataBlob!.transformToByteArray());
    return sdk.send(new GetImageFrameCommand({ ...ref, imageFrameInformation: { imageFrameId: target.frameId } })).then((r) => r.imageFrameBlob!.transformToByteArray());
  };
  t = performance.now();
  await Promise.all(
    Array.from({ length: SESSIONS }, async (_, s) => {
      for (let i = 0; i < calls; i++) {
        const tool = mix[(i + s) % mix.length]!;
        await direct(tool, targets[(i * 7 + s) % targets.length]!);
      }
    }),
  );
  const peerSeconds = (performance.now() - t) / 1000;
  const total = SESSIONS * calls;
  const o = stats(latencies);
  env.add({
    case: 7,
    measure: `${SESSIONS} HTTP MCP sessions × ${calls} mixed read calls, latency`,
    unit: 'ms',
    ours: o,
    target: 'zero errors',
    check: 'must',
    pass: errors === 0,
    note: `p99 ${o.p99.toFixed(1)} ms, ${errors} errors`,
  });
  env.add({
    case: 7,
    measure: 'throughput',
    unit: 'calls/s',
    ours: { value: total / oursSeconds },
    peer: { name: `the same requests via the SDK, ${SESSIONS} concurrent`, result: { value: total / peerSeconds } },
    ratio: peerSeconds / oursSeconds,
  });
}
