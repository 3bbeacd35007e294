// DICOM Cast on Azure Functions (Flex Consumption): a resource group with the function app, its user-assigned
// identity, storage (host, queues, tables, deployment container), Application Insights, an optional Key Vault
// and the identity's role assignments. Deploy with `azd up`, or `az deployment sub create` (infra/README.md).
//
// Every parameter that feeds an app setting carries @metadata({ appSetting: '<path>' }) naming the setting
// the app reads (shared/config/appConfig.ts, shared/auth/authConfig.ts); its default is the app's default.
// test/infra/bicep.test.ts checks those names and defaults against the app's setting definitions.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------------
// Deployment
// ---------------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd environment name): the resource group is rg-<name>, and it seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create or reuse; empty means rg-<environmentName>.')
param resourceGroupName string = ''

@description('Upper bound of instances the function app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each function app instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Resource ID of an Azure Health Data Services DICOM service (/subscriptions/.../workspaces/<ws>/dicomservices/<name>); when set, the app identity gets DICOM Data Reader on it.')
param dicomServiceResourceId string = ''

@description('Resource ID of an Azure Health Data Services FHIR service (/subscriptions/.../workspaces/<ws>/fhirservices/<name>); when set, the app identity gets FHIR Data Contributor on it.')
param fhirServiceResourceId string = ''

@description('Deploy a Key Vault and set KeyVault__Endpoint (and KeyVault__ClientId) so the app loads every secret of the vault as a setting (`--` in a secret name stands for `:`). A vault is also deployed whenever an OAuth2 secret is given.')
@metadata({ appSetting: 'KeyVault:Endpoint' })
param keyVaultLoadingEnabled bool = false

// ---------------------------------------------------------------------------------------------------------
// App settings: DICOMweb, FHIR, patient identity, poller
// ---------------------------------------------------------------------------------------------------------

@minLength(1)
@description('Base URL of the DICOMweb server (the Azure DICOM service URL, without /v1 or /v2).')
@metadata({ appSetting: 'DicomWeb:Endpoint' })
param dicomWebEndpoint string

@description('Change feed API: v2 (time window + row offset) or v1 (sequence window).')
@allowed([
  'v1'
  'v2'
])
@metadata({ appSetting: 'DicomWeb:ChangeFeed:Version' })
param dicomWebChangeFeedVersion string = 'v2'

@description('Where changes come from: azure (the Azure DICOM service change feed) or orthanc (Orthanc\'s /changes log; dicomWebEndpoint is then its DICOMweb root).')
@allowed([
  'azure'
  'orthanc'
])
@metadata({ appSetting: 'DicomWeb:Source' })
param dicomWebSource string = 'azure'

@description('Orthanc only: its REST API root; empty means dicomWebEndpoint without its last path segment.')
@metadata({ appSetting: 'DicomWeb:Orthanc:Endpoint' })
param dicomWebOrthancEndpoint string = ''

@description('Entries asked for per change-feed request (v2: 1-200, v1: 1-100).')
@minValue(1)
@maxValue(200)
@metadata({ appSetting: 'DicomWeb:ChangeFeed:PageSize' })
param dicomWebChangeFeedPageSize int = 100

@minLength(1)
@description('Base URL of the FHIR R4 server.')
@metadata({ appSetting: 'Fhir:Endpoint' })
param fhirEndpoint string

@description('System of the Patient identifier holding PatientID (0010,0020); empty writes the identifier without a system.')
@metadata({ appSetting: 'Patient:PatientSystemId' })
param patientSystemId string = ''

@description('Use IssuerOfPatientID (0010,0021) as the Patient identifier system instead of PatientSystemId.')
@metadata({ appSetting: 'Patient:IsIssuerIdUsed' })
param patientIsIssuerIdUsed bool = false

@minLength(1)
@description('NCRONTAB schedule of the change-feed poller (six fields, seconds first).')
@metadata({ appSetting: 'DicomCast:Schedule' })
param dicomCastSchedule string = '*/10 * * * * *'

