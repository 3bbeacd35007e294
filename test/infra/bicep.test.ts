/**
 * The deployment templates (infra/): compiled and linted with the Bicep CLI, then checked against the app.
 *
 * The Bicep CLI comes from `scripts/install-bicep.sh` (.tools/bicep/bicep) or BICEP_PATH. Without it the suite
 * is skipped, except on CI (CI=true), where a missing CLI fails.
 *
 * Settings cross-check. The function app's app settings are read from the compiled template (the
 * `Microsoft.Web/sites/config` `appsettings` resource of app/function.bicep, whose value is built in main.bicep
 * and passed down as a module parameter). Every setting the app reads (settingDefinitions, authSettingDefinitions,
 * storageSettingPaths, keyVaultSettings, in `__` form) must be set by the templates, or be listed in `leftUnset`
 * below with the reason; nothing else may be set but platform settings (FUNCTIONS_*, APPLICATIONINSIGHTS_*,
 * WEBSITE_*, AzureWebJobsStorage__*). Settings set only under a condition are exactly the authentication fields
 * of a chosen authentication type and the Key Vault loading settings (`expectedConditional`).
 *
 * Deployment scenarios evaluate the template (test/infra/armTemplate.ts) for given parameters: which app
 * settings, vault secrets and role assignments result, and whether the app's own configuration loaders accept the
 * settings once Key Vault references are resolved from the secrets the template stores.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { defaultDicomResource, authSettingDefinitions, loadAuthConfig } from '../../shared/auth/authConfig.js';
import { loadAppConfig } from '../../shared/config/appConfig.js';
import { settingDefinitions, type SettingDefinition } from '../../shared/config/settingDefinitions.js';
import { storageSettingPaths } from '../../shared/config/storageConnection.js';
import { keyVaultSettings } from '../../shared/config/keyVaultSecrets.js';
import type { FlatSettings } from '../../shared/config/settingsSource.js';
import { pollContinuationQueueName, studyPoisonQueueName, studyQueueName } from '../../shared/queue/queueNames.js';
import {
  isObject,
  objectKeys,
  Opaque,
  TemplateScope,
  textOf,
  type JsonObject,
  type TemplateResource,
  type Value,
  type ValueObject,
} from './armTemplate.js';

function findRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    if (existsSync(join(dir, 'infra', 'main.bicep')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('infra/main.bicep not found above the test');
    dir = parent;
  }
}

const root = findRoot();
const infra = join(root, 'infra');
const mainBicep = join(infra, 'main.bicep');

function findBicep(): string | undefined {
  const candidate = process.env.BICEP_PATH || join(root, '.tools', 'bicep', 'bicep');
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return undefined;
  }
}

const bicep = findBicep();
const onCi = process.env.CI === 'true';
const missingBicep = 'Bicep CLI not found: run `bash scripts/install-bicep.sh` (or set BICEP_PATH)';

function runBicep(args: string[]): { status: number | null; stdout: string; stderr: string } {
  assert.ok(bicep, missingBicep);
  const result = spawnSync(bicep, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface SarifResult {
  ruleId?: string;
  level?: string;
  message?: { text?: string };
  locations?: { physicalLocation?: { artifactLocation?: { uri?: string }; region?: { startLine?: number } } }[];
}

function lintResults(file: string): SarifResult[] {
  const { status, stdout, stderr } = runBicep(['lint', file, '--diagnostics-format', 'sarif']);
  assert.ok(status === 0 || status === 1, `bicep lint exited ${String(status)}: ${stderr}`);
  const sarif = JSON.parse(stdout) as { runs?: { results?: SarifResult[] }[] };
  return (sarif.runs ?? []).flatMap((run) => run.results ?? []);
}

function describeResult(result: SarifResult): string {
  const location = result.locations?.[0]?.physicalLocation;
  const file = (location?.artifactLocation?.uri ?? '').replace(/^file:\/\//, '').replace(`${root}/`, '');
  return `${file}:${String(location?.region?.startLine ?? '?')} ${result.level ?? 'warning'} ${result.ruleId ?? ''}: ${result.message?.text ?? ''}`;
}

// ---------------------------------------------------------------------------------------------------------
// What the app reads, and the documented exceptions
// ---------------------------------------------------------------------------------------------------------

const toAppSetting = (path: string): string => path.split(':').join('__');

type Definition = Pick<SettingDefinition, 'default' | 'secret'>;
const definitions: SettingDefinition[] = [...Object.values(settingDefinitions), ...authSettingDefinitions];

/** Every setting path the app reads, with its definition when it has one. */
const appSettingPaths = new Map<string, Definition>([
  ...definitions.map((definition): [string, Definition] => [definition.path, definition]),
  ...storageSettingPaths.map((path): [string, Definition] => [path, {}]),
  ...Object.values(keyVaultSettings).map((path): [string, Definition] => [path, {}]),
]);

