// Child process for the OVA benchmark: a real test agent in its own process so its peak RSS can
// be measured alone. Tells the parent where it listens and the CA to issue a client certificate
// from; answers "rss" with its peak RSS; exits on "stop".
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';

const agent = await startTestAgent();
process.send!({ address: agent.address, dataDir: agent.dataDir, ca: agent.ca });
process.on('message', (m: string) => {
  if (m === 'rss') process.send!({ maxRssKiB: process.resourceUsage().maxRSS });
  if (m === 'stop') void agent.stop().then(() => process.exit(0));
});
