// The control plane (#23, admin): where this vDC's configuration lives, forming a control plane
// on this appliance (its lowdb state moved into a one-member etcd cluster), join tokens, joining
// another appliance's control plane, removing a member; and the machine-only member request a
// joining server makes.
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { timestamp } from './common.js';
import { hostAddress } from './hosts.js';

const memberName = () =>
  str({
    minLength: 1,
    maxLength: 63,
    pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
    description: "this appliance's etcd member name (default: its hostname)",
  });
const memberAddress = () =>
  str({
    minLength: 1,
    maxLength: 255,
    pattern: '^([0-9.]+|[0-9a-fA-F:]+|[A-Za-z0-9.-]+)$',
    description:
      'an IPv4 address of this appliance, where the other members reach its member (default: its first management address)',
  });

export const ControlPlaneMemberDto = named(
  'ControlPlaneMemberDto',
  obj({
    id: str({ description: 'etcd member id (hex)' }),
    name: str({ description: 'empty while an added member has not started yet' }),
    peerUrls: arr(str()),
    clientUrls: arr(str()),
    learner: bool({ description: 'added, catching up; not voting yet' }),
    leader: bool({ description: 'the raft leader of the etcd cluster' }),
  }),
);

export const ControlPlaneDto = named(
  'ControlPlaneDto',
  obj({
    store: oneOf(['embedded', 'etcd'] as const, {
      description: 'embedded: this appliance alone (lowdb); etcd: a control plane of appliances',
    }),
    memberName: opt(str({ description: 'the etcd member this appliance runs, if any' })),
    members: arr(ControlPlaneMemberDto),
    unavailable: opt(str({ description: 'why writes are refused now (quorum lost)' })),
    memberProblem: opt(
      str({ description: "why this appliance's member could not be moved to its current address or renewed" }),
    ),
    serverFingerprint: str({
      description: "SHA-256 of this server's HTTPS certificate: a joining appliance pins it",
    }),
  }),
);
export type ControlPlaneDto = Infer<typeof ControlPlaneDto>;

export const FormControlPlaneDto = named(
  'FormControlPlaneDto',
  obj({ memberName: opt(memberName()), memberAddress: opt(memberAddress()) }),
);
export type FormControlPlaneDto = Infer<typeof FormControlPlaneDto>;

export const ControlPlaneSwitchDto = named(
  'ControlPlaneSwitchDto',
  obj({
    message: str({ description: 'what happened; the server restarts on the control plane right after this reply' }),
    memberName: str(),
  }),
);
export type ControlPlaneSwitchDto = Infer<typeof ControlPlaneSwitchDto>;

export const ControlPlaneJoinTokenDto = named(
  'ControlPlaneJoinTokenDto',
  obj({
    token: str({ description: 'one-time; give it to the joining appliance with this server address and fingerprint' }),
    expiresAt: timestamp(),
    serverFingerprint: str(),
  }),
);
export type ControlPlaneJoinTokenDto = Infer<typeof ControlPlaneJoinTokenDto>;

export const JoinControlPlaneDto = named(
  'JoinControlPlaneDto',
  obj({
    address: hostAddress(),
    fingerprint: str({ minLength: 1, maxLength: 200, description: "the other server's fingerprint, as shown there" }),
    token: str({ minLength: 1, maxLength: 200, description: 'the one-time join token issued there' }),
    memberName: opt(memberName()),
    memberAddress: opt(memberAddress()),
  }),
);
export type JoinControlPlaneDto = Infer<typeof JoinControlPlaneDto>;

export const AddControlPlaneMemberDto = named(
  'AddControlPlaneMemberDto',
  obj({
    token: str({ minLength: 1, maxLength: 200 }),
    memberName: memberName(),
    memberAddress: memberAddress(),
    peerPort: int({ min: 1, max: 65535, description: "the joining member's peer port (2380 on appliances)" }),
  }),
);
export type AddControlPlaneMemberDto = Infer<typeof AddControlPlaneMemberDto>;

export const ControlPlaneMemberGrantDto = named(
  'ControlPlaneMemberGrantDto',
  obj({
    memberId: str({ description: 'the added (learner) member, promoted once it has caught up' }),
    caPem: str(),
    memberCertPem: str(),
    memberKeyPem: str(),
    clientCertPem: str(),
    clientKeyPem: str(),
    sealingKeyHex: str({ description: "the servers' key sealing shared secrets in etcd" }),
    initialCluster: arr(obj({ name: str(), peerUrl: str() })),
    clientUrls: arr(str({ description: "the existing members' client URLs" })),
  }),
);
export type ControlPlaneMemberGrantDto = Infer<typeof ControlPlaneMemberGrantDto>;

const cp = '/api/v1/controlplane';
export const controlPlaneOperations = [
  {
    id: 'getControlPlane',
    method: 'GET',
    path: cp,
    tag: 'system',
    role: 'admin',
    status: 200,
    response: ControlPlaneDto,
    summary: "Where the configuration lives, and the etcd cluster's members",
  },
  {
    id: 'formControlPlane',
    method: 'POST',
    path: `${cp}/form`,
    tag: 'system',
    role: 'admin',
    status: 200,
    body: FormControlPlaneDto,
    response: ControlPlaneSwitchDto,
    summary:
      'Moves this appliance’s configuration into a new one-member etcd cluster it runs, then restarts the server on it',
  },
  {
    id: 'createControlPlaneJoinToken',
    method: 'POST',
    path: `${cp}/join-tokens`,
    tag: 'system',
    role: 'admin',
    status: 201,
    response: ControlPlaneJoinTokenDto,
    summary: 'A one-time token (30 minutes) for another appliance to join this control plane',
  },
  {
    id: 'joinControlPlane',
    method: 'POST',
    path: `${cp}/join`,
    tag: 'system',
    role: 'admin',
    status: 200,
    body: JoinControlPlaneDto,
    response: ControlPlaneSwitchDto,
    summary:
      "Joins another appliance's control plane (its configuration replaces this one's), then restarts the server on it",
  },
  {
    id: 'removeControlPlaneMember',
    method: 'DELETE',
    path: `${cp}/members/:id`,
    tag: 'system',
    role: 'admin',
    status: 200,
    response: ControlPlaneDto,
    summary:
      'Removes a member (by its hex id) from the etcd cluster, e.g. of an appliance that is gone for good; not the one this server runs on, nor one whose removal would lose the quorum',
  },
  {
    id: 'addControlPlaneMember',
    method: 'POST',
    path: `${cp}/members`,
    tag: 'system',
    role: 'public',
    status: 201,
    body: AddControlPlaneMemberDto,
    response: ControlPlaneMemberGrantDto,
    summary: "A joining appliance's server asks for its member (authorised by the one-time join token)",
  },
] as const satisfies readonly Operation[];
