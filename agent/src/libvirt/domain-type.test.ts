import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseDomainType } from './domain-type.js';

const withFlags = (flags: string) => `processor\t: 0\nflags\t\t: fpu vme ${flags} sse2\n`;

test('kvm only when the CPU has vmx or svm and /dev/kvm opens', () => {
  assert.equal(
    chooseDomainType(withFlags('vmx'), () => true),
    'kvm',
  );
  assert.equal(
    chooseDomainType(withFlags('svm'), () => true),
    'kvm',
  );
  assert.equal(
    chooseDomainType(withFlags('vmx'), () => false),
    'qemu',
  );
  // A nested PVM /dev/kvm without the flags: TCG.
  assert.equal(
    chooseDomainType(withFlags('hypervisor'), () => true),
    'qemu',
  );
  assert.equal(
    chooseDomainType('', () => true),
    'qemu',
  );
});
