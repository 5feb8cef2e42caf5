import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ApiError } from '../lib/errors.ts';
import { LIMITS } from '../lib/limits.ts';
import {
  boolField,
  clearableStr,
  emailField,
  enumField,
  intField,
  mergeMetadata,
  metadataField,
  paramName,
  parseWith,
  strField,
} from './validation.ts';

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('validation', () => {
  test('intField accepts integers and their string form, within bounds', () => {
    const schema = intField({ min: 1, max: 100 });
    assert.equal(schema.parse(5), 5);
    assert.equal(schema.parse('42'), 42);
    assert.equal(schema.parse('100'), 100);
    for (const bad of ['abc', '1.5', 1.5, '', ' 1', '1e3', null, true, {}, '99999999999999999']) {
      assert.equal(schema.safeParse(bad).success, false, `${JSON.stringify(bad)} accepted`);
    }
    assert.equal(schema.safeParse(0).success, false);
    assert.equal(schema.safeParse('101').success, false);
    assert.equal(intField().parse('-7'), -7);
    assert.equal(intField().safeParse(2 ** 53).success, false, 'unsafe integers are refused');
  });

  test('boolField accepts true/false and "true"/"false" only', () => {
    const schema = boolField();
    assert.equal(schema.parse(true), true);
    assert.equal(schema.parse('true'), true);
    assert.equal(schema.parse(false), false);
    assert.equal(schema.parse('false'), false);
    for (const bad of ['yes', '1', 1, 0, '', 'TRUE', null])
      assert.equal(schema.safeParse(bad).success, false, String(bad));
  });

  test('strField, clearableStr, emailField, enumField', () => {
    assert.equal(strField(3).parse('abc'), 'abc');
    assert.equal(strField().parse(12), '12');
    assert.equal(strField(3).safeParse('abcd').success, false);
    assert.equal(strField().safeParse('').success, false);
    assert.equal(strField().safeParse({}).success, false);
    assert.equal(clearableStr().parse(''), null);
    assert.equal(clearableStr().parse('x'), 'x');
    assert.equal(emailField().parse('a@example.com'), 'a@example.com');
    assert.equal(emailField().safeParse('nope').success, false);
    assert.equal(enumField(['a', 'b']).parse('a'), 'a');
    assert.equal(enumField(['a', 'b']).safeParse('c').success, false);
  });

  test('metadataField: Stripe limits, string values, "" clears', () => {
    const schema = metadataField();
    assert.deepEqual(schema.parse({ a: '1', n: 2, b: true }), { a: '1', n: '2', b: 'true' });
    assert.equal(schema.parse(''), null);
    assert.deepEqual(schema.parse({ gone: '' }), { gone: '' });
    const max = Object.fromEntries(
      Array.from({ length: LIMITS.metadataKeysMax }, (_, i) => [`k${i}`, 'v']),
    );
    assert.equal(Object.keys(schema.parse(max) ?? {}).length, LIMITS.metadataKeysMax);
    const bad: unknown[] = [
      { ...max, extra: 'v' },
      { ['k'.repeat(LIMITS.metadataKeyLengthMax + 1)]: 'v' },
      { k: 'v'.repeat(LIMITS.metadataValueLengthMax + 1) },
      { 'a[b]': 'v' },
      { '': 'v' },
      { k: { nested: 'v' } },
      { k: null },
      'text',
      ['a'],
      null,
    ];
    for (const value of bad)
      assert.equal(schema.safeParse(value).success, false, JSON.stringify(value));
    assert.deepEqual(
      schema.parse({
        ['k'.repeat(LIMITS.metadataKeyLengthMax)]: 'v'.repeat(LIMITS.metadataValueLengthMax),
      }),
      {
        ['k'.repeat(LIMITS.metadataKeyLengthMax)]: 'v'.repeat(LIMITS.metadataValueLengthMax),
      },
    );
  });

  test('mergeMetadata: "" removes a key, null clears, the merged set is bounded', () => {
    assert.deepEqual(mergeMetadata({ a: '1', b: '2' }, { a: '', c: '3' }), { b: '2', c: '3' });
    assert.deepEqual(mergeMetadata({ a: '1' }, null), {});
    assert.deepEqual(mergeMetadata({ a: '1' }, undefined), { a: '1' });
    const full = Object.fromEntries(
      Array.from({ length: LIMITS.metadataKeysMax }, (_, i) => [`k${i}`, 'v']),
    );
    const e = apiError(() => mergeMetadata(full, { one_more: 'v' }));
    assert.equal(e.param, 'metadata');
  });

  test('paramName uses bracket notation', () => {
    assert.equal(paramName([]), '');
    assert.equal(paramName(['email']), 'email');
    assert.equal(paramName(['address', 'line1']), 'address[line1]');
    assert.equal(paramName(['items', 0, 'price']), 'items[0][price]');
  });

  describe('parseWith maps zod issues to Stripe errors', () => {
    const Address = z.strictObject({
      line1: strField().optional(),
      country: strField(2).optional(),
    });
    const Shipping = z.strictObject({ name: strField(), address: Address });
    const Schema = z.strictObject({
      email: emailField().optional(),
      amount: intField({ min: 1 }),
      capture: boolField().optional(),
      address: z.union([z.literal('').transform(() => null), Address]).optional(),
      shipping: z.union([z.literal('').transform(() => null), Shipping]).optional(),
      metadata: metadataField().optional(),
    });

    test('valid input parses; an absent body is no parameters', () => {
      assert.deepEqual(parseWith(Schema, { amount: '5', capture: 'false' }), {
        amount: 5,
        capture: false,
      });
      assert.deepEqual(parseWith(z.strictObject({ a: strField().optional() }), undefined), {});
    });

    test('unknown parameters, top-level and nested', () => {
      let e = apiError(() => parseWith(Schema, { amount: 1, colour: 'red' }));
      assert.deepEqual([e.code, e.param, e.status], ['parameter_unknown', 'colour', 400]);
      e = apiError(() => parseWith(Schema, { amount: 1, address: { foo: 'x' } }));
      assert.deepEqual([e.code, e.param], ['parameter_unknown', 'address[foo]']);
      e = apiError(() =>
        parseWith(Schema, { amount: 1, shipping: { name: 'n', address: { bar: 'x' } } }),
      );
      assert.deepEqual([e.code, e.param], ['parameter_unknown', 'shipping[address][bar]']);
    });

    test('missing parameters, also inside a union', () => {
      let e = apiError(() => parseWith(Schema, {}));
      assert.deepEqual([e.code, e.param], ['parameter_missing', 'amount']);
      assert.match(e.message, /Missing required param: amount/);
      e = apiError(() => parseWith(Schema, { amount: 1, shipping: { name: 'n' } }));
      assert.deepEqual([e.code, e.param], ['parameter_missing', 'shipping[address]']);
    });

    test('invalid values keep the field’s Stripe code and name the parameter', () => {
      let e = apiError(() => parseWith(Schema, { amount: 'abc' }));
      assert.deepEqual([e.code, e.param], ['parameter_invalid_integer', 'amount']);
      e = apiError(() => parseWith(Schema, { amount: 0 }));
      assert.deepEqual([e.code, e.param], ['parameter_invalid', 'amount']);
      e = apiError(() => parseWith(Schema, { amount: 1, email: 'x' }));
      assert.deepEqual([e.code, e.param], ['email_invalid', 'email']);
      e = apiError(() => parseWith(Schema, { amount: 1, capture: 'maybe' }));
      assert.deepEqual([e.code, e.param], ['parameter_invalid', 'capture']);
      e = apiError(() => parseWith(Schema, { amount: 1, address: { country: 'USA' } }));
      assert.deepEqual([e.code, e.param], ['parameter_invalid', 'address[country]']);
      e = apiError(() => parseWith(Schema, { amount: 1, metadata: 'x' }));
      assert.deepEqual([e.code, e.param], ['parameter_invalid', 'metadata']);
    });

    test('a body that is not an object of parameters', () => {
      for (const body of [null, [], 'text', 42]) {
        const e = apiError(() => parseWith(Schema, body));
        assert.equal(e.code, 'invalid_request_body', JSON.stringify(body));
        assert.equal(e.status, 400);
      }
    });

    test('paramPrefix prefixes the reported parameter', () => {
      const e = apiError(() => parseWith(Address, { zip: '1' }, ['billing_details', 'address']));
      assert.equal(e.param, 'billing_details[address][zip]');
    });
  });
});
