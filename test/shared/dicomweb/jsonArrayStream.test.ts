import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonArraySplitter } from '../../../shared/dicomweb/jsonArrayStream.js';
import { NonRetryableError } from '../../../shared/errors/errors.js';

function split(text: string, chunkSize: number): unknown[] {
  const elements: unknown[] = [];
  const splitter = new JsonArraySplitter((element) => elements.push(element), 'test');
  for (let start = 0; start < text.length; start += chunkSize) splitter.push(text.slice(start, start + chunkSize));
  splitter.end();
  return elements;
}

/**
 * The splitter the writer's metadata stream uses: every element is handed over whatever it is, so an item that is not
 * a DICOM JSON object costs that instance only (the whole-body read hands the same array over).
 */
describe('JsonArraySplitter', () => {
  const values: unknown[] = [
    { '00080018': { vr: 'UI', Value: ['1.2.3'] }, s: 'a ] } , "' },
    null,
    7,
    -12.5e3,
    'in"st]ance,',
    [],
    [1, { a: '}]' }],
    true,
    false,
    {},
    '',
  ];
  const text = ` [ ${values.map((value) => JSON.stringify(value, null, 1)).join(' ,\n ')} ]\n`;

  it('gives every element JSON.parse gives, objects or not, however the text is cut into chunks', () => {
    for (const size of [1, 2, 3, 5, 64, text.length]) assert.deepEqual(split(text, size), values, `chunks of ${size}`);
    assert.deepEqual(split('[1,2]', 1), [1, 2]);
    assert.deepEqual(split('[ 12 ]', 2), [12]);
    assert.deepEqual(split('[]', 1), []);
  });

  it('keeps escaped quotes, brackets inside strings and non-ASCII text of DICOM JSON objects', () => {
    const objects = [
      { '00100010': { vr: 'PN', Value: [{ Alphabetic: 'O"Brien^{[Ann]}' }] } },
      {},
      { a: [1, [2, { b: '\\"}]' }]], c: null, 'k\\"ey': 'é ✓' },
    ];
    const pretty = ` [\n${objects.map((value) => JSON.stringify(value, null, 1)).join(' ,\n')} ] \n`;
    for (const size of [1, 2, 3, 7, 64, pretty.length]) {
      assert.deepEqual(split(pretty, size), objects, `chunks of ${size}`);
    }
  });

  it('refuses what is not a whole JSON array, or an element that is not JSON, saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['{"a":1}', /not a JSON array/],
      ['[{"a":1}, tru]', /element 1 is not valid JSON/],
      ['[1 2]', /no comma before element 1/],
      ['[{} "x"]', /no comma before element 1/],
      ['[1,]', /a comma before the end/],
      ['[,1]', /a comma where element 0 should be/],
      ['[1,,2]', /a comma where element 1 should be/],
      ['[{"a":1}, 12', /cut short/],
      ['["x', /cut short/],
      ['', /empty/],
      ['[1] x', /after the end/],
    ];
    for (const [input, expected] of cases) {
      for (const size of [1, 3, input.length || 1]) {
        assert.throws(
          () => split(input, size),
          (error: unknown) => error instanceof NonRetryableError && expected.test(error.message),
          `${input} in chunks of ${size}`,
        );
      }
    }
  });
});
