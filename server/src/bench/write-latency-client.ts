// Load generator for history.bench.ts, run as its own process (as a browser or script would be):
// against each target server in turn, sample by sample (so both see the same machine load),
// creates and deletes a cluster over HTTPS keep-alive, timing the create (an audited db write).
// Reads the targets as JSON on argv; prints each target's sorted times in ms as JSON.
import { Agent, request } from 'node:https';

interface Target {
  tag: string;
  base: string;
  caPem: string;
  cookie: string;
  csrf: string;
}

const [targetsJson, samplesArg] = process.argv.slice(2) as [string, string];
const targets = (JSON.parse(targetsJson) as Target[]).map((t) => ({
  ...t,
  agent: new Agent({ keepAlive: true, maxSockets: 1, ca: t.caPem }),
}));
const samples = Number(samplesArg);

function call(
  t: (typeof targets)[number],
  method: string,
  path: string,
  body?: unknown,
): Promise<{ ms: number; status: number; text: string }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { Cookie: t.cookie, 'X-CSRF-Token': t.csrf };
  if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) });
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, t.base), { method, agent: t.agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode ?? 0, text }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function createAndDelete(t: (typeof targets)[number], name: string): Promise<number> {
  const created = await call(t, 'POST', '/api/v1/clusters', { name });
  if (created.status !== 201) throw new Error(`${t.tag}: create cluster: HTTP ${created.status} ${created.text}`);
  const { id } = JSON.parse(created.text) as { id: string };
  const deleted = await call(t, 'DELETE', `/api/v1/clusters/${id}`);
  if (deleted.status !== 204) throw new Error(`${t.tag}: delete cluster: HTTP ${deleted.status} ${deleted.text}`);
  return created.ms;
}

for (let i = 0; i < 10; i++) for (const t of targets) await createAndDelete(t, `qxt-bench-warm${i}`);
const times: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.tag, []]));
for (let i = 0; i < samples; i++) {
  // Alternate which target goes first, so neither always follows the other's write.
  const order = i % 2 ? [...targets].reverse() : targets;
  for (const t of order) times[t.tag]!.push(await createAndDelete(t, `qxt-bench-${i}`));
}
for (const t of targets) t.agent.destroy();
process.stdout.write(
  `${JSON.stringify(Object.fromEntries(Object.entries(times).map(([k, v]) => [k, v.sort((a, b) => a - b)])))}\n`,
);
