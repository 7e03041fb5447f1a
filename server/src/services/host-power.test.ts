// Host reboot through the vDC with a real agent on a libvirt of its own (a qemu:///session daemon of
// a dedicated user, so no other test's VM is touched): refusals (operator 403, a wrong confirmation
// 400 naming it, a timeout out of bounds, an unknown host 404); then the reboot runs as a task that
// first stops the running VM (forced off after its timeout: it has no OS to heed ACPI) and only then
// runs the power command, here a real script (QX_AGENT_POWER_COMMAND) recording its argument and
// the VM's state at that moment; a second request while one is under way fails naming that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDto, HostProbeDto } from '../dto/hosts.js';
import type { TaskDto } from '../dto/tasks.js';
import type { ErrorDto } from '../dto/common.js';
import { freePort, listening, spawnNode, type Child } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { eventually } from '../test-support/guest-pool.js';

const exec = promisify(execFile);
const USER = 'qxt-srv-pw';
const VM = 'qxt-srv-power-vm';
const HOST_NAME = 'qxt-srv-host-p';

test(
  'qxt-srv host reboot: refusals, VMs stopped before the power command, one at a time',
  { timeout: 300_000 },
  async (t) => {
    if ((await exec('id', ['-u', USER]).catch(() => undefined)) === undefined) {
      await exec('useradd', ['--create-home', '--shell', '/bin/sh', USER]);
    }
    const uid = Number((await exec('id', ['-u', USER])).stdout.trim());
    const gid = Number((await exec('id', ['-g', USER])).stdout.trim());
    const home = (await exec('getent', ['passwd', USER])).stdout.split(':')[5]!;
    const base = await mkdtemp('/tmp/qxt-srv-power-');
    await chmod(base, 0o755);
    const dataDir = join(base, 'agent');
    const xdg = join(base, 'xdg');
    const work = join(base, 'work');
    for (const d of [dataDir, xdg, work]) {
      await mkdir(d, { mode: 0o700 });
      await chown(d, uid, gid);
    }
    const record = join(work, 'power-calls');
    const script = join(base, 'power-command');
    const session = ['env', `XDG_RUNTIME_DIR=${xdg}`, `HOME=${home}`, 'virsh', '-c', 'qemu:///session'];
    await writeFile(
      script,
      `#!/bin/sh\n# Stands in for systemctl: records the action and the VM's state when it runs.\necho "$1|$(${session.join(' ')} domstate ${VM} 2>&1 | head -n 1)" >> ${record}\n`,
      { mode: 0o755 },
    );
    const asUser = (args: string[]) => exec('runuser', ['-u', USER, '--', ...args]);
    const procs: { agent?: Child } = {};
    const server = await startTestServer();
    t.after(async () => {
      await server.stop();
      await procs.agent?.kill();
      await asUser([...session, 'destroy', VM]).catch(() => undefined);
      await asUser([...session, 'undefine', VM]).catch(() => undefined);
      const pids = (await exec('ps', ['-o', 'pid=', '-u', USER]).catch(() => ({ stdout: '' }))).stdout;
      for (const pid of pids
        .split('\n')
        .map(Number)
        .filter((n) => n > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await rm(base, { recursive: true, force: true });
      await exec('userdel', ['--remove', USER]).catch(() => undefined);
    });

    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    procs.agent = await spawnNode(
      'agent/src/main.ts',
      {
        QX_AGENT_DATA_DIR: dataDir,
        QX_AGENT_LISTEN: address,
        QX_LIBVIRT_URI: 'qemu:///session',
        QX_AGENT_POWER_COMMAND: script,
        XDG_RUNTIME_DIR: xdg,
        HOME: home,
      },
      async () => existsSync(join(dataDir, 'join-token')) && (await listening(port)),
      { command: ['runuser', '-u', USER, '--'] },
    );
    const api = server.admin;
    const probe = await api.request<HostProbeDto>('POST', '/api/v1/hosts/probe', { body: { address } });
    assert.equal(probe.status, 200, probe.text);
    const joinToken = (await readFile(join(dataDir, 'join-token'), 'utf8')).trim();
    const added = await api.request<HostDto>('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken, name: HOST_NAME },
    });
    assert.equal(added.status, 201, added.text);
    const hostId = added.json.id;
    await eventually(
      'the host online',
      async () => (await api.request<HostDto>('GET', `/api/v1/hosts/${hostId}`)).json.status === 'online',
    );

    // A VM without an operating system: it runs, and ignores the ACPI shutdown request.
    const xml = join(work, 'vm.xml');
    await writeFile(
      xml,
      `<domain type='qemu'><name>${VM}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><features><acpi/></features></domain>`,
    );
    await chown(xml, uid, gid);
    await asUser([...session, 'define', xml]);
    await asUser([...session, 'start', VM]);

    const power = (body: Record<string, unknown>, client = api, id = hostId) =>
      client.request<TaskDto | ErrorDto>('POST', `/api/v1/hosts/${id}/power`, { body });
    const operator = await server.userWithRole('operator');
    assert.equal((await power({ action: 'reboot', confirm: HOST_NAME }, operator)).status, 403);
    const wrong = await power({ action: 'reboot', confirm: 'some-other-host' });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal((wrong.json as ErrorDto).error.field, 'confirm');
    assert.match((wrong.json as ErrorDto).error.message, new RegExp(HOST_NAME));
    const short = await power({ action: 'reboot', confirm: HOST_NAME, vmShutdownTimeoutSeconds: 1 });
    assert.equal(short.status, 400, short.text);
    assert.equal((short.json as ErrorDto).error.field, 'vmShutdownTimeoutSeconds');
    assert.equal((await power({ action: 'reboot', confirm: HOST_NAME }, api, 'no-such-host')).status, 404);
    assert.equal(existsSync(record), false, 'no refusal reached the power command');
    assert.equal((await asUser([...session, 'domstate', VM])).stdout.trim(), 'running');

    const started = await power({ action: 'reboot', confirm: HOST_NAME, vmShutdownTimeoutSeconds: 10 });
    assert.equal(started.status, 202, started.text);
    const task = await eventually('the reboot task to finish', async () => {
      const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${(started.json as TaskDto).id}`)).json;
      return r.status !== 'running' && r;
    });
    assert.equal(task.status, 'succeeded', task.error ?? '');
    assert.equal(task.kind, 'host.reboot');
    assert.deepEqual(task.result, { shutDown: [], forcedOff: [VM] });
    // The command ran once, after the VM had stopped.
    const calls = await eventually('the power command to run', async () =>
      existsSync(record) ? (await readFile(record, 'utf8')).trim().split('\n') : undefined,
    );
    assert.deepEqual(calls, ['reboot|shut off']);

    const again = await power({ action: 'shutdown', confirm: HOST_NAME });
    assert.equal(again.status, 202, again.text);
    const second = await eventually('the second task to finish', async () => {
      const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${(again.json as TaskDto).id}`)).json;
      return r.status !== 'running' && r;
    });
    assert.equal(second.status, 'failed');
    assert.match(second.error ?? '', /already under way/);
  },
);
