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
