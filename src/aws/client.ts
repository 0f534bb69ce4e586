/** The HealthImaging SDK client for the configured backend. */
import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import type { Config } from '../config.js';

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface ClientTarget {
  /** A HealthImaging-compatible endpoint (the local service, or --endpoint-url); undefined = AWS itself. */
  endpoint?: string;
  /** Fixed credentials (the local service's); undefined = the standard AWS credential chain. */
  credentials?: StaticCredentials;
}

export function createMedicalImagingClient(config: Config, target: ClientTarget): MedicalImagingClient {
  const endpoint = target.endpoint ?? config.endpointUrl;
  return new MedicalImagingClient({
    ...(config.region && { region: config.region }),
    ...(!config.region && endpoint && { region: 'us-east-1' }),
    ...(config.profile && { profile: config.profile }),
    ...(target.credentials && { credentials: target.credentials }),
    ...(endpoint && {
      endpoint,
      // Data-plane operations carry the host prefix `runtime-`, which a custom endpoint does not have.
      disableHostPrefix: true,
    }),
  });
}

/** A command as `send` receives it: every SDK command carries its input. */
export interface SentCommand {
  readonly input: object;
}

/**
 * A view of `client` whose `send` (promise form) goes through `around`; every other member is the client's own. It is
 * still an instance of MedicalImagingClient, which the SDK's paginators check, and destroying it destroys the client.
 * Used to confine a server to its allowed datastores and to note the request IDs of writes, without touching the
 * client that other sessions share.
 */
export function interceptSend(client: MedicalImagingClient, around: (command: SentCommand, send: () => Promise<unknown>) => Promise<unknown>): MedicalImagingClient {
  const send = (command: SentCommand, options?: object) => around(command, () => client.send(command as never, options as never));
  return new Proxy(client, { get: (target, key) => (key === 'send' ? send : Reflect.get(target, key, target)) });
}
