import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Koa from 'koa';
import { staticUi } from './static-ui.js';

function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

test('the UI is served gzipped to browsers that accept it, plain otherwise, and never outside its folder', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'qxt-srv-static-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'dist');
  await mkdir(join(dir, 'assets'), { recursive: true });
  const js = `export const x = "${'quantix '.repeat(2000)}";\n`;
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Quantix</title>');
  await writeFile(join(dir, 'assets', 'app.js'), js);
  await writeFile(join(base, 'secret.txt'), 'not for the web');

  const app = new Koa().use(staticUi(dir));
  const server = app.listen(0, '127.0.0.1');
  t.after(() => server.close());
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;

  const zipped = await get(port, '/assets/app.js', { 'Accept-Encoding': 'gzip, deflate, br' });
  assert.equal(zipped.status, 200);
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.match(String(zipped.headers.vary), /Accept-Encoding/);
  assert.ok(zipped.body.length < js.length / 10, `gzipped ${zipped.body.length} bytes of ${js.length}`);
  assert.equal(gunzipSync(zipped.body).toString(), js);

  const plain = await get(port, '/assets/app.js');
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.body.toString(), js);

  // Client-side routes fall back to index.html; traversal never leaves the UI folder.
  assert.match((await get(port, '/vms/123')).body.toString(), /<title>Quantix<\/title>/);
  const escape = await get(port, '/..%2fsecret.txt');
  assert.doesNotMatch(escape.body.toString(), /not for the web/);
});
