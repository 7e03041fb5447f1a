// Route: the body of an opened upload (the open is the resource's own operation).
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { uploadOperations } from '../dto/uploads.js';
import { requireLength } from './upload-length.js';

export function uploadHandlers(s: Services): HandlersOf<typeof uploadOperations> {
  return {
    sendUpload: ({ params, ctx, principal }) =>
      s.uploads.receive(params.uploadId, principal.user.id, requireLength(ctx), ctx.req),
  };
}
