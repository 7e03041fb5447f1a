// Child process for the OVA benchmark: a real test agent in its own process so its peak RSS can
// be measured alone. Tells the parent where it listens and the CA to issue a client certificate
// from; answers "rss" with its peak RSS; exits on "stop". QX_BENCH_H2_WINDOW=1 enlarges the
// HTTP/2 receive windows (an experiment for agent/src/grpc/server.ts; grpc-js has no option).
import type { Http2SecureServer } from 'node:http2';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';

const agent = await startTestAgent();
if (process.env.QX_BENCH_H2_WINDOW) {
  const servers = (agent.server.server as unknown as { http2Servers: Map<Http2SecureServer, unknown> }).http2Servers;
  for (const s of servers.keys()) {
    s.on('session', (session) => {
      session.settings({ initialWindowSize: 8 * 2 ** 20 });
      session.setLocalWindowSize(32 * 2 ** 20);
    });
  }
}
process.send!({ address: agent.address, dataDir: agent.dataDir, ca: agent.ca });
process.on('message', (m: string) => {
  if (m === 'rss') process.send!({ maxRssKiB: process.resourceUsage().maxRSS });
  if (m === 'stop') void agent.stop().then(() => process.exit(0));
});
