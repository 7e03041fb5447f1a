// The REST contract: every operation and websocket of the server in one list, and the OpenAPI 3.1
// document built from it (served at /api/v1/openapi.json). app.ts refuses to start unless every
// operation has a handler, and openapi.test.ts checks the router against this document.
import { toJsonSchema, type JsonSchema } from './schema/schema.js';
import type { Operation, SocketEndpoint } from './dto/operation.js';
import { ErrorDto } from './dto/common.js';
import { authOperations } from './dto/auth.js';
import { userOperations } from './dto/users.js';
import { hostOperations } from './dto/hosts.js';
import { vmOperations } from './dto/vms.js';
import { storageOperations } from './dto/storage.js';
import { networkOperations } from './dto/networks.js';
import { clusterNetworkOperations } from './dto/cluster-networks.js';
import { templateOperations } from './dto/templates.js';
import { taskOperations } from './dto/tasks.js';
import { uploadOperations } from './dto/uploads.js';
import { eventOperations } from './dto/events.js';
import { applianceOperations } from './dto/appliance.js';
import { applianceUpdateOperations } from './dto/appliance-update.js';
import { migrationOperations } from './dto/migrations.js';
import { backupOperations } from './dto/backups.js';
import { controlPlaneOperations } from './dto/controlplane.js';
import { backupTargetOperations } from './dto/backup-targets.js';
import { SSE_EVENTS, socketEndpoints, systemOperations } from './dto/system.js';

export const operations: readonly Operation[] = [
  ...systemOperations,
  ...authOperations,
  ...userOperations,
  ...hostOperations,
  ...vmOperations,
  ...storageOperations,
  ...networkOperations,
  ...clusterNetworkOperations,
  ...templateOperations,
  ...taskOperations,
  ...uploadOperations,
  ...eventOperations,
  ...applianceOperations,
  ...applianceUpdateOperations,
  ...migrationOperations,
  ...backupOperations,
  ...controlPlaneOperations,
  ...backupTargetOperations,
];

export const sockets: readonly SocketEndpoint[] = socketEndpoints;

export const SESSION_COOKIE = 'qx_session';
export const CSRF_HEADER = 'X-CSRF-Token';

/** Koa path (/vms/:id) → OpenAPI path (/vms/{id}). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, '{$1}');
}

function pathParams(path: string): JsonSchema[] {
  return [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

const errorResponses = (op: { role: string; method?: string }) => {
  const ref = { content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorDto' } } } };
  const out: Record<string, unknown> = { '400': { description: 'invalid input (error.field names it)', ...ref } };
  if (op.role !== 'public') {
    out['401'] = { description: 'not signed in', ...ref };
    out['403'] = { description: 'role too low, or CSRF header missing on a mutating request', ...ref };
  }
  out['404'] = { description: 'not found', ...ref };
  out['409'] = { description: 'conflicts with the current state', ...ref };
  out['503'] = { description: 'the host is offline ("host X is offline")', ...ref };
  return out;
};

/** Builds the OpenAPI 3.1 document. */
export function buildOpenApi(version: string): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  toJsonSchema(ErrorDto, components, false);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const item: Record<string, unknown> = {
      operationId: op.id,
      tags: [op.tag],
      summary: op.summary,
      'x-qx-role': op.role,
      security: op.role === 'public' ? [] : [{ session: [] }, { bearer: [] }],
      parameters: [...pathParams(op.path), ...queryParams(op, components)],
      responses: { [String(op.status)]: successResponse(op, components), ...errorResponses(op) },
    };
    if (op.description) item.description = op.description;
    if (op.body === 'stream') {
      item.requestBody = {
        required: true,
        content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
      };
    } else if (op.body) {
      item.requestBody = {
        required: true,
        content: { 'application/json': { schema: toJsonSchema(op.body, components, false) } },
      };
    }
    (paths[openApiPath(op.path)] ??= {})[op.method.toLowerCase()] = item;
  }
  for (const ws of sockets) {
    (paths[openApiPath(ws.path)] ??= {}).get = {
      operationId: ws.id,
      tags: [ws.tag],
      summary: ws.summary,
      description: ws.description,
      'x-qx-role': ws.role,
      'x-qx-websocket': true,
      parameters: [...pathParams(ws.path), { name: 'ticket', in: 'query', required: true, schema: { type: 'string' } }],
      responses: { '101': { description: 'Switching Protocols (websocket)' } },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Quantix-vDC API',
      version,
      description: [
        'Auth: GET /api/v1/setup/status; while needsSetup, POST /api/v1/setup {username, password, setupCode} creates the first admin',
        '(setupCode: the one-time code on the appliance console, in <dataDir>/setup-code; 403 field setupCode without it).',
        'Sign-in and setup attempts are limited per user and source address: 429 with Retry-After while locked out.',
        `POST /api/v1/auth/login sets the HttpOnly cookie "${SESSION_COOKIE}" and returns {user, csrfToken};`,
        `send the token as header "${CSRF_HEADER}" on every POST/PUT/PATCH/DELETE made with the cookie.`,
        'API tokens: "Authorization: Bearer <secret>" (no CSRF header needed).',
        'Errors: {error: {message, field?}}. Long operations: 202 + TaskDto, progress over SSE.',
        'Uploads: POST …/uploads {…, sizeBytes} → 202 {task, uploadUrl}; PUT the raw file to uploadUrl (same user, Content-Length = sizeBytes) → the finished task.',
        `SSE /api/v1/events names: ${Object.entries(SSE_EVENTS)
          .map(([k, v]) => `${k} (${v})`)
          .join('; ')}.`,
        'Console/shell: POST …/console-ticket or …/shell-ticket → {ticket, url}; open wss://<host><url> with the cookie.',
      ].join('\n'),
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}

function queryParams(op: Operation, components: Record<string, JsonSchema>): JsonSchema[] {
  if (!op.query?.props) return [];
  return Object.entries(op.query.props).map(([name, s]) => ({
    name,
    in: 'query',
    required: !s.optional,
    schema: toJsonSchema(s, components, false),
  }));
}

function successResponse(op: Operation, components: Record<string, JsonSchema>): unknown {
  const description = op.status === 202 ? 'accepted: follow the task' : 'ok';
  if (!op.response) return { description };
  if (op.response === 'stream')
    return { description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
  if (op.response === 'sse') return { description, content: { 'text/event-stream': { schema: { type: 'string' } } } };
  if (op.response === 'text') return { description, content: { 'text/plain': { schema: { type: 'string' } } } };
  return { description, content: { 'application/json': { schema: toJsonSchema(op.response, components, false) } } };
}
