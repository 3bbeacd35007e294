// A data-plane role for the app's managed identity on an Azure Health Data Services DICOM or FHIR service,
// deployed at the service's own resource group (which may be in another subscription).
//   DICOM: DICOM Data Reader (read and search; the app only reads the change feed and instance metadata).
//   FHIR:  FHIR Data Contributor (the app searches, creates, updates and deletes Patient, Endpoint and
//          ImagingStudy resources in transaction bundles). FHIR Data Writer (read, write, soft delete) would
//          also cover that; Contributor is the role the deployment design asked for.

@description('Which service the role is for.')
@allowed([
  'dicom'
  'fhir'
])
param service string

@description('Health Data Services workspace name.')
param workspaceName string

@description('DICOM or FHIR service name inside the workspace.')
param serviceName string

@description('Principal (object) ID of the app\'s user-assigned managed identity.')
param principalId string

var roles = {
  dicomDataReader: 'e89c7a3c-2f64-4fa1-a847-3e4c9ba4283a'
  fhirDataContributor: '5a1fc7df-4bf1-4951-a576-89034ee01acd'
}

resource workspace 'Microsoft.HealthcareApis/workspaces@2024-03-31' existing = {
  name: workspaceName
}

resource dicomService 'Microsoft.HealthcareApis/workspaces/dicomservices@2024-03-31' existing = if (service == 'dicom') {
  parent: workspace
  name: serviceName
}

resource fhirService 'Microsoft.HealthcareApis/workspaces/fhirservices@2024-03-31' existing = if (service == 'fhir') {
  parent: workspace
  name: serviceName
}

resource dicomDataReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (service == 'dicom') {
  name: guid(dicomService.id, principalId, roles.dicomDataReader)
  scope: dicomService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dicomDataReader)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource fhirDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (service == 'fhir') {
  name: guid(fhirService.id, principalId, roles.fhirDataContributor)
  scope: fhirService
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.fhirDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
