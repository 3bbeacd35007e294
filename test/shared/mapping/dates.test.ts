import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toFhirDate, toFhirDateTime, toFhirOffset, toFhirTime, toUnsignedInt } from '../../../shared/mapping/dates.js';

function table<I, O>(name: string, fn: (input: I) => O, rows: [I, O][]): void {
  describe(name, () => {
    for (const [input, expected] of rows) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => assert.equal(fn(input), expected));
    }
  });
}

table('toFhirDate', toFhirDate, [
  ['20230415', '2023-04-15'],
  ['2023.04.15', '2023-04-15'],
  [' 20230415 ', '2023-04-15'],
  [20230415, '2023-04-15'],
  ['20240229', '2024-02-29'],
  ['20000229', '2000-02-29'],
  ['20230229', undefined],
  ['19000229', undefined],
  ['20230431', undefined],
  ['20231301', undefined],
  ['20230001', undefined],
  ['20230100', undefined],
  ['00000101', undefined],
  ['2023041', undefined],
  ['2023-04-15', undefined],
  ['202304', undefined],
  ['abc', undefined],
]);

table('toFhirTime', toFhirTime, [
  ['14', '14:00:00'],
  ['1430', '14:30:00'],
  ['143015', '14:30:15'],
  ['143015.123456', '14:30:15.123456'],
  ['143015.1', '14:30:15.1'],
  ['143015.', '14:30:15'],
  ['14:30:15', '14:30:15'],
  ['14:30', '14:30:00'],
  ['14:30:15.25', '14:30:15.25'],
  ['000000', '00:00:00'],
  ['235960', '23:59:60'],
  [143015, '14:30:15'],
  ['24', undefined],
  ['1460', undefined],
  ['143061', undefined],
  ['143015.1234567', undefined],
  ['1', undefined],
  ['143', undefined],
  ['14:3', undefined],
  ['noon', undefined],
]);

table('toFhirOffset', toFhirOffset, [
  ['+0000', '+00:00'],
  ['-0800', '-08:00'],
  ['+0830', '+08:30'],
  ['+1400', '+14:00'],
  ['-1200', '-12:00'],
  ['+1401', undefined],
  ['+1500', undefined],
  ['+0860', undefined],
  ['0', undefined],
  [0, undefined],
  ['0800', undefined],
  ['+08:00', undefined],
  ['+800', undefined],
]);

table('toUnsignedInt', toUnsignedInt, [
  ['7', 7],
  [' 7 ', 7],
  ['+7', 7],
  ['007', 7],
  [7, 7],
  [0, 0],
  ['0', 0],
  [2147483647, 2147483647],
  [2147483648, undefined],
  ['-1', undefined],
  [-1, undefined],
  ['1.5', undefined],
  [1.5, undefined],
  ['1e3', undefined],
  ['x', undefined],
]);

describe('toFhirDateTime', () => {
  const rows: [string | undefined, string | undefined, string, string | undefined][] = [
    ['2023-04-15', '14:30:15', '+02:00', '2023-04-15T14:30:15+02:00'],
    ['2023-04-15', '14:30:15.5', '-08:00', '2023-04-15T14:30:15.5-08:00'],
    ['2023-04-15', undefined, '+02:00', '2023-04-15'],
    [undefined, '14:30:15', '+02:00', undefined],
    [undefined, undefined, '+00:00', undefined],
  ];
  for (const [date, time, offset, expected] of rows) {
    it(`${date} ${time} ${offset} → ${expected}`, () => assert.equal(toFhirDateTime(date, time, offset), expected));
  }
});
