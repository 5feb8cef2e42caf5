import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { CsvSyntaxError, csvLine, parseCsv, textCell, toCsv } from './csv.ts';
import { parseTimeInput } from './dates.ts';

describe('csv', () => {
  test('quotes what needs quoting and parses it back (property)', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', ' ', 'é') });
    fc.assert(
      fc.property(
        fc.array(fc.array(field, { minLength: 2, maxLength: 2 }), { maxLength: 10 }),
        (rows) => {
          const text = toCsv(['h1', 'h2'], rows);
          const parsed = parseCsv(text).map((r) => r.fields);
          // Rows of two empty fields are a line "," and stay; only truly empty lines are skipped.
          assert.deepEqual(parsed, [['h1', 'h2'], ...rows]);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('line numbers, LF files, a BOM and syntax errors', () => {
    const records = parseCsv('\uFEFFa,b\n\n"x\ny",2\nlast,3');
    assert.deepEqual(
      records.map((r) => [r.line, r.fields]),
      [
        [1, ['a', 'b']],
        [3, ['x\ny', '2']],
        [5, ['last', '3']],
      ],
    );
    assert.throws(
      () => parseCsv('a,b\nx"y,1\n'),
      (e) => e instanceof CsvSyntaxError && e.line === 2,
    );
    assert.throws(
      () => parseCsv('a\n"open'),
      (e) => e instanceof CsvSyntaxError && e.line === 2,
    );
    assert.equal(csvLine(['a b', 'c,d']), 'a b,"c,d"\r\n');
  });

  test('formula-looking text is neutralised', () => {
    assert.equal(textCell('=HYPERLINK("x")'), `'=HYPERLINK("x")`);
    assert.equal(textCell('-1+2'), `'-1+2`);
    assert.equal(textCell('@SUM(A1)'), `'@SUM(A1)`);
    assert.equal(textCell('Order 42'), 'Order 42');
  });

  test('time inputs', () => {
    assert.equal(parseTimeInput('1700000000'), 1_700_000_000);
    assert.equal(parseTimeInput('2024-02-29'), Date.UTC(2024, 1, 29) / 1000);
    assert.equal(
      parseTimeInput('2024-02-29', { endOfDay: true }),
      Date.UTC(2024, 1, 29) / 1000 + 86_399,
    );
    assert.equal(parseTimeInput('2024-01-01T01:00:00+01:00'), Date.UTC(2024, 0, 1) / 1000);
    for (const bad of [
      '2023-02-29',
      '2024-13-01',
      '2024-1-1',
      'yesterday',
      '-5',
      '2024-01-01T00:00:00',
      '1e9',
    ]) {
      assert.equal(parseTimeInput(bad), undefined, bad);
    }
  });
});