@description('Table holding the change-feed checkpoint (created by this deployment).')
@minLength(3)
@maxLength(63)
@metadata({ appSetting: 'DicomCast:CheckpointTable' })
param dicomCastCheckpointTable string = 'DicomCastCheckpoints'

@description('Table holding failure records (created by this deployment).')
@minLength(3)
@maxLength(63)
@metadata({ appSetting: 'DicomCast:FailureTable' })
param dicomCastFailureTable string = 'DicomCastFailures'

@description('Most entries the FHIR server takes in one Bundle (the AHDS FHIR service takes 500).')
@minValue(4)
@maxValue(100000)
@metadata({ appSetting: 'Fhir:MaxBundleEntries' })
param fhirMaxBundleEntries int = 500

@description('Time budget of one poller run in seconds; keep it well under functionTimeout in host.json (10 minutes).')
@minValue(5)
@maxValue(3600)
@metadata({ appSetting: 'DicomCast:MaxPollSeconds' })
param dicomCastMaxPollSeconds int = 240

@minLength(1)
@description('NCRONTAB schedule of the drift sweep (six fields, seconds first).')
@metadata({ appSetting: 'DicomCast:DriftSweep:Schedule' })
param dicomCastDriftSweepSchedule string = '0 0 * * * *'

@description('Run the drift sweep: true, false, or empty for the app default (on for orthanc, off for azure).')
@allowed([
  ''
  'true'
  'false'
])
@metadata({ appSetting: 'DicomCast:DriftSweep:Enabled' })
param dicomCastDriftSweepEnabled string = ''

@description('Pages one drift-sweep run reads at most (the next run resumes).')
@minValue(1)
@maxValue(100000)
@metadata({ appSetting: 'DicomCast:DriftSweep:MaxPages' })
param dicomCastDriftSweepMaxPages int = 100

@description('Time budget of one drift-sweep run in seconds.')
@minValue(1)
@maxValue(3600)
@metadata({ appSetting: 'DicomCast:DriftSweep:MaxSeconds' })
param dicomCastDriftSweepMaxSeconds int = 120

@description('Studies per page in the drift sweep (1-200).')
@minValue(1)
@maxValue(200)
@metadata({ appSetting: 'DicomCast:DriftSweep:PageSize' })
param dicomCastDriftSweepPageSize int = 100

@description('Offset assumed when TimezoneOffsetFromUTC (0008,0201) is absent, like +00:00 or -05:00.')
@metadata({ appSetting: 'DicomCast:DefaultTimezoneOffset' })
param dicomCastDefaultTimezoneOffset string = '+00:00'

@description('When true an invalid mapped tag fails the instance instead of being skipped with a warning.')
@metadata({ appSetting: 'DicomCast:Features:EnforceValidationOfTagValues' })
param dicomCastEnforceValidationOfTagValues bool = false

@description('Write radiation dose Observations from dose SR instances.')
@metadata({ appSetting: 'DicomCast:Features:GenerateObservations' })
param dicomCastGenerateObservations bool = true

// ---------------------------------------------------------------------------------------------------------
// App settings: authentication to the DICOM server (DicomWeb:Authentication:*)
// OAuth2 fields go to the section named by the authentication type; the secrets go to the Key Vault and
// reach the app as Key Vault references.
// ---------------------------------------------------------------------------------------------------------

@description('Send a bearer token to the DICOM server (true for the Azure DICOM service).')
@metadata({ appSetting: 'DicomWeb:Authentication:Enabled' })
param dicomWebAuthenticationEnabled bool = false

@description('How the DICOM server is authenticated to: ManagedIdentity (the app\'s user-assigned identity), OAuth2ClientCredential, OAuth2UserPasswordCredential or Basic (e.g. Orthanc).')
@allowed([
  'ManagedIdentity'
  'OAuth2ClientCredential'
  'OAuth2UserPasswordCredential'
  'Basic'
])
@metadata({ appSetting: 'DicomWeb:Authentication:AuthenticationType' })
param dicomWebAuthenticationType string = 'ManagedIdentity'

