// Appliance figures (`make bench`): ISO size; boot-to-HTTPS time against a bare Debian live ISO
// that only serves HTTP (built here by the same pipeline, booted the same way under the same
// emulation); idle RSS of libvirtd + agent + server in a 1 GiB VM, as the status screen reports it.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import { accelArgs } from './qemu-machine.js';
import { bootAppliance, extractBootFiles, repoRoot, waitForHttpResponse } from './appliance-boot.js';

const workDir = join(repoRoot, 'test/output/appliance-bench');
const port = 19443 + (process.pid % 500);
const mib = (n: number) => (n / 1024 / 1024).toFixed(0);
const hour = 3_600_000;

await mkdir(workDir, { recursive: true });
const iso =
  process.env.QX_ISO ??
  (await run('bash', [join(repoRoot, 'build/iso/build-iso.sh')], { timeoutMs: hour })).stdout.trim();
const baselineIso = (
  await run('bash', [join(repoRoot, 'build/iso/build-baseline-iso.sh')], { timeoutMs: hour })
).stdout.trim();
const emulation = accelArgs().includes('kvm') ? 'KVM' : 'TCG';

const isoBytes = (await stat(iso)).size;
console.log(
  `ISO size: ${mib(isoBytes)} MiB (target ≤ 450 MiB; ratio to target ${(isoBytes / (450 * 1024 * 1024)).toFixed(2)})`,
);

async function bootTime(
  name: string,
  image: string,
  tls: boolean,
): Promise<{ ms: number; vm: ReturnType<typeof bootAppliance> }> {
  const boot = await extractBootFiles(image, join(workDir, `${name}-boot`));
  const vm = bootAppliance(
    { name, workDir, iso: image, disks: [], httpsPort: port, guestPort: tls ? 443 : 80, memoryMib: 1024 },
    boot,
  );
  try {
    const ms = await waitForHttpResponse(vm, { port, tls, path: tls ? '/api/v1/health' : '/', timeoutMs: 15 * 60_000 });
    return { ms, vm };
  } catch (err) {
    await vm.stop();
    throw err;
  }
}

const base = await bootTime('baseline', baselineIso, false);
await base.vm.stop();
const app = await bootTime('appliance', iso, true);
try {
  // Idle: let first-boot work finish, then take the status screen's next memory line.
  await new Promise((r) => setTimeout(r, 90_000));
  const seenBefore = app.vm.serial.length;
  const m = await (async () => {
    const deadline = Date.now() + 300_000;
    while (Date.now() < deadline) {
      const lines = app.vm.serial.slice(seenBefore).match(/Memory \(RSS MiB\):.*total=\d+/g);
      if (lines) return lines[lines.length - 1];
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error('no memory line on the status screen');
  })();
  const total = Number(/total=(\d+)/.exec(m)![1]);
  console.log(`boot to answer under ${emulation}, 1 GiB VM, direct kernel boot from the ISO:`);
  console.log(`  baseline (bare Debian live, busybox HTTP): ${(base.ms / 1000).toFixed(1)} s`);
  console.log(`  appliance (HTTPS /api/v1/health):          ${(app.ms / 1000).toFixed(1)} s`);
  console.log(`  ratio appliance/baseline: ${(app.ms / base.ms).toFixed(2)} (target ≤ 1.3)`);
  console.log(
    `idle memory in a 1 GiB VM: ${m.replace(/^Memory \(RSS MiB\): */, '')} (target total ≤ 300 MiB; ratio ${(total / 300).toFixed(2)})`,
  );
} finally {
  await app.vm.stop();
}
