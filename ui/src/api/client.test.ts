// Error bodies from the server become ApiError with the message and the field that caused it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, errorFromBody, fieldError, formError } from './client.js';

test('the contract error body {error:{message, field}} keeps message and field', () => {
  const e = errorFromBody(400, JSON.stringify({ error: { message: 'name: use letters and digits', field: 'name' } }));
  assert.equal(e.status, 400);
  assert.equal(e.message, 'Name: use letters and digits', 'sentences start with a capital');
  assert.equal(e.field, 'name');
  assert.equal(fieldError(e, 'name'), 'Name: use letters and digits');
  assert.equal(fieldError(e, 'pool'), undefined);
  assert.equal(formError(e, ['name']), undefined, 'a field error is not repeated at the top of the form');
  assert.equal(formError(e, ['pool']), 'Name: use letters and digits', 'an unknown field is shown at the top');
});

test('bodies without a message fall back to a sentence per status', () => {
  assert.equal(errorFromBody(503, '').message, 'The host is offline.');
  assert.equal(errorFromBody(403, '{}').message, 'You do not have permission to do this.');
  assert.equal(errorFromBody(502, 'Bad gateway from proxy').message, 'Bad gateway from proxy');
  assert.match(errorFromBody(500, '', 'Internal Server Error').message, /500 Internal Server Error/);
});

test('formError shows non-API errors as they are', () => {
  assert.equal(formError(new Error('network down'), ['name']), 'network down');
  assert.equal(formError(undefined, []), undefined);
  assert.ok(new ApiError(409, 'x') instanceof Error);
});