@description('Token audience for the managed identity; empty leaves the app default (the same value).')
@metadata({ appSetting: 'DicomWeb:Authentication:ManagedIdentityCredential:Resource' })
param dicomWebManagedIdentityResource string = 'https://dicom.healthcareapis.azure.com'

@description('OAuth2 token endpoint (OAuth2 types).')
@metadata({ appSetting: 'DicomWeb:Authentication:<AuthenticationType>:TokenUri' })
param dicomWebOAuth2TokenUri string = ''

@description('OAuth2 client id (OAuth2 types).')
@metadata({ appSetting: 'DicomWeb:Authentication:<AuthenticationType>:ClientId' })
param dicomWebOAuth2ClientId string = ''

@secure()
@description('OAuth2 client secret (required for OAuth2ClientCredential, optional for the password grant); stored in the Key Vault.')
@metadata({ appSetting: 'DicomWeb:Authentication:<AuthenticationType>:ClientSecret' })
param dicomWebOAuth2ClientSecret string = ''

@description('Optional OAuth2 scope (OAuth2 types).')
@metadata({ appSetting: 'DicomWeb:Authentication:<AuthenticationType>:Scope' })
param dicomWebOAuth2Scope string = ''

@description('Optional OAuth2 resource (OAuth2 types).')
@metadata({ appSetting: 'DicomWeb:Authentication:<AuthenticationType>:Resource' })
param dicomWebOAuth2Resource string = ''

@description('User name (OAuth2UserPasswordCredential).')
@metadata({ appSetting: 'DicomWeb:Authentication:OAuth2UserPasswordCredential:Username' })
param dicomWebOAuth2Username string = ''

@secure()
@description('Password (OAuth2UserPasswordCredential); stored in the Key Vault.')
@metadata({ appSetting: 'DicomWeb:Authentication:OAuth2UserPasswordCredential:Password' })
param dicomWebOAuth2Password string = ''

@description('User name (Basic).')
@metadata({ appSetting: 'DicomWeb:Authentication:Basic:Username' })
param dicomWebBasicUsername string = ''

@secure()
@description('Password (Basic); stored in the Key Vault.')
@metadata({ appSetting: 'DicomWeb:Authentication:Basic:Password' })
param dicomWebBasicPassword string = ''

// ---------------------------------------------------------------------------------------------------------
// App settings: authentication to the FHIR server (Fhir:Authentication:*)
// ---------------------------------------------------------------------------------------------------------

@description('Send a bearer token to the FHIR server (true for the Azure FHIR service).')
@metadata({ appSetting: 'Fhir:Authentication:Enabled' })
param fhirAuthenticationEnabled bool = false

@description('How the token is obtained: ManagedIdentity (the app\'s user-assigned identity), OAuth2ClientCredential or OAuth2UserPasswordCredential.')
@allowed([
  'ManagedIdentity'
  'OAuth2ClientCredential'
  'OAuth2UserPasswordCredential'
])
@metadata({ appSetting: 'Fhir:Authentication:AuthenticationType' })
param fhirAuthenticationType string = 'ManagedIdentity'

@description('Token audience for the managed identity; empty leaves the app default (the FHIR endpoint).')
@metadata({ appSetting: 'Fhir:Authentication:ManagedIdentityCredential:Resource' })
param fhirManagedIdentityResource string = ''

@description('OAuth2 token endpoint (OAuth2 types).')
@metadata({ appSetting: 'Fhir:Authentication:<AuthenticationType>:TokenUri' })
param fhirOAuth2TokenUri string = ''

@description('OAuth2 client id (OAuth2 types).')
@metadata({ appSetting: 'Fhir:Authentication:<AuthenticationType>:ClientId' })
param fhirOAuth2ClientId string = ''

