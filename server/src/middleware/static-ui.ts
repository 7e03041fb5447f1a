// Serves the built UI (ui/dist) for every non-API GET; unknown paths get index.html (client-side
// routing). Paths are resolved inside the UI directory only.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { Context, Next } from 'koa';

export function staticUi(dir: string) {
  const root = normalize(dir + sep);
  return async (ctx: Context, next: Next): Promise<void> => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.path.startsWith('/api/') || ctx.path === '/metrics') return next();
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
    ctx.length = info.size;
    ctx.set('Cache-Control', file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.body = createReadStream(file);
  };
}
