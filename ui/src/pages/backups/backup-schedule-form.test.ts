// The Backup jobs page's pure helpers: form data to the API's schedule input, a stored schedule
// back to its input, and the texts of a selection and of retention.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackupScheduleDto } from '@dto/backups.js';
import { inputOf, retentionText, scheduleInput, selectionText } from './backup-schedule-form.js';

test('a schedule form becomes the API input: tags split and trimmed, empty retention left out', () => {
  const data = new FormData();
  data.set('name', ' nightly ');
  data.set('cron', ' 30 2 * * * ');
  data.set('tags', 'prod, nightly ,,');
  data.append('vmIds', 'u1');
  data.append('vmIds', 'u2');
  data.set('pool', 'backup');
  data.set('keepLast', '7');
  data.set('keepDaily', '');
  data.set('enabled', 'on');
  assert.deepEqual(scheduleInput(data), {
    name: 'nightly',
    cron: '30 2 * * *',
    selection: { vmIds: ['u1', 'u2'], tags: ['prod', 'nightly'], clusterIds: [] },
    pool: 'backup',
    enabled: true,
    keepLast: 7,
  });
  data.delete('enabled');
  assert.equal(scheduleInput(data).enabled, false);
  // One host receiving every VM's backups; "" = each VM's own host (left out).
  data.set('hostId', 'h-b');
  assert.equal(scheduleInput(data).hostId, 'h-b');
  data.set('hostId', '');
  assert.equal('hostId' in scheduleInput(data), false);
});

test('a stored schedule back to its input; selection and retention as text', () => {
  const s: BackupScheduleDto = {
    id: 's1',
    name: 'weekly',
    cron: '0 1 * * 6',
    selection: { vmIds: ['u1', 'gone'], tags: ['prod'], clusterIds: ['c1'] },
    pool: 'backup',
    keepWeekly: 4,
    keepMonthly: 6,
    enabled: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    nextRunAt: null,
    lastRun: null,
  };
  assert.deepEqual(inputOf(s), {
    name: 'weekly',
    cron: '0 1 * * 6',
    selection: s.selection,
    pool: 'backup',
    enabled: true,
    keepWeekly: 4,
    keepMonthly: 6,
  });
  assert.equal(
    selectionText(s.selection, [{ id: 'u1', name: 'web1' }], [{ id: 'c1', name: 'Rack A' }]),
    'tags prod · VMs web1, gone · clusters Rack A',
  );
  assert.equal(retentionText(s), 'weekly 4, monthly 6');
  assert.equal(retentionText({}), 'keep all');
});
