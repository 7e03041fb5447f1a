// Child process of api.bench.ts: starts N FakeAgents (bench only) sharing one self-signed
// certificate and prints one JSON line {certPem, agents: [{port, hostId}]} when all listen.
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { FakeAgent } from './fake-agent.js';

const count = Number(process.argv[2] ?? 100);
const vms = Number(process.argv[3] ?? 100);
const identity = await createSelfSigned({
  commonName: 'FakeAgent',
  ipAddresses: ['127.0.0.1'],
  days: 1,
  usages: ['server'],
});
const agents = Array.from({ length: count }, (_, i) => new FakeAgent(identity, i, vms));
await Promise.all(agents.map((a) => a.start()));
process.stdout.write(
  `${JSON.stringify({ certPem: identity.certPem, agents: agents.map((a) => ({ port: a.port, hostId: a.hostId })) })}\n`,
);
process.on('SIGTERM', () => {
  for (const a of agents) a.stop();
  process.exit(0);
});
