// This appliance's etcd member of a control plane: its files (vDC-CA certificates, the ETCD_*
// environment the member runs with), starting it through the configured command (systemd's
// quantix-etcd-member.service on the appliance, the same appliance/quantix-etcd-member script in
// tests), and the etcd client a server of that member uses. No HTTP here: controlplane-service.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { issueCertificate, type KeyAndCert } from '@quantix/proto/tls/certificates.js';
import type { StoreConfig } from '../config.js';
import type { VdcRecord } from '../store/records.js';
import { createEtcdClient } from '../store/etcd-client.js';

/** Where the member and its server's client credentials live, and how the member is started. */
export interface MemberSettings {
  /** The member: certificates, member.env and its data (…/etcd on the appliance). */
  memberDir: string;
  /** The server's (and etcdctl's) client TLS files ca.pem, cert.pem, key.pem (…/etcd-client). */
  clientDir: string;
  clientPort: number;
  peerPort: number;
  /** argv run (no shell) to (re)start the member once member.env is written; QX_ETCD_MEMBER_ENV names the file. */
  startCommand: string[];
  /**
   * The address the member is to use (QX_CONTROLPLANE_ADDRESS, quantix.controlplane_address= or
   * controlplaneAddress in config.json); unset: controlplane-address.ts picks it.
   */
  address?: string | undefined;
  /** Where `address` was set, for messages ("quantix.controlplane_address=" …). */
  addressSetting?: string | undefined;
}

/** One member of the cluster as the others reach it. */
export interface MemberAddress {
  name: string;
  peerUrl: string;
}

/** The credentials a member runs with, all issued by the vDC CA. */
export interface MemberCredentials {
  caPem: string;
  /** Serves clients and peers and authenticates to peers: SANs = the appliance's address and loopback. */
  member: KeyAndCert;
  /** The server's client certificate for its member (and etcdctl on the status screen). */
  client: KeyAndCert;
}

const CERT_DAYS = 3650;
const START_TIMEOUT_MS = 15_000;
/**
 * How long a member that is up but not ready yet may take: a joining member answers clients only
 * once the cluster has committed it through raft, which took minutes on a host whose cores were busy.
 */
const READY_TIMEOUT_MS = 180_000;
/** Member names: etcd accepts more, the env file and the URLs want this. */
export const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

const bracket = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);
export const peerUrlOf = (address: string, s: Pick<MemberSettings, 'peerPort'>) =>
  `https://${bracket(address)}:${s.peerPort}`;
export const clientUrlOf = (address: string, s: MemberSettings) => `https://${bracket(address)}:${s.clientPort}`;
/** The server talks to its own member over loopback (the member lives and dies with its appliance). */
export const localEndpoint = (s: MemberSettings) => clientUrlOf('127.0.0.1', s);

/** Issues a member's and its server's certificates from the vDC CA. */
export async function issueMemberCredentials(
  vdc: VdcRecord,
  name: string,
  address: string,
): Promise<MemberCredentials> {
  const ca = { keyPem: vdc.caKeyPem, certPem: vdc.caCertPem };
  const ips = [...new Set([address, '127.0.0.1'].filter((a) => isIP(a)))];
  const dns = [...new Set(['localhost', ...(isIP(address) ? [] : [address])])];
  return {
    caPem: vdc.caCertPem,
    member: await issueCertificate(ca, {
      commonName: `quantix-etcd-${name}`,
      ipAddresses: ips,
      dnsNames: dns,
      days: CERT_DAYS,
      usages: ['server', 'client'],
    }),
    client: await issueCertificate(ca, { commonName: `quantix-server-${name}`, days: CERT_DAYS, usages: ['client'] }),
  };
}

