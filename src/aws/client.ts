/** The HealthImaging SDK client for the configured backend. */
import { Readable } from 'node:stream';
import { MedicalImagingClient } from '@aws-sdk/client-medical-imaging';
import { HttpResponse } from '@smithy/protocol-http';
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

export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  constructor(
    readonly limit: number,
    operation: string,
  ) {
    super(`The backend's answer to ${operation} is larger than the configured limit of ${limit} bytes; it was not read (the operator can raise --max-response-bytes).`);
  }
}

export function createMedicalImagingClient(config: Config, target: ClientTarget): MedicalImagingClient {
  const endpoint = target.endpoint ?? config.endpointUrl;
  const timeoutMs = config.requestTimeoutSeconds * 1000;
  const client = new MedicalImagingClient({
    ...(config.region && { region: config.region }),
    ...(!config.region && endpoint && { region: 'us-east-1' }),
    ...(config.profile && { profile: config.profile }),
    ...(target.credentials && { credentials: target.credentials }),
    ...(endpoint && {
      endpoint,
      // Data-plane operations carry the host prefix `runtime-`, which a custom endpoint does not have.
      disableHostPrefix: true,
    }),
    // Without these the SDK waits forever on an endpoint that accepts a connection and never answers.
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, socketTimeout: timeoutMs, throwOnRequestTimeout: true },
  });
  limitResponseSize(client, config.maxResponseBytes);
  return client;
}

/**
 * Refuses response bodies over `limit` bytes: at once when Content-Length says so, otherwise as the bytes arrive. The
 * SDK buffers JSON bodies whole before parsing them, so this is what keeps a broken endpoint from exhausting memory.
 */
function limitResponseSize(client: MedicalImagingClient, limit: number): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const response = out.response;
      if (!HttpResponse.isInstance(response)) return out;
      const operation = context.commandName ?? 'the request';
      const body = response.body as unknown;
      const declared = Number(response.headers['content-length']);
      if (declared > limit) {
        if (body instanceof Readable) body.destroy();
        throw new ResponseTooLargeError(limit, operation);
      }
      if (body instanceof Readable) {
        let size = 0;
        response.body = Readable.from(
          (async function* () {
            for await (const chunk of body as AsyncIterable<Uint8Array>) {
              size += chunk.length;
              if (size > limit) {
                body.destroy();
                throw new ResponseTooLargeError(limit, operation);
              }
              yield chunk;
            }
          })(),
          { objectMode: false },
        );
      }
      return out;
    },
    // Low priority in the deserialize step runs inside the deserializer, on the raw HTTP response.
    { step: 'deserialize', priority: 'low', name: 'healthimagingMcpResponseSizeLimit' },
  );
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
