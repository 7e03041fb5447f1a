// The host-local control socket (<dataDir>/identity/control.sock, in the 0700 identity dir: root
// only) through which `qx agent …` asks the running agent for its vDC status, a new join token, or
// to leave its vDC (the console's T and R keys). One JSON line in, one JSON line out.
import { createConnection, createServer, type Server } from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { VdcMembership, VdcStatus } from './vdc-membership.js';
import { log } from '../log.js';

export const CONTROL_VERBS = ['status', 'renew-token', 'leave'] as const;
export type ControlVerb = (typeof CONTROL_VERBS)[number];

type Reply = { ok: true; status: VdcStatus } | { ok: false; error: string };

export const controlSocketPath = (dataDir: string) => join(dataDir, 'identity', 'control.sock');

/** Runs one verb against the membership (the socket and the agent-stopped CLI share this). */
export async function runControlVerb(membership: VdcMembership, verb: ControlVerb): Promise<VdcStatus> {
  if (verb === 'renew-token') await membership.renewToken();
  if (verb === 'leave') {
    const was = membership.joined ? membership.describe() : '';
    await membership.leave();
    log.info('left the vDC: reset at the host', { vdc: was });
  }
  return membership.status();
}

export async function startControlSocket(dataDir: string, membership: VdcMembership): Promise<Server> {
  const path = controlSocketPath(dataDir);
  await rm(path, { force: true }); // left by an agent that did not stop cleanly
  const server = createServer((socket) => {
    let input = '';
    let handled = false;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      if (handled) return; // one request per connection
      input += chunk;
      if (!input.includes('\n')) return void (input.length > 1024 && socket.destroy());
      handled = true;
      const answer = (reply: Reply) => socket.end(`${JSON.stringify(reply)}\n`);
      let verb: unknown;
      try {
        verb = (JSON.parse(input.slice(0, input.indexOf('\n'))) as { verb?: unknown }).verb;
      } catch {
        return answer({ ok: false, error: 'expected one JSON line {"verb": …}' });
      }
      if (!CONTROL_VERBS.includes(verb as ControlVerb)) {
        return answer({ ok: false, error: `verb: expected one of ${CONTROL_VERBS.join(', ')}` });
      }
      runControlVerb(membership, verb as ControlVerb).then(
        (status) => answer({ ok: true, status }),
        (err: unknown) => answer({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600); // the identity dir (0700) already keeps others out
  return server;
}

/**
 * Sends `verb` to the agent running on `dataDir`; undefined when none is listening there (the
 * caller then works on the files itself).
 */
export function callControlSocket(dataDir: string, verb: ControlVerb): Promise<VdcStatus | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(dataDir));
    let output = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ verb })}\n`));
    socket.on('data', (chunk: string) => (output += chunk));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? resolve(undefined) : reject(err),
    );
    socket.on('end', () => {
      try {
        const reply = JSON.parse(output) as Reply;
        if (reply.ok) resolve(reply.status);
        else reject(new Error(reply.error));
      } catch {
        reject(new Error(`the agent's control socket answered "${output.trim()}"`));
      }
    });
  });
}
