// Keeps this appliance's etcd member on the appliance's current address (#23). After a DHCP lease
// or the operator moved the appliance, three things still carry the old one: the member's peer URL
// in the cluster, its certificate's SANs and member.env (listen/advertise URLs); the other members
// can no longer reach it. repairMemberAddress puts all three on the current address, and renews a
// certificate near its end on the way. Each step looks before it acts, so a repair cut off half-way
// is finished by the next one. Outcomes are logged and left in <memberDir>/problem for the console.
import { readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { log } from '../log.js';
import { createEtcdClient } from '../store/etcd-client.js';
import { EtcdStore } from '../store/etcd-store.js';
import { VdcRepo } from '../store/host-repo.js';
import type { VdcRecord } from '../store/records.js';
import { primaryManagementAddress, managementAddresses } from '../tls/management-addresses.js';
import {
  clientUrlOf,
  issueMemberCredentials,
  memberCertificateFits,
  memberEnv,
  memberSetUp,
  memberStoreConfig,
  peerUrlOf,
  startMember,
  writeMemberFiles,
  type MemberSettings,
} from './controlplane-member.js';

/** A member certificate with fewer days left than this is reissued (they are issued for 3650). */
export const RENEW_DAYS = 30;

/** The other members' client URLs as last listed: a member that cannot start is repaired through them. */
const othersPath = (s: MemberSettings) => join(s.memberDir, 'other-client-urls');
const problemPath = (s: MemberSettings) => join(s.memberDir, 'problem');

/**
 * Why the configured member address (`s.address`, from `s.addressSetting`) cannot be used on this
 * machine, naming the setting; undefined when it can or none is configured. It must be an IP
 * address the machine has (any of 127.0.0.0/8 is on its loopback).
 */
export function memberAddressProblem(
  s: Pick<MemberSettings, 'address' | 'addressSetting'>,
  addresses = managementAddresses(),
): string | undefined {
  if (!s.address) return undefined;
  const setting = s.addressSetting ?? 'the control-plane address';
  if (isIP(s.address) !== 4) return `${setting}: "${s.address}" is not an IPv4 address of this appliance`;
  if (addresses.includes(s.address) || s.address.startsWith('127.')) return undefined;
  const has = addresses.filter((a) => !a.startsWith('127.')).join(', ') || 'none but loopback';
  return `${setting}: ${s.address} is not an address of this appliance (it has ${has})`;
}

/**
 * The address the member is to use: the configured one (QX_CONTROLPLANE_ADDRESS,
 * quantix.controlplane_address=, config.json; throws naming the setting when the machine does not
 * have it); else the one it was set up with while this machine still has it (or it is a name,
 * which DNS keeps current); else the machine's primary management address (on the default
 * route's interface, else the first other than loopback; undefined: none yet).
 */
export function currentMemberAddress(
  setUpWith: string,
  s: Pick<MemberSettings, 'address' | 'addressSetting'>,
  addresses = managementAddresses(),
  preferred?: string[],
): string | undefined {
  const problem = memberAddressProblem(s, addresses);
  if (problem) throw new Error(problem);
  if (s.address) return s.address;
  if (!isIP(setUpWith) || addresses.includes(setUpWith)) return setUpWith;
  return primaryManagementAddress(addresses, preferred);
}

/** What this server's member has on disk against where it should be; undefined: no member here. */
export async function memberDrift(s: MemberSettings) {
  const setUp = await memberSetUp(s);
  if (!setUp) return undefined;
  const address = currentMemberAddress(setUp.address, s);
  if (!address) throw new Error(`member ${setUp.name}: this appliance has no management address now`);
  const filesOk = setUp.address === address && (await memberCertificateFits(s, address, RENEW_DAYS));
  return { name: setUp.name, from: setUp.address, address, filesOk };
}

/**
 * Brings the member onto its current address; returns what it changed (empty: nothing was off).
 * Order, as etcd documents for moving a member: the peer URL is updated through the cluster first
 * (a raft change: it needs a quorum, and fails here without one), then the member restarts on the
 * new files. Its certificate is from the vDC CA as before, so the other members accept it.
 */
export async function repairMemberAddress(o: { client: Etcd3; vdc: VdcRecord; settings: MemberSettings }) {
  const s = o.settings;
  const drift = await memberDrift(s);
  if (!drift) return [];
  // With nothing off on disk, a cluster that does not answer (no quorum) is not this repair's problem.
  const members = await o.client.cluster.memberList({}).then(
    (r) => r.members,
    (err: unknown) => {
      if (drift.filesOk) return undefined;
      throw err;
    },
  );
  if (!members) return [];
  const me = members.find((m) => m.name === drift.name);
  if (!me) throw new Error(`member ${drift.name} is not in the control plane (removed from it?)`);
  const others = members.filter((m) => m !== me).flatMap((m) => m.clientURLs);
  await writeFileAtomic(othersPath(s), others.map((u) => `${u}\n`).join(''));
  const peerUrl = peerUrlOf(drift.address, s);
  const done: string[] = [];
  if (me.peerURLs.length !== 1 || me.peerURLs[0] !== peerUrl) {
    await o.client.cluster.memberUpdate({ ID: me.ID, peerURLs: [peerUrl] });
    done.push(`peer URL ${me.peerURLs.join(',')} → ${peerUrl}`);
  }
  if (!drift.filesOk) {
    await rewriteMemberFiles(o.vdc, s, drift.name, drift.address, members);
    done.push(`certificate and member.env for ${drift.address}`);
  }
  // The member publishes its client URL when it starts: an old one means it runs on old files.
  if (done.length || !me.clientURLs.includes(clientUrlOf(drift.address, s))) {
    (await startMember(s)).close();
    done.push('member restarted');
  }
  return done;
}

/** A certificate issued for `address` and member.env on it (initial-cluster is only read on a member's first start). */
async function rewriteMemberFiles(
  vdc: VdcRecord,
  s: MemberSettings,
  name: string,
  address: string,
  members: { name: string; peerURLs: string[] }[],
): Promise<void> {
  const creds = await issueMemberCredentials(vdc, name, address);
  const initialCluster = members
    .filter((m) => m.name && m.name !== name)
    .map((m) => ({ name: m.name, peerUrl: m.peerURLs[0]! }))
    .concat({ name, peerUrl: peerUrlOf(address, s) });
  await writeMemberFiles(s, creds, memberEnv({ name, address, initialCluster, state: 'existing', settings: s }));
}

/**
 * At start, before the server opens its store on its own member. The vDC CA that signs the new
 * certificate is in etcd, and a member whose address changed may not start at all (etcd cannot
 * bind an address the machine no longer has): then the repair goes through the other members,
 * with the server's client certificate (it names no address, so they take it from anywhere).
 */
export async function moveMemberAtStart(dataDir: string, s: MemberSettings): Promise<void> {
  const drift = await memberDrift(s);
  if (!drift || drift.filesOk) return;
  const endpoints = (await memberAnswers(s))
    ? memberStoreConfig(s).endpoints
    : (await readFile(othersPath(s), 'utf8').catch(() => '')).split('\n').filter(Boolean);
  if (!endpoints.length) throw new Error(`member ${drift.name} does not answer, and no other member is known`);
  const client = createEtcdClient({ ...memberStoreConfig(s), endpoints }, { breaker: false });
  const store = await EtcdStore.open(client, dataDir).catch((err: Error) => {
    client.close();
    throw new Error(`etcd ${endpoints.join(',')}: ${err.message}`, { cause: err });
  });
  try {
    const vdc = new VdcRepo(store).get();
    if (!vdc) throw new Error('the vDC identity is not in etcd');
    await noteMemberRepair(s, await repairMemberAddress({ client, vdc, settings: s }));
  } finally {
    await store.close();
  }
}

async function memberAnswers(s: MemberSettings): Promise<boolean> {
  const client = createEtcdClient(memberStoreConfig(s), { breaker: false });
  try {
    return await client.maintenance.status().then(
      () => true,
      () => false,
    );
  } finally {
    client.close();
  }
}

/**
 * Logs a repair's outcome and keeps a failure in <memberDir>/problem (the console status screen
 * shows it; the server may not be up to). Returns the problem, undefined once repaired.
 */
export async function noteMemberRepair(s: MemberSettings, outcome: string[] | Error): Promise<string | undefined> {
  if (outcome instanceof Error) {
    const problem = `this appliance's member could not be moved to its current address or renewed: ${outcome.message}`;
    log.error('control plane: member not repaired', { error: outcome.message });
    await writeFileAtomic(problemPath(s), `${problem}\n`).catch(() => undefined);
    return problem;
  }
  if (outcome.length) log.info('control plane: member moved to its current address', { done: outcome });
  await rm(problemPath(s), { force: true });
  return undefined;
}
