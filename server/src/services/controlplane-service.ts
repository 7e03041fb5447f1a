// Forming and joining a control plane of appliances (#23). Form: this appliance's configuration
// (lowdb) moves into a new one-member etcd cluster it runs, with vDC-CA TLS. Join: with a one-time
// token from a server already on the control plane, over that server's HTTPS pinned by its
// fingerprint, this appliance gets its member certificate and the servers' sealing key, is added as
// a learner, starts its member and has it promoted. Either way the server then restarts on etcd.
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import { sameFingerprint } from '@quantix/proto/tls/pinned-credentials.js';
import type {
  AddControlPlaneMemberDto,
  ControlPlaneDto,
  ControlPlaneJoinTokenDto,
  ControlPlaneMemberGrantDto,
  ControlPlaneSwitchDto,
  FormControlPlaneDto,
  JoinControlPlaneDto,
} from '../dto/controlplane.js';
import { HttpError, badRequest, conflict, notFound, unavailable } from '../errors.js';
import { log } from '../log.js';
import type { ConfigStore } from '../store/config-store.js';
import { Db } from '../store/db.js';
import { createEtcdClient } from '../store/etcd-client.js';
import { EtcdStore } from '../store/etcd-store.js';
import { migrateToEtcd } from '../store/migrate-to-etcd.js';
import type { VdcRecord } from '../store/records.js';
import { SecretBox } from '../store/secret-box.js';
import { primaryManagementAddress } from '../tls/management-addresses.js';
import { memberAddressProblem, memberDrift, noteMemberRepair, repairMemberAddress } from './controlplane-address.js';
import { parseBootControlPlane } from './controlplane-boot.js';
import { addLearner, promote, removeMember } from './controlplane-membership.js';
import { issueJoinToken, takeJoinToken } from './controlplane-join-tokens.js';
import {
  MEMBER_NAME,
  issueMemberCredentials,
  memberEnv,
  memberName,
  memberStoreConfig,
  peerUrlOf,
  discardMember,
  startMember,
  writeMemberFiles,
  type MemberSettings,
} from './controlplane-member.js';

const JOIN_CALL_MS = 30_000;
/** The reply leaves before the server restarts on the control plane. */
const RESTART_DELAY_MS = 500;
/** How often the member's address and certificate are looked at again after the start. */
const ADDRESS_CHECK_MS = 60_000;

export interface ControlPlaneDeps {
  db: ConfigStore;
  vdc: VdcRecord;
  dataDir: string;
  settings: MemberSettings;
  /** This server's HTTPS certificate fingerprint (what joining appliances pin). */
  fingerprint: () => string;
  /**
   * Joining another vDC's control plane: this appliance's own agent leaves this vDC (its VMs keep
   * running), so that the server, restarted on the control plane, joins it there.
   */
  releaseLocalAgent: () => Promise<void>;
}

const hex = (id: unknown) => BigInt(String(id)).toString(16);

export class ControlPlaneService {
  /** main.ts restarts the process (systemd or the test harness starts it again). */
  onRestart: (() => void) | undefined;
  private switching = false;
  /** Why the member could not be kept on this appliance's address (status, the console screen). */
  private memberProblem: string | undefined;
  private repairing = false;

  constructor(private readonly d: ControlPlaneDeps) {}

  async status(): Promise<ControlPlaneDto> {
    const base = {
      store: this.d.db.kind,
      members: [] as ControlPlaneDto['members'],
      serverFingerprint: this.d.fingerprint(),
      ...(this.d.db.unavailable ? { unavailable: this.d.db.unavailable } : {}),
      ...(this.memberProblem ? { memberProblem: this.memberProblem } : {}),
    };
    const name = await memberName(this.d.settings);
    if (name) Object.assign(base, { memberName: name });
    if (!(this.d.db instanceof EtcdStore) || this.d.db.unavailable) return base;
    const client = this.d.db.client;
    const [list, st] = await Promise.all([client.cluster.memberList({}), client.maintenance.status()]);
    base.members = list.members.map((m) => ({
      id: hex(m.ID),
      name: m.name,
      peerUrls: m.peerURLs,
      clientUrls: m.clientURLs,
      learner: Boolean(m.isLearner),
      leader: String(m.ID) === String(st.leader),
    }));
    return base;
  }

