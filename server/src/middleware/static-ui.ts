// Serves the built UI (ui/dist) for every non-API GET; unknown paths get index.html (client-side
// routing). Paths are resolved inside the UI directory only. Text assets go out gzipped when the
// browser accepts it (compressed once per file version and kept in memory: the UI is small).
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { extname, join, normalize, sep } from 'node:path';
import type { Context, Next } from 'koa';

const COMPRESSIBLE = new Set(['.js', '.css', '.html', '.svg', '.json', '.txt']);
const gzipAsync = promisify(gzip);

/** Gzipped bytes of `file` as of `mtimeMs`, compressed on first use. */
function gzipCache() {
  const cache = new Map<string, { mtimeMs: number; body: Promise<Buffer> }>();
  return (file: string, mtimeMs: number): Promise<Buffer> => {
    const hit = cache.get(file);
    if (hit?.mtimeMs === mtimeMs) return hit.body;
    const body = readFile(file).then((raw) => gzipAsync(raw, { level: 9 }));
    body.catch(() => cache.delete(file));
    cache.set(file, { mtimeMs, body });
    return body;
  };
}

export function staticUi(dir: string) {
  const root = normalize(dir + sep);
  const gzipped = gzipCache();
  return async (ctx: Context, next: Next): Promise<void> => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.path.startsWith('/api/') || ctx.path === '/metrics')
      return next();
    let rel: string;
    try {
      rel = decodeURIComponent(ctx.path);
    } catch {
      return next();
    }
    let file = normalize(join(root, rel));
    if (!file.startsWith(root)) return next();
    let info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      file = join(root, 'index.html');
      info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) {
        ctx.status = 404;
        ctx.type = 'text/plain';
        ctx.body = `the UI is not built (no ${file}): run npm run -w @quantix/ui build`;
        return;
      }
    }
    ctx.type = extname(file) || 'application/octet-stream';
    ctx.set('Cache-Control', file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (COMPRESSIBLE.has(extname(file))) {
      ctx.vary('Accept-Encoding');
      if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
        const body = await gzipped(file, info.mtimeMs);
        ctx.set('Content-Encoding', 'gzip');
        ctx.length = body.length;
        ctx.body = body;
        return;
      }
    }
    ctx.length = info.size;
    ctx.body = createReadStream(file);
  };
}