/** Settings the app reads that the templates leave unset on purpose. */
const transportTuning =
  'a transport limit whose app default suits Azure (see the README settings table); set it as an app setting to tune it';
const leftUnset: Record<string, string> = {
  'DicomCast:RetryBudgetSeconds': transportTuning,
  'DicomCast:RequestTimeoutSeconds': transportTuning,
  'DicomWeb:MaxMetadataBytes': transportTuning,
  'DicomWeb:MaxResponseBytes': transportTuning,
  'Fhir:MaxResponseBytes': transportTuning,
  'Fhir:MaxSearchPages': transportTuning,
  'Fhir:MaxConcurrentWrites': transportTuning,
  AzureWebJobsStorage:
    'the connection-string form: shared key access is disabled, so the templates set the identity-based ' +
    'AzureWebJobsStorage__accountName, __credential, __clientId, __queueServiceUri and __tableServiceUri instead',
};

/** Settings the templates set from the resources they create rather than from a parameter. */
const setFromResources = new Set([
  'AzureWebJobsStorage:accountName',
  'AzureWebJobsStorage:queueServiceUri',
  'AzureWebJobsStorage:tableServiceUri',
  'AzureWebJobsStorage:clientId',
  'DicomWeb:Authentication:ManagedIdentityCredential:ClientId',
  'Fhir:Authentication:ManagedIdentityCredential:ClientId',
  keyVaultSettings.clientId,
]);

/** Parameters whose empty default leaves the app's own (computed) default in force: the setting is then omitted. */
const defaultsLeftToTheApp: Record<string, string> = {
  'Fhir:Authentication:ManagedIdentityCredential:Resource': 'the app uses the value of Fhir:Endpoint',
};

/**
 * Set only under a condition: the fields of one authentication type (when that type is chosen and enabled), and
 * the Key Vault loading settings (when keyVaultLoadingEnabled). Everything else is always set.
 */
const expectedConditional = new Set(
  [...appSettingPaths.keys()]
    .filter(
      (path) =>
        (/^(DicomWeb|Fhir):Authentication:/.test(path) && !/:(Enabled|AuthenticationType)$/.test(path)) ||
        path.startsWith('KeyVault:'),
    )
    .map(toAppSetting),
);

const platformSetting = /^(FUNCTIONS_|APPLICATIONINSIGHTS_|WEBSITE_|AzureWebJobsStorage__|AzureFunctionsJobHost__)/;

/** Built-in role definition IDs (Microsoft's built-in roles list). */
const roles = {
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  dicomDataReader: 'e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a',
  fhirDataContributor: '5a1fc7df-4bf1-4951-a576-89034ee01acd',
};
const baseRoles = [
  roles.storageQueueDataContributor,
  roles.storageTableDataContributor,
  roles.storageBlobDataOwner,
  roles.monitoringMetricsPublisher,
];

// ---------------------------------------------------------------------------------------------------------
// Template helpers
// ---------------------------------------------------------------------------------------------------------

function isAppSettingsResource(resource: TemplateResource): boolean {
  if (resource.type.toLowerCase() !== 'microsoft.web/sites/config') return false;
  const name = textOf(resource.raw.name);
  return /'appsettings'\)\]$/.test(name) || /\/appsettings$/.test(name);
}

