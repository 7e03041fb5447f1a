// EnrollService/Join: a server that knows the join token hands over its CA, once, while this host
// is joined to no vDC; HostService/Leave (mutual TLS: only that vDC can call it) releases the host.
// The rules live in identity/vdc-membership.ts; client-auth.ts serves clients of the joined CA.
import type { EnrollServiceServer, HostServiceServer } from '@quantix/proto/v1/host.js';
import type { AgentContext } from '../context.js';
import { log } from '../log.js';
import { forgetAgentCertificate } from '../identity/agent-certificate.js';
import { unary } from './unary.js';
import { readHostInfo } from '../host/host-info.js';

export function enrollHandlers(ctx: AgentContext): EnrollServiceServer {
  return {
    join: unary(async (req) => {
      try {
        await ctx.membership.join(req.joinToken, req.caCertificatePem, req.vdcId);
      } catch (err) {
        log.warn('join refused', { vdcId: req.vdcId, error: err instanceof Error ? err.message : String(err) });
        throw err;
      }
      log.info('joined a vDC', { vdcId: req.vdcId, caFingerprint: ctx.membership.ca?.fingerprint256 });
      return { host: await readHostInfo(ctx) };
    }),
  };
}

/** HostService/Leave: the vDC removed this host; a fresh join token appears on its console. */
export function leaveHandler(ctx: AgentContext): HostServiceServer['leave'] {
  return unary(async (req) => {
    const was = ctx.membership.describe();
    const token = await ctx.membership.leave();
    await forgetAgentCertificate(ctx.config.dataDir);
    log.info('left the vDC: it removed this host', { vdc: was, askedBy: req.vdcId, tokenExpiresAt: token.expiresAt });
    return {};
  });
}
