// EnrollService: a server that knows the one-time join token hands over its CA; from then on
// only clients with certificates from that CA are served (see client-auth.ts).
import type { EnrollServiceServer } from '@quantix/proto/v1/host.js';
import { X509Certificate } from 'node:crypto';
import type { AgentContext } from '../context.js';
import { AgentError, ErrorCode, invalidArgument } from '../errors.js';
import { saveVdcCa } from '../identity/agent-identity.js';
import { log } from '../log.js';
import { unary } from './unary.js';
import { readHostInfo } from './host-info.js';

export function enrollHandlers(ctx: AgentContext): EnrollServiceServer {
  return {
    join: unary(async (req) => {
      let ca: X509Certificate;
      try {
        ca = new X509Certificate(req.caCertificatePem);
      } catch {
        throw invalidArgument('ca_certificate_pem', 'not a PEM certificate');
      }
      if (!ca.ca) throw invalidArgument('ca_certificate_pem', 'the certificate is not a CA');
      if (!(await ctx.joinToken.consume(req.joinToken))) {
        log.warn('join refused: wrong token');
        throw new AgentError(
          ErrorCode.PermissionDenied,
          'the join token is wrong or was already used; read the current token on the host',
        );
      }
      await saveVdcCa(ctx.config.dataDir, req.caCertificatePem);
      ctx.trustCa(req.caCertificatePem);
      log.info('joined a vDC', { vdcId: req.vdcId, caFingerprint: ca.fingerprint256 });
      return { host: await readHostInfo(ctx) };
    }),
  };
}
