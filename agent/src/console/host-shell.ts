// The host shell: a login shell (bash -l) under node-pty, one per caller, never shared.
// Who may open it is the server's decision (admins only); the agent serves any joined client.
import { homedir } from 'node:os';
import { PtySession } from './pty-session.js';

export function startHostShell(size?: { cols: number; rows: number }): PtySession {
  return new PtySession('bash', ['-l'], {
    ...(size ? { cols: size.cols, rows: size.rows } : {}),
    cwd: homedir(),
    env: { ...process.env, TERM: 'xterm-256color' },
  });
}
