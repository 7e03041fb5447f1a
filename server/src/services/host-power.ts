// Reboot or shut down a host through its agent, as a task: the agent shuts the running VMs down
// cleanly (forced off after the timeout), then runs the power command. The operator types the
// host's name to confirm. Never imports Koa.
import { PowerAction } from '@quantix/proto/v1/host.js';
import type { PowerHostDto } from '../dto/appliance.js';
import type { TaskDto } from '../dto/tasks.js';
import type { AgentPool } from '../agents/agent-pool.js';
import { HttpError } from '../errors.js';
import type { TaskService } from './task-service.js';

export class HostPower {
  constructor(
    private readonly pool: AgentPool,
    private readonly tasks: TaskService,
  ) {}

  async power(hostId: string, req: PowerHostDto, user: string): Promise<TaskDto> {
    const c = this.pool.get(hostId);
    const agent = c.requireOnline();
    const name = c.record.name;
    if (req.confirm !== name)
      throw new HttpError(400, `confirm: type the host's name "${name}" to ${req.action} it`, 'confirm');
    const action = req.action === 'reboot' ? PowerAction.POWER_ACTION_REBOOT : PowerAction.POWER_ACTION_POWEROFF;
    const { dto } = await this.tasks.start(
      { kind: `host.${req.action}`, target: { type: 'host', id: hostId, name }, hostId, user },
      async () => {
        const r = await agent.powerHost({ action, vmShutdownTimeoutSeconds: req.vmShutdownTimeoutSeconds ?? 0 });
        return { shutDown: r.shutDown, forcedOff: r.forcedOff };
      },
    );
    return dto;
  }
}
