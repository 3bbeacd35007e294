import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Coding } from '@medplum/fhirtypes';
import { toBodySite } from '../../../shared/mapping/bodySite.js';
import { bodyPartSnomed } from '../../../shared/mapping/data/bodyPartSnomed.js';
import { toLaterality } from '../../../shared/mapping/laterality.js';

const sct = 'http://snomed.info/sct';

describe('toBodySite', () => {
  const rows: [string, Coding][] = [
    ['CHEST', { system: sct, code: '816094009', display: 'Chest' }],
    ['ABDOMEN', { system: sct, code: '818981001', display: 'Abdomen' }],
    ['chest', { system: sct, code: '816094009', display: 'Chest' }],
    [' HEAD ', { system: sct, code: '69536005', display: 'Head' }],
    ['FETALARM', { display: 'FETALARM' }],
    ['LEFT KNEE', { display: 'LEFT KNEE' }],
    ['constructor', { display: 'constructor' }],
  ];
  for (const [value, expected] of rows) {
    it(`${JSON.stringify(value)} → ${JSON.stringify(expected)}`, () => assert.deepEqual(toBodySite(value), expected));
  }

  it('ships the whole PS3.16 Annex L table', () => {
    const entries = Object.values(bodyPartSnomed);
    assert.equal(entries.length, 322);
    assert.equal(entries.filter((entry) => entry.code === null).length, 5);
  });
});

describe('toLaterality', () => {
  const rows: [string, Coding | null | undefined][] = [
    ['R', { system: sct, code: '24028007', display: 'Right' }],
    ['L', { system: sct, code: '7771000', display: 'Left' }],
    ['B', { system: sct, code: '51440002', display: 'Right and left' }],
    ['U', null],
    ['X', undefined],
    ['RIGHT', undefined],
  ];
  for (const [value, expected] of rows) {
    it(`${value} → ${JSON.stringify(expected)}`, () => assert.deepEqual(toLaterality(value), expected));
  }
});
