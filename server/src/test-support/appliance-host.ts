// A host that runs on an appliance, for update tests: a real agent on a directory laid out as an
// appliance root (@quantix/proto/appliance/appliance-fixture.ts), as a user of its own with a
// qemu:///session libvirt (no other test's VM is touched), joined to a test server. boot()
// restarts the agent, as a reboot of the host would.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ApplianceRoot, makeApplianceRoot } from '@quantix/proto/appliance/appliance-fixture.js';
import type { HostDto, HostProbeDto } from '../dto/hosts.js';
import { eventually } from './guest-pool.js';
import { freePort, listening, spawnNode, type Child } from './spawn.js';
import type { TestServer } from './test-server.js';

const exec = promisify(execFile);

export interface ApplianceHost {
  id: string;
  dataDir: string;
  appliance: ApplianceRoot;
  /** Restarts the agent (a reboot of the host). */
  boot(): Promise<void>;
  /** Stops the agent, its user's processes, removes its files and the user. */
  stop(): Promise<void>;
}

export async function startApplianceHost(
  server: TestServer,
  o: { user: string; name: string; version: string; publicKeyPem: string; installed?: boolean },
): Promise<ApplianceHost> {
  if ((await exec('id', ['-u', o.user]).catch(() => undefined)) === undefined) {
    await exec('useradd', ['--create-home', '--shell', '/bin/sh', o.user]);
  }
  const home = (await exec('getent', ['passwd', o.user])).stdout.split(':')[5]!;
  const base = await mkdtemp('/tmp/qxt-appliance-host-');
  await chmod(base, 0o755);
  const appliance = await makeApplianceRoot(join(base, 'root'), o);
  const dataDir = join(base, 'agent');
  const xdg = join(base, 'xdg');
  for (const d of [dataDir, xdg]) await mkdir(d, { mode: 0o700 });
  await exec('chown', ['-R', `${o.user}:`, appliance.root, dataDir, xdg]);
  const address = `127.0.0.1:${await freePort()}`;
  let agent: Child | undefined;
  const boot = async () => {
    await agent?.kill();
    agent = await spawnNode(
      'agent/src/main.ts',
      {
        QX_AGENT_DATA_DIR: dataDir,
        QX_AGENT_LISTEN: address,
        QX_LIBVIRT_URI: 'qemu:///session',
        QX_APPLIANCE_ROOT: appliance.root,
        XDG_RUNTIME_DIR: xdg,
        HOME: home,
      },
      () => listening(Number(address.split(':')[1])),
      { command: ['runuser', '-u', o.user, '--'] },
    );
  };
  const stop = async () => {
    await agent?.kill();
    const pids = (await exec('ps', ['-o', 'pid=', '-u', o.user]).catch(() => ({ stdout: '' }))).stdout;
    for (const pid of pids.split('\n').map(Number)) {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
    await rm(base, { recursive: true, force: true });
    await exec('userdel', ['--remove', o.user]).catch(() => undefined);
  };
  try {
    await boot();
    await eventually('the join token', async () => existsSync(join(dataDir, 'join-token')));
    const api = server.admin;
    const probe = await api.request<HostProbeDto>('POST', '/api/v1/hosts/probe', { body: { address } });
    if (probe.status !== 200) throw new Error(`probe: ${probe.status} ${probe.text}`);
    const joinToken = (await readFile(join(dataDir, 'join-token'), 'utf8')).trim();
    const added = await api.request<HostDto>('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken, name: o.name },
    });
    if (added.status !== 201) throw new Error(`add host: ${added.status} ${added.text}`);
    return { id: added.json.id, dataDir, appliance, boot, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
