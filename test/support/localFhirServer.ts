import { after, before, beforeEach } from 'node:test';
import { startFhirServer, type FhirServerOptions, type RunningFhirServer } from '../../dev/fhir-server/index.js';
import { noAuthorization } from '../../shared/auth/authorizationProvider.js';
import { createFhirClient } from '../../shared/fhir/fhirClient.js';

export interface LocalFhir {
  server: RunningFhirServer;
  fhir: ReturnType<typeof createFhirClient>;
}

/**
 * Starts the local FHIR server for the enclosing describe, with a client on it over loopback HTTP, and empties it
 * before each test. `onStart` receives both once `before` has run.
 */
export function useLocalFhirServer(onStart: (local: LocalFhir) => void, options: FhirServerOptions = {}): void {
  let server: RunningFhirServer | undefined;
  before(async () => {
    server = await startFhirServer(options);
    onStart({ server, fhir: createFhirClient({ baseUrl: server.url, authorization: noAuthorization }) });
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await server?.reset();
  });
}
