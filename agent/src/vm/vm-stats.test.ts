import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDomstats } from './vm-stats.js';

test('parses `virsh domstats` output per domain', () => {
  const out = `Domain: 'qxt-vm-a'
  state.state=1
  state.reason=1
  cpu.time=2717032000
  balloon.current=131072
  balloon.maximum=131072
  net.count=1
  net.0.name=vnet3
  net.0.rx.bytes=1368
  net.0.tx.bytes=880
  block.count=1
  block.0.name=vda
  block.0.rd.bytes=4096512
  block.0.wr.bytes=0

Domain: 'qxt-vm-b'
  state.state=5
`;
  const m = parseDomstats(out);
  assert.deepEqual([...m.keys()], ['qxt-vm-a', 'qxt-vm-b']);
  assert.equal(m.get('qxt-vm-a')!['cpu.time'], '2717032000');
  assert.equal(m.get('qxt-vm-a')!['block.0.rd.bytes'], '4096512');
  assert.equal(m.get('qxt-vm-b')!['state.state'], '5');
});
