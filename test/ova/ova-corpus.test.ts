// The OVA corpus through the real code paths: in-process inspect and import (real qemu-img,
// bubblewrap) for every case, and the `qx` CLI for its contract (JSON out, one error line).
// Asserts exact specs, exact errors, no host file content anywhere, nothing left on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inspectOva, importOva, importOvaFile } from '../../agent/src/ova/ova-import.js';
import { inspectJson } from '../../agent/src/cli/ova-command.js';
import { buildCorpus, HOST_SECRET, PASSWD_MARKER, type CorpusCase } from './corpus.js';
import { assertGuestBuilt, testGuest } from '../guest/fixture.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const corpusDir = join(root, 'test/output/ova-corpus');
const qx = join(root, 'agent/bin/qx.js');
let cases: CorpusCase[] = [];
let work = '';

function assertNoLeak(text: string): void {
  assert.ok(!text.includes(HOST_SECRET), 'host file content leaked');
  assert.ok(!text.includes(PASSWD_MARKER), '/etc/passwd content leaked');
}

/** This process's children (pid and command), read from /proc; tsx's esbuild service is one. */
function childProcesses(): string[] {
  const children: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    if (ppid === process.pid) children.push(`${pid} ${stat.slice(stat.indexOf('(') + 1, close)}`);
  }
  return children;
}

async function qemuCompare(a: string, b: string): Promise<void> {
  await exec('qemu-img', ['compare', a, b]);
}

