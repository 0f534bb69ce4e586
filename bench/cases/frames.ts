/**
 * Case 3: a 16-bit HTJ2K frame to a windowed PNG image block through get_image_frame (in-memory MCP client), vs
 * the floor: decoding the same codestream and rendering it (window, downscale, PNG) with the same functions,
 * with the bytes already in memory. And, to show what the tool itself adds, vs the same work done directly: the two
 * requests the tool makes (GetImageFrame, and GetImageSet for the latest version, in parallel) with the SDK, then
 * decode and render.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GetImageFrameCommand, GetImageSetCommand, GetImageSetMetadataCommand } from '@aws-sdk/client-medical-imaging';
import { gunzipSync } from 'node:zlib';
import { decodeFrame } from '../../src/dicom/codecs.js';
import { geometryOf } from '../../src/dicom/p10.js';
import { DEFAULT_MAX_SIZE, frameAttributes, renderFrame } from '../../src/dicom/render.js';
import type { ImageSetMetadataDocument } from '../../src/dicom/types.js';
import type { BenchEnv } from '../lib/env.js';
import { pairedRatio, samplePair, stats } from '../lib/stats.js';

const BOUND_MS: Record<number, number> = { 512: 25, 2048: 250 };
const MAX_RATIO = 1.5;
/** The 512² frame's known miss (1.8–2.2× the floor) must not grow beyond this. */
const FLOOR_GUARD = 3;

export async function frames(env: BenchEnv): Promise<void> {
  const { local, sdk, manifest } = await env.frames();
  const client = await env.inMemoryMcp(local);
  for (const { size, imageSetId } of manifest.sets) {
    const datastoreId = manifest.datastoreId;
    const gz = await (await sdk.send(new GetImageSetMetadataCommand({ datastoreId, imageSetId }))).imageSetMetadataBlob!.transformToByteArray();
    const doc = JSON.parse(gunzipSync(gz).toString('utf8')) as ImageSetMetadataDocument;
    const series = Object.values(doc.Study.Series)[0]!;
    const instance = Object.values(series.Instances)[0]!;
    const frameId = instance.ImageFrames[0]!.ID;
    const bytes = await (await sdk.send(new GetImageFrameCommand({ datastoreId, imageSetId, imageFrameInformation: { imageFrameId: frameId } }))).imageFrameBlob!.transformToByteArray();
    const attributes = frameAttributes({ ...series.DICOM, ...instance.DICOM }, 0);
    const syntax = instance.StoredTransferSyntaxUID ?? '1.2.840.10008.1.2.4.202';

    const floor = async () => {
      const decoded = await decodeFrame(bytes, syntax, geometryOf(attributes));
      renderFrame(decoded, attributes, { maxSize: DEFAULT_MAX_SIZE });
    };
    const direct = async () => {
      const [frame] = await Promise.all([
        sdk.send(new GetImageFrameCommand({ datastoreId, imageSetId, imageFrameInformation: { imageFrameId: frameId } })).then((r) => r.imageFrameBlob!.transformToByteArray()),
        sdk.send(new GetImageSetCommand({ datastoreId, imageSetId })),
      ]);
      renderFrame(await decodeFrame(frame, syntax, geometryOf(attributes)), attributes, { maxSize: DEFAULT_MAX_SIZE });
    };
    const tool = async () => {
      const result = (await client.callTool({ name: 'get_image_frame', arguments: { datastore_id: datastoreId, image_set_id: imageSetId, image_frame_id: frameId } })) as CallToolResult;
      if (result.isError || !result.content.some((c) => c.type === 'image')) throw new Error(`get_image_frame returned no image: ${JSON.stringify(result.content).slice(0, 300)}`);
    };
    const iterations = size > 1024 ? (env.mode === 'quick' ? 25 : 40) : env.mode === 'quick' ? 40 : 150;
    const [ours, peer] = await samplePair(tool, floor, iterations, 3);
    const o = stats(ours);
    const p = stats(peer);
    const ratio = pairedRatio(ours, peer);
    env.add({
      case: 3,
      measure: `get_image_frame ${size}² 16-bit HTJ2K → PNG`,
      unit: 'ms',
      ours: o,
      peer: { name: 'decode + render alone (floor)', result: p },
      ratio,
      target: `≤ ${MAX_RATIO}× floor (median of paired ratios)`,
      check: 'ratio',
      pass: ratio <= MAX_RATIO,
      ...(size <= 512 && {
        knownMiss: 'the two requests the tool must make, which the floor does not; the next row compares the tool with that same work done directly',
        guard: { target: `≤ ${FLOOR_GUARD}× floor`, pass: ratio <= FLOOR_GUARD },
      }),
      note: `PNG long edge ≤ ${DEFAULT_MAX_SIZE} (the default)`,
    });
    const [ours2, direct2] = await samplePair(tool, direct, iterations, 3);
    env.add({
      case: 3,
      measure: `get_image_frame ${size}² vs the same requests, decode and render done directly`,
      unit: 'ms',
      ours: stats(ours2),
      peer: { name: 'GetImageFrame ∥ GetImageSet with the SDK, then decode + render', result: stats(direct2) },
      ratio: pairedRatio(ours2, direct2),
      note: 'what MCP and the tool add to their own work; no target',
    });
    env.add({
      case: 3,
      measure: `get_image_frame ${size}² median`,
      unit: 'ms',
      ours: o,
      target: `median ≤ ${BOUND_MS[size]} ms`,
      check: 'bound',
      pass: o.median <= BOUND_MS[size]!,
    });
  }
}
