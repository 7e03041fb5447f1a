// Unit tests: the autostart sequence, and the autostart metadata and guest agent channel as the
// domain XML builder writes them and the parser reads them back (live channel state included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VmSpec } from '@quantix/proto/v1/vm.js';
import { buildDomainXml } from '../libvirt/xml/domain-build.js';
import { parseDomainXml, readDomainXml } from '../libvirt/xml/domain-parse.js';
import { autostartSequence } from './autostart.js';
import { validateVmSpec } from './vm-spec-validate.js';

const uuid = '0b8a3c1e-1111-4222-8333-944455556666';
const build = (over: Partial<VmSpec>) =>
  buildDomainXml({
    spec: validateVmSpec(VmSpec.fromPartial({ name: 'db01', sockets: 1, cores: 1, memoryMib: 256, ...over })),
    uuid,
    domainType: 'qemu',
    disks: [],
    cdroms: [],
    consoleLog: '/tmp/console.log',
  });

test('autostart order: lowest first, equal orders by name', () => {
  const e = (name: string, order: number) => ({ uuid: name, name, order, delaySeconds: 0 });
  const seq = autostartSequence([e('web', 20), e('db', 10), e('app', 20), e('cache', 0)]);
  assert.deepEqual(
    seq.map((v) => v.name),
    ['cache', 'db', 'app', 'web'],
  );
});

test('autostart, order and delay round-trip through the domain metadata', () => {
  const xml = build({ autostart: true, autostartOrder: 7, autostartDelaySeconds: 30 });
  assert.match(xml, /<qx:autostart enabled="yes" order="7" delay="30"\/>/);
  const { spec } = parseDomainXml(xml);
  assert.equal(spec.autostart, true);
  assert.equal(spec.autostartOrder, 7);
  assert.equal(spec.autostartDelaySeconds, 30);
  const off = parseDomainXml(build({})).spec;
  assert.deepEqual([off.autostart, off.autostartOrder, off.autostartDelaySeconds], [false, 0, 0]);
  assert.doesNotMatch(build({}), /autostart/);
});

test('every VM has the guest agent channel; the live state says whether qemu-ga has it open', () => {
  const xml = build({});
  assert.match(xml, /<channel type="unix">\s*<target type="virtio" name="org.qemu.guest_agent.0"\/>/);
  assert.deepEqual(readDomainXml(xml).guestAgent, { present: true, state: '' });
  const live = xml.replace('name="org.qemu.guest_agent.0"/>', 'name="org.qemu.guest_agent.0" state="connected"/>');
  assert.equal(parseDomainXml(live).guestAgentConnected, true);
  const closed = live.replace('state="connected"', 'state="disconnected"');
  assert.equal(parseDomainXml(closed).guestAgentConnected, false);
});

test('autostart bounds are refused naming the field', () => {
  assert.throws(() => build({ autostartOrder: 10_000 }), /spec\.autostart_order/);
  assert.throws(() => build({ autostartDelaySeconds: 3601 }), /spec\.autostart_delay_seconds/);
});
