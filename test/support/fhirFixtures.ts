import type { ImagingStudy, Patient } from '@medplum/fhirtypes';

/** The identifier system of a study UID, as the product writes it. */
export const STUDY_UID_SYSTEM = 'urn:dicom:uid';

/** A minimal valid Patient identified by `pid` (and written by `source`, when given). */
export const samplePatient = (pid: string, source?: string): Patient => ({
  resourceType: 'Patient',
  ...(source ? { meta: { source } } : {}),
  identifier: [{ value: pid }],
  name: [{ family: 'Doe', given: ['Jane'] }],
  gender: 'female',
});

/** A minimal valid ImagingStudy of study `uid` about `subject`. */
export const sampleStudy = (uid: string, subject: string): ImagingStudy => ({
  resourceType: 'ImagingStudy',
  status: 'available',
  identifier: [{ system: STUDY_UID_SYSTEM, value: `urn:oid:${uid}` }],
  subject: { reference: subject },
});