  /** Moves this appliance's configuration into a new one-member cluster it runs, then restarts on it. */
  async form(req: FormControlPlaneDto): Promise<ControlPlaneSwitchDto> {
    const { name, address } = this.identity(req);
    await this.switchOver(async () => {
      const s = this.d.settings;
      const creds = await issueMemberCredentials(this.d.vdc, name, address);
      const env = memberEnv({
        name,
        address,
        initialCluster: [{ name, peerUrl: peerUrlOf(address, s) }],
        state: 'new',
        settings: s,
      });
      await writeMemberFiles(s, creds, env);
      await undoneOnFailure(s, async () => {
        const client = await startMember(s);
        try {
          // The running server's state, flushed with writes refused (switchOver), is what moves.
          const { records } = await migrateToEtcd(this.d.dataDir, client);
          log.info('configuration moved into etcd', { records, member: name });
        } finally {
          client.close();
        }
      });
    });
    return { message: `member ${name} formed a control plane; the server restarts on it now`, memberName: name };
  }

  /**
   * quantix.controlplane= at start: forms or joins unattended while this appliance is on its
   * embedded store with no member yet (after the switch, and on later boots, it does nothing).
   */
  async fromBootSetting(value: string | undefined): Promise<void> {
    if (!value || this.d.db.kind !== 'embedded' || (await memberName(this.d.settings))) return;
    try {
      const boot = parseBootControlPlane(value);
      const r = boot.kind === 'form' ? await this.form(boot.req) : await this.join(boot.req);
      log.info('control plane from the kernel command line', { message: r.message });
    } catch (err) {
      log.error('control plane from the kernel command line failed', { error: (err as Error).message });
    }
  }

  /**
   * Keeps this appliance's member on the appliance's current address (controlplane-address.ts;
   * main.ts has moved it already if its files were off): a full check against the cluster now,
   * awaited before requests come (they would be refused while the member restarts), then every
   * minute a look at the address and the certificate on disk.
   */
  async keepMemberAddress(): Promise<void> {
    // On etcd without a member of its own (endpoints given with quantix.etcd=) there is nothing to keep.
    if (!(this.d.db instanceof EtcdStore) || !(await memberName(this.d.settings))) return;
    if (await this.repairMember()) await storeAnswers(this.d.db);
    setInterval(() => {
      void memberDrift(this.d.settings).then(
        (drift) => ((drift && !drift.filesOk) || this.memberProblem ? this.repairMember() : undefined),
        async (err: Error) => (this.memberProblem = await noteMemberRepair(this.d.settings, err)),
      );
    }, ADDRESS_CHECK_MS).unref();
  }

  /** True when the member was restarted. */
  private async repairMember(): Promise<boolean> {
    if (!(this.d.db instanceof EtcdStore) || this.repairing) return false;
    this.repairing = true;
    let client: Etcd3 | undefined;
    try {
      // A client of its own without a circuit breaker, as removeMember: a refusal must not open the store's.
      client = createEtcdClient(memberStoreConfig(this.d.settings), { breaker: false });
      const done = await repairMemberAddress({ client, vdc: this.d.vdc, settings: this.d.settings });
      this.memberProblem = await noteMemberRepair(this.d.settings, done);
      return done.length > 0;
    } catch (err) {
      this.memberProblem = await noteMemberRepair(this.d.settings, err as Error);
      return false;
    } finally {
      client?.close();
      this.repairing = false;
    }
  }

