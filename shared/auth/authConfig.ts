import { z } from 'zod';
import type { SettingDefinition } from '../config/settingDefinitions.js';
import { serverUrl } from '../config/settingSchemas.js';
import { assertResolved } from '../config/keyVaultReference.js';
import { readSetting, type FlatSettings } from '../config/settingsSource.js';
import { ConfigurationError } from '../errors/errors.js';

/**
 * How the app authenticates to one server (DICOM or FHIR), read from DICOM Cast's
 * `<Server>:Authentication:*` settings.
 */
export type AuthServer = 'DicomWeb' | 'Fhir';

export type AuthConfig = NoAuthConfig | ManagedIdentityAuthConfig | OAuth2AuthConfig | BasicAuthConfig;

export interface NoAuthConfig {
  kind: 'none';
  server: AuthServer;
}

export interface ManagedIdentityAuthConfig {
  kind: 'managedIdentity';
  server: AuthServer;
  /** Token audience; the scope asked for is `<resource>/.default`. */
  resource: string;
  /** Client id of a user-assigned identity; absent means the system-assigned identity. */
  clientId?: string;
}

export interface OAuth2AuthConfig {
  kind: 'oauth2';
  server: AuthServer;
  grantType: 'client_credentials' | 'password';
  /** The settings prefix the values came from, to name in errors (e.g. `Fhir:Authentication:OAuth2ClientCredential`). */
  settingPrefix: string;
  tokenUri: string;
  clientId: string;
  clientSecret?: string;
  scope?: string;
  resource?: string;
  username?: string;
  password?: string;
}

/** HTTP Basic (Orthanc's RegisteredUsers, or a proxy in front of an archive): user name and password on every call. */
export interface BasicAuthConfig {
  kind: 'basic';
  server: AuthServer;
  username: string;
  password: string;
}

export const authenticationTypes = [
  'ManagedIdentity',
  'OAuth2ClientCredential',
  'OAuth2UserPasswordCredential',
  'Basic',
] as const;
export type AuthenticationType = (typeof authenticationTypes)[number];

export const defaultDicomResource = 'https://dicom.healthcareapis.azure.com';

const serverLabel: Record<AuthServer, string> = { DicomWeb: 'DICOM server', Fhir: 'FHIR server' };

function definitionsFor(server: AuthServer): SettingDefinition[] {
  const auth = `${server}:Authentication`;
  const label = serverLabel[server];
  const oauth2Fields = (section: string, grant: string): SettingDefinition[] => [
    { path: `${auth}:${section}:TokenUri`, description: `OAuth2 token endpoint (${grant}); https unless loopback.` },
    { path: `${auth}:${section}:ClientId`, description: `Client id sent to the token endpoint (${grant}).` },
    {
      path: `${auth}:${section}:ClientSecret`,
      description: `Client secret sent to the token endpoint (${grant}).`,
      secret: true,
    },
    { path: `${auth}:${section}:Scope`, description: `Optional scope sent to the token endpoint (${grant}).` },
    { path: `${auth}:${section}:Resource`, description: `Optional resource sent to the token endpoint (${grant}).` },
  ];
  return [
    { path: `${auth}:Enabled`, description: `Send a bearer token to the ${label}.`, default: 'false' },
    {
      path: `${auth}:AuthenticationType`,
      description: 'ManagedIdentity, OAuth2ClientCredential, OAuth2UserPasswordCredential or Basic.',
      default: 'ManagedIdentity',
    },
    {
      path: `${auth}:ManagedIdentityCredential:Resource`,
      description: `Token audience for the managed identity (scope <Resource>/.default).`,
      default: server === 'DicomWeb' ? defaultDicomResource : 'the value of Fhir:Endpoint',
    },
    {
      path: `${auth}:ManagedIdentityCredential:ClientId`,
      description: 'Client id of a user-assigned managed identity; unset uses the system-assigned identity.',
    },
    ...oauth2Fields('OAuth2ClientCredential', 'grant_type=client_credentials'),
    ...oauth2Fields('OAuth2UserPasswordCredential', 'grant_type=password'),
    {
      path: `${auth}:OAuth2UserPasswordCredential:Username`,
      description: 'User name for grant_type=password (also read from OAuth2ClientCredential:Username).',
    },
    {
      path: `${auth}:OAuth2UserPasswordCredential:Password`,
      description: 'Password for grant_type=password (also read from OAuth2ClientCredential:Password).',
      secret: true,
    },
    // HTTP Basic is for archives such as Orthanc (its RegisteredUsers); FHIR servers take OAuth2 here.
    ...(server === 'DicomWeb'
      ? [
          { path: `${auth}:Basic:Username`, description: `User name sent with HTTP Basic to the ${label}.` },
          {
            path: `${auth}:Basic:Password`,
            description: `Password sent with HTTP Basic to the ${label}.`,
            secret: true,
          },
        ]
      : []),
  ];
}

