// Who runs what must run once in the vDC (host connections and heartbeats, reconcilers, schedules):
// with the embedded store this server always; with etcd the one server elected with an etcd lease.
// A leader whose lease is lost (killed, cut off from the etcd quorum) stops that work; another
// server is elected once the lease expires (LEASE_SECONDS) and starts it.
import type { Etcd3 } from 'etcd3';
import type { Campaign } from 'etcd3';
import { hostname } from 'node:os';
import { log } from '../log.js';
import { primaryManagementAddress } from '../tls/management-addresses.js';

/**
 * The election lease: a lost leader is replaced within about this long (plus one keep-alive). 4 s
 * expired every minute or so on three busy appliances sharing two cores, and each new leader
 * restarts every host connection.
 */
export const LEASE_SECONDS = 6;
const ELECTION = 'quantix-leader';

/** The work only the leader does. */
export interface LeaderWork {
  start(): void;
  stop(): void;
}

/** Where the others reach the leader: published as its election value, so it lives with its lease. */
export interface LeaderAddress {
  id: string;
  /** https://host:port of its API. */
  url: string;
  /** The certificate it serves (leaf first), pinned by the servers forwarding to it. */
  certPem: string;
}

export interface Leadership {
  readonly isLeader: boolean;
  /** This server's identity as shown to the others (the elected value). */
  readonly id: string;
  /** The elected server's address; undefined when none is (or this server is the only one). */
  address(): Promise<LeaderAddress | undefined>;
  /** Starts `work` whenever this server becomes leader, stops it when it is no longer. */
  run(work: LeaderWork): void;
  close(): Promise<void>;
}

/** The URL the other servers reach this one's API at: its listen address, or its first IP other than loopback when it listens on all. */
export function advertisedUrl(listenHost: string, port: number): string {
  const wildcard = listenHost === '0.0.0.0' || listenHost === '::' || listenHost === '';
  const host = wildcard ? (primaryManagementAddress() ?? hostname()) : listenHost;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The embedded store: a single server, always leader. */
export class SoleLeader implements Leadership {
  readonly isLeader = true;
  constructor(readonly id: string) {}
  async address(): Promise<LeaderAddress | undefined> {
    return undefined;
  }
  run(work: LeaderWork): void {
    work.start();
  }
  async close(): Promise<void> {}
}

/** Leader election among the servers of one etcd cluster. */
export class EtcdLeader implements Leadership {
  isLeader = false;
  private campaign: Campaign | undefined;
  private work: LeaderWork | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Etcd3,
    readonly id: string,
    /** This server's address, when it serves the API (absent in election-only uses). */
    private readonly advertise?: () => Omit<LeaderAddress, 'id'>,
  ) {}

  run(work: LeaderWork): void {
    this.work = work;
    this.campaignOnce();
  }

  /** The elected server's id, or undefined when none is. */
  async leader(): Promise<string | undefined> {
    return (await this.address())?.id;
  }

  async address(): Promise<LeaderAddress | undefined> {
    const value = await this.client.election(ELECTION, LEASE_SECONDS).leader();
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as LeaderAddress;
    } catch {
      return { id: value, url: '', certPem: '' };
    }
  }

  /** Publishes this server's address again (its certificate changed), whether it leads yet or not. */
  async republish(): Promise<void> {
    await this.campaign?.proclaim(this.value()).catch(() => undefined);
  }

  private value(): string {
    return this.advertise ? JSON.stringify({ ...this.advertise(), id: this.id }) : this.id;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.demote('server stopping');
    // Resigning lets another server take over at once instead of after the lease expires.
    await this.campaign?.resign().catch(() => undefined);
  }

  /**
   * One campaign at a time. A campaign that failed, or that no longer is this server's, is resigned:
   * etcd3's Campaign can report one failure twice (its lease lost, then its start), and a second
   * retry left a live campaign nobody answered for. Once elected it held the line, so no server of
   * the vDC led again (an appliance seen leaderless after its member was slow to answer).
   */
  private campaignOnce(): void {
    const campaign = this.client.election(ELECTION, LEASE_SECONDS).campaign(this.value());
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.closed || this.campaign !== campaign) {
        void campaign.resign().catch(() => undefined);
        return;
      }
      this.isLeader = true;
      // The certificate may have changed while it waited in line (proclaim skips an equal value).
      void this.republish();
      log.info('elected leader of the vDC: starting host connections and schedules', { id: this.id });
      this.work?.start();
    });
    campaign.on('error', (err: Error) => {
      if (this.campaign !== campaign) return;
      this.campaign = undefined;
      void campaign.resign().catch(() => undefined);
      this.demote(err.message);
      if (this.closed) return;
      // The lease is gone (etcd unreachable or no quorum): campaign again once it answers.
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.campaignOnce(), 1000);
      this.retry.unref();
    });
  }

  private demote(reason: string): void {
    if (!this.isLeader) return;
    this.isLeader = false;
    log.warn('no longer the leader of the vDC: host connections and schedules stopped', { id: this.id, reason });
    this.work?.stop();
  }
}