  /** A one-time join token, valid 30 minutes, that any server of the control plane takes (controlplane-join-tokens.ts). */
  async createJoinToken(): Promise<ControlPlaneJoinTokenDto> {
    if (!(this.d.db instanceof EtcdStore))
      throw conflict('this appliance is not on a control plane yet: form one first');
    return { ...(await issueJoinToken(this.d.db.client)), serverFingerprint: this.d.fingerprint() };
  }

  /** A joining appliance's request (token-authorised): its credentials, and it is added as a learner. */
  async addMember(req: AddControlPlaneMemberDto): Promise<ControlPlaneMemberGrantDto> {
    if (!(this.d.db instanceof EtcdStore)) throw conflict('this appliance is not on a control plane');
    const client = this.d.db.client;
    await takeJoinToken(client, req.token);
    const { members } = await client.cluster.memberList({});
    if (members.some((m) => m.name === req.memberName))
      throw conflict(`memberName: a member named ${req.memberName} is already in the control plane`);
    const peerUrl = peerUrlOf(req.memberAddress, req);
    const same = members.find((m) => m.peerURLs.includes(peerUrl));
    if (same && same.name) throw conflict(`memberAddress: a member already uses ${peerUrl}`);
    const box = await readFile(SecretBox.path(this.d.dataDir), 'utf8');
    const creds = await issueMemberCredentials(this.d.vdc, req.memberName, req.memberAddress);
    // An earlier join from there that never started its member (no name yet) is replaced, so it can retry.
    if (same) await removeMember(client, same.ID);
    // A learner does not count towards quorum: the cluster keeps writing until it has caught up.
    const addedId = await addLearner(memberStoreConfig(this.d.settings), peerUrl);
    log.info('control plane: member added as learner', { name: req.memberName, peerUrl });
    return {
      memberId: hex(addedId),
      caPem: creds.caPem,
      memberCertPem: creds.member.certPem,
      memberKeyPem: creds.member.keyPem,
      clientCertPem: creds.client.certPem,
      clientKeyPem: creds.client.keyPem,
      sealingKeyHex: box.trim(),
      initialCluster: [
        ...members.filter((m) => m.name).map((m) => ({ name: m.name, peerUrl: m.peerURLs[0]! })),
        { name: req.memberName, peerUrl },
      ],
      clientUrls: members.flatMap((m) => m.clientURLs),
    };
  }

  /**
   * Removes member `id` (hex) from the etcd cluster, as `pvecm delnode` does: refused for the member
   * this server runs on (remove it from another appliance) and where fewer than a quorum of the
   * voting members left would be running (etcd's own check, named here).
   */
  async removeMember(id: string): Promise<ControlPlaneDto> {
    if (!(this.d.db instanceof EtcdStore)) throw conflict('this appliance is not on a control plane');
    if (!/^[0-9a-f]{1,16}$/.test(id)) throw badRequest(`id: "${id}" is not a member id (hex, as listed)`, 'id');
    if (this.d.db.unavailable) throw unavailable(`members cannot change now: ${this.d.db.unavailable}`);
    // A client of its own without a circuit breaker: etcd's refusal would open the store client's,
    // and the server would then refuse every write for a while (as addLearner found).
    const client = createEtcdClient(memberStoreConfig(this.d.settings), { breaker: false });
    try {
      const { members } = await client.cluster.memberList({});
      const member = members.find((m) => hex(m.ID) === id);
      if (!member) throw notFound(`control plane member ${id}`);
      if (member.name && member.name === (await memberName(this.d.settings)))
        throw conflict(`member ${member.name} is this appliance's own: remove it from another member's appliance`);
      const name = member.name || id;
      await client.cluster.memberRemove({ ID: member.ID }).catch((err: unknown) => {
        const message = (err as Error).message;
        if (/not enough started members|unhealthy cluster/i.test(message))
          throw conflict(`member ${name}: removing it would leave too few running members for a quorum`);
        throw err;
      });
      log.info('control plane: member removed', { id, name: member.name, peerUrls: member.peerURLs });
    } finally {
      client.close();
    }
    return this.status();
  }

