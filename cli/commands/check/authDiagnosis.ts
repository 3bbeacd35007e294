/**
 * `dicom-cast check`: what an authentication setting means, and the likely cause of a refused token or call, in one
 * line (the role to assign, the audience in use, the credential to check). Never a secret or a token.
 */
import type { AuthConfig, AuthServer, BasicAuthConfig } from '../../../shared/auth/index.js';
import { describeNetworkCode } from '../../../shared/config/keyVaultFailure.js';
import { errorMessage } from '../../../shared/lib/errorDetails.js';
import { redactSecrets } from '../../../shared/telemetry/redaction.js';
import { describeUrl } from './report.js';

const roles: Record<AuthServer, string> = {
  DicomWeb: 'DICOM Data Reader (enough for DICOM Cast) or DICOM Data Owner on the DICOM service',
  Fhir: 'FHIR Data Contributor on the FHIR service',
};

export function responseCause(
  response: { status: number; headers: Record<string, unknown> },
  server: AuthServer,
  config: AuthConfig,
): string {
  const status = response.status;
  if (status === 401) {
    if (config.kind === 'basic') return basicRefusedCause(config);
    if (config.kind === 'none') {
      return `HTTP 401: the server wants a token, but ${server}:Authentication:Enabled is false`;
    }
    const challenge = challengeDescription(response.headers['www-authenticate']);
    return (
      `HTTP 401${challenge ? ` (${challenge})` : ''}: the server refused the token; audience in use: ${audienceOf(config)}. ` +
      `It must be the server's audience (${server === 'DicomWeb' ? 'Azure DICOM service: https://dicom.healthcareapis.azure.com' : 'Azure FHIR service: its own URL'}) ` +
      "and the identity must be in the server's tenant"
    );
  }
  if (status === 403) {
    if (config.kind === 'none') return `HTTP 403: the server refuses anonymous calls; turn on ${server}:Authentication`;
    return `HTTP 403: ${identityOf(config)} lacks a data role: assign ${roles[server]}`;
  }
  if (status === 404) {
    return server === 'DicomWeb'
      ? 'HTTP 404: no change feed there; DicomWeb:Endpoint must be the service URL without /v1 or /v2, and DicomWeb:ChangeFeed:Version match the server'
      : 'HTTP 404: check that Fhir:Endpoint is the FHIR base URL';
  }
  if (status === 429 || status >= 500) return `HTTP ${status}: the server is throttling or failing; try again later`;
  if (status >= 300 && status < 400) return `HTTP ${status}: redirected (not followed); check the endpoint URL`;
  return `HTTP ${status}`;
}

/** `error` and `error_description` of a Bearer challenge (RFC 6750); nothing else from the header. */
function challengeDescription(header: unknown): string {
  if (typeof header !== 'string') return '';
  const field = (name: string) => new RegExp(`${name}="([^"]{0,300})"`, 'i').exec(header)?.[1];
  // Server-supplied: a server may echo the token it refused in error_description.
  return redactSecrets([field('error'), field('error_description')].filter(Boolean).join(': '));
}

export function describeAuth(config: AuthConfig): string {
  const prefix = `${config.server}:Authentication`;
  switch (config.kind) {
    case 'none':
      return `none (${prefix}:Enabled is false): no token is sent`;
    case 'managedIdentity':
      return (
        `ManagedIdentity (${config.clientId ? `user-assigned, client id ${config.clientId}` : 'system-assigned'}), ` +
        `audience ${config.resource}, scope ${config.resource}/.default`
      );
    case 'oauth2':
      return (
        `${config.grantType === 'client_credentials' ? 'OAuth2ClientCredential' : 'OAuth2UserPasswordCredential'}, ` +
        `token endpoint ${describeUrl(config.tokenUri)}, client id ${config.clientId}, ${audienceOf(config)}`
      );
    case 'basic':
      return describeBasicAuth(config);
  }
}

function audienceOf(config: AuthConfig): string {
  if (config.kind === 'managedIdentity') return `${config.resource} (scope ${config.resource}/.default)`;
  if (config.kind === 'oauth2') {
    const requested = [
      config.scope !== undefined ? `scope ${config.scope}` : undefined,
      config.resource !== undefined ? `resource ${config.resource}` : undefined,
    ].filter(Boolean);
    return requested.length ? requested.join(', ') : "no scope or resource requested (the token endpoint's default)";
  }
  return 'none';
}

function identityOf(config: AuthConfig): string {
  if (config.kind === 'managedIdentity') {
    return config.clientId
      ? `the user-assigned managed identity ${config.clientId}`
      : 'the system-assigned managed identity';
  }
  if (config.kind === 'oauth2') {
    return config.grantType === 'password'
      ? `the user of ${config.settingPrefix}:Username`
      : `the application (client id ${config.clientId})`;
  }
  return 'the caller';
}

export function tokenCause(error: unknown, config: AuthConfig): string {
  const message = errorMessage(error);
  const network = /could not be reached \(([A-Z_0-9]+)\)/.exec(message)?.[1];
  if (network && config.kind === 'oauth2') {
    return `token endpoint ${describeUrl(config.tokenUri)}: ${describeNetworkCode(network === 'ECONNABORTED' ? 'ETIMEDOUT' : network, new URL(config.tokenUri).host)}`;
  }
  const hints: Array<[RegExp, string]> = [
    [/\binvalid_client\b/, 'check the client id and client secret (an expired secret looks the same)'],
    [/\binvalid_grant\b/, 'check the user name and password (or the account is locked, or needs MFA)'],
    [/\b(invalid_scope|invalid_target|invalid_resource)\b|AADSTS500011/, 'check the Scope / Resource requested'],
    [/\bunauthorized_client\b/, 'the client may not use this grant type'],
  ];
  const hint = hints.find(([pattern]) => pattern.test(message))?.[1];
  return hint ? `${message}; likely cause: ${hint}` : message;
}

function describeBasicAuth(config: BasicAuthConfig): string {
  return `Basic, user ${config.username} (password from ${config.server}:Authentication:Basic:Password)`;
}

function basicRefusedCause(config: BasicAuthConfig): string {
  return (
    `HTTP 401: the server refused user ${config.username} and its password (${config.server}:Authentication:Basic); ` +
    'for Orthanc they must be one of its RegisteredUsers, with AuthenticationEnabled true'
  );
}