@secure()
@description('OAuth2 client secret (required for OAuth2ClientCredential, optional for the password grant); stored in the Key Vault.')
@metadata({ appSetting: 'Fhir:Authentication:<AuthenticationType>:ClientSecret' })
param fhirOAuth2ClientSecret string = ''

@description('Optional OAuth2 scope (OAuth2 types).')
@metadata({ appSetting: 'Fhir:Authentication:<AuthenticationType>:Scope' })
param fhirOAuth2Scope string = ''

@description('Optional OAuth2 resource (OAuth2 types).')
@metadata({ appSetting: 'Fhir:Authentication:<AuthenticationType>:Resource' })
param fhirOAuth2Resource string = ''

@description('User name (OAuth2UserPasswordCredential).')
@metadata({ appSetting: 'Fhir:Authentication:OAuth2UserPasswordCredential:Username' })
param fhirOAuth2Username string = ''

@secure()
@description('Password (OAuth2UserPasswordCredential); stored in the Key Vault.')
@metadata({ appSetting: 'Fhir:Authentication:OAuth2UserPasswordCredential:Password' })
param fhirOAuth2Password string = ''

// ---------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var names = {
  resourceGroup: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  identity: 'id-dicomcast-${resourceToken}'
  storage: 'st${resourceToken}'
  logAnalytics: 'log-dicomcast-${resourceToken}'
  applicationInsights: 'appi-dicomcast-${resourceToken}'
  keyVault: 'kv-${resourceToken}'
  plan: 'plan-dicomcast-${resourceToken}'
  functionApp: 'func-dicomcast-${resourceToken}'
  deploymentContainer: 'app-package'
}
// Fixed in the app (shared/queue/queueNames.ts): the queue trigger's name is read when the host indexes the app.
var queueNames = [
  'dicomcast-studies'
  'dicomcast-studies-poison'
  'dicomcast-poll'
]

// ---------------------------------------------------------------------------------------------------------
// Authentication choices and the secrets that go to the vault
// ---------------------------------------------------------------------------------------------------------

var dicomAuth = {
  managedIdentity: dicomWebAuthenticationEnabled && dicomWebAuthenticationType == 'ManagedIdentity'
  clientCredential: dicomWebAuthenticationEnabled && dicomWebAuthenticationType == 'OAuth2ClientCredential'
  userPassword: dicomWebAuthenticationEnabled && dicomWebAuthenticationType == 'OAuth2UserPasswordCredential'
  basic: dicomWebAuthenticationEnabled && dicomWebAuthenticationType == 'Basic'
}
var fhirAuth = {
  managedIdentity: fhirAuthenticationEnabled && fhirAuthenticationType == 'ManagedIdentity'
  clientCredential: fhirAuthenticationEnabled && fhirAuthenticationType == 'OAuth2ClientCredential'
  userPassword: fhirAuthenticationEnabled && fhirAuthenticationType == 'OAuth2UserPasswordCredential'
}

// Vault secret names follow the app's vault-loading convention (`--` for `:`), so loading the vault and the
// Key Vault references agree. An empty name: that secret is not stored.
var secretNames = {
  dicomWebClientSecret: (dicomAuth.clientCredential || dicomAuth.userPassword) && !empty(dicomWebOAuth2ClientSecret)
    ? 'DicomWeb--Authentication--${dicomWebAuthenticationType}--ClientSecret'
    : ''
  dicomWebPassword: dicomAuth.userPassword && !empty(dicomWebOAuth2Password)
    ? 'DicomWeb--Authentication--OAuth2UserPasswordCredential--Password'
    : ''
  dicomWebBasicPassword: dicomAuth.basic && !empty(dicomWebBasicPassword)
    ? 'DicomWeb--Authentication--Basic--Password'
    : ''
  fhirClientSecret: (fhirAuth.clientCredential || fhirAuth.userPassword) && !empty(fhirOAuth2ClientSecret)
    ? 'Fhir--Authentication--${fhirAuthenticationType}--ClientSecret'
    : ''
  fhirPassword: fhirAuth.userPassword && !empty(fhirOAuth2Password)
    ? 'Fhir--Authentication--OAuth2UserPasswordCredential--Password'
    : ''
}
var deployKeyVault = keyVaultLoadingEnabled || !empty(secretNames.dicomWebClientSecret) || !empty(secretNames.dicomWebPassword) || !empty(secretNames.dicomWebBasicPassword) || !empty(secretNames.fhirClientSecret) || !empty(secretNames.fhirPassword)
var keyVaultUri = 'https://${names.keyVault}${environment().suffixes.keyvaultDns}/'

