// UEFI Secure Boot end to end (OVMF with Microsoft's keys, SMM): a VM created through the agent
// boots Debian's signed shim → GRUB → kernel and its guest reads SecureBoot = 1 from efivars; the
// same disk with an unsigned loader is refused by the firmware, and boots once Secure Boot is off.
// The disks come from test/guest/build-secure-boot-disks.sh (cached).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Firmware } from '@quantix/proto/v1/vm.js';
import { run } from '../../agent/src/exec/run.js';
import { GUEST_DIR, testGuest } from '../guest/fixture.js';
import { startBootBench } from './boot-vm.js';

const signedDisk = join(GUEST_DIR, 'qx-sb-signed.qcow2');
const unsignedDisk = join(GUEST_DIR, 'qx-sb-unsigned.qcow2');
/** What the guest's init prints from /sys/firmware/efi/efivars/SecureBoot-8be4df61-…: the variable's value byte. */
const SECURE_BOOT_LINE = /qx-guest: SecureBoot efivar (\d+)\r?\n/;
/** The unsigned GRUB's first words, before it loads the kernel. */
const UNSIGNED_LOADER = 'QX-UNSIGNED-LOADER RUNNING';
/** A boot through OVMF under TCG takes 1–3 minutes on this 2-core machine, longer while it is shared. */
const BOOT_MS = 360_000;

// OVMF keeps much of a small guest's memory: GRUB runs out loading the kernel and initrd in 128 MiB.
const uefi = { firmware: Firmware.FIRMWARE_UEFI, machine: 'q35', memoryMib: 512 };

test.before(async () => {
  await run('bash', [join(import.meta.dirname, '../guest/build-secure-boot-disks.sh')], { timeoutMs: 600_000 });
});

test('Secure Boot on: Debian signed shim and GRUB boot the signed kernel; the guest reads SecureBoot = 1 and sees its TPM', async (t) => {
  const bench = await startBootBench();
  t.after(() => bench.close());
  const vm = await bench.boot('sb-signed', { ...uefi, secureBoot: true, tpm: true }, signedDisk);
  await vm.console.waitFor(testGuest.banner, BOOT_MS);
  assert.equal(SECURE_BOOT_LINE.exec(vm.console.output)?.[1], '1', vm.console.output.slice(-1500));
  assert.match(vm.console.output, /qx-guest: tpm0 TPM version 2 driver tpm_crb/);
});

test('Secure Boot on: the firmware refuses an unsigned loader, which never runs', async (t) => {
  const bench = await startBootBench();
  t.after(() => bench.close());
  const vm = await bench.boot('sb-unsigned', { ...uefi, secureBoot: true }, unsignedDisk);
  await vm.console.waitFor(/Access Denied/, BOOT_MS);
  assert.ok(!vm.console.output.includes(UNSIGNED_LOADER), vm.console.output.slice(-1500));
  assert.ok(!vm.console.output.includes(testGuest.banner));
});

test('Secure Boot off: the same unsigned loader boots, and the guest reads SecureBoot = 0', async (t) => {
  const bench = await startBootBench();
  t.after(() => bench.close());
  const vm = await bench.boot('uefi-unsigned', { ...uefi, secureBoot: false }, unsignedDisk);
  await vm.console.waitFor(testGuest.banner, BOOT_MS);
  assert.ok(vm.console.output.includes(UNSIGNED_LOADER), vm.console.output.slice(-1500));
  assert.equal(SECURE_BOOT_LINE.exec(vm.console.output)?.[1], '0');
});
