import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authSettingDefinitions, authSettingPaths, loadAuthConfig } from '../../../shared/auth/authConfig.js';
import { ConfigurationError } from '../../../shared/errors/errors.js';

const dicomEndpoint = 'https://ws-dicom.dicom.azurehealthcareapis.com';
const fhirEndpoint = 'https://ws-fhir.fhir.azurehealthcareapis.com';

function configurationError(run: () => unknown, setting: string, ...mustNotContain: string[]): ConfigurationError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigurationError, `expected a ConfigurationError, got ${String(caught)}`);
  assert.equal(caught.location.setting, setting);
  assert.match(caught.message, new RegExp(setting.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  for (const value of mustNotContain) assert.ok(!caught.message.includes(value), 'the message echoes a setting value');
  return caught;
}

describe('loadAuthConfig', () => {
  it('is disabled unless Enabled is true', () => {
    assert.deepEqual(loadAuthConfig({}, 'DicomWeb', dicomEndpoint), { kind: 'none', server: 'DicomWeb' });
    assert.deepEqual(loadAuthConfig({ Fhir__Authentication__Enabled: 'false' }, 'Fhir', fhirEndpoint), {
      kind: 'none',
      server: 'Fhir',
    });
    // One server's settings never switch the other on.
    assert.equal(loadAuthConfig({ Fhir__Authentication__Enabled: 'true' }, 'DicomWeb', dicomEndpoint).kind, 'none');
  });

  it('rejects an Enabled that is not a boolean, without echoing it', () => {
    configurationError(
      () => loadAuthConfig({ 'DicomWeb:Authentication:Enabled': 'yes-please' }, 'DicomWeb', dicomEndpoint),
      'DicomWeb:Authentication:Enabled',
      'yes-please',
    );
  });

  it('defaults to the managed identity, with DICOM Cast audiences per server', () => {
    assert.deepEqual(loadAuthConfig({ DicomWeb__Authentication__Enabled: 'true' }, 'DicomWeb', dicomEndpoint), {
      kind: 'managedIdentity',
      server: 'DicomWeb',
      resource: 'https://dicom.healthcareapis.azure.com',
    });
    assert.deepEqual(loadAuthConfig({ FHIR__AUTHENTICATION__ENABLED: 'True' }, 'Fhir', `${fhirEndpoint}/`), {
      kind: 'managedIdentity',
      server: 'Fhir',
      resource: fhirEndpoint,
    });
  });

  it('reads a user-assigned identity and a custom audience, whatever the separator and case', () => {
    const config = loadAuthConfig(
      {
        'fhir--authentication--enabled': '1',
        'Fhir:Authentication:AuthenticationType': 'managedidentity',
        Fhir__Authentication__ManagedIdentityCredential__Resource: 'api://fhir-audience',
        Fhir__Authentication__ManagedIdentityCredential__ClientId: '00000000-1111-2222-3333-444444444444',
      },
      'Fhir',
      fhirEndpoint,
    );
    assert.deepEqual(config, {
      kind: 'managedIdentity',
      server: 'Fhir',
      resource: 'api://fhir-audience',
      clientId: '00000000-1111-2222-3333-444444444444',
    });
  });

  it('rejects an unknown AuthenticationType, listing the known ones', () => {
    const error = configurationError(
      () =>
        loadAuthConfig(
          { DicomWeb__Authentication__Enabled: 'true', DicomWeb__Authentication__AuthenticationType: 'Kerberos5' },
          'DicomWeb',
          dicomEndpoint,
        ),
      'DicomWeb:Authentication:AuthenticationType',
      'Kerberos5',
    );
    assert.match(error.message, /ManagedIdentity, OAuth2ClientCredential, OAuth2UserPasswordCredential/);
  });

  const clientCredential = (server: 'DicomWeb' | 'Fhir', extra: Record<string, string> = {}) => ({
    [`${server}__Authentication__Enabled`]: 'true',
    [`${server}__Authentication__AuthenticationType`]: 'OAuth2ClientCredential',
    [`${server}__Authentication__OAuth2ClientCredential__TokenUri`]: 'https://login.example.org/oauth2/token',
    [`${server}__Authentication__OAuth2ClientCredential__ClientId`]: 'cast-client',
    [`${server}__Authentication__OAuth2ClientCredential__ClientSecret`]: 'secret-value-123',
    ...extra,
  });

  it('reads the client credential settings; Scope and Resource only when set', () => {
    assert.deepEqual(loadAuthConfig(clientCredential('Fhir'), 'Fhir', fhirEndpoint), {
      kind: 'oauth2',
      server: 'Fhir',
      grantType: 'client_credentials',
      settingPrefix: 'Fhir:Authentication:OAuth2ClientCredential',
      tokenUri: 'https://login.example.org/oauth2/token',
      clientId: 'cast-client',
      clientSecret: 'secret-value-123',
    });
    const withScope = loadAuthConfig(
      clientCredential('DicomWeb', {
        DicomWeb__Authentication__OAuth2ClientCredential__Scope: 'https://dicom.healthcareapis.azure.com/.default',
        DicomWeb__Authentication__OAuth2ClientCredential__Resource: 'https://dicom.healthcareapis.azure.com',
      }),
      'DicomWeb',
      dicomEndpoint,
    );
    assert.equal(withScope.kind === 'oauth2' && withScope.scope, 'https://dicom.healthcareapis.azure.com/.default');
    assert.equal(withScope.kind === 'oauth2' && withScope.resource, 'https://dicom.healthcareapis.azure.com');
  });

  it('names a missing client secret by its path', () => {
    const settings = clientCredential('Fhir');
    delete settings.Fhir__Authentication__OAuth2ClientCredential__ClientSecret;
    configurationError(
      () => loadAuthConfig(settings, 'Fhir', fhirEndpoint),
      'Fhir:Authentication:OAuth2ClientCredential:ClientSecret',
    );
  });

  it('requires https for the token endpoint except on loopback, without echoing the URI', () => {
    const error = configurationError(
      () =>
        loadAuthConfig(
          clientCredential('Fhir', {
            Fhir__Authentication__OAuth2ClientCredential__TokenUri: 'http://idp.internal.example/token',
          }),
          'Fhir',
          fhirEndpoint,
        ),
      'Fhir:Authentication:OAuth2ClientCredential:TokenUri',
      'idp.internal.example',
    );
    assert.match(error.message, /https/);
    for (const loopback of ['http://127.0.0.1:8080/token', 'http://localhost:9000/oauth2/token']) {
      const config = loadAuthConfig(
        clientCredential('Fhir', { Fhir__Authentication__OAuth2ClientCredential__TokenUri: loopback }),
        'Fhir',
        fhirEndpoint,
      );
      assert.equal(config.kind === 'oauth2' && config.tokenUri, loopback);
    }
  });

  it('rejects a token endpoint carrying a user name or password', () => {
    configurationError(
      () =>
        loadAuthConfig(
          clientCredential('DicomWeb', {
            DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: 'https://cast:hunter2@idp.example.org/token',
          }),
          'DicomWeb',
          dicomEndpoint,
        ),
      'DicomWeb:Authentication:OAuth2ClientCredential:TokenUri',
      'hunter2',
    );
  });

  it('reads the password grant from its own section', () => {
    const config = loadAuthConfig(
      {
        DicomWeb__Authentication__Enabled: 'true',
        DicomWeb__Authentication__AuthenticationType: 'OAuth2UserPasswordCredential',
        DicomWeb__Authentication__OAuth2UserPasswordCredential__TokenUri: 'https://idp.example.org/token',
        DicomWeb__Authentication__OAuth2UserPasswordCredential__ClientId: 'cast',
        DicomWeb__Authentication__OAuth2UserPasswordCredential__Username: 'cast-user',
        DicomWeb__Authentication__OAuth2UserPasswordCredential__Password: 'p@ss',
        DicomWeb__Authentication__OAuth2UserPasswordCredential__Scope: 'dicom.read dicom.write',
      },
      'DicomWeb',
      dicomEndpoint,
    );
    assert.deepEqual(config, {
      kind: 'oauth2',
      server: 'DicomWeb',
      grantType: 'password',
      settingPrefix: 'DicomWeb:Authentication:OAuth2UserPasswordCredential',
      tokenUri: 'https://idp.example.org/token',
      clientId: 'cast',
      scope: 'dicom.read dicom.write',
      username: 'cast-user',
      password: 'p@ss',
    });
  });

  it('reads the password grant from the OAuth2ClientCredential section, as DICOM Cast documents it', () => {
    const config = loadAuthConfig(
      clientCredential('Fhir', {
        Fhir__Authentication__AuthenticationType: 'oauth2userpasswordcredential',
        Fhir__Authentication__OAuth2ClientCredential__Username: 'cast-user',
        Fhir__Authentication__OAuth2ClientCredential__Password: 'p@ss',
      }),
      'Fhir',
      fhirEndpoint,
    );
    assert.deepEqual(config, {
      kind: 'oauth2',
      server: 'Fhir',
      grantType: 'password',
      settingPrefix: 'Fhir:Authentication:OAuth2ClientCredential',
      tokenUri: 'https://login.example.org/oauth2/token',
      clientId: 'cast-client',
      clientSecret: 'secret-value-123',
      username: 'cast-user',
      password: 'p@ss',
    });
  });

  it('prefers the OAuth2UserPasswordCredential section field by field', () => {
    const config = loadAuthConfig(
      clientCredential('Fhir', {
        Fhir__Authentication__AuthenticationType: 'OAuth2UserPasswordCredential',
        Fhir__Authentication__OAuth2ClientCredential__Username: 'old-user',
        Fhir__Authentication__OAuth2UserPasswordCredential__Username: 'new-user',
        Fhir__Authentication__OAuth2ClientCredential__Password: 'p@ss',
      }),
      'Fhir',
      fhirEndpoint,
    );
    assert.equal(config.kind === 'oauth2' && config.username, 'new-user');
    assert.equal(config.kind === 'oauth2' && config.password, 'p@ss');
  });

  it('names both places a missing password may go', () => {
    const error = configurationError(
      () =>
        loadAuthConfig(
          clientCredential('Fhir', {
            Fhir__Authentication__AuthenticationType: 'OAuth2UserPasswordCredential',
            Fhir__Authentication__OAuth2ClientCredential__Username: 'cast-user',
          }),
          'Fhir',
          fhirEndpoint,
        ),
      'Fhir:Authentication:OAuth2UserPasswordCredential:Password',
    );
    assert.match(error.message, /Fhir:Authentication:OAuth2ClientCredential:Password/);
  });

  it('says how to fix a Key Vault reference the platform could not resolve, without echoing it', () => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://cast-kv.vault.azure.net/secrets/fhir-secret/)';
    const error = configurationError(
      () =>
        loadAuthConfig(
          clientCredential('Fhir', { Fhir__Authentication__OAuth2ClientCredential__ClientSecret: reference }),
          'Fhir',
          fhirEndpoint,
        ),
      'Fhir:Authentication:OAuth2ClientCredential:ClientSecret',
      'cast-kv',
      'fhir-secret',
    );
    assert.match(error.message, /Key Vault Secrets User/);
    assert.match(error.message, /reference syntax/);
  });

  it('lists every auth setting path for both servers, marking the secrets', () => {
    for (const server of ['DicomWeb', 'Fhir']) {
      for (const path of [
        'Enabled',
        'AuthenticationType',
        'ManagedIdentityCredential:Resource',
        'ManagedIdentityCredential:ClientId',
        'OAuth2ClientCredential:TokenUri',
        'OAuth2ClientCredential:ClientSecret',
        'OAuth2UserPasswordCredential:Password',
      ]) {
        assert.ok(authSettingPaths.includes(`${server}:Authentication:${path}`), `${server} ${path}`);
      }
    }
    const secrets = authSettingDefinitions
      .filter((definition) => definition.secret)
      .map((definition) => definition.path);
    assert.deepEqual(
      secrets.filter((path) => path.startsWith('Fhir')),
      [
        'Fhir:Authentication:OAuth2ClientCredential:ClientSecret',
        'Fhir:Authentication:OAuth2UserPasswordCredential:ClientSecret',
        'Fhir:Authentication:OAuth2UserPasswordCredential:Password',
      ],
    );
    assert.equal(new Set(authSettingPaths).size, authSettingPaths.length);
  });
});

