// Routes: A/B updates of the appliance (status, bundle upload or download, apply) and of the other
// appliance hosts with the same bundle; admin only.
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { applianceUpdateOperations } from '../dto/appliance-update.js';
import { requireLength } from './upload-length.js';

export function applianceUpdateHandlers(s: Services): HandlersOf<typeof applianceUpdateOperations> {
  return {
    getApplianceUpdate: () => s.applianceUpdate.status(),
    uploadUpdateBundle: ({ ctx }) => s.applianceUpdate.upload(requireLength(ctx), ctx.req),
    downloadUpdateBundle: ({ body }) => s.applianceUpdate.startDownload(body.url, body.caCertificatePem),
    cancelUpdateBundleDownload: () => s.applianceUpdate.cancelDownload(),
    applyApplianceUpdate: ({ body }) => s.applianceUpdate.apply(body),
    updateHostSystem: ({ params, body, principal }) => s.hostUpdate.updateHost(params.hostId, principal.label, body),
    planHostSystemUpdates: () => s.hostUpdate.plan(),
    updateAllHostSystems: ({ principal }) => s.hostUpdate.updateAll(principal.label),
  };
}
