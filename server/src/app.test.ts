// Enumerates the router: every operation and websocket refuses callers without credentials
// (401), viewers on mutations (403) and cookie sessions without the CSRF header (403); the
// OpenAPI document lists exactly the routes the router serves; bodies are validated by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { operations, sockets } from './openapi.js';
import { startTestServer, type TestServer } from './test-support/test-server.js';
import { metricSample } from './test-support/prometheus-text.js';

const concrete = (path: string) => path.replace(/:([A-Za-z]+)/g, 'qxt-srv-$1');
const SELF_SERVICE = new Set(['logout', 'changePassword']);

function wsStatus(s: TestServer, path: string, opts: { cookie?: string; origin?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${s.running.port}${path}`, {
      ca: s.services.certificate.current.certPem,
      headers: opts.cookie ? { Cookie: opts.cookie } : {},
      origin: opts.origin ?? s.base,
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', (e) => reject(e));
  });
}

test('qxt-srv router: auth, roles, CSRF and the OpenAPI document', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const anon = s.client();
  const viewer = await s.userWithRole('viewer');

  await t.test('every non-public operation without credentials → 401', async () => {
    for (const op of operations.filter((o) => o.role !== 'public')) {
      const r = await anon.request(op.method, concrete(op.path));
      assert.equal(r.status, 401, `${op.method} ${op.path}: ${r.text}`);
      assert.ok((r.json as { error: { message: string } }).error.message, `${op.id} has an error message`);
    }
  });

  await t.test('a viewer gets 403 on every mutation above viewer', async () => {
    for (const op of operations.filter((o) => o.method !== 'GET' && o.role !== 'public' && o.role !== 'viewer')) {
      const r = await viewer.request(op.method, concrete(op.path), { body: {} });
      assert.equal(r.status, 403, `${op.method} ${op.path}: ${r.text}`);
    }
  });

  await t.test('a viewer cannot read guest data (volume download, OVA export)', async () => {
    for (const op of operations.filter((o) => o.method === 'GET' && o.role !== 'viewer' && o.role !== 'public')) {
      assert.equal((await viewer.request('GET', concrete(op.path))).status, 403, op.path);
    }
    assert.deepEqual(
      operations
        .filter((o) => o.method === 'GET' && o.role === 'operator')
        .map((o) => o.id)
        .sort(),
      ['downloadVolume', 'exportVm'],
    );
  });

  await t.test('a cookie session without the CSRF header gets 403 on every mutation', async () => {
    for (const op of operations.filter((o) => o.method !== 'GET' && o.role !== 'public')) {
      const r = await s.admin.request(op.method, concrete(op.path), { body: {}, noCsrf: true });
      assert.equal(r.status, 403, `${op.method} ${op.path}: ${r.text}`);
      assert.match(r.text, /X-CSRF-Token/);
    }
  });

  await t.test('viewer-level mutations (logout, own password) still need CSRF but not a higher role', () => {
    assert.deepEqual(
      operations
        .filter((o) => o.method !== 'GET' && o.role === 'viewer')
        .map((o) => o.id)
        .sort(),
      [...SELF_SERVICE].sort(),
    );
  });

  await t.test('every websocket without credentials → 401, as viewer → 403, unknown path → 404', async () => {
    for (const ws of sockets) {
      assert.equal(await wsStatus(s, `${concrete(ws.path)}?ticket=x`), 401, ws.path);
      assert.equal(await wsStatus(s, `${concrete(ws.path)}?ticket=x`, { cookie: viewer.cookie }), 403, ws.path);
      assert.equal(
        await wsStatus(s, `${concrete(ws.path)}?ticket=bogus`, { cookie: s.admin.cookie }),
        401,
        `${ws.path} bad ticket`,
      );
      assert.equal(
        await wsStatus(s, `${concrete(ws.path)}?ticket=x`, { cookie: s.admin.cookie, origin: 'https://evil.example' }),
        403,
        `${ws.path} foreign origin`,
      );
    }
    assert.equal(await wsStatus(s, '/api/v1/nothing-here', { cookie: s.admin.cookie }), 404);
  });

  await t.test('the OpenAPI document matches the router', async () => {
    const r = await anon.request<{ paths: Record<string, Record<string, { 'x-qx-websocket'?: boolean }>> }>(
      'GET',
      '/api/v1/openapi.json',
    );
    assert.equal(r.status, 200);
    const documented = new Set<string>();
    for (const [path, methods] of Object.entries(r.json.paths)) {
      for (const [m, item] of Object.entries(methods))
        if (!item['x-qx-websocket']) documented.add(`${m.toUpperCase()} ${path}`);
    }
    const routed = new Set<string>();
    for (const layer of s.running.app.router.stack) {
      for (const m of layer.methods.filter((x) => x !== 'HEAD'))
        routed.add(`${m} ${String(layer.path).replace(/:([A-Za-z]+)/g, '{$1}')}`);
    }
    assert.deepEqual([...routed].sort(), [...documented].sort());
    const wsDocumented = Object.entries(r.json.paths)
      .filter(([, m]) => m.get?.['x-qx-websocket'])
      .map(([p]) => p)
      .sort();
    assert.deepEqual(wsDocumented, sockets.map((w) => w.path.replace(/:([A-Za-z]+)/g, '{$1}')).sort());
  });

  await t.test('bodies are validated with the field named; unknown routes are 404 JSON', async () => {
    let r = await s.admin.request('POST', '/api/v1/clusters', { body: { name: 5 } });
    assert.equal(r.status, 400);
    assert.deepEqual((r.json as { error: { field: string } }).error.field, 'name');
    r = await s.admin.request('POST', '/api/v1/clusters', { body: { name: 'qxt-srv-a', colour: 'red' } });
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: { field: string } }).error.field, 'colour');
    r = await s.admin.request('POST', '/api/v1/vms', {
      body: { name: 'qxt-srv-vm', pool: 'p', memoryMib: 128, disks: [{ sizeBytes: 'big' }] },
    });
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: { field: string } }).error.field, 'disks[0].sizeBytes');
    r = await s.admin.request('POST', '/api/v1/vms/qxt-srv-missing/shutdown');
    assert.equal(r.status, 404, 'an all-optional body may be left out');
    r = await s.admin.request('POST', '/api/v1/clusters');
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: { field: string } }).error.field, 'body');
    r = await s.admin.request('GET', '/api/v1/no-such-thing');
    assert.equal(r.status, 404);
    r = await s.admin.request('GET', '/api/v1/vms/qxt-srv-missing');
    assert.equal(r.status, 404);
    assert.match(r.text, /VM qxt-srv-missing not found/);
  });

  await t.test('mutations are audited with user, action and result', async () => {
    const r = await s.admin.request<{ user: string; action: string; result: string }[]>(
      'GET',
      '/api/v1/audit?limit=1000',
    );
    assert.equal(r.status, 200);
    assert.ok(r.json.some((e) => e.action === 'createCluster' && e.result === 'error' && e.user === 'admin'));
    assert.ok(r.json.some((e) => e.action === 'createUser' && e.result === 'ok'));
    assert.ok(
      !r.json.some((e) => e.user === '-'),
      'requests refused without credentials are counted, not audited one by one',
    );
    const m = await s.admin.request('GET', '/metrics');
    const refused = metricSample(
      m.text,
      'quantix_unauthenticated_requests_total{reason="no-credentials",status="401"}',
    );
    assert.ok(
      refused >= operations.filter((o) => o.role !== 'public').length,
      `refusals counted in /metrics (${refused})`,
    );
  });

  await t.test('HTTPS answers carry HSTS; JSON bodies over 1 MiB are refused', async () => {
    const r = await anon.request('GET', '/api/v1/health');
    assert.match(String(r.headers['strict-transport-security']), /max-age=/);
    const big = await s.admin.request('POST', '/api/v1/clusters', { body: { name: 'x'.repeat(1_100_000) } });
    assert.equal(big.status, 413);
  });
});
