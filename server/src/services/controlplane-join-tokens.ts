// One-time join tokens of the control plane (#23), kept in etcd itself: any server of the control
// plane takes a token another one issued, and a restart loses none. Each is one key named by the
// token's SHA-256 (etcd never holds the token), on a lease that ends it after 30 minutes; taking it
// is a transaction that deletes the key only if it is still there, so two servers given the same
// token at once accept it once.
import { createHash, randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { forbidden, unavailable } from '../errors.js';

const PREFIX = '/quantix/controlplane/join-tokens/';
export const JOIN_TOKEN_SECONDS = 30 * 60;

const keyOf = (token: string) => PREFIX + createHash('sha256').update(token).digest('hex');

/** etcd's own failure (quorum lost, no endpoint) as the 503 the store's writes give. */
function etcdDown(err: unknown): never {
  throw unavailable(`the control plane's etcd did not answer: ${err instanceof Error ? err.message : String(err)}`);
}

/** Issues a token valid JOIN_TOKEN_SECONDS; resolves once etcd has committed it. */
export async function issueJoinToken(client: Etcd3): Promise<{ token: string; expiresAt: string }> {
  const token = randomBytes(24).toString('base64url');
  const expiresAt = new Date(Date.now() + JOIN_TOKEN_SECONDS * 1000).toISOString();
  // No keep-alive: the lease (and with it the key) ends on its own when the token expires.
  const lease = client.lease(JOIN_TOKEN_SECONDS, { autoKeepAlive: false });
  try {
    await lease.put(keyOf(token)).value(JSON.stringify({ expiresAt }));
  } catch (err) {
    etcdDown(err);
  } finally {
    lease.release();
  }
  return { token, expiresAt };
}

/** Takes `token` for good; refuses (403) one that was never issued, was taken already or expired. */
export async function takeJoinToken(client: Etcd3, token: string): Promise<void> {
  const key = keyOf(token);
  const taken = await client.if(key, 'Create', '>', 0).then(client.delete().key(key)).commit().catch(etcdDown);
  if (!taken.succeeded)
    throw forbidden('token: not a valid join token of this control plane (one-time, 30 minutes; issue a new one)');
}
