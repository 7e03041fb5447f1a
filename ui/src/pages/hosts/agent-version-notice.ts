// A host's agent version against the vDC's, where hosts are listed and shown: an older agent works
// (update the host), an unsupported one gets no new VMs (the server's agent-version.ts decides).
import { html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';

export const agentVersionNotice = (h: Pick<HostDto, 'agentVersionStatus' | 'agentVersionMessage'>) =>
  h.agentVersionStatus === 'older' || h.agentVersionStatus === 'unsupported'
    ? html`<div
        class=${h.agentVersionStatus === 'unsupported' ? 'error' : 'muted'}
        style="font-size:.85rem"
        data-testid="agent-version"
      >
        ${h.agentVersionMessage}
      </div>`
    : nothing;
