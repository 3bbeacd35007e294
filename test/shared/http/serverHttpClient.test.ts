import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noAuthorization } from '../../../shared/auth/index.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { listen } from '../../support/loopback.js';

describe('createServerHttpClient: connections to a server are kept open and reused', () => {
  it('sends sequential requests, and the clients of one process, over one connection', async () => {
    let connections = 0;
    const server = await listen((_request, response) => {
      response.setHeader('Content-Type', 'application/json');
      response.end('{}');
    });
    server.server.on('connection', () => connections++);
    try {
      const dicom = createServerHttpClient({ baseUrl: server.origin, authorization: noAuthorization });
      const fhir = createServerHttpClient({ baseUrl: `${server.origin}/fhir`, authorization: noAuthorization });
      for (let request = 0; request < 10; request++) {
        assert.equal((await dicom.get('studies')).status, 200);
        assert.equal((await fhir.get('Patient')).status, 200);
      }
      assert.equal(connections, 1);
    } finally {
      await server.close();
    }
  });

  it('opens no more connections than requests in flight', async () => {
    let connections = 0;
    const server = await listen((_request, response) => {
      setTimeout(() => response.end('{}'), 20);
    });
    server.server.on('connection', () => connections++);
    try {
      const client = createServerHttpClient({ baseUrl: server.origin, authorization: noAuthorization });
      for (let round = 0; round < 3; round++) {
        await Promise.all(Array.from({ length: 8 }, () => client.get('x')));
      }
      assert.equal(connections, 8);
    } finally {
      await server.close();
    }
  });
});
