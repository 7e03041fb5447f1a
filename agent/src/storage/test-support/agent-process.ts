// Runs the real agent (`node --import tsx agent/src/main.ts`, or the built agent/dist/main.js as
// the image ships it) as a child process with its own data dir, joins it to a throwaway vDC CA
// and hands out a StorageService client. Used by the restart test (kill -9) and the upload
// benchmark (which watches the built agent's memory: tsx alone adds ~20 MB).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EnrollServiceClient } from '@quantix/proto/v1/host.js';
import { StorageServiceClient } from '@quantix/proto/bulk/bulk-services.js';
import { AGENT_HEAP_FLAGS } from '@quantix/proto/bulk/heap-flags.js';
import { createCa, issueCertificate, type KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import { promisify } from '../../test-support/promisify.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The vDC side of a joined agent: its CA and the client certificate it issued. */
export interface Vdc {
  ca: KeyAndCert;
  client: KeyAndCert;
}

export interface AgentProcess {
  child: ChildProcess;
  pid: number;
  address: string;
  /** The agent's own certificate, to pin. */
  certPem: string;
  vdc: Vdc;
  storage: StorageServiceClient;
  /** The agent's log lines so far (stderr, JSON). */
  logs: string[];
  /** Sends `signal` and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** agent/dist/main.js; throws when the agent has not been built. */
function builtEntry(): string {
  const entry = join(repoRoot, 'agent/dist/main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`make build\` first`);
  return entry;
}

export async function newVdc(): Promise<Vdc> {
  const ca = await createCa('quantix storage test vDC', 2);
  return { ca, client: await issueCertificate(ca, { commonName: 'storage test', days: 2, usages: ['client'] }) };
}

/** Starts the agent on a free loopback port; joins it to `vdc` unless it is joined already. */
export async function startAgentProcess(dataDir: string, vdc: Vdc, opts: { built?: boolean } = {}): Promise<AgentProcess> {
  const argv = [...AGENT_HEAP_FLAGS, ...(opts.built ? [builtEntry()] : ['--import', 'tsx', 'agent/src/main.ts'])];
  const child = spawn(process.execPath, argv, {
    cwd: repoRoot,
    env: { ...process.env, QX_AGENT_DATA_DIR: dataDir, QX_AGENT_LISTEN: '127.0.0.1:0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: string[] = [];
  const exited = once(child, 'exit');
  let tokenSeen: (token: string) => void = () => undefined;
  const tokenLogged = new Promise<string>((resolve) => (tokenSeen = resolve));
  const listening = new Promise<{ address: string; joined: boolean }>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string; joined?: boolean; token?: string };
        if (entry.msg === 'agent listening') resolve({ address: entry.address!, joined: entry.joined === true });
        if (entry.msg === 'join token' && entry.token) tokenSeen(entry.token);
      } catch {
        /* not a log line */
      }
    });
    child.once('exit', (code) => reject(new Error(`agent exited with ${code} before listening:\n${logs.join('\n')}`)));
  });
  const { address, joined } = await listening;
  const certPem = await readFile(join(dataDir, 'identity', 'agent.crt'), 'utf8');
  if (!joined) {
    const token = await tokenLogged;
    const enroll = new EnrollServiceClient(address, pinnedCredentials(certPem));
    await promisify(enroll, enroll.join)({ joinToken: token, caCertificatePem: vdc.ca.certPem, vdcId: 'storage-test' });
    enroll.close();
  }
  const storage = new StorageServiceClient(address, pinnedCredentials(certPem, vdc.client), {
    'grpc.max_send_message_length': 8 * 1024 * 1024,
  });
  return {
    child,
    pid: child.pid!,
    address,
    certPem,
    vdc,
    storage,
    logs,
    async kill(signal) {
      storage.close();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exited;
      }
    },
  };
}
