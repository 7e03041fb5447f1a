// The guest sees its TPM: a VM with a TPM 2.0 (swtpm, on the CRB interface) boots the test guest,
// whose kernel (tpm_crb) finds /sys/class/tpm/tpm0 and says so on the serial console; the same
// guest without a TPM says none was found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGuest } from '../guest/fixture.js';
import { startBootBench } from './boot-vm.js';

const TPM_LINE = /qx-guest: tpm0 TPM version (\d+) driver (\S+)\r?\n/;
const NO_TPM = /qx-guest: no TPM found\r?\n/;

test('a VM with a TPM 2.0: the guest kernel finds tpm0, version 2, on tpm_crb; without one it finds none', async (t) => {
  const bench = await startBootBench();
  t.after(() => bench.close());

  const withTpm = await bench.boot('tpm', { tpm: true });
  await withTpm.console.waitFor(testGuest.banner, 180_000);
  const found = TPM_LINE.exec(withTpm.console.output);
  assert.ok(found, `the TPM line on the serial console: ${withTpm.console.output.slice(-1500)}`);
  assert.deepEqual([found[1], found[2]], ['2', 'tpm_crb']);
  assert.doesNotMatch(withTpm.console.output, NO_TPM);
  await bench.remove(withTpm);

  const without = await bench.boot('notpm', { tpm: false });
  await without.console.waitFor(testGuest.banner, 180_000);
  assert.match(without.console.output, NO_TPM);
  assert.doesNotMatch(without.console.output, TPM_LINE);
});