// ---------------------------------------------------------------------------------------------------------
// App settings (the platform ones, storage and telemetry, are added in app/function.bicep)
// ---------------------------------------------------------------------------------------------------------

var coreSettings = {
  DicomWeb__Endpoint: dicomWebEndpoint
  DicomWeb__Source: dicomWebSource
  DicomWeb__Orthanc__Endpoint: dicomWebOrthancEndpoint
  DicomWeb__ChangeFeed__Version: dicomWebChangeFeedVersion
  DicomWeb__ChangeFeed__PageSize: string(dicomWebChangeFeedPageSize)
  Fhir__Endpoint: fhirEndpoint
  Fhir__MaxBundleEntries: string(fhirMaxBundleEntries)
  Patient__PatientSystemId: patientSystemId
  Patient__IsIssuerIdUsed: patientIsIssuerIdUsed ? 'true' : 'false'
  DicomCast__Schedule: dicomCastSchedule
  DicomCast__CheckpointTable: dicomCastCheckpointTable
  DicomCast__FailureTable: dicomCastFailureTable
  DicomCast__MaxPollSeconds: string(dicomCastMaxPollSeconds)
  DicomCast__DefaultTimezoneOffset: dicomCastDefaultTimezoneOffset
  DicomCast__DriftSweep__Schedule: dicomCastDriftSweepSchedule
  DicomCast__DriftSweep__Enabled: dicomCastDriftSweepEnabled
  DicomCast__DriftSweep__MaxPages: string(dicomCastDriftSweepMaxPages)
  DicomCast__DriftSweep__MaxSeconds: string(dicomCastDriftSweepMaxSeconds)
  DicomCast__DriftSweep__PageSize: string(dicomCastDriftSweepPageSize)
  DicomCast__Features__EnforceValidationOfTagValues: dicomCastEnforceValidationOfTagValues ? 'true' : 'false'
  DicomCast__Features__GenerateObservations: dicomCastGenerateObservations ? 'true' : 'false'
  DicomWeb__Authentication__Enabled: dicomWebAuthenticationEnabled ? 'true' : 'false'
  DicomWeb__Authentication__AuthenticationType: dicomWebAuthenticationType
  Fhir__Authentication__Enabled: fhirAuthenticationEnabled ? 'true' : 'false'
  Fhir__Authentication__AuthenticationType: fhirAuthenticationType
}

