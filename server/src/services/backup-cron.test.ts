// Backup schedule times: the cron fields parsed (a 400 naming the wrong field) and the next run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError } from '../errors.js';
import { nextRun, parseCron } from './backup-cron.js';

const next = (expr: string, after: string) => nextRun(parseCron(expr), new Date(after))?.toISOString() ?? null;

test('next run: daily, steps, ranges, lists, month ends, day-of-month or day-of-week', () => {
  assert.equal(next('30 2 * * *', '2026-12-05T01:00:00Z'), '2026-12-05T02:30:00.000Z');
  assert.equal(next('30 2 * * *', '2026-12-05T02:30:00Z'), '2026-12-06T02:30:00.000Z', 'strictly after');
  assert.equal(next('*/15 * * * *', '2026-12-05T04:46:10Z'), '2026-12-05T05:00:00.000Z');
  assert.equal(next('0 1-5/2 * * *', '2026-12-05T03:00:00Z'), '2026-12-05T05:00:00.000Z');
  assert.equal(next('0 0 1 * *', '2026-12-31T23:59:00Z'), '2027-01-01T00:00:00.000Z');
  assert.equal(next('0 0 29 2 *', '2026-03-01T00:00:00Z'), '2028-02-29T00:00:00.000Z', 'leap day');
  // Sunday written as 7; 2026-12-05 is a Saturday.
  assert.equal(next('0 3 * * 7', '2026-12-05T12:00:00Z'), '2026-12-06T03:00:00.000Z');
  // Both day fields restricted: either matches (the 10th, or the next Monday the 7th).
  assert.equal(next('0 0 10 * 1', '2026-12-05T00:00:00Z'), '2026-12-07T00:00:00.000Z');
  assert.equal(next('0 0 1,15 * *', '2026-12-05T00:00:00Z'), '2026-12-15T00:00:00.000Z');
  assert.equal(next('0 0 31 2 *', '2026-12-05T00:00:00Z'), null, '31 February never comes');
});

test('a wrong cron expression is a 400 naming the field', () => {
  const field = (expr: string) => {
    try {
      parseCron(expr, 'schedule');
    } catch (err) {
      assert.ok(err instanceof HttpError);
      assert.equal(err.status, 400);
      return [err.field, err.message];
    }
    return assert.fail(`${expr} was accepted`);
  };
  assert.deepEqual(field('60 * * * *'), ['schedule.minute', 'schedule.minute: "60" is outside 0-59']);
  assert.equal(field('0 24 * * *')[0], 'schedule.hour');
  assert.equal(field('0 0 0 * *')[0], 'schedule.dayOfMonth');
  assert.equal(field('0 0 * 13 *')[0], 'schedule.month');
  assert.equal(field('0 0 * * 8')[0], 'schedule.dayOfWeek');
  assert.deepEqual(field('0 5-1 * * *'), ['schedule.hour', 'schedule.hour: "5-1" is a range running backwards']);
  assert.equal(field('*/0 * * * *')[0], 'schedule.minute');
  assert.equal(field('a * * * *')[0], 'schedule.minute');
  assert.match(field('0 2 * *')[1]!, /needs five fields/);
  assert.equal(field('')[0], 'schedule');
});
