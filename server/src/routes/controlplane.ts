// Routes: the control plane (#23) — status, form, join tokens, join, member removal (admin); the member request
// of a joining appliance's server (public: authorised by the one-time join token in its body).
import type { Services } from '../compose.js';
import type { HandlersOf } from './handler.js';
import type { controlPlaneOperations } from '../dto/controlplane.js';

export function controlPlaneHandlers(s: Services): HandlersOf<typeof controlPlaneOperations> {
  return {
    getControlPlane: () => s.controlPlane.status(),
    formControlPlane: ({ body }) => s.controlPlane.form(body),
    createControlPlaneJoinToken: () => s.controlPlane.createJoinToken(),
    joinControlPlane: ({ body }) => s.controlPlane.join(body),
    removeControlPlaneMember: ({ params }) => s.controlPlane.removeMember(params.id),
    addControlPlaneMember: ({ body }) => s.controlPlane.addMember(body),
  };
}