var dicomWebAuthSettings = union(
  dicomAuth.managedIdentity
    ? union(
        { DicomWeb__Authentication__ManagedIdentityCredential__ClientId: identity.outputs.clientId },
        empty(dicomWebManagedIdentityResource)
          ? {}
          : { DicomWeb__Authentication__ManagedIdentityCredential__Resource: dicomWebManagedIdentityResource }
      )
    : {},
  dicomAuth.clientCredential
    ? union(
        {
          DicomWeb__Authentication__OAuth2ClientCredential__TokenUri: dicomWebOAuth2TokenUri
          DicomWeb__Authentication__OAuth2ClientCredential__ClientId: dicomWebOAuth2ClientId
        },
        empty(dicomWebOAuth2Scope) ? {} : { DicomWeb__Authentication__OAuth2ClientCredential__Scope: dicomWebOAuth2Scope },
        empty(dicomWebOAuth2Resource)
          ? {}
          : { DicomWeb__Authentication__OAuth2ClientCredential__Resource: dicomWebOAuth2Resource },
        empty(secretNames.dicomWebClientSecret)
          ? {}
          : {
              DicomWeb__Authentication__OAuth2ClientCredential__ClientSecret: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.dicomWebClientSecret})'
            }
      )
    : {},
  dicomAuth.userPassword
    ? union(
        {
          DicomWeb__Authentication__OAuth2UserPasswordCredential__TokenUri: dicomWebOAuth2TokenUri
          DicomWeb__Authentication__OAuth2UserPasswordCredential__ClientId: dicomWebOAuth2ClientId
          DicomWeb__Authentication__OAuth2UserPasswordCredential__Username: dicomWebOAuth2Username
        },
        empty(dicomWebOAuth2Scope)
          ? {}
          : { DicomWeb__Authentication__OAuth2UserPasswordCredential__Scope: dicomWebOAuth2Scope },
        empty(dicomWebOAuth2Resource)
          ? {}
          : { DicomWeb__Authentication__OAuth2UserPasswordCredential__Resource: dicomWebOAuth2Resource },
        empty(secretNames.dicomWebClientSecret)
          ? {}
          : {
              DicomWeb__Authentication__OAuth2UserPasswordCredential__ClientSecret: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.dicomWebClientSecret})'
            },
        empty(secretNames.dicomWebPassword)
          ? {}
          : {
              DicomWeb__Authentication__OAuth2UserPasswordCredential__Password: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.dicomWebPassword})'
            }
      )
    : {},
  dicomAuth.basic
    ? union(
        { DicomWeb__Authentication__Basic__Username: dicomWebBasicUsername },
        empty(secretNames.dicomWebBasicPassword)
          ? {}
          : {
              DicomWeb__Authentication__Basic__Password: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.dicomWebBasicPassword})'
            }
      )
    : {}
)

var fhirAuthSettings = union(
  fhirAuth.managedIdentity
    ? union(
        { Fhir__Authentication__ManagedIdentityCredential__ClientId: identity.outputs.clientId },
        empty(fhirManagedIdentityResource)
          ? {}
          : { Fhir__Authentication__ManagedIdentityCredential__Resource: fhirManagedIdentityResource }
      )
    : {},
  fhirAuth.clientCredential
    ? union(
        {
          Fhir__Authentication__OAuth2ClientCredential__TokenUri: fhirOAuth2TokenUri
          Fhir__Authentication__OAuth2ClientCredential__ClientId: fhirOAuth2ClientId
        },
        empty(fhirOAuth2Scope) ? {} : { Fhir__Authentication__OAuth2ClientCredential__Scope: fhirOAuth2Scope },
        empty(fhirOAuth2Resource) ? {} : { Fhir__Authentication__OAuth2ClientCredential__Resource: fhirOAuth2Resource },
        empty(secretNames.fhirClientSecret)
          ? {}
          : {
              Fhir__Authentication__OAuth2ClientCredential__ClientSecret: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.fhirClientSecret})'
            }
      )
    : {},
  fhirAuth.userPassword
    ? union(
        {
          Fhir__Authentication__OAuth2UserPasswordCredential__TokenUri: fhirOAuth2TokenUri
          Fhir__Authentication__OAuth2UserPasswordCredential__ClientId: fhirOAuth2ClientId
          Fhir__Authentication__OAuth2UserPasswordCredential__Username: fhirOAuth2Username
        },
        empty(fhirOAuth2Scope) ? {} : { Fhir__Authentication__OAuth2UserPasswordCredential__Scope: fhirOAuth2Scope },
        empty(fhirOAuth2Resource)
          ? {}
          : { Fhir__Authentication__OAuth2UserPasswordCredential__Resource: fhirOAuth2Resource },
        empty(secretNames.fhirClientSecret)
          ? {}
          : {
              Fhir__Authentication__OAuth2UserPasswordCredential__ClientSecret: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.fhirClientSecret})'
            },
        empty(secretNames.fhirPassword)
          ? {}
          : {
              Fhir__Authentication__OAuth2UserPasswordCredential__Password: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${secretNames.fhirPassword})'
            }
      )
    : {}
)

