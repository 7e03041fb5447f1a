// Deploying a template defines the VM with the caller's CPU topology and memory (the template's
// when not given) and with no NIC MACs, so libvirt gives every deployed VM new ones instead of
// the OVA's; an impossible vCPU count is a 400 before any clone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NicKind, NicModel, VideoModel, VmSpec } from '@quantix/proto/v1/vm.js';
import { TemplateService, deploySpec } from './template-service.js';
import { EventHub } from './event-hub.js';
import type { TaskService } from './task-service.js';
import type { UploadService } from './upload-service.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import type { TemplateRepo } from '../store/log-repo.js';
import type { TemplateRecord } from '../store/records.js';
import { HttpError } from '../errors.js';

const OVA_MACS = ['00:50:56:aa:bb:01', '00:50:56:aa:bb:02'];

const template: TemplateRecord = {
  id: 'qxt-srv-tpl',
  name: 'qxt-srv-tpl',
  description: '',
  hostId: 'qxt-srv-h1',
  pool: 'data',
  volumes: ['qxt-srv-tpl-disk0'],
  spec: VmSpec.toJSON(
    VmSpec.fromPartial({
      name: 'imported',
      sockets: 2,
      cores: 2,
      memoryMib: 512,
      disks: [{ pool: 'data', volume: 'qxt-srv-tpl-disk0', bus: 1 }],
      nics: OVA_MACS.map((mac) => ({
        kind: NicKind.NIC_KIND_NETWORK,
        source: 'default',
        model: NicModel.NIC_MODEL_E1000,
        mac,
      })),
    }),
  ),
  osType: '',
  sourceFile: 'qxt-srv.ova',
  sizeBytes: 0,
  warnings: [],
  createdAt: new Date(0).toISOString(),
};

/** A TemplateService over one fake host whose agent records the specs it is asked to define. */
function fixture() {
  const defined: VmSpec[] = [];
  const clones: string[] = [];
  let n = 0;
  const agent = {
    cloneVolume: (req: { targetName: string }) => {
      clones.push(req.targetName);
      return Promise.resolve({});
    },
    deleteVolume: () => Promise.resolve(),
    defineVm: (spec: VmSpec) => {
      defined.push(spec);
      return Promise.resolve({ spec: { ...spec, uuid: `qxt-srv-uuid-${++n}` } });
    },
    startVm: () => Promise.resolve({}),
  };
  const host = {
    record: { id: template.hostId, name: 'qxt-srv-host', clusterId: null, maintenance: false },
    online: true,
    requireOnline: () => agent,
    refreshVm: () => Promise.resolve(),
  } as unknown as HostConnection;
  const pool = { get: () => host, find: () => host } as unknown as AgentPool;
  const runs: Promise<unknown>[] = [];
  const tasks = {
    start: (_info: unknown, work: (t: unknown) => Promise<unknown>) => {
      runs.push(work({ progress: () => undefined, log: () => undefined }));
      return Promise.resolve({ dto: {}, done: runs.at(-1) });
    },
  } as unknown as TaskService;
  const repo = {
    byId: (id: string) => (id === template.id ? template : undefined),
    list: () => [template],
  } as unknown as TemplateRepo;
  const svc = new TemplateService(repo, pool, tasks, new EventHub(), {} as UploadService);
  return { svc, defined, clones, runs };
}

test('a deploy takes the chosen sockets, cores per socket and memory, else the template’s', async () => {
  const { svc, defined, runs } = fixture();
  await svc.deploy(template.id, { name: 'qxt-srv-a', sockets: 1, cores: 6, memoryMib: 1024 }, 'admin');
  await svc.deploy(template.id, { name: 'qxt-srv-b' }, 'admin');
  await Promise.all(runs);
  assert.deepEqual(
    defined.map((s) => [s.name, s.sockets, s.cores, s.memoryMib]),
    [
      ['qxt-srv-a', 1, 6, 1024],
      ['qxt-srv-b', 2, 2, 512],
    ],
  );
  assert.deepEqual(
    defined[0]!.disks.map((d) => [d.pool, d.volume]),
    [['data', 'qxt-srv-a-disk0']],
  );
});

test('every deploy leaves the NIC MACs to libvirt instead of repeating the OVA’s', async () => {
  const { svc, defined, runs } = fixture();
  await svc.deploy(template.id, { name: 'qxt-srv-a' }, 'admin');
  await svc.deploy(template.id, { name: 'qxt-srv-b' }, 'admin');
  await Promise.all(runs);
  for (const spec of defined) {
    assert.deepEqual(
      spec.nics.map((nic) => [nic.source, nic.model, nic.mac]),
      [
        ['default', NicModel.NIC_MODEL_E1000, ''],
        ['default', NicModel.NIC_MODEL_E1000, ''],
      ],
    );
  }
  assert.deepEqual(
    VmSpec.fromJSON(template.spec).nics.map((nic) => nic.mac),
    OVA_MACS,
    'the template keeps its own record',
  );
});

test('more than 256 vCPUs is refused before any volume is cloned', async () => {
  const { svc, clones } = fixture();
  await assert.rejects(
    svc.deploy(template.id, { name: 'qxt-srv-big', sockets: 4, cores: 128 }, 'admin'),
    (e: unknown) => e instanceof HttpError && e.status === 400 && e.field === 'cores',
  );
  assert.deepEqual(clones, []);
});

test('deploySpec: a video device and a graphical console unless the template chose none (pure)', () => {
  const s = deploySpec(template, { name: 'qxt-srv-v' }, []);
  assert.equal(s.videoModel, VideoModel.VIDEO_MODEL_VGA, 'a template saved before video models');
  assert.equal(s.vnc, true);
  const spec = (videoModel: VideoModel) =>
    VmSpec.toJSON(VmSpec.fromPartial({ ...VmSpec.fromJSON(template.spec), videoModel }));
  assert.equal(
    deploySpec({ ...template, spec: spec(VideoModel.VIDEO_MODEL_QXL) }, { name: 'x' }, []).videoModel,
    VideoModel.VIDEO_MODEL_QXL,
  );
  assert.equal(
    deploySpec({ ...template, spec: spec(VideoModel.VIDEO_MODEL_NONE) }, { name: 'x' }, []).videoModel,
    VideoModel.VIDEO_MODEL_NONE,
  );
});

test('deploySpec without cloned volumes keeps the template disks (pure)', () => {
  const s = deploySpec(template, { name: 'qxt-srv-c', cores: 3 }, []);
  assert.equal(s.sockets, 2);
  assert.equal(s.cores, 3);
  assert.equal(s.uuid, '');
  assert.deepEqual(
    s.disks.map((d) => d.volume),
    ['qxt-srv-tpl-disk0'],
  );
});
