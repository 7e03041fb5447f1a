// The control plane (#23): where the configuration lives and the etcd members; forming one on this
// appliance, join tokens, joining another appliance's, removing a member. Shapes are the server's
// (server/src/dto/controlplane.ts). No Lit imports.
import type {
  ControlPlaneDto,
  ControlPlaneJoinTokenDto,
  ControlPlaneSwitchDto,
  FormControlPlaneDto,
  JoinControlPlaneDto,
} from '@dto/controlplane.js';
import { apiDelete, apiGet, apiPost } from './client.js';

export const fetchControlPlane = (signal?: AbortSignal) => apiGet<ControlPlaneDto>('/controlplane', { signal });
/** Moves this appliance's configuration into a new etcd cluster it runs; the server restarts on it. */
export const formControlPlane = (req: FormControlPlaneDto) => apiPost<ControlPlaneSwitchDto>('/controlplane/form', req);
/** Removes a member (by its hex id) of an appliance gone for good; answers the control plane after. */
export const removeControlPlaneMember = (id: string) =>
  apiDelete<ControlPlaneDto>(`/controlplane/members/${encodeURIComponent(id)}`);
/** A one-time token for another appliance to join through any server of the control plane. */
export const createControlPlaneJoinToken = () => apiPost<ControlPlaneJoinTokenDto>('/controlplane/join-tokens');
/** Joins the control plane of the server at `address` (its configuration replaces this one's). */
export const joinControlPlane = (req: JoinControlPlaneDto) => apiPost<ControlPlaneSwitchDto>('/controlplane/join', req);