// The app reads the vault with the identity named by KeyVault:ClientId (there is no system-assigned identity).
var keyVaultSettings = keyVaultLoadingEnabled
  ? {
      KeyVault__Endpoint: keyVaultUri
      KeyVault__ClientId: identity.outputs.clientId
    }
  : {}

// ---------------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: names.resourceGroup
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: names.deploymentContainer
    queueNames: queueNames
    tableNames: [
      dicomCastCheckpointTable
      dicomCastFailureTable
    ]
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = if (deployKeyVault) {
  name: 'keyvault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    secrets: union(
      empty(secretNames.dicomWebClientSecret) ? {} : { '${secretNames.dicomWebClientSecret}': dicomWebOAuth2ClientSecret },
      empty(secretNames.dicomWebPassword) ? {} : { '${secretNames.dicomWebPassword}': dicomWebOAuth2Password },
      empty(secretNames.dicomWebBasicPassword) ? {} : { '${secretNames.dicomWebBasicPassword}': dicomWebBasicPassword },
      empty(secretNames.fhirClientSecret) ? {} : { '${secretNames.fhirClientSecret}': fhirOAuth2ClientSecret },
      empty(secretNames.fhirPassword) ? {} : { '${secretNames.fhirPassword}': fhirOAuth2Password }
    )
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: names.storage
    applicationInsightsName: names.applicationInsights
    keyVaultName: deployKeyVault ? names.keyVault : ''
  }
  dependsOn: [
    storage
    monitoring
    keyVault
  ]
}

// Health Data Services roles, at the services' own resource groups. The placeholders only keep the scope
// expressions valid when no resource ID is given (the modules are then not deployed).
var dicomServiceIdParts = split(
  empty(dicomServiceResourceId)
    ? '/subscriptions/${subscription().subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.HealthcareApis/workspaces/none/dicomservices/none'
    : dicomServiceResourceId,
  '/'
)
var fhirServiceIdParts = split(
  empty(fhirServiceResourceId)
    ? '/subscriptions/${subscription().subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.HealthcareApis/workspaces/none/fhirservices/none'
    : fhirServiceResourceId,
  '/'
)

module dicomRole 'app/healthcare-rbac.bicep' = if (!empty(dicomServiceResourceId)) {
  name: 'dicom-role'
  scope: resourceGroup(dicomServiceIdParts[2], dicomServiceIdParts[4])
  params: {
    service: 'dicom'
    workspaceName: dicomServiceIdParts[8]
    serviceName: dicomServiceIdParts[10]
    principalId: identity.outputs.principalId
  }
}

module fhirRole 'app/healthcare-rbac.bicep' = if (!empty(fhirServiceResourceId)) {
  name: 'fhir-role'
  scope: resourceGroup(fhirServiceIdParts[2], fhirServiceIdParts[4])
  params: {
    service: 'fhir'
    workspaceName: fhirServiceIdParts[8]
    serviceName: fhirServiceIdParts[10]
    principalId: identity.outputs.principalId
  }
}

module function 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: names.storage
    deploymentContainerName: names.deploymentContainer
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: union(coreSettings, dicomWebAuthSettings, fhirAuthSettings, keyVaultSettings)
  }
  // The roles first: the host needs storage at start, and Key Vault references resolve only with access.
  dependsOn: [
    storage
    rbac
    dicomRole
    fhirRole
  ]
}

// ---------------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment; none is a secret)
// ---------------------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = function.outputs.name
output AZURE_FUNCTION_APP_NAME string = function.outputs.name
output AZURE_FUNCTION_APP_HOSTNAME string = function.outputs.defaultHostName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_USER_ASSIGNED_IDENTITY_NAME string = identity.outputs.name
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AZURE_KEY_VAULT_NAME string = deployKeyVault ? names.keyVault : ''
output AZURE_KEY_VAULT_ENDPOINT string = deployKeyVault ? keyVaultUri : ''