/** Every authentication setting, for both servers: for documentation and the infra cross-check. */
export const authSettingDefinitions: readonly SettingDefinition[] = [
  ...definitionsFor('DicomWeb'),
  ...definitionsFor('Fhir'),
];
export const authSettingPaths: readonly string[] = authSettingDefinitions.map((definition) => definition.path);

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0']))
  .transform((value) => value === 'true' || value === '1');

const authenticationType = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const match = authenticationTypes.find((type) => type.toLowerCase() === value.toLowerCase());
    if (match) return match;
    ctx.addIssue({ code: 'custom', message: `must be one of ${authenticationTypes.join(', ')}` });
    return z.NEVER;
  });

/** Reads the settings under one `<Server>:Authentication` prefix; names the offending path, never the value. */
class AuthSettingsReader {
  constructor(
    private readonly settings: FlatSettings,
    readonly prefix: string,
  ) {}

  /** The trimmed value, or undefined when unset or blank. */
  optional(relativePath: string): string | undefined {
    const path = `${this.prefix}:${relativePath}`;
    const value = readSetting(this.settings, path.split(':'));
    if (value === undefined || value.trim() === '') return undefined;
    // The platform could not resolve an @Microsoft.KeyVault(...) reference: say what to check, never the text.
    assertResolved(path, value);
    return value.trim();
  }

  /** The first of several places a value may be given (DICOM Cast's docs put some fields in two sections). */
  locate(relativePaths: readonly string[]): { value: string; path: string } | undefined {
    for (const relativePath of relativePaths) {
      const value = this.optional(relativePath);
      if (value !== undefined) return { value, path: `${this.prefix}:${relativePath}` };
    }
    return undefined;
  }

  firstOf(relativePaths: readonly string[]): string | undefined {
    return this.locate(relativePaths)?.value;
  }

  required(relativePaths: readonly string[], why: string): { value: string; path: string } {
    const found = this.locate(relativePaths);
    if (found) return found;
    const [first, ...others] = relativePaths.map((relativePath) => `${this.prefix}:${relativePath}`);
    const alternatives = others.length ? ` (or ${others.join(', ')})` : '';
    throw new ConfigurationError(`Missing required setting ${first}${alternatives}: ${why}`, first ?? this.prefix);
  }

  parse<T>(relativePath: string, schema: z.ZodType<T, string>, fallback: string): T {
    const path = `${this.prefix}:${relativePath}`;
    const result = schema.safeParse(this.optional(relativePath) ?? fallback);
    if (!result.success) {
      const reason = result.error.issues.map((issue) => issue.message).join('; ');
      throw new ConfigurationError(`Invalid setting ${path}: ${reason}`, path);
    }
    return result.data;
  }
}

/**
 * Validates the authentication settings of one server.
 * `serverEndpoint` is that server's validated base URL (the default managed identity audience for FHIR).
 */
