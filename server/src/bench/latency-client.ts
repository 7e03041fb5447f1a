// Load generator for api.bench.ts, run as its own process (like a browser would be): GETs a
// path N times over HTTPS keep-alive with the given cookie, accepting gzip like a browser and
// decompressing the reply (counted in the time), prints p50/p95.
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';

const [base, caFile, cookie, path, samplesArg] = process.argv.slice(2) as [string, string, string, string, string];
const samples = Number(samplesArg);
const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(caFile, 'utf8') });

function get(): Promise<{ ms: number; bytes: number; status: number }> {
  const t = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      { agent, headers: { Cookie: cookie, 'Accept-Encoding': 'gzip' } },
      (res) => {
        let bytes = 0;
        const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
        body.on('data', (c: Buffer) => (bytes += c.length));
        body.on('end', () =>
          resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, bytes, status: res.statusCode ?? 0 }),
        );
        body.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

for (let i = 0; i < 10; i++) await get();
const times: number[] = [];
let bytes = 0;
for (let i = 0; i < samples; i++) {
  const r = await get();
  if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
  times.push(r.ms);
  bytes = r.bytes;
}
times.sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({ p50: times[Math.floor(samples * 0.5)], p95: times[Math.floor(samples * 0.95)], bytes })}\n`,
);
agent.destroy();
