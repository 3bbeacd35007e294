import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { createAuthorizationProvider } from '../../../shared/auth/createAuthorizationProvider.js';
import { createServerHttpClient } from '../../../shared/http/serverHttpClient.js';
import { listen, readBody } from '../../support/loopback.js';

interface BasicServer {
  origin: string;
  received: { url: string; authorization: string | undefined; body: string }[];
  close: () => Promise<void>;
}

/** An archive behind HTTP Basic (RFC 7617), as Orthanc's RegisteredUsers: 200 for the right user and password, else 401. */
async function startBasicServer(username: string, password: string): Promise<BasicServer> {
  const received: BasicServer['received'] = [];
  const loopback = await listen((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const authorization = request.headers.authorization;
      received.push({ url: request.url ?? '', authorization, body });
      const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization ?? '');
      const decoded = match ? Buffer.from(match[1] ?? '', 'base64').toString('utf8') : undefined;
      const separator = decoded?.indexOf(':') ?? -1;
      const ok =
        decoded !== undefined &&
        separator >= 0 &&
        decoded.slice(0, separator) === username &&
        decoded.slice(separator + 1) === password;
      response.writeHead(ok ? 200 : 401, {
        'Content-Type': 'application/json',
        ...(ok ? {} : { 'WWW-Authenticate': 'Basic realm="archive"' }),
      });
      response.end(JSON.stringify({ ok }));
    })();
  });
  return { origin: loopback.origin, received, close: loopback.close };
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

function basicSettings(username: string, password: string): Record<string, string> {
  return {
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'Basic',
    DicomWeb__Authentication__Basic__Username: username,
    DicomWeb__Authentication__Basic__Password: password,
  };
}

async function archiveAndClient(serverUser: string, serverPassword: string, settings: Record<string, string>) {
  const archive = await startBasicServer(serverUser, serverPassword);
  open.push(archive);
  const config = loadAuthConfig(settings, 'DicomWeb', archive.origin);
  const provider = createAuthorizationProvider(config, archive.origin);
  const client = createServerHttpClient({ baseUrl: archive.origin, authorization: provider, timeoutMs: 5000 });
  return { archive, provider, client };
}

describe('HTTP Basic to the DICOM server, over real HTTP', () => {
  it('sends user name and password (UTF-8, a colon allowed in the password) on every request, GET and POST', async () => {
    const password = 'pä:ss wörd';
    const { archive, client } = await archiveAndClient('dicomcast', password, basicSettings('dicomcast', password));
    assert.equal((await client.get('changes?since=0')).status, 200);
    assert.equal((await client.post('tools/find', { Level: 'Study' })).status, 200);
    const expected = `Basic ${Buffer.from(`dicomcast:${password}`, 'utf8').toString('base64')}`;
    assert.deepEqual(
      archive.received.map((request) => request.authorization),
      [expected, expected],
    );
    assert.equal(archive.received[1]?.body, JSON.stringify({ Level: 'Study' }));
  });

  it('wrong credentials: the 401 comes back after one retry with the same header, never a loop', async () => {
    const { archive, provider, client } = await archiveAndClient(
      'dicomcast',
      'right',
      basicSettings('dicomcast', 'wrong'),
    );
    const response = await client.get('studies');
    assert.equal(response.status, 401);
    assert.equal(archive.received.length, 2);
    assert.equal(archive.received[0]?.authorization, archive.received[1]?.authorization);
    // Nothing to refresh: after invalidate the provider still answers the same header.
    const before = await provider.authorizationFor(archive.origin);
    provider.invalidate(before);
    provider.invalidate();
    assert.equal(await provider.authorizationFor(archive.origin), before);
  });

  it('gives the password only to the archive origin: not to another host, port or scheme, nor to a bad URL', async () => {
    const { archive, provider, client } = await archiveAndClient('u', 'p', basicSettings('u', 'p'));
    const elsewhere = await startBasicServer('u', 'p');
    open.push(elsewhere);
    assert.equal(await provider.authorizationFor(`${elsewhere.origin}/studies`), undefined);
    assert.equal(await provider.authorizationFor(archive.origin.replace('127.0.0.1', 'localhost')), undefined);
    assert.equal(await provider.authorizationFor(archive.origin.replace('http:', 'https:')), undefined);
    assert.equal(await provider.authorizationFor('not a url'), undefined);
    assert.match((await provider.authorizationFor(`${archive.origin}/any/path?x=1`)) ?? '', /^Basic /);

    // A link to another host followed through the same client carries no credentials.
    const foreign = await client.get(`${elsewhere.origin}/studies`);
    assert.equal(foreign.status, 401);
    assert.deepEqual(
      elsewhere.received.map((request) => request.authorization),
      [undefined],
    );
  });
});
