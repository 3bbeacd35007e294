import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../errors/errors.js';
import { settingDefinitions } from './settingDefinitions.js';
import { storageSettingPaths } from './storageConnection.js';
import { isKeyVaultReference, unresolvedReferenceError, unresolvedReferenceMessage } from './keyVaultReference.js';
import {
  isRunningInAzure,
  keyVaultSettings,
  loadKeyVaultSecrets,
  type KeyVaultLoadSummary,
  type KeyVaultOptions,
} from './keyVaultSecrets.js';
import { mergeFlatSettings, readSetting, type FlatSettings } from './settingsSource.js';

export const localSettingsFileName = 'local.settings.json';

export interface LoadSettingsOptions {
  /** The environment (app settings on Azure; `func start` adds local.settings.json to it). Default process.env. */
  env?: FlatSettings;
  /** Where local.settings.json is looked for. Default process.cwd(). */
  cwd?: string;
  /** Read `<cwd>/local.settings.json`: 'auto' (default) when it exists and the process is not on Azure; false never. */
  localSettings?: 'auto' | false;
  /** How Key Vault is read when `KeyVault:Endpoint` is set; false skips the vault. */
  keyVault?: KeyVaultOptions | false;
}

export interface LoadedSettings {
  /** Everything merged: local.settings.json Values < environment < Key Vault secrets. */
  settings: FlatSettings;
  sources: {
    /** Path of the local.settings.json read, if one was. */
    localSettingsFile?: string;
    /**
     * Path of a local.settings.json left unread because it is encrypted (`IsEncrypted: true`): `func start` decrypts
     * it into the environment itself; the CLI cannot, and says so.
     */
    encryptedLocalSettingsFile?: string;
    /** The vault read, if `KeyVault:Endpoint` was set. */
    keyVault?: KeyVaultLoadSummary;
  };
}

/**
 * The app's settings, loaded the same way by the Functions worker and the CLI:
 * 1. `local.settings.json` `Values` from the working directory, unless on Azure or encrypted (under `func start` the
 *    host has already put them in the environment, so reading the file again changes nothing; the CLI needs it);
 * 2. the environment (app settings), which wins over the file;
 * 3. when `KeyVault:Endpoint` is set, every enabled secret of that vault, `--` in a name standing for the
 *    hierarchy, overriding both.
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<LoadedSettings> {
  const env = options.env ?? process.env;
  const sources: LoadedSettings['sources'] = {};
  let local: FlatSettings = {};
  if (options.localSettings !== false && !isRunningInAzure(env)) {
    const path = join(options.cwd ?? process.cwd(), localSettingsFileName);
    const values = await readLocalSettingsFile(path);
    if (values === 'encrypted') sources.encryptedLocalSettingsFile = path;
    else if (values) {
      local = values;
      sources.localSettingsFile = path;
    }
  }
  let settings = mergeFlatSettings(local, env);

  const endpoint = readSetting(settings, keyVaultSettings.endpoint.split(':'));
  if (isKeyVaultReference(endpoint)) throw unresolvedReferenceError(keyVaultSettings.endpoint);
  if (endpoint && endpoint.trim() !== '' && options.keyVault !== false) {
    const vault = await loadKeyVaultSecrets(endpoint, settings, options.keyVault ?? {});
    settings = mergeFlatSettings(settings, vault.settings);
    sources.keyVault = vault.summary;
  }
  return { settings, sources };
}

/**
 * The `Values` of a local.settings.json; undefined when there is none; 'encrypted' when its values are encrypted
 * (only Core Tools can read those). Errors never quote the file.
 */
export async function readLocalSettingsFile(path: string): Promise<FlatSettings | 'encrypted' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    const code = (error as { code?: unknown }).code;
    throw new ConfigurationError(
      `${path} could not be read (${typeof code === 'string' ? code : 'error'})`,
      localSettingsFileName,
    );
  }
  let parsed: unknown;
  try {
    // JSON.parse's own message quotes the text around the error: it is not passed on.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new ConfigurationError(`${path} is not valid JSON`, localSettingsFileName);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(`${path} must hold a JSON object with a "Values" object`, localSettingsFileName);
  }
  const file = parsed as { IsEncrypted?: unknown; Values?: unknown };
  if (file.IsEncrypted === true) return 'encrypted';
  if (file.Values === undefined) return {};
  if (typeof file.Values !== 'object' || file.Values === null || Array.isArray(file.Values)) {
    throw new ConfigurationError(`${path}: "Values" must be an object of strings`, localSettingsFileName);
  }
  const values: FlatSettings = {};
  for (const [key, value] of Object.entries(file.Values as Record<string, unknown>)) {
    if (typeof value === 'string') values[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') values[key] = String(value);
  }
  return values;
}

/**
 * Every setting path the app itself reads outside the auth module (which checks its own, and only those in use).
 */
export const appSettingPaths: readonly string[] = [
  ...Object.values(settingDefinitions).map((definition) => definition.path),
  ...storageSettingPaths,
  keyVaultSettings.endpoint,
  keyVaultSettings.clientId,
];

/** The app settings whose value is still a literal `@Microsoft.KeyVault(...)` reference. */
export function findUnresolvedReferences(settings: FlatSettings): string[] {
  return appSettingPaths.filter((path) => isKeyVaultReference(readSetting(settings, path.split(':'))));
}

/** Fails at start, naming the setting and what to check, when the platform left a Key Vault reference unresolved. */
export function assertNoUnresolvedReferences(settings: FlatSettings): void {
  const [first, ...others] = findUnresolvedReferences(settings);
  if (first === undefined) return;
  const also = others.length > 0 ? ` Also unresolved: ${others.join(', ')}.` : '';
  throw new ConfigurationError(`${unresolvedReferenceMessage(first)}${also}`, first);
}