function allScopes(scope: TemplateScope): TemplateScope[] {
  return [scope, ...scope.modules().flatMap(allScopes)];
}

function appSettingsResource(main: TemplateScope): TemplateResource {
  const found = allScopes(main).flatMap((scope) => scope.resources.filter(isAppSettingsResource));
  assert.equal(found.length, 1, 'exactly one appsettings resource');
  return found[0]!;
}

const required = {
  environmentName: 'test',
  location: 'westeurope',
  dicomWebEndpoint: 'https://ws-dicom.dicom.azurehealthcareapis.com',
  fhirEndpoint: 'https://ws-fhir.fhir.azurehealthcareapis.com',
};

const dicomServiceId =
  '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-health/providers/Microsoft.HealthcareApis/workspaces/ws/dicomservices/dicom';
const fhirServiceId =
  '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-health/providers/Microsoft.HealthcareApis/workspaces/ws/fhirservices/fhir';

interface Deployment {
  scope: TemplateScope;
  settings: ValueObject;
  roleDefinitionIds: string[];
  /** The secrets stored in the vault, or undefined when no vault is deployed. */
  vaultSecrets: ValueObject | undefined;
  vaultName: string | undefined;
}

function deploy(template: JsonObject, parameters: Record<string, Value>): Deployment {
  const scope = TemplateScope.main(template, { ...required, ...parameters });
  const functionModule = scope.deployedModule('function');
  assert.ok(functionModule, 'the function module is deployed');
  const settingsResource = functionModule.resources.find(isAppSettingsResource);
  assert.ok(settingsResource);
  const settings = functionModule.evaluate(settingsResource.raw.properties ?? null);
  assert.ok(isObject(settings));
  const roleDefinitionIds = scope
    .deployedResources()
    .filter((resource) => resource.type.toLowerCase() === 'microsoft.authorization/roleassignments')
    .map((resource) => {
      const properties = resource.scope.evaluateFor(resource, resource.raw.properties ?? null);
      assert.ok(isObject(properties));
      return textOf(properties.roleDefinitionId).split('/').pop() ?? '';
    });
  const vault = scope.deployedModule('keyvault');
  const vaultSecrets = vault?.parameter('secrets');
  return {
    scope,
    settings,
    roleDefinitionIds,
    vaultSecrets: vault ? (isObject(vaultSecrets) ? vaultSecrets : {}) : undefined,
    vaultName: vault ? textOf(vault.parameter('name')) : undefined,
  };
}

/**
 * The settings as the app sees them on Azure: Key Vault references resolved from the secrets the template put
 * in the vault (as the platform does), deployment-time values (the identity's client ID, the connection string)
 * replaced by their descriptions.
 */
function asAppSees(deployment: Deployment): FlatSettings {
  const out: FlatSettings = {};
  for (const [key, value] of Object.entries(deployment.settings)) {
    if (value instanceof Opaque) {
      out[key] = value.display();
      continue;
    }
    assert.ok(typeof value === 'string', `${key} is a string`);
    const text = value;
    const reference =
      /^@Microsoft\.KeyVault\(SecretUri=https:\/\/([^./]+)\.vault\.azure\.net\/secrets\/([^/)]+)\/?\)$/.exec(text);
    if (text.startsWith('@Microsoft.KeyVault')) {
      assert.ok(reference, `${key}: a SecretUri reference to a vault secret: ${text}`);
      const [, vaultName, secretName = ''] = reference;
      assert.ok(deployment.vaultSecrets, `${key} refers to a vault that is not deployed`);
      assert.equal(vaultName, deployment.vaultName, `${key} refers to the deployed vault`);
      // Named as the app's vault loading names settings, so a loaded vault and the references agree.
      assert.equal(secretName, key.split('__').join('--'), `${key}: the secret is named after the setting`);
      const secret = deployment.vaultSecrets[secretName];
      assert.ok(typeof secret === 'string', `${key} refers to secret ${secretName}, which the template stores`);
      out[key] = secret;
    } else {
      out[key] = text;
    }
  }
  return out;
}