  /** Joins the control plane of the server at `req.address`, then restarts on it. */
  async join(req: JoinControlPlaneDto): Promise<ControlPlaneSwitchDto> {
    const { name, address } = this.identity(req);
    await this.switchOver(async () => {
      const grant = await postPinned<ControlPlaneMemberGrantDto>(
        req.address,
        req.fingerprint,
        '/api/v1/controlplane/members',
        {
          token: req.token,
          memberName: name,
          memberAddress: address,
          peerPort: this.d.settings.peerPort,
        },
      );
      const s = this.d.settings;
      const sealingKey = SecretBox.path(this.d.dataDir);
      // The sealing key goes with the member on a failure: a later form would otherwise seal this
      // vDC's secrets with the key of the vDC it failed to join.
      await undoneOnFailure(s, async () => {
        const env = memberEnv({ name, address, initialCluster: grant.initialCluster, state: 'existing', settings: s });
        await writeMemberFiles(
          s,
          {
            caPem: grant.caPem,
            member: { certPem: grant.memberCertPem, keyPem: grant.memberKeyPem },
            client: { certPem: grant.clientCertPem, keyPem: grant.clientKeyPem },
          },
          env,
        );
        if (!/^[0-9a-f]{64}$/.test(grant.sealingKeyHex)) throw new Error('the sealing key sent is not one');
        await writeFileAtomic(sealingKey, `${grant.sealingKeyHex}\n`, 0o600);
        const cluster = () =>
          createEtcdClient({ ...memberStoreConfig(s), endpoints: grant.clientUrls }, { breaker: false });
        try {
          (await startMember(s)).close();
          await promote(cluster(), grant.memberId);
        } catch (err) {
          // Out of the cluster again (a learner, or a voter if the promotion's answer was lost)
          // while this member still runs to take part in that change.
          const client = cluster();
          await removeMember(client, BigInt(`0x${grant.memberId}`).toString())
            .catch((e: Error) =>
              log.error('control plane: the failed join left its member listed', { error: e.message }),
            )
            .finally(() => client.close());
          throw err;
        }
      }, [sealingKey]);
      log.info('control plane joined', { member: name, via: req.address });
      // The member is in: failing here would leave the server off the control plane it is part of.
      await this.d.releaseLocalAgent().catch((err: Error) =>
        log.error(
          'control plane joined, but the local agent did not leave its old vDC: release it with R on the console',
          {
            error: err.message,
          },
        ),
      );
    });
    return { message: `member ${name} joined the control plane; the server restarts on it now`, memberName: name };
  }

  private identity(req: { memberName?: string | undefined; memberAddress?: string | undefined }) {
    const name = req.memberName ?? hostname().split('.')[0]!;
    if (!MEMBER_NAME.test(name))
      throw badRequest(`memberName: "${name}" is not a member name (letters, digits, . _ -)`, 'memberName');
    // etcd binds its peer port on the member address: one this appliance lacks (or a name) would
    // only show as a member that never answers.
    if (req.memberAddress) {
      const problem = memberAddressProblem({ address: req.memberAddress, addressSetting: 'memberAddress' });
      if (problem) throw badRequest(problem, 'memberAddress');
    } else {
      const problem = memberAddressProblem(this.d.settings);
      if (problem) throw conflict(problem);
    }
    const address = req.memberAddress ?? this.d.settings.address ?? primaryManagementAddress();
    if (!address)
      throw badRequest('memberAddress: this appliance has no management address; give one', 'memberAddress');
    return { name, address };
  }

