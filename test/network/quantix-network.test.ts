// The appliance's quantix-network script (what the console screen's network menu runs), in a network
// namespace of its own with real links: a static address is saved and linked for networkd, DHCP
// takes it back, bad input names its field and writes nothing, and a NIC under a bridged network
// (or that network's bridge) is refused instead of being saved with no effect. The script's files
// go to a temp dir (QX_* variables); nothing of the host's network is touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, ExecError } from '../../agent/src/exec/run.js';

const SCRIPT = join(import.meta.dirname, '../../appliance/quantix-network');
const NS = `qxt-qnet-${process.pid}`;

interface Outcome {
  code: number | null;
  out: string;
  err: string;
}

test('quantix-network: static and DHCP, bad input, bridged NICs refused', { timeout: 60_000 }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-qnet-'));
  const dirs = { state: join(root, 'state'), runtime: join(root, 'run'), resolv: join(root, 'resolv.conf') };
  await run('ip', ['netns', 'add', NS]);
  t.after(async () => {
    await run('ip', ['netns', 'del', NS]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });
  const inNs = (...args: string[]) => run('ip', ['netns', 'exec', NS, ...args]);
  // A plain NIC, and one that is a port of a bridge (as the agent makes for a bridged network).
  // (veth pairs: the host kernel may have no dummy module)
  await inNs('ip', 'link', 'add', 'qxnic0', 'type', 'veth', 'peer', 'name', 'qxnic0p');
  await inNs('ip', 'link', 'add', 'qxnic1', 'type', 'veth', 'peer', 'name', 'qxnic1p');
  await inNs('ip', 'link', 'add', 'qxbr1', 'type', 'bridge');
  await inNs('ip', 'link', 'set', 'qxnic1', 'master', 'qxbr1');

  // `ip netns exec` mounts the namespace's own /sys, where the script looks for a NIC's master.
  const qn = async (...args: string[]): Promise<Outcome> => {
    const env = {
      ...process.env,
      QX_NETWORK_DIR: dirs.state,
      QX_NETWORKD_RUN_DIR: dirs.runtime,
      QX_RESOLV_CONF: dirs.resolv,
    };
    try {
      const r = await run('ip', ['netns', 'exec', NS, 'bash', SCRIPT, ...args], { env });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      if (!(err instanceof ExecError)) throw err;
      return { code: err.exitCode, out: '', err: err.stderr };
    }
  };
  const saved = async () => (existsSync(dirs.state) ? (await readdir(dirs.state)).sort() : []);

  await t.test('a static address is saved, linked for networkd, and its DNS server written', async () => {
    const r = await qn('static', 'qxnic0', '192.0.2.10/24', '192.0.2.1', '192.0.2.53');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /static 192\.0\.2\.10\/24 on qxnic0 saved/);
    const file = join(dirs.state, '10-static-qxnic0.network');
    assert.equal(
      await readFile(file, 'utf8'),
      '[Match]\nName=qxnic0\n\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n',
    );
    assert.equal(readlinkSync(join(dirs.runtime, '10-static-qxnic0.network')), file);
    assert.equal(await readFile(dirs.resolv, 'utf8'), 'nameserver 192.0.2.53\n');
  });

  await t.test('DHCP removes the static file and its runtime link', async () => {
    const r = await qn('dhcp', 'qxnic0');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /qxnic0 back to DHCP/);
    assert.deepEqual(await saved(), []);
    assert.equal(existsSync(join(dirs.runtime, '10-static-qxnic0.network')), false);
  });

  await t.test('bad input is refused naming the field, and nothing is written', async () => {
    const cases: [string[], RegExp][] = [
      [['static', 'qx*', '192.0.2.10/24'], /interface: invalid name 'qx\*'/],
      [['static', 'qxnic0', '192.0.2.10'], /address: expected ADDRESS\/PREFIX/],
      [['static', 'qxnic0', '192.0.2.300/24'], /address: 192\.0\.2\.300 has a part above 255/],
      [['static', 'qxnic0', '192.0.2.10/33'], /address: prefix must be ≤ 32/],
      [['static', 'qxnic0', '192.0.2.10/24', 'gw'], /gateway: expected an IPv4 address, got 'gw'/],
      [['static', 'qxnic0', '192.0.2.10/24', '', '1.2.3'], /dns: expected an IPv4 address/],
      [['bogus'], /usage: quantix-network/],
    ];
    for (const [args, message] of cases) {
      const r = await qn(...args);
      assert.notEqual(r.code, 0, `refused: ${args.join(' ')}`);
      assert.match(r.err, message);
      assert.deepEqual(await saved(), [], `nothing saved for: ${args.join(' ')}`);
    }
  });

  await t.test(
    'a bridged NIC, or the bridge of a bridged network, is refused: the setting would do nothing',
    async () => {
      for (const mode of [
        ['static', 'qxnic1', '192.0.2.11/24'],
        ['dhcp', 'qxnic1'],
      ]) {
        const r = await qn(...mode);
        assert.notEqual(r.code, 0, `${mode.join(' ')} refused`);
        assert.match(r.err, /interface: qxnic1 is a port of bridge qxbr1, which carries its address.*nothing changed/);
        assert.match(r.err, /Delete that network \(web UI: Networks\)/);
      }
      await writeFile(join(dirs.runtime, '05-quantix-bridge-qxbr1.network'), '[Match]\nName=qxbr1\n');
      const r = await qn('static', 'qxbr1', '192.0.2.12/24');
      assert.notEqual(r.code, 0);
      assert.match(r.err, /interface: qxbr1 is the bridge of a bridged network.*nothing changed/);
      assert.deepEqual(await saved(), []);
      assert.deepEqual((await readdir(dirs.runtime)).sort(), ['05-quantix-bridge-qxbr1.network']);
    },
  );
});
