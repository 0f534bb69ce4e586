/** The `curate_image_set` prompt: the curation workflow, step by step, for an agent fixing an image set's metadata. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export const CURATION_STEPS = [
  'Find it: list_datastores, then search_image_sets (patient ID, accession number, study/series UID, study dates).',
  'Inspect it: get_image_set_metadata for the summary (the full document is the linked resource; read it only when the summary is not enough).',
  'Look at it: get_contact_sheet for the whole series, get_image_frame for one frame; make sure it is the right patient and study.',
  'Check its state: get_image_set; it must be ACTIVE, and its version_id is the latest_version_id the change needs.',
  'Preview: update_image_set_metadata with dry_run: true; read the diff (attribute, level, old → new) and check it changes exactly what was asked.',
  'Apply: the same call without dry_run. The person you work for confirms destructive changes in a dialog (or with a confirmation token); do not use force unless the change needs it, and say why.',
  'Verify: compare_image_set_versions from the previous version to the new one, and get_image_set shows UPDATED (UPDATE_FAILED carries a message: read it before retrying).',
];

export function registerCurationPrompt(server: McpServer): void {
  server.registerPrompt(
    'curate_image_set',
    {
      title: 'Curate an image set',
      description: 'Guides the correction of an image set\'s DICOM metadata: find, inspect, look, preview the change, apply with confirmation, verify.',
      argsSchema: {
        goal: z.string().min(1).describe('What should change, e.g. "the patient name should be DOE^JANE"'),
        datastore_id: z.string().optional().describe('The datastore, if known'),
        image_set_id: z.string().optional().describe('The image set, if known'),
      },
    },
    ({ goal, datastore_id, image_set_id }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `Curate an image set in AWS HealthImaging. Goal: ${goal}`,
              ...(datastore_id ? [`Datastore: ${datastore_id}`] : []),
              ...(image_set_id ? [`Image set: ${image_set_id}`] : []),
              '',
              'Work in these steps and report what you found at each:',
              ...CURATION_STEPS.map((step, i) => `${i + 1}. ${step}`),
              '',
              'Medical images are patient data: quote identifiers only as far as the task needs, and change nothing beyond the goal.',
            ].join('\n'),
          },
        },
      ],
    }),
  );
}
