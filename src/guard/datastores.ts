/**
 * The datastore allow-list (`--datastore-ids`), enforced where every request to HealthImaging passes: the SDK client
 * that a server's tools, resources and completions share. A request naming a datastore outside the list (as
 * `datastoreId`, or inside a `resourceArn`) is refused before it is signed; ListDatastores answers keep only allowed
 * datastores; a request that names no datastore and is not a listing (CreateDatastore) is refused. Enforcing it at
 * the client rather than in each tool means a new tool, resource or guard check cannot forget it.
 */
import { ListDatastoresCommand, type ListDatastoresCommandOutput, type MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { interceptSend, type SentCommand } from '../aws/client.js';
import { GuardError } from './errors.js';

const ARN_DATASTORE = /:datastore\/([0-9a-z]{32})(?:\/|$)/;

/** The datastore a request acts on, or undefined when it names none. */
export function datastoreOf(input: object): string | undefined {
  const { datastoreId, resourceArn } = input as { datastoreId?: unknown; resourceArn?: unknown };
  if (typeof datastoreId === 'string') return datastoreId;
  if (typeof resourceArn === 'string') return ARN_DATASTORE.exec(resourceArn)?.[1];
  return undefined;
}

/** `client`, confined to `allowed`: see the module comment. */
export function confineToDatastores(client: MedicalImagingClient, allowed: readonly string[]): MedicalImagingClient {
  const allow = new Set(allowed);
  const hint = `This server may only use datastore(s) ${allowed.join(', ')} (--datastore-ids); list_datastores shows them.`;
  return interceptSend(client, async (command: SentCommand, send) => {
    if (command instanceof ListDatastoresCommand) {
      const output = (await send()) as ListDatastoresCommandOutput;
      return { ...output, datastoreSummaries: output.datastoreSummaries?.filter((d) => d.datastoreId !== undefined && allow.has(d.datastoreId)) };
    }
    const datastore = datastoreOf(command.input);
    if (datastore === undefined) {
      throw new GuardError('DatastoreNotAllowed', `${command.constructor.name.replace(/Command$/, '')} does not act on one datastore, and this server is confined to an allow-list of datastores.`, hint);
    }
    if (!allow.has(datastore)) throw new GuardError('DatastoreNotAllowed', `Datastore ${datastore} is not one this server may use.`, hint);
    return send();
  });
}