  /**
   * Runs `work` with configuration writes refused (the embedded store's state is flushed first and
   * must not change while it moves), then points config.json at the member and restarts.
   */
  private async switchOver(work: () => Promise<void>): Promise<void> {
    const db = this.d.db;
    if (!(db instanceof Db)) throw conflict('this appliance already runs on an etcd control plane');
    if (this.switching) throw conflict('this appliance is already moving onto a control plane');
    this.switching = true;
    db.unavailable = 'this appliance is moving its configuration onto an etcd control plane';
    try {
      await db.flush();
      await work();
      await writeStoreConfig(this.d.dataDir, this.d.settings);
    } catch (err) {
      db.unavailable = undefined;
      this.switching = false;
      if (err instanceof HttpError) throw err;
      throw new HttpError(502, `the control plane could not be set up: ${(err as Error).message}`);
    }
    setTimeout(
      () => (this.onRestart ? this.onRestart() : log.warn('control plane: no restart handler')),
      RESTART_DELAY_MS,
    );
  }
}

/** config.json of the data dir: the store setting of a server on its own member (other keys kept). */
async function writeStoreConfig(dataDir: string, s: MemberSettings): Promise<void> {
  const file = join(dataDir, 'config.json');
  const current = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>) : {};
  const st = memberStoreConfig(s);
  const next = {
    ...current,
    store: 'etcd',
    etcdEndpoints: st.endpoints.join(','),
    etcdCa: st.caFile,
    etcdCert: st.certFile,
    etcdKey: st.keyFile,
  };
  await writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`, 0o600);
}

/** Waits (up to 20 s) until the store's own client reaches the member again and writes are accepted. */
async function storeAnswers(db: EtcdStore): Promise<void> {
  for (const by = Date.now() + 20_000; Date.now() < by; await new Promise((r) => setTimeout(r, 500))) {
    const answers = await db.client.maintenance.status().then(
      () => true,
      () => false,
    );
    if (answers && !db.unavailable) return;
  }
}

/**
 * Runs `work`; if it fails, the member it set up is discarded (discardMember) with `files`, before
 * the error goes on.
 */
async function undoneOnFailure(s: MemberSettings, work: () => Promise<void>, files: string[] = []): Promise<void> {
  try {
    await work();
  } catch (err) {
    await discardMember(s)
      .then(() => Promise.all(files.map((f) => rm(f, { force: true }))))
      .catch((e: Error) =>
        log.error('control plane: the member of a failed form or join could not be removed', { error: e.message }),
      );
    throw err;
  }
}

/** A JSON POST to another vDC server over TLS whose certificate must have `fingerprint` (checked before sending). */
async function postPinned<T>(address: string, fingerprint: string, path: string, body: unknown): Promise<T> {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
  if (!m) throw badRequest('address: expected host or host:port', 'address');
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const port = Number(m[2] ?? 443);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({ host, port, servername: '', rejectUnauthorized: false, timeout: JOIN_CALL_MS });
    s.once('error', (e) => reject(new HttpError(502, `address: no answer from ${address}: ${e.message}`)));
    s.once('timeout', () => s.destroy(new Error('timed out')));
    s.once('secureConnect', () => {
      const raw = s.getPeerCertificate()?.raw;
      const seen = raw ? new X509Certificate(raw).fingerprint256 : '';
      if (!sameFingerprint(seen, fingerprint)) {
        s.destroy();
        reject(
          badRequest(
            `fingerprint: ${address} presented ${seen || 'no certificate'}, not ${fingerprint}`,
            'fingerprint',
          ),
        );
      } else resolve(s);
    });
  });
  const text = JSON.stringify(body);
  return new Promise<T>((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path,
        method: 'POST',
        createConnection: () => socket,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        timeout: JOIN_CALL_MS,
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          data += c;
          if (data.length > 1_000_000) res.destroy(new Error('reply too large'));
        });
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode === 201) return resolve(JSON.parse(data) as T);
          const msg = (() => {
            try {
              return (JSON.parse(data) as { error: { message: string } }).error.message;
            } catch {
              return data.slice(0, 300);
            }
          })();
          reject(new HttpError(res.statusCode === 403 ? 403 : 502, `${address} refused the join: ${msg}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${address}: no reply`)));
    req.on('error', (e) => reject(e instanceof HttpError ? e : new HttpError(502, `${address}: ${e.message}`)));
    req.end(text);
  });
}