describe('loadAuthConfig: HTTP Basic (the DICOM server only)', () => {
  const basic = (extra: Record<string, string>) => ({
    DicomWeb__Authentication__Enabled: 'true',
    DicomWeb__Authentication__AuthenticationType: 'BASIC',
    ...extra,
  });

  it('reads user name and password, trimmed, whatever the case of the type', () => {
    assert.deepEqual(
      loadAuthConfig(
        basic({
          DicomWeb__Authentication__Basic__Username: ' cast ',
          DicomWeb__Authentication__Basic__Password: 'pä:ss',
        }),
        'DicomWeb',
        dicomEndpoint,
      ),
      { kind: 'basic', server: 'DicomWeb', username: 'cast', password: 'pä:ss' },
    );
  });

  it('names the missing user name or password, a user name with a colon, and refuses Basic for FHIR', () => {
    const username = configurationError(
      () =>
        loadAuthConfig(basic({ DicomWeb__Authentication__Basic__Password: 's3cret-value' }), 'DicomWeb', dicomEndpoint),
      'DicomWeb:Authentication:Basic:Username',
      's3cret-value',
    );
    assert.equal(
      username.message,
      'Missing required setting DicomWeb:Authentication:Basic:Username: the user name for HTTP Basic (setting DicomWeb:Authentication:Basic:Username)',
    );
    configurationError(
      () =>
        loadAuthConfig(
          basic({ DicomWeb__Authentication__Basic__Username: 'cast', DicomWeb__Authentication__Basic__Password: '  ' }),
          'DicomWeb',
          dicomEndpoint,
        ),
      'DicomWeb:Authentication:Basic:Password',
    );
    const colon = configurationError(
      () =>
        loadAuthConfig(
          basic({
            DicomWeb__Authentication__Basic__Username: 'a:b',
            DicomWeb__Authentication__Basic__Password: 's3cret-value',
          }),
          'DicomWeb',
          dicomEndpoint,
        ),
      'DicomWeb:Authentication:Basic:Username',
      's3cret-value',
    );
    assert.match(colon.message, /must not contain ':'/);
    const fhir = configurationError(
      () =>
        loadAuthConfig(
          {
            Fhir__Authentication__Enabled: 'true',
            Fhir__Authentication__AuthenticationType: 'Basic',
            Fhir__Authentication__Basic__Username: 'cast',
            Fhir__Authentication__Basic__Password: 's3cret-value',
          },
          'Fhir',
          fhirEndpoint,
        ),
      'Fhir:Authentication:AuthenticationType',
    );
    assert.match(fhir.message, /Basic is for the DICOM server/);
  });
});

