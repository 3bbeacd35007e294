import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from '@azure/data-tables';
import { errorMessage, httpStatusOf } from '../../../shared/lib/errorDetails.js';

describe('errorMessage', () => {
  it("is an Error's own message, without its name", () => {
    assert.equal(errorMessage(new TypeError('bad input')), 'bad input');
  });

  it('is the string form of anything else thrown', () => {
    assert.equal(errorMessage('plain text'), 'plain text');
    assert.equal(errorMessage(42), '42');
    assert.equal(errorMessage(undefined), 'undefined');
    assert.equal(errorMessage(null), 'null');
  });
});

describe('httpStatusOf', () => {
  it('is the statusCode an Azure SDK error carries', () => {
    assert.equal(httpStatusOf(new RestError('Not Found', { statusCode: 404 })), 404);
    assert.equal(httpStatusOf({ statusCode: 503 }), 503);
  });

  it('is undefined for an error without a numeric statusCode, and for nothing thrown at all', () => {
    assert.equal(httpStatusOf(new RestError('connection reset', { code: 'ECONNRESET' })), undefined);
    assert.equal(httpStatusOf({ statusCode: '404' }), undefined);
    assert.equal(httpStatusOf(new Error('plain')), undefined);
    assert.equal(httpStatusOf(undefined), undefined);
    assert.equal(httpStatusOf(null), undefined);
  });
});
