import os from 'node:os';
import path from 'node:path';

/** Where the local service keeps its data unless told otherwise. */
export const DEFAULT_DATA_DIR = path.join(os.homedir(), '.healthimaging-mcp', 'local');

export const LOCAL_HELP = `Options of 'local':
  --port N           Port to listen on; 0 picks a free one (default 0, env HEALTHIMAGING_LOCAL_PORT)
  --host H           Address to bind (default 127.0.0.1, env HEALTHIMAGING_LOCAL_HOST)
  --data-dir D       Storage directory (default ${DEFAULT_DATA_DIR}, env HEALTHIMAGING_MCP_DATA_DIR);
                     s3://bucket/key in import jobs maps to D/s3/bucket/key
  --seed-demo        Create the 'demo' datastore with synthetic studies unless it exists

Requests must be signed with SigV4 (service medical-imaging, any region) using
HEALTHIMAGING_LOCAL_ACCESS_KEY_ID / HEALTHIMAGING_LOCAL_SECRET_ACCESS_KEY
(defaults AKIAHEALTHIMAGINGLOCAL / healthimaging-local-secret-access-key).`;
