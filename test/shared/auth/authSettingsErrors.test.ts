import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { ConfigurationError } from '../../../shared/errors/errors.js';

// A missing setting is named with what it is for; the boolean values Enabled accepts.

const endpoint = 'https://ws-dicom.dicom.azurehealthcareapis.com';

function messageOf(settings: Record<string, string>): string {
  try {
    loadAuthConfig(settings, 'DicomWeb', endpoint);
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, String(error));
    return error.message;
  }
  return assert.fail('expected a ConfigurationError');
}

describe('what a missing authentication setting is for', () => {
  const on = { DicomWeb__Authentication__Enabled: 'true' };
  const password = { ...on, DicomWeb__Authentication__AuthenticationType: 'OAuth2UserPasswordCredential' };
  const tokenUri = { DicomWeb__Authentication__OAuth2UserPasswordCredential__TokenUri: 'https://login.example.org/t' };
  const clientId = { DicomWeb__Authentication__OAuth2UserPasswordCredential__ClientId: 'cast' };
  const cases: [Record<string, string>, string][] = [
    [
      { ...on, DicomWeb__Authentication__AuthenticationType: 'Basic', DicomWeb__Authentication__Basic__Username: 'u' },
      ': the password for HTTP Basic',
    ],
    [password, ': the OAuth2 token endpoint'],
    [
      {
        ...on,
        DicomWeb__Authentication__AuthenticationType: 'OAuth2ClientCredential',
        DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: 'https://login.example.org/t',
        DicomWeb__Authentication__OAuth2ClientCredential__ClientId: 'cast',
      },
      ': the client secret sent to the token endpoint',
    ],
    [{ ...password, ...tokenUri, ...clientId }, ': the user name for grant_type=password'],
    [
      { ...password, ...tokenUri, ...clientId, DicomWeb__Authentication__OAuth2UserPasswordCredential__Username: 'u' },
      ': the password for grant_type=password',
    ],
  ];
  for (const [settings, why] of cases) {
    it(why.slice(2), () => {
      assert.ok(messageOf(settings).includes(`${why} (setting `), messageOf(settings));
    });
  }
});

describe('Enabled', () => {
  it('takes true/false and 1/0', () => {
    assert.equal(loadAuthConfig({ DicomWeb__Authentication__Enabled: '0' }, 'DicomWeb', endpoint).kind, 'none');
    assert.equal(
      loadAuthConfig({ DicomWeb__Authentication__Enabled: '1' }, 'DicomWeb', endpoint).kind,
      'managedIdentity',
    );
    assert.equal(loadAuthConfig({ DicomWeb__Authentication__Enabled: 'FALSE' }, 'DicomWeb', endpoint).kind, 'none');
  });
});
