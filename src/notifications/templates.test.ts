import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskEmail, maskPhone, redactAddresses } from './mask.ts';
import { formatAmount, renderMessage } from './templates.ts';

test('amounts use the currency exponent', () => {
  assert.equal(formatAmount(1234, 'usd'), '12.34 USD');
  assert.equal(formatAmount(500, 'jpy'), '500 JPY');
  assert.equal(formatAmount(1005, 'kwd'), '1.005 KWD');
  assert.equal(formatAmount(5, 'eur'), '0.05 EUR');
});

test('HTML escapes every variable; subjects carry no line breaks', () => {
  const m = renderMessage(
    'incident_opened',
    { title: '<script>x</script>\r\nBcc: a@b.c', impact: 'major_outage', objectId: 'inc_1' },
    'A & B',
  );
  assert.doesNotMatch(m.html, /<script>/);
  assert.match(m.html, /&lt;script&gt;/);
  assert.match(m.html, /A &amp; B/);
  assert.doesNotMatch(m.subject, /[\r\n]/);
  assert.match(m.text, /<script>x<\/script>/);
});

test('recipients are masked, also inside provider errors', () => {
  assert.equal(maskEmail('jane.doe@example.com'), 'j***@example.com');
  assert.equal(maskPhone('+14155550123'), '+1******0123');
  const error = redactAddresses('550 <jane.doe@example.com> rejected; +14155550123 invalid');
  assert.doesNotMatch(error, /jane\.doe|4155550123/);
});