/** The member's environment (etcd reads ETCD_* variables): TLS for clients and peers, vDC CA only. */
export function memberEnv(o: {
  name: string;
  address: string;
  initialCluster: MemberAddress[];
  state: 'new' | 'existing';
  settings: MemberSettings;
}): string {
  const s = o.settings;
  const d = s.memberDir;
  const clientUrls = [...new Set([clientUrlOf(o.address, s), localEndpoint(s)])];
  const vars: Record<string, string> = {
    ETCD_NAME: o.name,
    ETCD_DATA_DIR: join(d, 'data'),
    ETCD_LISTEN_CLIENT_URLS: clientUrls.join(','),
    ETCD_ADVERTISE_CLIENT_URLS: clientUrlOf(o.address, s),
    ETCD_LISTEN_PEER_URLS: peerUrlOf(o.address, s),
    ETCD_INITIAL_ADVERTISE_PEER_URLS: peerUrlOf(o.address, s),
    ETCD_INITIAL_CLUSTER: o.initialCluster.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    ETCD_INITIAL_CLUSTER_STATE: o.state,
    ETCD_INITIAL_CLUSTER_TOKEN: 'quantix-vdc',
    ETCD_CERT_FILE: join(d, 'member.pem'),
    ETCD_KEY_FILE: join(d, 'member-key.pem'),
    ETCD_TRUSTED_CA_FILE: join(d, 'ca.pem'),
    ETCD_CLIENT_CERT_AUTH: 'true',
    ETCD_PEER_CERT_FILE: join(d, 'member.pem'),
    ETCD_PEER_KEY_FILE: join(d, 'member-key.pem'),
    ETCD_PEER_TRUSTED_CA_FILE: join(d, 'ca.pem'),
    ETCD_PEER_CLIENT_CERT_AUTH: 'true',
    // A hypervisor's cores are shared with its VMs: on busy appliances raft's defaults (heartbeat
    // 100 ms, election after 1 s) missed heartbeats by hundreds of ms. These cost a second or two
    // of failover when a member dies.
    ETCD_HEARTBEAT_INTERVAL: '250',
    ETCD_ELECTION_TIMEOUT: '2500',
    ETCD_LOGGER: 'zap',
    ETCD_LOG_LEVEL: 'warn',
    // History older than an hour is compacted: each relayed event (host and VM metrics every few
    // seconds) is a revision, and an uncompacted history grows until etcd's 2 GiB quota makes the
    // cluster refuse writes. A server cut off for longer reloads rather than resumes (etcd-store.ts).
    ETCD_AUTO_COMPACTION_MODE: 'periodic',
    ETCD_AUTO_COMPACTION_RETENTION: '1h',
  };
  for (const [k, v] of Object.entries(vars))
    if (!/^[A-Za-z0-9_.,:/=[\]-]*$/.test(v)) throw new Error(`${k}: unexpected characters in "${v}"`);
  return Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

export const memberEnvPath = (s: MemberSettings) => join(s.memberDir, 'member.env');

/** Writes the certificates, both key files 0600, then member.env (last: its presence means "a member here"). */
export async function writeMemberFiles(s: MemberSettings, creds: MemberCredentials, env: string): Promise<void> {
  await mkdir(s.memberDir, { recursive: true, mode: 0o700 });
  await mkdir(s.clientDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(s.memberDir, 'ca.pem'), creds.caPem);
  await writeFileAtomic(join(s.memberDir, 'member.pem'), creds.member.certPem);
  await writeFileAtomic(join(s.memberDir, 'member-key.pem'), creds.member.keyPem, 0o600);
  await writeFileAtomic(join(s.clientDir, 'ca.pem'), creds.caPem);
  await writeFileAtomic(join(s.clientDir, 'cert.pem'), creds.client.certPem);
  await writeFileAtomic(join(s.clientDir, 'key.pem'), creds.client.keyPem, 0o600);
  await writeFileAtomic(memberEnvPath(s), env, 0o600);
}

/** The store setting of a server on its own member (what config.json gets on the switch). */
export function memberStoreConfig(s: MemberSettings): Extract<StoreConfig, { kind: 'etcd' }> {
  return {
    kind: 'etcd',
    endpoints: [localEndpoint(s)],
    caFile: join(s.clientDir, 'ca.pem'),
    certFile: join(s.clientDir, 'cert.pem'),
    keyFile: join(s.clientDir, 'key.pem'),
  };
}

/** Whether this appliance runs a member (member.env written), and its name. */
export async function memberName(s: MemberSettings): Promise<string | undefined> {
  return (await memberSetUp(s))?.name;
}

/** The member's name and the address it was set up with (member.env), if this appliance runs one. */
export async function memberSetUp(s: MemberSettings): Promise<{ name: string; address: string } | undefined> {
  if (!existsSync(memberEnvPath(s))) return undefined;
  const env = await readFile(memberEnvPath(s), 'utf8');
  const name = /^ETCD_NAME=(.*)$/m.exec(env)?.[1];
  const peerUrl = /^ETCD_INITIAL_ADVERTISE_PEER_URLS=(.*)$/m.exec(env)?.[1];
  if (!name || !peerUrl) return undefined;
  return { name, address: new URL(peerUrl).hostname.replace(/^\[|\]$/g, '') };
}

/** Whether the member's certificate names `address` and has more than `days` left. */
export async function memberCertificateFits(s: MemberSettings, address: string, days: number): Promise<boolean> {
  const file = join(s.memberDir, 'member.pem');
  if (!existsSync(file)) return false;
  const cert = new X509Certificate(await readFile(file));
  const named = isIP(address) ? cert.checkIP(address) : cert.checkHost(address);
  return Boolean(named) && Date.parse(cert.validTo) - Date.now() > days * 86_400_000;
}

/** Runs the start command: it (re)starts the member on member.env, and leaves it stopped without one. */
async function runStartCommand(s: MemberSettings): Promise<void> {
  const [cmd, ...args] = s.startCommand;
  if (!cmd) throw new Error('QX_ETCD_MEMBER_START: no command to start the etcd member');
  try {
    await promisify(execFile)(cmd, args, {
      timeout: START_TIMEOUT_MS,
      env: { ...process.env, QX_ETCD_MEMBER_ENV: memberEnvPath(s) },
    });
  } catch (err) {
    throw new Error(`starting the etcd member (${s.startCommand.join(' ')}): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Undoes the member of a form or join that failed, so the appliance is as it was and can try again
 * (the console offers both only while there is no member.env): member.env goes first, so the start
 * command stops the member (systemd skips the unit without it, as the tests' launcher does), then
 * its certificates, data and the server's client files.
 */
export async function discardMember(s: MemberSettings): Promise<void> {
  await rm(memberEnvPath(s), { force: true });
  await runStartCommand(s);
  await rm(s.memberDir, { recursive: true, force: true });
  await rm(s.clientDir, { recursive: true, force: true });
}

/**
 * Starts the member with the start command, then waits until it answers this server over TLS
 * with its client certificate (a status call). Returns that client; the caller closes it.
 * After 30 s it waits on (up to READY_TIMEOUT_MS) only while the member's client port accepts
 * connections: etcd listens before it is ready, and a member that failed has exited and closed it.
 */
export async function startMember(s: MemberSettings): Promise<Etcd3> {
  await runStartCommand(s);
  const client = createEtcdClient(memberStoreConfig(s));
  const started = Date.now();
  for (;;) {
    try {
      await client.maintenance.status();
      return client;
    } catch (err) {
      const waited = Date.now() - started;
      if (waited > START_TIMEOUT_MS * 2 && (waited > READY_TIMEOUT_MS || !(await accepts(s.clientPort)))) {
        client.close();
        throw new Error(
          `the etcd member at ${localEndpoint(s)} did not answer within ${Math.round(waited / 1000)} s: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Whether something accepts TCP connections on this port of loopback. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
