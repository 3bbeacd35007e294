import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CodeableConcept } from '@medplum/fhirtypes';
import { Tag, type DicomJsonDataset } from '../../../shared/dicomweb/dicomJson.js';
import { codingSystem, toCodeableConcept, toCodeableConcepts } from '../../../shared/mapping/codes.js';
import { attr, codeItem } from '../../support/mappingFixtures.js';

describe('codingSystem', () => {
  const rows: [string | undefined, string | undefined, string | undefined][] = [
    ['DCM', undefined, 'http://dicom.nema.org/resources/ontology/DCM'],
    ['dcm', undefined, 'http://dicom.nema.org/resources/ontology/DCM'],
    ['SCT', undefined, 'http://snomed.info/sct'],
    ['SRT', undefined, 'http://snomed.info/sct'],
    ['srt', undefined, 'http://snomed.info/sct'],
    ['LN', undefined, 'http://loinc.org'],
    ['UCUM', undefined, 'http://unitsofmeasure.org'],
    ['DCM', '1.2.840.10008.2.16.4', 'http://dicom.nema.org/resources/ontology/DCM'],
    ['99LOCAL', '1.2.3.4', 'urn:oid:1.2.3.4'],
    ['99LOCAL', undefined, undefined],
    [undefined, '1.2.3.4', 'urn:oid:1.2.3.4'],
    [undefined, undefined, undefined],
  ];
  for (const [designator, uid, expected] of rows) {
    it(`${designator} / ${uid} → ${expected}`, () => assert.equal(codingSystem(designator, uid), expected));
  }
});

describe('toCodeableConcept', () => {
  const rows: [string, DicomJsonDataset, CodeableConcept | undefined][] = [
    [
      'DCM item',
      codeItem('113701', 'DCM', 'X-Ray Radiation Dose Report'),
      {
        coding: [
          {
            system: 'http://dicom.nema.org/resources/ontology/DCM',
            code: '113701',
            display: 'X-Ray Radiation Dose Report',
          },
        ],
      },
    ],
    [
      'local item with scheme UID',
      codeItem('P1', '99RAD', 'Chest CT', '1.2.3.4'),
      { coding: [{ system: 'urn:oid:1.2.3.4', code: 'P1', display: 'Chest CT' }] },
    ],
    [
      'local item without scheme UID',
      codeItem('P1', '99RAD', 'Chest CT'),
      { coding: [{ code: 'P1', display: 'Chest CT' }] },
    ],
    [
      'LongCodeValue when CodeValue is absent',
      { [Tag.LongCodeValue]: attr('UC', 'LONG-CODE'), [Tag.CodingSchemeDesignator]: attr('SH', 'LN') },
      { coding: [{ system: 'http://loinc.org', code: 'LONG-CODE' }] },
    ],
    [
      'URNCodeValue when CodeValue is absent',
      { [Tag.URNCodeValue]: attr('UR', 'urn:x:1'), [Tag.CodeMeaning]: attr('LO', 'X') },
      { coding: [{ code: 'urn:x:1', display: 'X' }] },
    ],
    ['meaning only → text', { [Tag.CodeMeaning]: attr('LO', 'Headache') }, { text: 'Headache' }],
    ['empty item', { [Tag.CodingSchemeDesignator]: attr('SH', 'DCM') }, undefined],
  ];
  for (const [name, item, expected] of rows) {
    it(name, () => assert.deepEqual(toCodeableConcept(item), expected));
  }

  it('one concept per sequence item, empty items skipped', () => {
    const dataset: DicomJsonDataset = {
      [Tag.ProcedureCodeSequence]: attr('SQ', codeItem('A', 'SCT', 'a'), {}, codeItem('B', 'LN', 'b')),
    };
    assert.deepEqual(toCodeableConcepts(dataset, Tag.ProcedureCodeSequence), [
      { coding: [{ system: 'http://snomed.info/sct', code: 'A', display: 'a' }] },
      { coding: [{ system: 'http://loinc.org', code: 'B', display: 'b' }] },
    ]);
    assert.deepEqual(toCodeableConcepts(dataset, Tag.ReasonForPerformedProcedureCodeSequence), []);
  });
});
