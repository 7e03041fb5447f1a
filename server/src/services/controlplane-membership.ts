// Changes to an etcd cluster's membership for a control-plane join: a learner added, promoted to a
// voter once it has caught up, or removed again. Each call copes with the answers a busy cluster gives
// (refusals while a change settles, answers lost after etcd applied the change).
import type { Etcd3 } from 'etcd3';
import { createEtcdClient } from '../store/etcd-client.js';

const PROMOTE_MS = 60_000;

/** Removes a member; one etcd no longer finds is gone already. */
export async function removeMember(client: Etcd3, id: string): Promise<void> {
  await client.cluster.memberRemove({ ID: id }).catch((err: unknown) => {
    if (!/member not found/i.test((err as Error).message)) throw err;
  });
}

/**
 * Adds `peerUrl` as a learner and returns its member id, on a client of its own without a circuit
 * breaker (an UNAVAILABLE answer opened the store client's, which refused the retries and made the
 * server refuse writes). Retried for up to 20 s: etcd answered 'member not found' right after the
 * removal of a learner at the same URL, 'unhealthy cluster' right after a promotion, and 'peer URL
 * exists' while a removal settles; a learner found listed at the URL meanwhile is the one added.
 */
export async function addLearner(config: Parameters<typeof createEtcdClient>[0], peerUrl: string): Promise<string> {
  const client = createEtcdClient(config, { breaker: false });
  try {
    for (const by = Date.now() + 20_000; ;) {
      try {
        return (await client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: true })).member.ID;
      } catch (err) {
        const message = (err as Error).message;
        if (!/member not found|peer ?urls? already exists|unhealthy cluster/i.test(message) || Date.now() > by)
          throw err;
        const { members } = await client.cluster.memberList({});
        const listed = members.find((m) => m.peerURLs.includes(peerUrl) && !m.name && m.isLearner);
        if (listed && /member not found/i.test(message)) return listed.ID;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    client.close();
  }
}

/**
 * Promotes the learner once it has caught up (etcd refuses until then); closes `client`. A promotion
 * whose answer was lost (a busy cluster: the call timed out after etcd applied it) made it a voter,
 * which etcd then refuses to promote again: a voter is what this waits for, so that is done.
 */
export async function promote(client: Etcd3, memberId: string): Promise<void> {
  const id = BigInt(`0x${memberId}`).toString();
  const deadline = Date.now() + PROMOTE_MS;
  try {
    for (;;) {
      try {
        await client.cluster.memberPromote({ ID: id });
        return;
      } catch (err) {
        const { members } = await client.cluster.memberList({ linearizable: true }).catch(() => ({ members: [] }));
        if (members.some((m) => m.ID === id && !m.isLearner)) return;
        if (Date.now() > deadline)
          throw new Error(`the member was not promoted: ${(err as Error).message}`, { cause: err });
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    client.close();
  }
}
