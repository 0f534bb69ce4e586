/**
 * Case 6: the local service's reads over a large datastore, through the SDK: SearchImageSets by patient ID and
 * unfiltered, and GetImageSetMetadata of the big image set; curl --aws-sigv4 making the same requests is the peer
 * (an independent client, process start included).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GetImageSetMetadataCommand, SearchImageSetsCommand } from '@aws-sdk/client-medical-imaging';
import type { BenchEnv } from '../lib/env.js';
import { REGION } from '../lib/procs.js';
import { sample, stats } from '../lib/stats.js';

const run = promisify(execFile);

export async function search(env: BenchEnv): Promise<void> {
  const { local, sdk, manifest } = await env.catalog();
  const { datastoreId, patients, imageSets, bigImageSetId, bigInstances } = manifest;
  const curl = (pathname: string, body: string) => () =>
    run('curl', ['-sS', '--fail', '-o', '/dev/null', '--aws-sigv4', `aws:amz:${REGION}:medical-imaging`, '--user', `${local.credentials.accessKeyId}:${local.credentials.secretAccessKey}`, '-H', 'content-type: application/json', '--data-binary', body, `${local.endpoint}${pathname}`]);
  const searchPath = `/datastore/${datastoreId}/searchImageSets`;

  let i = 0;
  const byPatient = () =>
    sdk.send(new SearchImageSetsCommand({ datastoreId, searchCriteria: { filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: `BENCH-${(i++ * 7919) % patients}` }] }] } }));
  const all = () => sdk.send(new SearchImageSetsCommand({ datastoreId, maxResults: 50, searchCriteria: {} }));
  const curlIterations = env.mode === 'quick' ? 10 : 30;
  for (const [measure, fn, body] of [
    ['SearchImageSets by patient ID', byPatient, JSON.stringify({ filters: [{ operator: 'EQUAL', values: [{ DICOMPatientId: 'BENCH-1' }] }] })],
    ['SearchImageSets, no filter, first 50 by updatedAt', all, '{}'],
  ] as const) {
    const o = stats(await sample(fn, env.sizes.iterations, 20));
    const p = stats(await sample(curl(searchPath, body), curlIterations, 2));
    env.add({
      case: 6,
      measure: `${measure}, ${imageSets + 1} image sets`,
      unit: 'ms',
      ours: o,
      peer: { name: 'curl --aws-sigv4 (process included)', result: p },
      ratio: o.median / p.median,
      target: 'median ≤ 20 ms, p99 ≤ 100 ms',
      check: 'bound',
      pass: o.median <= 20 && o.p99 <= 100,
      note: `p99 ${o.p99.toFixed(2)} ms`,
    });
  }

  const metadata = async () => {
    const res = await sdk.send(new GetImageSetMetadataCommand({ datastoreId, imageSetId: bigImageSetId }));
    await res.imageSetMetadataBlob!.transformToByteArray();
  };
  const o = stats(await sample(metadata, env.mode === 'quick' ? 20 : 50, 3));
  const p = stats(await sample(curl(`/datastore/${datastoreId}/imageSet/${bigImageSetId}/getImageSetMetadata`, ''), curlIterations, 2));
  env.add({
    case: 6,
    measure: `GetImageSetMetadata, ${bigInstances}-instance image set`,
    unit: 'ms',
    ours: o,
    peer: { name: 'curl --aws-sigv4 (process included)', result: p },
    ratio: o.median / p.median,
    target: '≤ 150 ms',
    check: 'bound',
    pass: o.median <= 150,
  });
}
