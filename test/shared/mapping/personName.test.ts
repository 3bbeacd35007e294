import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HumanName } from '@medplum/fhirtypes';
import type { DicomPersonName } from '../../../shared/dicomweb/dicomJson.js';
import { toDisplayName, toHumanName } from '../../../shared/mapping/personName.js';

describe('toHumanName', () => {
  const rows: [string, DicomPersonName | undefined, HumanName | undefined][] = [
    ['family and given', { Alphabetic: 'Doe^John' }, { use: 'usual', family: 'Doe', given: ['John'] }],
    ['family only', { Alphabetic: 'Doe' }, { use: 'usual', family: 'Doe' }],
    ['given only', { Alphabetic: '^John' }, { use: 'usual', given: ['John'] }],
    [
      'middle names after given names',
      { Alphabetic: 'Doe^John Paul^Peter Mark' },
      { use: 'usual', family: 'Doe', given: ['John', 'Paul', 'Peter', 'Mark'] },
    ],
    [
      'prefixes and suffixes split on spaces',
      { Alphabetic: 'Doe^John^^Dr. Prof.^Jr. PhD' },
      { use: 'usual', family: 'Doe', given: ['John'], prefix: ['Dr.', 'Prof.'], suffix: ['Jr.', 'PhD'] },
    ],
    [
      'padding trimmed everywhere',
      { Alphabetic: '  Doe ^ John  ^ ^ Dr ^  ' },
      { use: 'usual', family: 'Doe', given: ['John'], prefix: ['Dr'] },
    ],
    [
      'family with spaces kept whole',
      { Alphabetic: 'van der Berg^Anna' },
      { use: 'usual', family: 'van der Berg', given: ['Anna'] },
    ],
    ['only carets: no name', { Alphabetic: '^^^^' }, undefined],
    ['blank: no name', { Alphabetic: '   ' }, undefined],
    ['absent: no name', undefined, undefined],
    ['empty object: no name', {}, undefined],
    ['ideographic only → text', { Ideographic: '山田^太郎' }, { use: 'usual', text: '山田 太郎' }],
    [
      'alphabetic carets, ideographic → text',
      { Alphabetic: '^', Ideographic: '山田^太郎' },
      { use: 'usual', text: '山田 太郎' },
    ],
    [
      'alphabetic wins over ideographic',
      { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎' },
      { use: 'usual', family: 'Yamada', given: ['Tarou'] },
    ],
    ['phonetic alone is not used', { Phonetic: 'やまだ^たろう' }, undefined],
  ];
  for (const [name, input, expected] of rows) {
    it(name, () => assert.deepEqual(toHumanName(input), expected));
  }
});

describe('toDisplayName', () => {
  const rows: [DicomPersonName | undefined, string | undefined][] = [
    [{ Alphabetic: 'Doe^John' }, 'John Doe'],
    [{ Alphabetic: 'Doe^John^Paul^Dr^Jr' }, 'John Paul Doe'],
    [{ Alphabetic: 'Doe' }, 'Doe'],
    [{ Alphabetic: '^John' }, 'John'],
    [{ Alphabetic: '^^' }, undefined],
    [{ Ideographic: '山田^太郎' }, '山田 太郎'],
    [undefined, undefined],
  ];
  for (const [input, expected] of rows) {
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(toDisplayName(input), expected));
  }
});
