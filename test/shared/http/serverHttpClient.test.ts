import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
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

  it('a 401 to a streamed request frees its connection before the retry with a new token', async () => {
    let connections = 0;
    let requests = 0;
    const server = await listen((_request, response) => {
      // Every other request: the token has just expired.
      const expired = requests++ % 2 === 0;
      response.writeHead(expired ? 401 : 200, { 'Content-Type': 'application/json' });
      response.end(expired ? '{"error":"invalid_token"}' : '[]');
    });
    server.server.on('connection', () => connections++);
    try {
      const client = createServerHttpClient({
        baseUrl: server.origin,
        authorization: { authorizationFor: async () => 'Bearer t', invalidate: () => undefined },
        timeoutMs: 60_000,
      });
      for (let round = 0; round < 6; round++) {
        const response = await client.get<Readable>('studies/1/metadata', { responseType: 'stream' });
        assert.equal(response.status, 200);
        for await (const _chunk of response.data) {
          // read to the end
        }
      }
      assert.equal(requests, 12);
      // An unread 401 body would hold its connection until the 60 s deadline: a new one every round.
      assert.ok(connections <= 2, `${connections} connections for 6 rounds`);
    } finally {
      await server.close();
    }
  });
});
