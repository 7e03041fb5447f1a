// Three appliances form one control plane in QEMU (run by `make test-appliance`): each ISO booted in
// RAM with its own admin, all three on one private LAN (a QEMU multicast segment on this machine's
// loopback: no frame leaves it), HTTPS forwarded to the test. A forms the control plane through the
// API (its state moves into its etcd member), B joins through the API, C at its console screen
// through B with a token A issued. Then every appliance runs an etcd member and a server on it, the
// status screens list the members, every appliance's agent is a host of the one vDC; the leading
// appliance is powered off during a stream of writes and another leads with every acknowledged
// write kept; one more paused loses the quorum (503, stale reads) until it comes back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { connect } from 'node:tls';
import type { ErrorDto, HealthDto } from '../../server/src/dto/common.js';
import type { ClusterDto, HostDto } from '../../server/src/dto/hosts.js';
import type {
  ControlPlaneDto,
  ControlPlaneJoinTokenDto,
  ControlPlaneSwitchDto,
} from '../../server/src/dto/controlplane.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { applianceIso, bootAppliance, extractBootFiles, repoRoot } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import { runOnHost } from './host-shell.js';
import type { QemuMachine } from './qemu-machine.js';

const workDir = join(repoRoot, 'test/output/appliance-controlplane-three');
const names = ['a', 'b', 'c'] as const;
// Past controlplane.e2e.ts's ports (19443 + pid % 1000).
const ports = names.map((_, i) => 20500 + (process.pid % 1000) * 3 + i);
const segment = 41000 + (process.pid % 10000);
const lanAddress = (i: number) => `10.98.0.${i + 1}`;
const mac = (i: number) => `52:54:00:98:00:0${i + 1}`;
const passwords = names.map((n) => `qxt-Cp3-${n}-${process.pid}-pw`);
const minutes = (n: number) => n * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The certificate served on 127.0.0.1:port: its fingerprint and IP SANs, or undefined. */
function servedCertificate(port: number): Promise<{ fingerprint: string; ips: string[] } | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'quantix' }, () => {
      const cert = sock.getPeerCertificate();
      sock.end();
      const ips = [...(cert.subjectaltname ?? '').matchAll(/IP Address:([0-9.]+)/g)].map((m) => m[1]!);
      resolve(cert.fingerprint256 ? { fingerprint: cert.fingerprint256, ips } : undefined);
    });
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => resolve(undefined));
    sock.on('close', () => resolve(undefined));
  });
}

