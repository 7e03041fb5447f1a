// The graphical console through the agent: a VM with a video device gets VNC on a Unix socket
// (no TCP port on the host) and ConsoleService.Graphics relays its RFB bytes; a VM without
// graphics, or one that is not running, is refused with FAILED_PRECONDITION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { VideoModel } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { ConsoleClient } from './console-client.js';
import { createGuestPool, testName } from './guest-pool.js';
import { guestSpec } from './vm-spec.js';

const virsh = new Virsh('qemu:///system');

test('graphics: the RFB banner from a running VM through gRPC; refusals without graphics or when stopped', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('vnc');
  const headless = testName('novnc');
  t.after(async () => {
    for (const n of [name, headless]) {
      await virsh.exec(['destroy', n]).catch(() => undefined);
      await virsh.exec(['undefine', n]).catch(() => undefined);
    }
    await agent.stop();
    await pool.remove();
  });
  const vm = agent.clients.vm;
  const disk = await pool.addGuestDisk(`${name}.qcow2`);
  const defined = await promisify(
    vm,
    vm.defineVm,
  )({
    spec: guestSpec(name, pool.name, disk, { vnc: true, videoModel: VideoModel.VIDEO_MODEL_VIRTIO }),
  });
  assert.equal(defined.spec!.videoModel, VideoModel.VIDEO_MODEL_VIRTIO);
  assert.equal(defined.graphics, false, 'not running: no graphical console yet');

  const stopped = new ConsoleClient(agent.clients.console.graphics()).open(name);
  await stopped.ended;
  assert.equal((stopped.error as ServiceError | undefined)?.code, status.FAILED_PRECONDITION);
  assert.match(stopped.error!.message, /is not running, so it has no graphical console/);

  await promisify(vm, vm.startVm)({ id: name });
  const running = await promisify(vm, vm.getVm)({ id: name });
  assert.equal(running.graphics, true);
  const live = await virsh.exec(['dumpxml', name]);
  assert.match(live, /<graphics type='vnc' socket='[^']+'/, 'VNC on a Unix socket');
  assert.doesNotMatch(live, /<graphics type='vnc' port=/, 'no TCP port on the host');

  const rfb = new ConsoleClient(agent.clients.console.graphics()).open(name);
  await rfb.waitFor('RFB 003.008\n', 120_000);
  // The handshake goes on: version back, then QEMU offers its security types (1 = None).
  rfb.send('RFB 003.008\n');
  const at = rfb.output.length;
  await rfb.waitFor('\x01\x01', 30_000, at);
  rfb.call.end();
  await rfb.ended;

  const hd = await pool.addGuestDisk(`${headless}.qcow2`);
  await promisify(vm, vm.defineVm)({ spec: guestSpec(headless, pool.name, hd, { vnc: false }) });
  await promisify(vm, vm.startVm)({ id: headless });
  const none = new ConsoleClient(agent.clients.console.graphics()).open(headless);
  await none.ended;
  assert.equal((none.error as ServiceError | undefined)?.code, status.FAILED_PRECONDITION);
  assert.match(none.error!.message, /has no graphical console/);

  for (const n of [name, headless]) {
    await promisify(vm, vm.forceOffVm)({ id: n });
    await promisify(vm, vm.deleteVm)({ vm: { id: n }, deleteDisks: true });
  }
});
