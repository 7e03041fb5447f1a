// Plays `systemctl restart quantix-etcd-member.service` for the control-plane tests (the vDC
// server runs it as QX_ETCD_MEMBER_START): kills the member this appliance runs, if any, and
// starts appliance/quantix-etcd-member — the appliance's own script — detached on the member.env
// the server wrote (QX_ETCD_MEMBER_ENV), its pid in member.pid and its output in member.log there.
// Without member.env it only stops the member, as systemd skips the unit then.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const envFile = process.env.QX_ETCD_MEMBER_ENV;
if (!envFile) throw new Error('QX_ETCD_MEMBER_ENV is not set');
const dir = dirname(envFile);
const pidFile = join(dir, 'member.pid');
if (existsSync(pidFile)) {
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGKILL');
    while (existsSync(`/proc/${pid}`)) await new Promise((r) => setTimeout(r, 50));
  } catch {
    // already gone
  }
}
if (!existsSync(envFile)) process.exit(0);
const out = openSync(join(dir, 'member.log'), 'a');
const script = fileURLToPath(new URL('../../appliance/quantix-etcd-member', import.meta.url));
const child = spawn(script, [], { detached: true, stdio: ['ignore', out, out], env: process.env });
writeFileSync(pidFile, String(child.pid));
child.unref();