describe('loadAuthConfig: what the errors say', () => {
  it('an invalid Enabled says which values are allowed', () => {
    const error = configurationError(
      () => loadAuthConfig({ Fhir__Authentication__Enabled: 'maybe' }, 'Fhir', fhirEndpoint),
      'Fhir:Authentication:Enabled',
    );
    assert.match(error.message, /^Invalid setting Fhir:Authentication:Enabled: .*"true"/);
  });

  it('a missing client id names its one path, with no alternatives', () => {
    const error = configurationError(
      () =>
        loadAuthConfig(
          {
            Fhir__Authentication__Enabled: 'true',
            Fhir__Authentication__AuthenticationType: 'OAuth2ClientCredential',
            Fhir__Authentication__OAuth2ClientCredential__TokenUri: 'https://login.example.org/token',
          },
          'Fhir',
          fhirEndpoint,
        ),
      'Fhir:Authentication:OAuth2ClientCredential:ClientId',
    );
    assert.match(
      error.message,
      /^Missing required setting Fhir:Authentication:OAuth2ClientCredential:ClientId: the client id sent to the token endpoint \(setting/,
    );
  });

  it('a blank value counts as unset; values are trimmed', () => {
    const config = loadAuthConfig(
      {
        Fhir__Authentication__Enabled: ' true ',
        Fhir__Authentication__AuthenticationType: ' OAuth2ClientCredential ',
        Fhir__Authentication__OAuth2ClientCredential__TokenUri: ' https://login.example.org/token ',
        Fhir__Authentication__OAuth2ClientCredential__ClientId: ' cast ',
        Fhir__Authentication__OAuth2ClientCredential__ClientSecret: ' secret-value-123 ',
        Fhir__Authentication__OAuth2ClientCredential__Scope: '   ',
      },
      'Fhir',
      fhirEndpoint,
    );
    assert.deepEqual(config, {
      kind: 'oauth2',
      server: 'Fhir',
      grantType: 'client_credentials',
      settingPrefix: 'Fhir:Authentication:OAuth2ClientCredential',
      tokenUri: 'https://login.example.org/token',
      clientId: 'cast',
      clientSecret: 'secret-value-123',
    });
  });

  it('the FHIR audience drops every trailing slash of the endpoint, and only those', () => {
    const config = loadAuthConfig({ Fhir__Authentication__Enabled: 'true' }, 'Fhir', 'https://fhir.example.org/r4//');
    assert.equal(config.kind === 'managedIdentity' && config.resource, 'https://fhir.example.org/r4');
  });
});
