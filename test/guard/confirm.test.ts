/**
 * Confirmation of destructive writes, over both transports, through a real MCP client against the real local
 * service: every guarded action under elicitation (decline, cancel, accept), without elicitation (refused in elicit
 * mode, previewed and redeemed in token mode), with `none`; the store is checked through the AWS SDK each time.
 */
import { GetImageSetCommand, type MedicalImagingClient, TagResourceCommand } from '@aws-sdk/client-medical-imaging';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActiveDatastore } from '../helpers/import.js';
import { startTestService, type TestService } from '../helpers/local.js';
import {
  ACCEPT,
  CANCEL,
  DECLINE,
  datastoreStatusOf,
  demoCt,
  disposableCopy,
  type GuardClient,
  type GuardServer,
  metadataOf,
  startGuardServer,
  structured,
  tagsOf,
  textOf,
  TRANSPORTS,
  UNTICKED,
  updateDirectly,
  versionOf,
} from './harness.js';

let local: TestService;
let sdk: MedicalImagingClient;
let ds: string;
let ct: string;

beforeAll(async () => {
  local = await startTestService({ seedDemo: true });
  sdk = local.client;
  ds = local.service.demoDatastoreId!;
  ct = await demoCt(sdk, ds);
});
afterAll(async () => local.stop());

interface Target {
  args: Record<string, unknown>;
  /** The part of the store the action changes, read through the SDK. */
  state(): Promise<unknown>;
}

/** Every kind of call that needs confirmation, each on a target of its own. */
const ACTIONS: Array<{ name: string; tool: string; prepare(): Promise<Target> }> = [
  {
    name: 'delete an image set',
    tool: 'delete_image_set',
    async prepare() {
      const id = await disposableCopy(sdk, ds, ct);
      return { args: { datastore_id: ds, image_set_id: id }, state: () => versionOf(sdk, ds, id) };
    },
  },
  {
    name: 'delete a datastore',
    tool: 'delete_datastore',
    async prepare() {
      const id = await createActiveDatastore(sdk);
      return { args: { datastore_id: id }, state: () => datastoreStatusOf(sdk, id) };
    },
  },
  {
    name: 'remove a tag',
    tool: 'untag_resource',
    async prepare() {
      const id = await disposableCopy(sdk, ds, ct);
      const arn = (await sdk.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: id }))).imageSetArn!;
      await sdk.send(new TagResourceCommand({ resourceArn: arn, tags: { retention: '10y' } }));
      return { args: { resource_arn: arn, tag_keys: ['retention'] }, state: () => tagsOf(sdk, arn) };
    },
  },
  {
    name: 'update with force',
    tool: 'update_image_set_metadata',
    async prepare() {
      const id = await disposableCopy(sdk, ds, ct);
      return {
        args: { datastore_id: ds, image_set_id: id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'FORCED' } } }, force: true },
        state: () => versionOf(sdk, ds, id),
      };
    },
  },
  {
    name: 'revert to an earlier version',
    tool: 'update_image_set_metadata',
    async prepare() {
      const id = await disposableCopy(sdk, ds, ct);
      await updateDirectly(sdk, ds, id, { Study: { DICOM: { StudyDescription: 'SECOND' } } });
      return { args: { datastore_id: ds, image_set_id: id, latest_version_id: '2', revert_to_version_id: '1' }, state: () => versionOf(sdk, ds, id) };
    },
  },
  {
    name: 'remove a whole instance',
    tool: 'update_image_set_metadata',
    async prepare() {
      const id = await disposableCopy(sdk, ds, ct);
      const doc = await metadataOf(sdk, ds, id);
      const [series, { Instances }] = Object.entries(doc.Study.Series)[0]!;
      const sop = Object.keys(Instances)[0]!;
      return {
        args: { datastore_id: ds, image_set_id: id, latest_version_id: '1', removals: { Study: { Series: { [series]: { Instances: { [sop]: {} } } } } }, force: true },
        state: async () => Object.keys((await metadataOf(sdk, ds, id)).Study.Series[series]!.Instances).length,
      };
    },
  },
  {
    name: 'copy into an existing image set with force',
    tool: 'copy_image_set',
    async prepare() {
      const source = await disposableCopy(sdk, ds, ct);
      const destination = await disposableCopy(sdk, ds, ct);
      return {
        args: { datastore_id: ds, source_image_set_id: source, source_latest_version_id: '1', destination_image_set_id: destination, destination_latest_version_id: '1', force: true },
        state: () => versionOf(sdk, ds, destination),
      };
    },
  },
];

