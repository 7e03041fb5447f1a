// Every operation of the OpenAPI document the server serves is called by UI code (#22): each
// operation is matched by method and path template against the calls found in ui/src
// (ui-api-calls.ts), made from a function some page uses. A short allow-list names the
// machine-only ones with the reason; a stale entry (covered now, or gone) fails too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildOpenApi } from '../../server/src/openapi.js';
import { findUiCalls, pathMatches } from './ui-api-calls.js';

const UI_SRC = fileURLToPath(new URL('../../ui/src', import.meta.url));

/** operationId → why no UI code calls it. */
const MACHINE_ONLY: Record<string, string> = {
  getHealth: 'liveness probe for load balancers, the appliance status screen and test harnesses',
  getOpenApi: 'the contract for API clients and generators, not for the browser',
  getMetrics: 'Prometheus scrape endpoint (text exposition format)',
  addControlPlaneMember:
    "a joining appliance's server calls it with the one-time join token (services/controlplane-service.ts join)",
  listVms: 'every VM in one reply, for the qx CLI and scripts; the UI pages through listVmPage (#23)',
  sendUpload: 'the UI PUTs to the one-time uploadUrl the open-upload reply hands out (ui/src/api/upload.ts sendFile)',
  openConsole: 'websocket opened at the URL the console ticket names (ui/src/controllers/console-socket.ts)',
  openShell: 'websocket opened at the URL the shell ticket names (ui/src/controllers/console-socket.ts)',
  openGraphics:
    'websocket opened by noVNC at the URL the graphics ticket names (ui/src/components/console/qx-vnc-console.ts)',
};

interface DocOp {
  id: string;
  method: string;
  path: string;
  role: string;
}

function documentOperations(): DocOp[] {
  const doc = buildOpenApi('coverage') as { paths: Record<string, Record<string, Record<string, unknown>>> };
  const out: DocOp[] = [];
  for (const [path, items] of Object.entries(doc.paths)) {
    for (const [method, item] of Object.entries(items)) {
      out.push({
        id: String(item.operationId),
        method: method.toUpperCase(),
        path: path.replace(/\{([A-Za-z]+)\}/g, ':$1'),
        role: String(item['x-qx-role']),
      });
    }
  }
  return out;
}

test('every API operation is called by UI code some page uses', async () => {
  const ops = documentOperations();
  const calls = await findUiCalls(UI_SRC);
  const coveredBy = (op: DocOp) =>
    calls.filter((c) => c.used && c.method === op.method && pathMatches(c.path, op.path));

  const uncovered = ops.filter((op) => !(op.id in MACHINE_ONLY) && coveredBy(op).length === 0);
  const unusedOnly = uncovered.flatMap((op) => {
    const defined = calls.filter((c) => c.method === op.method && pathMatches(c.path, op.path));
    return defined.length ? [`${op.id}: ${defined.map((c) => `${c.owner} (${c.at})`).join(', ')}`] : [];
  });
  assert.deepEqual(
    uncovered.map((op) => `${op.method} ${op.path} (${op.id}, role ${op.role})`),
    [],
    `operations no UI code calls${unusedOnly.length ? `; defined in ui/src/api but used by no page: ${unusedOnly.join('; ')}` : ''}`,
  );

  const stale = Object.keys(MACHINE_ONLY).flatMap((id) => {
    const op = ops.find((o) => o.id === id);
    if (!op) return [`${id}: no such operation any more`];
    const by = coveredBy(op);
    return by.length ? [`${id}: called by the UI at ${by.map((c) => c.at).join(', ')}`] : [];
  });
  assert.deepEqual(stale, [], 'stale entries in the machine-only allow-list');

  // Every call the UI makes is an operation of the contract (a typo in a path is caught here).
  const unknown = calls.filter((c) => !ops.some((op) => op.method === c.method && pathMatches(c.path, op.path)));
  assert.deepEqual(
    unknown.map((c) => `${c.method} ${c.path} at ${c.at}`),
    [],
    'UI calls that match no operation',
  );
});

test('the call finder resolves path helpers and skips forwarding wrappers', async () => {
  const calls = await findUiCalls(UI_SRC);
  assert.ok(
    calls.some((c) => c.method === 'GET' && c.path === '/api/v1/vms/{}/snapshots'),
    'vmPath(id) inlined into the snapshots call',
  );
  assert.ok(!calls.some((c) => c.path.includes('undefined')), 'no unresolved helper');
  assert.ok(pathMatches('/api/v1/vms/{}/start', '/api/v1/vms/:id/start'));
  assert.ok(!pathMatches('/api/v1/vms/{}/{}', '/api/v1/vms/:id/start'), 'a dynamic segment never covers a literal one');
});