function identityClientIdOf(deployment: Deployment): Value | undefined {
  return deployment.settings.AzureWebJobsStorage__clientId;
}

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

if (!bicep && onCi) {
  it('has the Bicep CLI on CI', () => {
    assert.fail(`${missingBicep}; .ci/run installs it before npm test`);
  });
}

describe('infra (Bicep)', { skip: bicep ? false : missingBicep }, () => {
  let template: JsonObject;
  let main: TemplateScope;

  before(() => {
    const { status, stdout, stderr } = runBicep(['build', mainBicep, '--stdout']);
    assert.equal(status, 0, `bicep build failed:\n${stderr}`);
    assert.equal(stderr.trim(), '', `bicep build reported diagnostics:\n${stderr}`);
    template = JSON.parse(stdout) as JsonObject;
    main = TemplateScope.main(template, required);
  });

  describe('Bicep CLI', () => {
    it('compiles infra/main.bicep with no error or warning', () => {
      assert.equal(
        template.$schema,
        'https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#',
      );
    });

    it('lints infra/main.bicep and its modules with no diagnostic', () => {
      const results = lintResults(mainBicep);
      assert.deepEqual(results.map(describeResult), []);
    });

    it('reaches every module file from main.bicep, so the lint covers them all', () => {
      const text = readFileSync(mainBicep, 'utf8');
      const referenced = new Set([...text.matchAll(/^module \w+ '([^']+)'/gm)].map((match) => match[1]));
      const files = readdirSync(join(infra, 'app'))
        .filter((name) => name.endsWith('.bicep'))
        .map((name) => `app/${name}`);
      assert.deepEqual(
        files.filter((file) => !referenced.has(file)),
        [],
      );
      assert.deepEqual(
        readdirSync(infra).filter((name) => name.endsWith('.bicep')),
        ['main.bicep'],
      );
    });

    it('would report a linter warning (the check above is not blind)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'bicep-lint-'));
      try {
        const probe = join(dir, 'probe.bicep');
        writeFileSync(probe, "var unusedProbe = 'x'\n");
        const results = lintResults(probe);
        assert.ok(
          results.some((result) => result.ruleId === 'no-unused-vars'),
          JSON.stringify(results),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('app settings against the app', () => {
    let keys: Map<string, { conditional: boolean }>;

    before(() => {
      const resource = appSettingsResource(main);
      keys = objectKeys(resource.raw.properties ?? null, resource.scope);
    });

    it('sets every setting the app reads, except the documented ones', () => {
      const missing = [...appSettingPaths.keys()].filter(
        (path) => !(path in leftUnset) && !keys.has(toAppSetting(path)),
      );
      assert.deepEqual(missing, []);
      for (const path of Object.keys(leftUnset)) {
        assert.ok(appSettingPaths.has(path), `${path} (leftUnset) is a setting the app reads`);
        assert.ok(!keys.has(toAppSetting(path)), `${path} is listed as left unset, yet the templates set it`);
      }
    });

    it('sets nothing the app does not read, besides platform settings', () => {
      const read = new Set([...appSettingPaths.keys()].map(toAppSetting));
      const unknown = [...keys.keys()].filter((key) => !read.has(key) && !platformSetting.test(key));
      assert.deepEqual(unknown, []);
      const forbiddenOnFlex = [...keys.keys()].filter((key) =>
        ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_RUN_FROM_PACKAGE'].includes(key),
      );
      assert.deepEqual(forbiddenOnFlex, [], 'Flex Consumption takes these from functionAppConfig');
    });

    it('sets conditionally exactly the fields of the chosen authentication types and the vault loading settings', () => {
      const conditional = [...keys].filter(([, origin]) => origin.conditional).map(([key]) => key);
      assert.deepEqual(conditional.sort(), [...expectedConditional].sort());
    });

    it('gives every app-setting parameter the app default, and secrets a secure type', () => {
      const parameters = main.parameterDefinitions;
      const covered = new Set<string>();
      for (const [name, definition] of Object.entries(parameters)) {
        const metadata = definition.metadata;
        const path = isObject(metadata) ? metadata.appSetting : undefined;
        if (typeof path !== 'string') continue;
        const paths = path.includes('<AuthenticationType>')
          ? ['OAuth2ClientCredential', 'OAuth2UserPasswordCredential'].map((section) =>
              path.replace('<AuthenticationType>', section),
            )
          : [path];
        for (const expanded of paths) {
          const appDefinition = appSettingPaths.get(expanded);
          assert.ok(appDefinition, `parameter ${name}: the app reads no setting ${expanded}`);
          covered.add(expanded);
          assert.equal(
            definition.type === 'securestring',
            appDefinition.secret === true,
            `parameter ${name}: secure exactly when ${expanded} is a secret`,
          );
          if (paths.length > 1 || appDefinition.default === undefined) continue;
          if (expanded in defaultsLeftToTheApp) {
            assert.equal(definition.defaultValue, '', `parameter ${name}: empty, ${defaultsLeftToTheApp[expanded]!}`);
            continue;
          }
          assert.equal(
            textOf(definition.defaultValue),
            appDefinition.default,
            `parameter ${name} defaults to the app default of ${expanded}`,
          );
        }
      }
      const uncovered = [...appSettingPaths.keys()].filter(
        (path) => !covered.has(path) && !setFromResources.has(path) && !(path in leftUnset),
      );
      assert.deepEqual(uncovered, [], 'settings with neither a parameter nor a documented source');
    });

    it('maps every parameter in main.parameters.json for azd, with the template defaults', () => {
      const file = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as {
        parameters: Record<string, { value: unknown }>;
      };
      const parameters = main.parameterDefinitions;
      assert.deepEqual(Object.keys(file.parameters).sort(), Object.keys(parameters).sort());
      for (const [name, { value }] of Object.entries(file.parameters)) {
        const match = typeof value === 'string' ? /^\$\{([A-Z][A-Z0-9_]*)(?:=(.*))?\}$/.exec(value) : null;
        assert.ok(match, `${name}: one azd environment variable, \${NAME} or \${NAME=default}`);
        const definition = parameters[name]!;
        const fileDefault = match[2];
        const templateDefault = definition.defaultValue;
        if (templateDefault === undefined || templateDefault === '' || definition.type === 'securestring') {
          assert.equal(fileDefault, undefined, `${name}: no default in the parameters file`);
        } else {
          assert.equal(fileDefault, textOf(templateDefault), `${name}: same default as the template`);
        }
      }
    });

    it('never outputs a secure parameter', () => {
      for (const scope of allScopes(main)) {
        const secure = Object.entries(scope.parameterDefinitions)
          .filter(([, definition]) => /^secure/i.test(textOf(definition.type)))
          .map(([name]) => name);
        const outputs = JSON.stringify(scope.template.outputs ?? {});
        for (const name of secure) {
          assert.ok(!outputs.includes(`parameters('${name}')`), `${scope.where()} outputs ${name}`);
        }
      }
    });
  });

  describe('resources', () => {
    function resourcesOfType(type: string): TemplateResource[] {
      return main.deployedResources().filter((resource) => resource.type.toLowerCase() === type.toLowerCase());
    }
    function propertiesOf(resource: TemplateResource): ValueObject {
      const value = resource.scope.evaluateFor(resource, resource.raw);
      assert.ok(isObject(value));
      return value;
    }

    it('runs the app on Flex Consumption, Node 22, as its user-assigned identity', () => {
      const [plan] = resourcesOfType('Microsoft.Web/serverfarms').map(propertiesOf);
      assert.deepEqual(plan?.sku, { name: 'FC1', tier: 'FlexConsumption' });
      const [site] = resourcesOfType('Microsoft.Web/sites').map(propertiesOf);
      assert.ok(site);
      assert.equal(site.kind, 'functionapp,linux');
      assert.ok(isObject(site.identity) && site.identity.type === 'UserAssigned');
      assert.ok(isObject(site.tags) && site.tags['azd-service-name'] === 'api', 'azd finds the app by its tag');
      const properties = site.properties;
      assert.ok(isObject(properties));
      assert.ok(properties.keyVaultReferenceIdentity instanceof Opaque, 'Key Vault references use the identity');
      const config = properties.functionAppConfig;
      assert.ok(isObject(config));
      assert.deepEqual(config.runtime, { name: 'node', version: '22' });
      const deployment = config.deployment;
      assert.ok(isObject(deployment) && isObject(deployment.storage) && isObject(deployment.storage.authentication));
      assert.equal(deployment.storage.authentication.type, 'UserAssignedIdentity');
    });

    it('creates the queues the app uses and the checkpoint and failure tables, with shared keys off', () => {
      const storage = main.deployedModule('storage');
      assert.ok(storage);
      assert.deepEqual(storage.parameter('queueNames'), [
        studyQueueName,
        studyPoisonQueueName,
        pollContinuationQueueName,
      ]);
      assert.deepEqual(storage.parameter('tableNames'), [
        settingDefinitions.checkpointTable.default,
        settingDefinitions.failureTable.default,
      ]);
      const [account] = resourcesOfType('Microsoft.Storage/storageAccounts').map(propertiesOf);
      assert.ok(account && isObject(account.properties));
      assert.equal(account.properties.allowSharedKeyAccess, false);
    });

    it('sends telemetry to Application Insights with Entra ID only', () => {
      const [component] = resourcesOfType('Microsoft.Insights/components').map(propertiesOf);
      assert.ok(component && isObject(component.properties));
      assert.equal(component.properties.DisableLocalAuth, true);
      assert.ok(typeof component.properties.WorkspaceResourceId !== 'undefined', 'on a Log Analytics workspace');
    });
  });

  describe('deployments', () => {
    it('with the defaults: the app defaults, no authentication, no vault, the four base roles', () => {
      const deployment = deploy(template, {});
      const settings = asAppSees(deployment);
      const keys = Object.keys(settings);
      assert.deepEqual(
        keys.filter((key) => expectedConditional.has(key)),
        [],
      );
      // The deployed settings give the app the configuration its own defaults give, storage aside.
      const deployed = loadAppConfig(settings);
      const appDefaults = loadAppConfig({
        DicomWeb__Endpoint: required.dicomWebEndpoint,
        Fhir__Endpoint: required.fhirEndpoint,
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      });
      assert.deepEqual({ ...deployed, storage: undefined }, { ...appDefaults, storage: undefined });
      const storageAccount = textOf(deployment.settings.AzureWebJobsStorage__accountName);
      assert.deepEqual(deployed.storage, {
        kind: 'identity',
        queueServiceUri: `https://${storageAccount}.queue.core.windows.net`,
        tableServiceUri: `https://${storageAccount}.table.core.windows.net`,
        clientId: settings.AzureWebJobsStorage__clientId,
      });
      assert.equal(deployment.settings.AzureWebJobsStorage__credential, 'managedidentity');
      assert.ok(identityClientIdOf(deployment) instanceof Opaque, 'the identity client ID, known when deployed');
      assert.match(
        settings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? '',
        /^ClientId=<[^>]*identity[^>]*clientId[^>]*>;Authorization=AAD$/,
      );
      assert.equal(loadAuthConfig(settings, 'DicomWeb', deployed.dicomWeb.endpoint).kind, 'none');
      assert.equal(loadAuthConfig(settings, 'Fhir', deployed.fhir.endpoint).kind, 'none');
      assert.equal(deployment.vaultSecrets, undefined, 'no vault');
      assert.deepEqual(deployment.roleDefinitionIds.sort(), [...baseRoles].sort());
    });

    it('with managed identities and Health Data Services resource IDs: tokens for the identity, data roles', () => {
      const deployment = deploy(template, {
        dicomWebAuthenticationEnabled: true,
        fhirAuthenticationEnabled: true,
        dicomServiceResourceId: dicomServiceId,
        fhirServiceResourceId: fhirServiceId,
      });
      const settings = asAppSees(deployment);
      const clientId = settings.AzureWebJobsStorage__clientId;
      assert.deepEqual(loadAuthConfig(settings, 'DicomWeb', required.dicomWebEndpoint), {
        kind: 'managedIdentity',
        server: 'DicomWeb',
        resource: defaultDicomResource,
        clientId,
      });
      assert.deepEqual(loadAuthConfig(settings, 'Fhir', required.fhirEndpoint), {
        kind: 'managedIdentity',
        server: 'Fhir',
        resource: required.fhirEndpoint,
        clientId,
      });
      assert.deepEqual(
        deployment.roleDefinitionIds.sort(),
        [...baseRoles, roles.dicomDataReader, roles.fhirDataContributor].sort(),
      );
      for (const [module, service, id] of [
        ['dicom-role', 'dicom', dicomServiceId],
        ['fhir-role', 'fhir', fhirServiceId],
      ] as const) {
        const scope = deployment.scope.deployedModule(module);
        assert.ok(scope, `${module} deployed`);
        const parts = id.split('/');
        assert.equal(scope.parameter('service'), service);
        assert.equal(scope.parameter('workspaceName'), parts[8]);
        assert.equal(scope.parameter('serviceName'), parts[10]);
        const resource = deployment.scope.resources.find((candidate) => candidate.raw.name === module);
        assert.ok(resource);
        assert.equal(deployment.scope.evaluate(resource.raw.subscriptionId ?? null), parts[2]);
        assert.equal(deployment.scope.evaluate(resource.raw.resourceGroup ?? null), parts[4]);
      }
      assert.equal(deployment.vaultSecrets, undefined, 'no vault');
    });

    it('with OAuth2: secrets in the vault, Key Vault references in the settings, the app gets the values', () => {
      const secrets = {
        dicomWebOAuth2ClientSecret: 'dicom-client-secret-value',
        dicomWebOAuth2Password: 'dicom-password-value',
        fhirOAuth2ClientSecret: 'fhir-client-secret-value',
      };
      const deployment = deploy(template, {
        dicomWebAuthenticationEnabled: true,
        dicomWebAuthenticationType: 'OAuth2UserPasswordCredential',
        dicomWebOAuth2TokenUri: 'https://login.example.com/token',
        dicomWebOAuth2ClientId: 'dicom-client',
        dicomWebOAuth2Username: 'dicom-user',
        dicomWebOAuth2Scope: 'dicom.read',
        fhirAuthenticationEnabled: true,
        fhirAuthenticationType: 'OAuth2ClientCredential',
        fhirOAuth2TokenUri: 'https://login.example.com/token',
        fhirOAuth2ClientId: 'fhir-client',
        fhirOAuth2Resource: 'https://fhir.example.com',
        ...secrets,
      });
      assert.deepEqual(Object.keys(deployment.vaultSecrets ?? {}).sort(), [
        'DicomWeb--Authentication--OAuth2UserPasswordCredential--ClientSecret',
        'DicomWeb--Authentication--OAuth2UserPasswordCredential--Password',
        'Fhir--Authentication--OAuth2ClientCredential--ClientSecret',
      ]);
      const raw = JSON.stringify(deployment.settings);
      for (const value of Object.values(secrets)) assert.ok(!raw.includes(value), 'no secret in an app setting');

      const settings = asAppSees(deployment);
      assert.deepEqual(loadAuthConfig(settings, 'DicomWeb', required.dicomWebEndpoint), {
        kind: 'oauth2',
        server: 'DicomWeb',
        grantType: 'password',
        settingPrefix: 'DicomWeb:Authentication:OAuth2UserPasswordCredential',
        tokenUri: 'https://login.example.com/token',
        clientId: 'dicom-client',
        clientSecret: secrets.dicomWebOAuth2ClientSecret,
        scope: 'dicom.read',
        username: 'dicom-user',
        password: secrets.dicomWebOAuth2Password,
      });
      assert.deepEqual(loadAuthConfig(settings, 'Fhir', required.fhirEndpoint), {
        kind: 'oauth2',
        server: 'Fhir',
        grantType: 'client_credentials',
        settingPrefix: 'Fhir:Authentication:OAuth2ClientCredential',
        tokenUri: 'https://login.example.com/token',
        clientId: 'fhir-client',
        clientSecret: secrets.fhirOAuth2ClientSecret,
        resource: 'https://fhir.example.com',
      });
      assert.equal(settings.KeyVault__Endpoint, undefined, 'vault loading stays off');
      assert.deepEqual(deployment.roleDefinitionIds.sort(), [...baseRoles, roles.keyVaultSecretsUser].sort());
    });

    it('with the other OAuth2 grant for each server: the password grant without a client secret', () => {
      const deployment = deploy(template, {
        dicomWebAuthenticationEnabled: true,
        dicomWebAuthenticationType: 'OAuth2ClientCredential',
        dicomWebOAuth2TokenUri: 'https://login.example.com/token',
        dicomWebOAuth2ClientId: 'dicom-client',
        dicomWebOAuth2ClientSecret: 'dicom-secret',
        fhirAuthenticationEnabled: true,
        fhirAuthenticationType: 'OAuth2UserPasswordCredential',
        fhirOAuth2TokenUri: 'https://login.example.com/token',
        fhirOAuth2ClientId: 'fhir-client',
        fhirOAuth2Username: 'fhir-user',
        fhirOAuth2Password: 'fhir-password',
      });
      assert.deepEqual(Object.keys(deployment.vaultSecrets ?? {}).sort(), [
        'DicomWeb--Authentication--OAuth2ClientCredential--ClientSecret',
        'Fhir--Authentication--OAuth2UserPasswordCredential--Password',
      ]);
      const settings = asAppSees(deployment);
      const dicom = loadAuthConfig(settings, 'DicomWeb', required.dicomWebEndpoint);
      assert.ok(dicom.kind === 'oauth2' && dicom.grantType === 'client_credentials');
      assert.equal(dicom.clientSecret, 'dicom-secret');
      const fhir = loadAuthConfig(settings, 'Fhir', required.fhirEndpoint);
      assert.ok(fhir.kind === 'oauth2' && fhir.grantType === 'password');
      assert.equal(fhir.clientSecret, undefined);
      assert.equal(fhir.username, 'fhir-user');
      assert.equal(fhir.password, 'fhir-password');
    });

    it('with vault loading: KeyVault__Endpoint and the identity that reads the vault', () => {
      const deployment = deploy(template, { keyVaultLoadingEnabled: true });
      assert.deepEqual(deployment.vaultSecrets, {});
      const settings = asAppSees(deployment);
      assert.equal(settings.KeyVault__Endpoint, `https://${deployment.vaultName!}.vault.azure.net/`);
      assert.equal(settings.KeyVault__ClientId, settings.AzureWebJobsStorage__clientId);
      assert.deepEqual(deployment.roleDefinitionIds.sort(), [...baseRoles, roles.keyVaultSecretsUser].sort());
    });

    it('ignores OAuth2 values while authentication is off: no fields, no vault', () => {
      const deployment = deploy(template, {
        fhirAuthenticationType: 'OAuth2ClientCredential',
        fhirOAuth2TokenUri: 'https://login.example.com/token',
        fhirOAuth2ClientSecret: 'unused-secret',
      });
      assert.deepEqual(
        Object.keys(deployment.settings).filter((key) => expectedConditional.has(key)),
        [],
      );
      assert.equal(deployment.vaultSecrets, undefined);
    });

    it('keeps the checkpoint and failure tables of the settings and of storage in step', () => {
      const deployment = deploy(template, {
        dicomCastCheckpointTable: 'CastCheckpoints',
        dicomCastFailureTable: 'CastFailures',
      });
      assert.equal(deployment.settings.DicomCast__CheckpointTable, 'CastCheckpoints');
      assert.equal(deployment.settings.DicomCast__FailureTable, 'CastFailures');
      assert.deepEqual(deployment.scope.deployedModule('storage')?.parameter('tableNames'), [
        'CastCheckpoints',
        'CastFailures',
      ]);
    });
  });
});