describe.each(TRANSPORTS)('over %s', (kind) => {
  describe('a client with form elicitation', () => {
    let server: GuardServer;
    let person: GuardClient;
    beforeAll(async () => {
      server = await startGuardServer(kind, local, { allowWrite: true });
      person = await server.connect({ elicitation: true });
    });
    afterAll(async () => {
      await person.close();
      await server.close();
    });

    describe.each(ACTIONS)('$name ($tool)', ({ tool, prepare }) => {
      let target: Target;
      beforeAll(async () => {
        target = await prepare();
      });

      it('declined: nothing changes, and an ordinary result says so', async () => {
        const before = await target.state();
        person.answerWith(DECLINE);
        const asked = person.elicitations.length;
        const r = await person.call(tool, target.args);
        expect(r.isError, textOf(r)).toBeFalsy();
        expect(person.elicitations).toHaveLength(asked + 1);
        expect(structured(r).outcome).toBe('declined');
        expect(textOf(r)).toMatch(/^Not done: the person declined\. Nothing was changed\./);
        expect(await target.state()).toEqual(before);
        expect(server.audit.at(-1)).toMatchObject({ tool, outcome: 'declined', confirmation: 'elicitation' });
      });

      it('cancelled: nothing changes, and an ordinary result says so', async () => {
        const before = await target.state();
        person.answerWith(CANCEL);
        const r = await person.call(tool, target.args);
        expect(r.isError, textOf(r)).toBeFalsy();
        expect(structured(r).outcome).toBe('cancelled');
        expect(textOf(r)).toMatch(/dismissed the confirmation dialog\. Nothing was changed\./);
        expect(await target.state()).toEqual(before);
        expect(server.audit.at(-1)).toMatchObject({ tool, outcome: 'cancelled', confirmation: 'elicitation' });
      });

      it('accepted with the box ticked: the change is made', async () => {
        const before = await target.state();
        person.answerWith(ACCEPT);
        const r = await person.call(tool, target.args);
        expect(r.isError, textOf(r)).toBeFalsy();
        expect(structured(r)).toMatchObject({ outcome: 'applied', changes: expect.any(Array) });
        expect(await target.state()).not.toEqual(before);
        expect(server.audit.at(-1)).toMatchObject({ tool, outcome: 'applied', confirmation: 'elicitation', aws_request_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      });
    });

    it('asks with the change spelled out and a single checkbox, as part of the tool call', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      person.answerWith(DECLINE);
      await person.call('update_image_set_metadata', { datastore_id: ds, image_set_id: id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'NEW' } } }, force: true });
      const asked = person.elicitations.at(-1)!;
      expect(asked.message).toContain(`Update the metadata of image set ${id} in datastore ${ds}, version 1 → 2, with force.`);
      expect(asked.message).toContain('Asking because force=true overrides HealthImaging\'s metadata checks.');
      expect(asked.message).toMatch(/\n {2}Study StudyDescription: ".*" → "NEW"\n/);
      expect(asked).toMatchObject({ requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean', default: false } }, required: ['confirm'] } });
    });

    it('an accepted dialog with the box left unticked is a decline', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      person.answerWith(UNTICKED);
      const r = await person.call('delete_image_set', { datastore_id: ds, image_set_id: id });
      expect(r.isError).toBeFalsy();
      expect(structured(r).outcome).toBe('declined');
      expect(textOf(r)).toContain('did not tick the confirmation box');
      expect(await versionOf(sdk, ds, id)).toBe('1');
    });

    it('refuses a change whose target moved on while the dialog was open', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      person.answerWith(async () => {
        await updateDirectly(sdk, ds, id, { Study: { DICOM: { StudyDescription: 'CHANGED MEANWHILE' } } });
        return { action: 'accept', content: { confirm: true } };
      });
      const r = await person.call('delete_image_set', { datastore_id: ds, image_set_id: id });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/^TargetChanged: .*\(version 1 then, version 2 now\)/);
      expect(await versionOf(sdk, ds, id)).toBe('2');
      expect(server.audit.at(-1)).toMatchObject({ outcome: 'refused', error: 'TargetChanged', confirmation: 'elicitation' });
    });

    it('checks the target before asking: a stale version or a missing image set is refused without a dialog', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const asked = person.elicitations.length;
      const stale = await person.call('update_image_set_metadata', { datastore_id: ds, image_set_id: id, latest_version_id: '7', revert_to_version_id: '1' });
      expect(textOf(stale)).toMatch(/^StaleVersion: latest_version_id 7 is not the latest version .*: the latest is 1\./);
      const missing = await person.call('delete_image_set', { datastore_id: ds, image_set_id: 'f'.repeat(32) });
      expect(textOf(missing)).toMatch(/^ResourceNotFoundException: /);
      expect(person.elicitations).toHaveLength(asked);
      expect(server.audit.slice(-2).map((e) => [e.outcome, e.error])).toEqual([
        ['refused', 'StaleVersion'],
        ['refused', 'ResourceNotFoundException'],
      ]);
    });

    it('does not ask about writes that need no confirmation', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const asked = person.elicitations.length;
      const r = await person.call('update_image_set_metadata', { datastore_id: ds, image_set_id: id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'PLAIN' } } } });
      expect(structured(r)).toMatchObject({ outcome: 'applied', latest_version_id: '2' });
      expect(structured(r)).not.toHaveProperty('changes');
      expect(person.elicitations).toHaveLength(asked);
      expect(server.audit.at(-1)).toMatchObject({ tool: 'update_image_set_metadata', outcome: 'applied', confirmation: 'not_required', targets: { image_set_id: id } });
    });

    it('a dialog nobody answers times out and changes nothing', async () => {
      const quick = await startGuardServer(kind, local, { allowWrite: true, confirmTimeoutSeconds: '1' });
      const slow = await quick.connect({ elicitation: true });
      slow.answerWith(() => new Promise((resolve) => setTimeout(() => resolve({ action: 'accept', content: { confirm: true } }), 1500)));
      const id = await disposableCopy(sdk, ds, ct);
      const r = await slow.call('delete_image_set', { datastore_id: ds, image_set_id: id });
      expect(r.isError).toBeFalsy();
      expect(structured(r).outcome).toBe('timed_out');
      expect(textOf(r)).toContain('nobody answered the confirmation dialog within 1 s');
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(await versionOf(sdk, ds, id)).toBe('1');
      await slow.close();
      await quick.close();
    });

    it('asks even in token mode, when the client can show a dialog', async () => {
      const tokenServer = await startGuardServer(kind, local, { allowWrite: true, confirmMode: 'token' });
      const client = await tokenServer.connect({ elicitation: true });
      client.answerWith(DECLINE);
      const id = await disposableCopy(sdk, ds, ct);
      const r = await client.call('delete_image_set', { datastore_id: ds, image_set_id: id });
      expect(structured(r)).toMatchObject({ outcome: 'declined' });
      expect(structured(r)).not.toHaveProperty('confirmation_token');
      expect(client.elicitations).toHaveLength(1);
      await client.close();
      await tokenServer.close();
    });
  });

  describe('a client without elicitation, --confirm-mode elicit (the default)', () => {
    let server: GuardServer;
    let client: GuardClient;
    beforeAll(async () => {
      server = await startGuardServer(kind, local, { allowWrite: true });
      client = await server.connect();
    });
    afterAll(async () => {
      await client.close();
      await server.close();
    });

    it.each(ACTIONS)('refuses to $name, telling the operator what to change; the store is unchanged', async ({ tool, prepare }) => {
      const target = await prepare();
      const before = await target.state();
      const r = await client.call(tool, target.args);
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(new RegExp(`^ConfirmationUnavailable: ${tool} needs a person's confirmation here \\(.+\\), and this client cannot show confirmation dialogs`));
      expect(textOf(r)).toContain('Nothing was changed.');
      expect(textOf(r)).toMatch(/Next step: .*--confirm-mode token.*--confirm-mode none/);
      expect(await target.state()).toEqual(before);
      expect(server.audit.at(-1)).toEqual(expect.objectContaining({ tool, outcome: 'refused', confirmation: 'unavailable', error: 'ConfirmationUnavailable' }));
      expect(server.audit.at(-1)).not.toHaveProperty('aws_request_id');
    });

    it('still makes changes that need no confirmation', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const r = await client.call('update_image_set_metadata', { datastore_id: ds, image_set_id: id, latest_version_id: '1', updates: { Study: { DICOM: { StudyDescription: 'OK' } } } });
      expect(structured(r)).toMatchObject({ outcome: 'applied', latest_version_id: '2' });
    });
  });

  describe('a client without elicitation, --confirm-mode token', () => {
    let server: GuardServer;
    let client: GuardClient;
    beforeAll(async () => {
      server = await startGuardServer(kind, local, { allowWrite: true, confirmMode: 'token' });
      client = await server.connect();
    });
    afterAll(async () => {
      await client.close();
      await server.close();
    });

    /** The first, token-issuing call of a guarded action. */
    async function preview(tool: string, args: Record<string, unknown>): Promise<string> {
      const r = await client.call(tool, args);
      expect(r.isError, textOf(r)).toBeFalsy();
      expect(structured(r)).toMatchObject({ outcome: 'confirmation_required', confirmation_token: expect.stringMatching(/^hic1\./), confirmation_expires_at: expect.any(String) });
      return structured<{ confirmation_token: string }>(r).confirmation_token;
    }

    it('declares confirmation_token on guarded tools only', async () => {
      const { tools } = await client.client.listTools();
      const withToken = tools.filter((t) => 'confirmation_token' in (t.inputSchema.properties ?? {})).map((t) => t.name);
      expect(withToken.sort()).toEqual(['copy_image_set', 'delete_datastore', 'delete_image_set', 'untag_resource', 'update_image_set_metadata']);
    });

    it('success: the first call previews and changes nothing; the second, with the token, makes the change', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const args = { datastore_id: ds, image_set_id: id };
      const first = await client.call('delete_image_set', args);
      expect(textOf(first)).toMatch(new RegExp(`^Confirmation required; nothing has been changed yet\\. Delete image set ${id} \\(version 1, non-primary\\)`));
      expect(textOf(first)).toContain('Patient DEMO^CHEST^CT (ID DEMO-0001)');
      const token = structured<{ confirmation_token: string }>(first).confirmation_token;
      expect(textOf(first)).toContain(`confirmation_token="${token}"`);
      expect(await versionOf(sdk, ds, id)).toBe('1');
      expect(server.audit.at(-1)).toMatchObject({ outcome: 'confirmation_required', confirmation: 'token' });

      const second = await client.call('delete_image_set', { ...args, confirmation_token: token });
      expect(structured(second)).toMatchObject({ outcome: 'applied', state: 'DELETED' });
      expect(await versionOf(sdk, ds, id)).toBe('gone');
      expect(server.audit.at(-1)).toMatchObject({ outcome: 'applied', confirmation: 'token', targets: { datastore_id: ds, image_set_id: id } });
    });

    it('replay: a used token is refused, and nothing changes again', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const arn = (await sdk.send(new GetImageSetCommand({ datastoreId: ds, imageSetId: id }))).imageSetArn!;
      await sdk.send(new TagResourceCommand({ resourceArn: arn, tags: { retention: '10y' } }));
      const args = { resource_arn: arn, tag_keys: ['retention'] };
      const token = await preview('untag_resource', args);
      expect(structured(await client.call('untag_resource', { ...args, confirmation_token: token })).outcome).toBe('applied');
      await sdk.send(new TagResourceCommand({ resourceArn: arn, tags: { retention: '10y' } }));
      const replay = await client.call('untag_resource', { ...args, confirmation_token: token });
      expect(replay.isError).toBe(true);
      expect(textOf(replay)).toMatch(/^ConfirmationTokenReplayed: This confirmation token was already used/);
      expect(await tagsOf(sdk, arn)).toMatchObject({ retention: '10y' });
      expect(server.audit.at(-1)).toMatchObject({ outcome: 'refused', error: 'ConfirmationTokenReplayed', confirmation: 'token' });
    });

    it('argument swap: a token for one call is refused for another', async () => {
      const [a, b] = [await disposableCopy(sdk, ds, ct), await disposableCopy(sdk, ds, ct)];
      const token = await preview('delete_image_set', { datastore_id: ds, image_set_id: a });
      const swapped = await client.call('delete_image_set', { datastore_id: ds, image_set_id: b, confirmation_token: token });
      expect(textOf(swapped)).toMatch(/^ConfirmationTokenMismatch: The arguments differ from those the confirmation token was issued for/);
      const otherTool = await client.call('update_image_set_metadata', { datastore_id: ds, image_set_id: a, latest_version_id: '1', revert_to_version_id: '1', confirmation_token: token });
      expect(textOf(otherTool)).toMatch(/^ConfirmationTokenMismatch: This confirmation token was issued for delete_image_set, not update_image_set_metadata/);
      expect([await versionOf(sdk, ds, a), await versionOf(sdk, ds, b)]).toEqual(['1', '1']);
      // Refusals do not use the token up: the call it was issued for still goes through.
      expect(structured(await client.call('delete_image_set', { datastore_id: ds, image_set_id: a, confirmation_token: token })).outcome).toBe('applied');
    });

    it('stale version: a token is refused once its target has changed', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const token = await preview('delete_image_set', { datastore_id: ds, image_set_id: id });
      await updateDirectly(sdk, ds, id, { Study: { DICOM: { StudyDescription: 'EDITED ELSEWHERE' } } });
      const r = await client.call('delete_image_set', { datastore_id: ds, image_set_id: id, confirmation_token: token });
      expect(textOf(r)).toMatch(/^ConfirmationTokenStale: The target changed after the confirmation token was issued \(version 1 then, version 2 now\)/);
      expect(await versionOf(sdk, ds, id)).toBe('2');
    });

    it('expiry: a token is refused after --confirm-timeout-seconds', async () => {
      const quick = await startGuardServer(kind, local, { allowWrite: true, confirmMode: 'token', confirmTimeoutSeconds: '1' });
      const impatient = await quick.connect();
      const id = await disposableCopy(sdk, ds, ct);
      const args = { datastore_id: ds, image_set_id: id };
      const token = structured<{ confirmation_token: string }>(await impatient.call('delete_image_set', args)).confirmation_token;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const r = await impatient.call('delete_image_set', { ...args, confirmation_token: token });
      expect(textOf(r)).toMatch(/^ConfirmationTokenExpired: This confirmation token expired at /);
      expect(await versionOf(sdk, ds, id)).toBe('1');
      await impatient.close();
      await quick.close();
    });

    it('an altered or made-up token is refused', async () => {
      const id = await disposableCopy(sdk, ds, ct);
      const args = { datastore_id: ds, image_set_id: id };
      const token = await preview('delete_image_set', args);
      const [prefix, body, mac] = token.split('.');
      const payload = JSON.parse(Buffer.from(body!, 'base64url').toString()) as { exp: number };
      const extended = Buffer.from(JSON.stringify({ ...payload, exp: payload.exp + 3_600_000 })).toString('base64url');
      for (const forged of [`${prefix}.${extended}.${mac}`, 'hic1.e30.AAAA', 'confirm']) {
        const r = await client.call('delete_image_set', { ...args, confirmation_token: forged });
        expect(textOf(r)).toMatch(/^ConfirmationTokenInvalid: /);
      }
      expect(await versionOf(sdk, ds, id)).toBe('1');
    });

    if (kind === 'http') {
      it('a token works only in the session it was issued in', async () => {
        const id = await disposableCopy(sdk, ds, ct);
        const args = { datastore_id: ds, image_set_id: id };
        const token = await preview('delete_image_set', args);
        const other = await server.connect();
        const r = await other.call('delete_image_set', { ...args, confirmation_token: token });
        expect(textOf(r)).toMatch(/^ConfirmationTokenMismatch: This confirmation token was issued in another MCP session/);
        expect(await versionOf(sdk, ds, id)).toBe('1');
        await other.close();
      });
    }
  });

  describe('--confirm-mode none', () => {
    it('carries out guarded actions unasked, after the same checks, and audits them as such', async () => {
      const server = await startGuardServer(kind, local, { allowWrite: true, confirmMode: 'none' });
      const client = await server.connect();
      const id = await disposableCopy(sdk, ds, ct);
      const notEmpty = await client.call('delete_datastore', { datastore_id: ds });
      expect(textOf(notEmpty)).toMatch(/^TargetNotReady: Datastore .* still holds image sets/);
      const r = await client.call('delete_image_set', { datastore_id: ds, image_set_id: id });
      expect(structured(r)).toMatchObject({ outcome: 'applied', changes: [expect.stringContaining('Patient DEMO^CHEST^CT'), expect.stringContaining('cannot be undone')] });
      expect(await versionOf(sdk, ds, id)).toBe('gone');
      expect(server.audit.at(-1)).toMatchObject({ tool: 'delete_image_set', outcome: 'applied', confirmation: 'none' });
      await client.close();
      await server.close();
    });
  });
});