describe('three appliances in QEMU: one control plane', () => {
  const vms: QemuMachine[] = [];
  const apis: ApplianceClient[] = [];
  /** Whose admin signs in where: each appliance's own until it joins, then A's (the vDC's). */
  const signedInAs = [...passwords];

  /** A fresh client of appliance i, pinned to the certificate it serves now (it follows the LAN address). */
  async function signIn(i: number, o: { withLanAddress?: boolean; timeoutMs?: number } = {}): Promise<ApplianceClient> {
    const cert = await eventually(
      `${names[i]}: HTTPS${o.withLanAddress ? ` with a certificate for ${lanAddress(i)}` : ''}`,
      async () => {
        if (!vms[i]!.running) throw new Error(`${names[i]}: QEMU exited`);
        const c = await servedCertificate(ports[i]!);
        return c && (!o.withLanAddress || c.ips.includes(lanAddress(i))) ? c : undefined;
      },
      o.timeoutMs ?? minutes(2),
    );
    const api = new ApplianceClient(ports[i]!, cert.fingerprint);
    await api.login('admin', signedInAs[i]!);
    apis[i] = api;
    return api;
  }

  async function health(i: number): Promise<HealthDto | undefined> {
    const r = await apis[i]!.call<HealthDto>('GET', '/api/v1/health', undefined, 10_000).catch(() => undefined);
    return r?.status === 200 ? r.body : undefined;
  }

  /** Waits for the server of appliance i to come back on etcd after a form or join, and signs in again. */
  async function restartedOnEtcd(i: number): Promise<void> {
    await eventually(`${names[i]}: server on etcd`, async () => (await health(i))?.store === 'etcd', minutes(3));
    await signIn(i);
  }

  // Empty while the server is away (restarting, or its leader lost): callers wait for what they need.
  /** Each appliance's last failed host listing, for a timeout to name. */
  const hostsError: string[] = [];
  const hosts = async (i: number) =>
    apis[i]!.expect<HostDto[]>(200, 'GET', '/api/v1/hosts').catch((err: Error) => {
      hostsError[i] = `${new Date().toISOString()} ${err.message.slice(0, 300)}`;
      return [];
    });
  /** The appliances left running after the failover step (the leader it powered off is not one). */
  let aliveAfterFailover: number[] = [];

  /**
   * Appliance i's journal of its member, server and agent as it reached its ttyS1 (routed there in
   * the LAN step): readable when its server has no leader to reach its host shell through.
   */
  async function journal(i: number): Promise<string> {
    const text = await readFile(join(workDir, `${names[i]}.ttyS1.log`), 'utf8').catch(() => '');
    const lines = text.split('\n').filter((l) => /quantix-(server|agent|etcd)|etcd\[/.test(l));
    return lines.length ? lines.slice(-80).join('\n') : `${names[i]}: nothing journaled on its ttyS1`;
  }

  /** Runs a step; a failure carries the journals of the appliances it involves. */
  async function involving(which: number[], step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      const journals = await Promise.all(which.map(async (i) => `--- ${names[i]} ---\n${await journal(i)}`));
      // Three appliances of one vCPU share this machine's cores: how much of a core each QEMU got.
      const share = (vm: QemuMachine) => (vm.cpuSeconds * 100_000) / (Date.now() - vm.startedAt);
      const cpu = vms.map((vm, i) => `${names[i]} ${vm.running ? `${share(vm).toFixed(0)}%` : 'stopped'}`);
      const load = loadavg().map((l) => l.toFixed(1));
      const machine = `QEMU CPU (of a core, since boot): ${cpu.join(', ')}; load ${load.join(' ')}`;
      throw new Error(`${(err as Error).message}\n${machine}\n${journals.join('\n')}`, { cause: err });
    }
  }

  before(async () => {
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const iso = applianceIso();
    const boot = await extractBootFiles(iso, join(workDir, 'boot'));
    names.forEach((name, i) =>
      vms.push(
        bootAppliance(
          {
            name,
            workDir,
            iso,
            cmdline: `quantix.admin_password=${passwords[i]}`,
            disks: [],
            httpsPort: ports[i]!,
            // One vCPU each: three appliances of two would overcommit this machine's cores threefold,
            // and a guest's vCPUs would wait on each other's preempted locks.
            cpus: 1,
            links: [{ mcast: segment, mac: mac(i) }],
            ttyS1: true,
          },
          boot,
        ),
      ),
    );
    await Promise.all(names.map((_, i) => signIn(i, { timeoutMs: minutes(12) })));
  });

  after(async () => {
    await Promise.all(vms.map((vm) => vm.stop()));
  });

  it('each appliance takes its address on the LAN (quantix-network through its host shell)', async () => {
    await Promise.all(
      names.map(async (_, i) => {
        const local = await eventually(
          `${names[i]}: its own host online`,
          async () => (await hosts(i)).find((h) => h.local && h.status === 'online'),
          minutes(5),
        );
        // The LAN holds the default route, as a management network does; QEMU's user network stays
        // for the test's port forwards only.
        const out = await runOnHost(
          apis[i]!,
          local.id,
          // Its journal goes to ttyS1 too, for failure reports (journal()).
          `mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\nForwardToConsole=yes\\nTTYPath=/dev/ttyS1\\nMaxLevelConsole=info\\n' >/etc/systemd/journald.conf.d/ttyS1.conf && systemctl restart systemd-journald; ` +
            `nic=$(grep -l '${mac(i)}' /sys/class/net/*/address | cut -d/ -f5); ` +
            `/usr/lib/quantix/quantix-network static "$nic" ${lanAddress(i)}/24 10.98.0.254 && sleep 2 && ip -4 -br addr show "$nic"`,
          // C's took longer than 60 s once, three appliances sharing two cores.
          minutes(2),
        );
        assert.match(out, new RegExp(`${lanAddress(i).replaceAll('.', '\\.')}/24`), out);
        await signIn(i, { withLanAddress: true });
      }),
    );
  });

  it('A forms the control plane through the API: its configuration moves into its etcd member', () =>
    involving([0], async () => {
      const cluster = await apis[0]!.expect<ClusterDto>(201, 'POST', '/api/v1/clusters', { name: 'before-form' });
      const formed = await apis[0]!.expect<ControlPlaneSwitchDto>(200, 'POST', '/api/v1/controlplane/form', {
        memberName: 'a',
        memberAddress: lanAddress(0),
      });
      assert.match(formed.message, /member a formed a control plane/);
      await restartedOnEtcd(0);
      const clusters = await apis[0]!.expect<ClusterDto[]>(200, 'GET', '/api/v1/clusters');
      assert.deepEqual(
        clusters.map((c) => [c.id, c.name]),
        [[cluster.id, 'before-form']],
      );
      const cp = await apis[0]!.expect<ControlPlaneDto>(200, 'GET', '/api/v1/controlplane');
      assert.deepEqual(
        cp.members.map((m) => [m.name, m.learner, m.leader, m.clientUrls]),
        [['a', false, true, [`https://${lanAddress(0)}:2379`]]],
      );
    }));

  it("B joins through the API with A's one-time token, pinned by A's fingerprint", () =>
    involving([0, 1], async () => {
      const token = await apis[0]!.expect<ControlPlaneJoinTokenDto>(201, 'POST', '/api/v1/controlplane/join-tokens');
      // As long as the console gives a join (quantix-console-auth): B's took ~190 s here, most of it
      // the learner catching up with a leader on a starved vCPU before its promotion.
      const joined = await apis[1]!.expect<ControlPlaneSwitchDto>(
        200,
        'POST',
        '/api/v1/controlplane/join',
        {
          address: lanAddress(0),
          fingerprint: token.serverFingerprint,
          token: token.token,
          memberName: 'b',
          memberAddress: lanAddress(1),
        },
        minutes(4),
      );
      assert.match(joined.message, /member b joined the control plane/);
      // B now serves the vDC's configuration: A's admin, A's cluster; B's own admin is gone.
      signedInAs[1] = passwords[0]!;
      await restartedOnEtcd(1);
      const clusters = await apis[1]!.expect<ClusterDto[]>(200, 'GET', '/api/v1/clusters');
      assert.deepEqual(
        clusters.map((c) => c.name),
        ['before-form'],
      );
      const own = await apis[1]!.call('POST', '/api/v1/auth/login', { username: 'admin', password: passwords[1] });
      assert.equal(own.status, 401, "B's own admin password no longer signs in");
    }));

  it('C joins at its console screen (C), through B, with a token A issued', () =>
    involving([1, 2], async () => {
      const token = await apis[0]!.expect<ControlPlaneJoinTokenDto>(201, 'POST', '/api/v1/controlplane/join-tokens');
      const viaB = await apis[1]!.expect<ControlPlaneDto>(200, 'GET', '/api/v1/controlplane');
      const screen = vms[2]!;
      const from = screen.serial.length;
      let answered = from;
      const answer = async (prompt: RegExp, text: string, timeoutMs = minutes(2)) => {
        try {
          await screen.waitForSerial(prompt, timeoutMs, answered);
        } catch (err) {
          const said = screen.serial.slice(answered).replaceAll(passwords[2]!, '<password>');
          throw new Error(`${(err as Error).message}; the console said: ${JSON.stringify(said.slice(-1500))}`, {
            cause: err,
          });
        }
        answered = screen.serial.length;
        screen.typeSerial(text);
      };
      screen.typeSerial('c');
      await answer(/J to join another appliance's, Enter to go back: /, 'j\r');
      await answer(/Its address \(host or host:port\): /, `${lanAddress(1)}\r`);
      await answer(/Its certificate fingerprint: /, `${viaB.serverFingerprint}\r`);
      await answer(/Join token: /, `${token.token}\r`);
      await answer(/Member name \[[^\]]*\]: /, 'c\r');
      await answer(/Member address \[[^\]]*\]: /, `${lanAddress(2)}\r`);
      await answer(/Administrator user name: /, 'admin\r');
      await answer(/Password: /, `${passwords[2]}\r`);
      // The console gives a join up to 240 s (quantix-console-auth).
      await answer(/member c joined the control plane[^]*Press Enter to go back/, '\r', minutes(4.5));
      assert.doesNotMatch(screen.serial.slice(from), new RegExp(passwords[2]!), 'the password is not echoed');
      signedInAs[2] = passwords[0]!;
      await restartedOnEtcd(2);
    }));

  it('three voting members on the LAN, each status screen lists them; every agent is an online host', () =>
    involving([0, 1, 2], async () => {
      const cp = await eventually(
        'three voting members',
        async () => {
          const r = await apis[2]!.expect<ControlPlaneDto>(200, 'GET', '/api/v1/controlplane');
          return r.members.length === 3 && r.members.every((m) => m.name && !m.learner) ? r : undefined;
        },
        minutes(2),
      );
      assert.equal(cp.memberName, 'c');
      assert.deepEqual(
        cp.members.map((m) => [m.name, m.peerUrls]).sort(),
        names.map((n, i) => [n, [`https://${lanAddress(i)}:2380`]]),
      );
      assert.equal(cp.members.filter((m) => m.leader).length, 1);
      for (const [i, vm] of vms.entries()) {
        await vm.waitForSerial(new RegExp(`Control plane: etcd member ${names[i]} \\(active\\)`), minutes(3));
        for (const [j, n] of names.entries())
          await vm.waitForSerial(
            new RegExp(`\\n\\s+${n}\\s+started\\s+https://${lanAddress(j).replaceAll('.', '\\.')}:2380`),
            minutes(1),
          );
      }
      // One vDC: every server lists the three appliances' agents, online under the leading server.
      for (const i of names.keys()) {
        let seen: HostDto[] = [];
        const listed = await eventually(
          `${names[i]}: three online hosts`,
          async () => {
            seen = await hosts(i);
            const h = seen.filter((x) => x.local && x.status === 'online');
            return h.length === 3 ? h : undefined;
          },
          minutes(3),
        ).catch((err: Error) => {
          const listing = seen.map(
            (h) => `${h.address} ${h.local ? 'local' : ''} ${h.status}: ${h.statusMessage ?? ''}`,
          );
          const failed = hostsError[i] ? `; its last failed listing: ${hostsError[i]}` : '';
          throw new Error(`${err.message}; it lists ${JSON.stringify(listing)}${failed}`, { cause: err });
        });
        assert.deepEqual(
          listed.map((h) => h.address).sort(),
          names.map((_, j) => `${lanAddress(j)}:9443`),
        );
      }
    }));

  it('the leading appliance powered off during a stream of writes: another leads, nothing acknowledged is lost', () =>
    involving([0, 1, 2], async () => {
      const leaders = await Promise.all(names.map(async (_, i) => (await health(i))?.leader));
      const dead = leaders.indexOf(true);
      assert.ok(dead >= 0, `one server leads: ${JSON.stringify(leaders)}`);
      const alive = [0, 1, 2].filter((i) => i !== dead);
      const writer = alive[0]!;
      const acknowledged: string[] = [];
      let writing = true;
      let n = 0;
      const stream = (async () => {
        while (writing) {
          const name = `w-${n++}`;
          const r = await apis[writer]!.call('POST', '/api/v1/clusters', { name }, 15_000).catch(() => undefined);
          if (r?.status === 201) acknowledged.push(name);
          await sleep(100);
        }
      })();
      let writable: number, led: number, newLeader: { i: number };
      try {
        await eventually('writes acknowledged before the power-off', async () => acknowledged.length >= 5, minutes(1));
        const killedAt = Date.now();
        await vms[dead]!.stop(); // QEMU ends at once: the appliance loses power, nothing shuts down
        const before = acknowledged.length;
        await eventually(
          'a write acknowledged after the power-off',
          async () => acknowledged.length > before,
          minutes(1),
        );
        writable = Date.now() - killedAt;
        newLeader = await eventually(
          'a surviving server leading',
          async () => {
            for (const i of alive) if ((await health(i))?.leader) return { i };
            return undefined;
          },
          minutes(1),
        );
        led = Date.now() - killedAt;
      } finally {
        writing = false;
        await stream;
      }
      console.log(
        `failover: ${names[dead]} powered off → writes accepted after ${(writable / 1000).toFixed(1)} s, ` +
          `${names[newLeader.i]} leading after ≤ ${(led / 1000).toFixed(1)} s`,
      );
      const stored = new Set(
        (await apis[alive[1]!]!.expect<ClusterDto[]>(200, 'GET', '/api/v1/clusters')).map((c) => c.name),
      );
      assert.deepEqual(
        acknowledged.filter((x) => !stored.has(x)),
        [],
        'every acknowledged write is stored',
      );
      // The new leader connects the surviving appliances' agents; the dead one's host is offline.
      const byAddress = await eventually(
        'the surviving agents online under the new leader, the dead one offline',
        async () => {
          const h = await hosts(newLeader.i);
          const status = (j: number) => h.find((x) => x.address === `${lanAddress(j)}:9443`)?.status;
          return alive.every((j) => status(j) === 'online') && status(dead) !== 'online' ? h : undefined;
        },
        minutes(2),
      );
      // A console opens again on a surviving host (the host shell, through the new leader).
      const host = byAddress.find((h) => h.address === `${lanAddress(alive[1]!)}:9443`)!;
      assert.match(await runOnHost(apis[newLeader.i]!, host.id, 'hostname; echo shell-ok'), /shell-ok/);
      aliveAfterFailover = alive;
    }));

  it('one more appliance paused: the quorum is lost (503 naming it, stale reads), and back when it resumes', async () => {
    assert.equal(aliveAfterFailover.length, 2, 'the failover step ran');
    const [paused, left] = aliveAfterFailover as [number, number];
    await vms[paused]!.pause();
    try {
      await eventually(`${names[left]} noticing the lost quorum`, async () => (await health(left))?.stale, minutes(1));
      const refused = await apis[left]!.call<ErrorDto>('POST', '/api/v1/clusters', { name: 'during-outage' });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.match(refused.body.error.message, /the etcd cluster has no quorum/);
      const read = await apis[left]!.call<ClusterDto[]>('GET', '/api/v1/clusters');
      assert.equal(read.status, 200);
      assert.match(String(read.headers['x-quantix-stale']), /no quorum/);
      assert.ok(read.body.some((c) => c.name === 'before-form'));
    } finally {
      await vms[paused]!.resume();
    }
    await eventually(
      'writes accepted again',
      async () =>
        (await apis[left]!.call('POST', '/api/v1/clusters', { name: 'after-outage' }, 15_000).catch(() => undefined))
          ?.status === 201,
      minutes(2),
    );
    const list = await apis[paused]!.expect<ClusterDto[]>(200, 'GET', '/api/v1/clusters');
    assert.ok(
      list.some((c) => c.name === 'after-outage'),
      'the resumed appliance serves the write made after',
    );
    assert.ok(!list.some((c) => c.name === 'during-outage'), 'the refused write was not applied');
  });
});