async function runQx(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [qx, ...args], { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  assertGuestBuilt();
  cases = buildCorpus(corpusDir);
  work = await mkdtemp(join(root, 'test/output/qxt-ova-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('the corpus has at least 25 OVAs, benign and hostile', () => {
  assert.ok(cases.length >= 25, `${cases.length} cases`);
  assert.ok(cases.filter((c) => c.expect).length >= 15);
  assert.ok(cases.filter((c) => c.error).length >= 20);
});

test('inspect: every benign OVA parses to its exact spec; every hostile one fails with its error', async () => {
  for (const c of cases) {
    const run = inspectOva(createReadStream(c.file));
    if (c.expect) {
      const spec = await run.catch((err: Error) => assert.fail(`${c.name}: ${err.message}`));
      assert.deepEqual(inspectJson(spec), c.expect, c.name);
    } else {
      await assert.rejects(run, (err: Error) => {
        assert.match(err.message, c.error!, `${c.name}: ${err.message}`);
        assertNoLeak(err.message);
        return true;
      });
    }
  }
});

for (const path of ['stream', 'local file'] as const) {
  test(`import (${path}): benign OVAs become qcow2 files with identical contents; hostile ones leave nothing`, async () => {
    const helpers = childProcesses();
    const started = () => childProcesses().filter((p) => !helpers.includes(p));
    for (const c of cases) {
      const dest = join(work, `${path === 'stream' ? 's' : 'f'}-${c.name}`);
      const phases = new Set<string>();
      const onProgress = (p: { phase: string }) => phases.add(p.phase);
      const run =
        path === 'stream'
          ? importOva({ source: createReadStream(c.file), destDir: dest, onProgress })
          : importOvaFile(c.file, { destDir: dest, onProgress });
      if (c.expect) {
        const result = await run.catch((err: Error) => assert.fail(`${c.name}: ${err.message}`));
        assert.deepEqual(inspectJson(result.spec), c.expect, c.name);
        assert.equal(result.outputs.length, c.expect.disks.length);
        assert.deepEqual(
          (await readdir(dest)).sort(),
          result.outputs.map((o) => o.slice(dest.length + 1)).sort(),
          `${c.name}: only the outputs remain`,
        );
        for (const [i, out] of result.outputs.entries()) {
          const info = JSON.parse((await exec('qemu-img', ['info', '--output=json', out])).stdout) as {
            format: string;
            'virtual-size': number;
          };
          assert.equal(info.format, 'qcow2');
          assert.equal(info['virtual-size'], c.expect.disks[i]!.capacityBytes);
          if (c.originals?.[i]) await qemuCompare(c.originals[i]!, out);
        }
        // A streamOptimized VMDK is decoded into its qcow2 while it arrives: no conversion phase then.
        assert.ok(phases.has('verifying') && phases.has('done'), `${c.name}: phases ${[...phases]}`);
      } else {
        await assert.rejects(run, (err: Error) => {
          // The refusal itself, not a failed cleanup (an fs error's message holds the path, and with it the case's name).
          assert.equal(err.name, 'AgentError', `${c.name}: ${err.message}`);
          assert.match(err.message, c.error!, `${c.name}: ${err.message}`);
          assertNoLeak(err.message);
          return true;
        });
        assert.deepEqual(started(), [], `${c.name}: no qemu-img or qemu-nbd still running`);
        assert.deepEqual(existsSync(dest) ? await readdir(dest) : [], [], `${c.name}: nothing left behind`);
      }
    }
    assert.ok(!existsSync('/tmp/qxt-ova-evil'), 'traversal target written');
  });
}

test('qx ova inspect: JSON on stdout; invalid input → exit ≠ 0 and one line on stderr', async () => {
  const ok = cases.find((c) => c.name === 'virtualbox-ovf2')!;
  const r = await runQx(['ova', 'inspect', ok.file]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ok.expect);
  for (const name of ['xxe', 'vmdk-kdmv-descriptor-host-file', 'traversal', 'truncated']) {
    const c = cases.find((x) => x.name === name)!;
    const bad = await runQx(['ova', 'inspect', c.file]);
    assert.notEqual(bad.code, 0, name);
    assert.equal(bad.stdout, '');
    assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, c.error!);
    assertNoLeak(bad.stderr);
  }
});

test('qx ova export → import round-trips specs and disk contents', async () => {
  const ova = join(work, 'round trip.ova');
  const ex = await runQx([
    'ova',
    'export',
    '--disk',
    testGuest.qcow2,
    '--name',
    'qxt-ova-roundtrip',
    '--cpus',
    '4',
    '--cores-per-socket',
    '2',
    '--memory-mib',
    '256',
    '--firmware',
    'efi',
    '--os-type',
    'linux',
    '--nic',
    'E1000:default:52:54:00:ab:cd:ef',
    '--out',
    ova,
  ]);
  assert.equal(ex.code, 0, ex.stderr);
  const dest = join(work, 'roundtrip-dest');
  const im = await runQx(['ova', 'import', ova, '--dest', dest]);
  assert.equal(im.code, 0, im.stderr);
  const out = JSON.parse(im.stdout) as ReturnType<typeof inspectJson> & { outputs: string[] };
  assert.equal(out.name, 'qxt-ova-roundtrip');
  assert.equal(out.cpus, 4);
  assert.equal(out.coresPerSocket, 2);
  assert.equal(out.memoryMiB, 256);
  assert.equal(out.firmware, 'efi');
  assert.equal(out.osType, 'linux');
  assert.equal(out.manifest, 'verified');
  assert.deepEqual(out.warnings, []);
  assert.deepEqual(out.nics, [{ model: 'E1000', network: 'default', mac: '52:54:00:ab:cd:ef' }]);
  assert.equal(out.disks[0]!.format, 'vmdk');
  assert.equal(out.outputs.length, 1);
  await qemuCompare(testGuest.qcow2, out.outputs[0]!);
  const mf = (await exec('tar', ['-xOf', ova, '--wildcards', '*.mf'])).stdout;
  assert.match(mf, /^SHA256\(qxt-ova-roundtrip\.ovf\)= [0-9a-f]{64}$/m);
  assert.match(
    (await exec('tar', ['-tf', ova])).stdout,
    /^qxt-ova-roundtrip\.ovf\nqxt-ova-roundtrip\.mf\nqxt-ova-roundtrip-disk1\.vmdk\n$/,
  );
  const ovf = (await exec('tar', ['-xOf', ova, 'qxt-ova-roundtrip.ovf'])).stdout;
  assert.match(ovf, /xmlns="http:\/\/schemas\.dmtf\.org\/ovf\/envelope\/1"/);
  const vmdkInfo = await readFile(ova);
  assert.ok(vmdkInfo.includes(Buffer.from('createType="streamOptimized"')));
});
