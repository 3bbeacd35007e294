import assert from 'node:assert/strict';
import type { TokenCredential } from '@azure/identity';
import { describe, it } from 'node:test';
import { lazyCredential } from '../../../shared/auth/lazyCredential.js';

describe('lazyCredential', () => {
  it('builds the credential at the first token, once, and hands each request its scopes', async () => {
    let built = 0;
    const asked: (string | string[])[] = [];
    const credential = lazyCredential((identity) => {
      built++;
      assert.equal(typeof identity.ManagedIdentityCredential, 'function', 'the real @azure/identity is given');
      const real: TokenCredential = {
        getToken: (scopes) => {
          asked.push(scopes);
          return Promise.resolve({ token: `token-${asked.length}`, expiresOnTimestamp: 1 });
        },
      };
      return real;
    });
    assert.equal(built, 0, 'nothing is built before a token is asked for');
    const first = await credential.getToken('https://fhir.example/.default');
    const second = await credential.getToken(['https://dicom.example/.default']);
    assert.equal(built, 1);
    assert.deepEqual(asked, ['https://fhir.example/.default', ['https://dicom.example/.default']]);
    assert.equal(first?.token, 'token-1');
    assert.equal(second?.token, 'token-2');
  });

  it('builds again after a failed build, so one bad start does not stay', async () => {
    let attempts = 0;
    const credential = lazyCredential(() => {
      attempts++;
      if (attempts === 1) throw new Error('no identity yet');
      return { getToken: () => Promise.resolve({ token: 'ok', expiresOnTimestamp: 1 }) };
    });
    await assert.rejects(credential.getToken('scope'), /no identity yet/);
    assert.equal((await credential.getToken('scope'))?.token, 'ok');
    assert.equal(attempts, 2);
  });
});
