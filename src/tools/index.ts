/** Every tool of the server, in the order tools/list shows them. */
import { DATASTORE_TOOLS } from './datastores.js';
import { DICOMWEB_TOOLS } from './dicomweb.js';
import { EDIT_TOOLS } from './edit.js';
import { IMAGE_SET_TOOLS } from './image-sets.js';
import { IMPORT_JOB_TOOLS } from './import-jobs.js';
import { TAG_TOOLS } from './tags.js';
import type { ToolDefinition } from './types.js';

export const ALL_TOOLS: readonly ToolDefinition[] = [...DATASTORE_TOOLS, ...IMAGE_SET_TOOLS, ...IMPORT_JOB_TOOLS, ...EDIT_TOOLS, ...TAG_TOOLS, ...DICOMWEB_TOOLS];