export function loadAuthConfig(settings: FlatSettings, server: AuthServer, serverEndpoint: string): AuthConfig {
  const reader = new AuthSettingsReader(settings, `${server}:Authentication`);
  if (!reader.parse('Enabled', bool, 'false')) return { kind: 'none', server };

  const type = reader.parse('AuthenticationType', authenticationType, 'ManagedIdentity');
  if (type === 'ManagedIdentity') {
    const resource =
      reader.optional('ManagedIdentityCredential:Resource') ??
      (server === 'DicomWeb' ? defaultDicomResource : serverEndpoint.replace(/\/+$/, ''));
    const clientId = reader.optional('ManagedIdentityCredential:ClientId');
    return { kind: 'managedIdentity', server, resource, ...(clientId ? { clientId } : {}) };
  }

  if (type === 'Basic') {
    if (server !== 'DicomWeb') {
      throw new ConfigurationError(
        `Invalid setting ${reader.prefix}:AuthenticationType: Basic is for the DICOM server (e.g. Orthanc); use an OAuth2 type for FHIR`,
        `${reader.prefix}:AuthenticationType`,
      );
    }
    const username = reader.required(['Basic:Username'], 'the user name for HTTP Basic').value;
    if (username.includes(':')) {
      throw new ConfigurationError(
        `Invalid setting ${reader.prefix}:Basic:Username: must not contain ':' (HTTP Basic separates it from the password with one)`,
        `${reader.prefix}:Basic:Username`,
      );
    }
    const password = reader.required(['Basic:Password'], 'the password for HTTP Basic').value;
    return { kind: 'basic', server, username, password };
  }

  // Password-grant fields are accepted in their own section and, as DICOM Cast's docs show them, under OAuth2ClientCredential.
  const sections =
    type === 'OAuth2UserPasswordCredential'
      ? ['OAuth2UserPasswordCredential', 'OAuth2ClientCredential']
      : ['OAuth2ClientCredential'];
  const field = (name: string) => sections.map((section) => `${section}:${name}`);

  const tokenUri = reader.required(field('TokenUri'), 'the OAuth2 token endpoint');
  const tokenUriCheck = serverUrl.safeParse(tokenUri.value);
  if (!tokenUriCheck.success) {
    const reason = tokenUriCheck.error.issues.map((issue) => issue.message).join('; ');
    throw new ConfigurationError(`Invalid setting ${tokenUri.path}: ${reason}`, tokenUri.path);
  }
  const parsedTokenUri = new URL(tokenUri.value);
  if (parsedTokenUri.username || parsedTokenUri.password) {
    throw new ConfigurationError(
      `Invalid setting ${tokenUri.path}: must not contain a user name or password (use ClientId and ClientSecret)`,
      tokenUri.path,
    );
  }

  const clientId = reader.required(field('ClientId'), 'the client id sent to the token endpoint').value;
  const clientSecret =
    type === 'OAuth2ClientCredential'
      ? reader.required(field('ClientSecret'), 'the client secret sent to the token endpoint').value
      : reader.firstOf(field('ClientSecret'));
  const scope = reader.firstOf(field('Scope'));
  const resource = reader.firstOf(field('Resource'));
  const credentials =
    type === 'OAuth2UserPasswordCredential'
      ? {
          username: reader.required(field('Username'), 'the user name for grant_type=password').value,
          password: reader.required(field('Password'), 'the password for grant_type=password').value,
        }
      : {};

  return {
    kind: 'oauth2',
    server,
    grantType: type === 'OAuth2ClientCredential' ? 'client_credentials' : 'password',
    settingPrefix: tokenUri.path.replace(/:TokenUri$/, ''),
    tokenUri: tokenUri.value,
    clientId,
    ...(clientSecret !== undefined ? { clientSecret } : {}),
    ...(scope !== undefined ? { scope } : {}),
    ...(resource !== undefined ? { resource } : {}),
    ...credentials,
  };
}
