// Create-VM wizard: guest OS preset (fills the form), name + placement, CPU/memory, disk from a pool, boot media (ISO / OVA template /
// none), network (those where the VM will run), firmware, review. A server error naming a field
// sends the user to its step.
import { LitElement, css, html, nothing } from 'lit';
import type { ClusterDto, HostDto } from '@dto/hosts.js';
import type { ClusterNetworkDto } from '@dto/cluster-networks.js';
import type { NetworkDto } from '@dto/networks.js';
import type { PoolDto, VolumeDto } from '@dto/storage.js';
import type { TemplateDto } from '@dto/templates.js';
import { DISK_BUSES, NIC_MODELS, VIDEO_MODELS, type CpuMode, type VideoModel } from '@dto/enums.js';
import { createVm } from '../../api/vms.js';
import { checkMaxima, draftToDeploy, draftToRequest, stepOfField, type Draft } from './vm-create-request.js';
import { networkChoices, type NetworkChoice } from './vm-network-choices.js';
import { defaultNetwork, defaultPool } from './vm-wizard-defaults.js';
import {
  DEFAULT_CPU_MODEL,
  VIDEO_LABELS,
  VM_PRESETS,
  applyPreset,
  cpuChoices,
  parseCpuChoice,
  withFirmware,
  withSecureBoot,
} from './vm-presets.js';
import { ApiError } from '../../api/client.js';
import { fetchClusters, fetchHosts } from '../../api/hosts.js';
import { fetchAllVolumes, fetchPools } from '../../api/storage.js';
import { deployTemplate, fetchTemplates } from '../../api/images.js';
import { fetchAllClusterNetworks, fetchAllNetworks } from '../../api/networks.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { createdVmId } from '../../api/tasks.js';
import { navigate } from '../../app/routes.js';
import { formatBytes } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { errorNotice } from '../../components/status-views.js';

const BOOT_LABEL = {
  none: 'None (boot from the new empty disk)',
  iso: 'Boot from an ISO',
  image: 'Boot from an existing disk image',
  template: 'Deploy an OVA template',
} as const;

const STEPS = [
  'Name & placement',
  'CPU & memory',
  'Disk',
  'Boot media',
  'Network',
  'Firmware & display',
  'Review',
] as const;
export class QxVmCreateWizard extends LitElement {
  static override properties = { step: { state: true }, draft: { state: true } };
  declare step: number;
  declare draft: Draft;
  private action = new ActionController(this);
  private task = new TaskController(this);
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  private clusters = new ResourceController<ClusterDto[]>(this, (s) => fetchClusters(s).catch(() => []));
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  private volumes = new ResourceController<VolumeDto[]>(this, async (s) => fetchAllVolumes(await fetchPools(s), s));
  private templates = new ResourceController<TemplateDto[]>(this, (s) => fetchTemplates(s).catch(() => []));
  private networks = new ResourceController<NetworkDto[]>(this, async (s) =>
    fetchAllNetworks(
      (await fetchHosts(s)).filter((h) => h.status === 'online').map((h) => h.id),
      s,
    ),
  );
  private clusterNetworks = new ResourceController<ClusterNetworkDto[]>(this, async (s) =>
    fetchAllClusterNetworks(
      (await fetchClusters(s).catch(() => [])).map((c) => c.id),
      s,
    ),
  );

  constructor() {
    super();
    this.step = 0;
    this.draft = {
      preset: '',
      osType: 'other',
      machine: '',
      diskBus: 'virtio',
      secureBoot: false,
      tpm: false,
      cpuMode: 'named',
      cpuModel: DEFAULT_CPU_MODEL,
      videoModel: 'virtio',
      name: '',
      placement: 'auto',
      cores: 1,
      memoryMib: 256,
      pool: '',
      diskGib: 1,
      bootKind: 'none',
      iso: '',
      image: '',
      templateId: '',
      network: '',
      nicModel: 'e1000',
      firmware: 'bios',
      start: true,
      maxVcpus: 0,
      maxMemoryMib: 0,
    };
  }

  static override styles = [
    sharedStyles,
    css`
      .layout {
        display: grid;
        grid-template-columns: 200px minmax(0, 1fr);
        gap: 1.2rem;
        max-width: 920px;
      }
      ol {
        list-style: none;
        padding: 0;
        margin: 0;
        counter-reset: s;
      }
      ol li {
        padding: 0.45rem 0.6rem;
        border-radius: var(--qx-radius);
        color: var(--qx-text-muted);
        counter-increment: s;
      }
      ol li::before {
        content: counter(s) '. ';
      }
      ol li[aria-current='step'] {
        background: var(--qx-surface);
        border: 1px solid var(--qx-border);
        color: var(--qx-text);
        font-weight: 600;
      }
      .nav {
        display: flex;
        gap: 0.5rem;
        margin-top: 1rem;
      }
      .nav .spacer {
        flex: 1;
      }
      input[type='text'],
      input[type='number'],
      select {
        width: 100%;
        box-sizing: border-box;
      }
      .choices label {
        display: block;
        margin: 0.35rem 0;
      }
    `,
  ];

  /** A sole pool and the default NAT network are filled in once, as soon as they have loaded. */
  private preselected = { pool: false, network: false };

  override willUpdate(): void {
    const [pools, networks, choices] = [this.pools.value, this.networks.value, this.networkChoices()];
    if (!this.preselected.pool && pools) {
      this.preselected.pool = true;
      if (!this.draft.pool) this.draft = { ...this.draft, pool: defaultPool(pools) };
    }
    if (!this.preselected.network && networks && choices) {
      this.preselected.network = true;
      if (!this.draft.network) this.draft = { ...this.draft, network: defaultNetwork(choices, networks) };
    }
  }

  private set<K extends keyof Draft>(k: K, v: Draft[K]): void {
    this.draft = { ...this.draft, [k]: v };
  }

  private input(k: keyof Draft, e: Event, num = false): void {
    const t = e.target as HTMLInputElement;
    this.set(k, (num ? Number(t.value) : t.type === 'checkbox' ? t.checked : t.value) as never);
  }

  /** Client-side checks of one step; the error names the field like the server would. */
  private check(step: number): ApiError | undefined {
    const d = this.draft;
    const bad = (msg: string, field: string) => new ApiError(400, msg, field);
    if (step === 0 && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(d.name.trim()))
      return bad('Use 1–63 letters, digits, ". _ -", starting with a letter or digit.', 'name');
    if (step === 1 && !(d.cores >= 1 && d.cores <= 256)) return bad('Between 1 and 256 vCPUs.', 'cores');
    if (step === 1 && !(d.memoryMib >= 16)) return bad('At least 16 MiB.', 'memoryMib');
    const maxima = step === 1 ? checkMaxima(d) : undefined;
    if (maxima) return bad(maxima.message, maxima.field);
    if (step === 2 && d.bootKind !== 'template' && !d.pool) return bad('Choose the pool for the VM’s disks.', 'pool');
    if (step === 3 && d.bootKind === 'iso' && !d.iso) return bad('Choose an ISO.', 'cdroms');
    if (step === 3 && d.bootKind === 'image' && !d.image) return bad('Choose a disk image.', 'image');
    if (step === 3 && d.bootKind === 'template' && !d.templateId) return bad('Choose a template.', 'template');
    const nets = step === 4 && d.bootKind !== 'template' && d.network ? this.networkChoices() : undefined;
    if (nets && !nets.some((n) => n.name === d.network))
      return bad(`Network ${d.network} is not available where this VM will run; choose another.`, 'nics');
    return undefined;
  }

  /** The networks the draft's VM can use (undefined while they load). */
  private networkChoices(): NetworkChoice[] | undefined {
    const [hosts, networks, clusterNetworks] = [this.hosts.value, this.networks.value, this.clusterNetworks.value];
    if (!hosts || !networks || !clusterNetworks) return undefined;
    const r = draftToRequest(this.draft);
    return networkChoices({ hostId: r.hostId, clusterId: r.clusterId }, { hosts, networks, clusterNetworks });
  }

  private next(): void {
    const err = this.check(this.step);
    if (err) this.action.fail(err);
    else this.action.clear();
    if (!err) this.step = Math.min(this.step + 1, STEPS.length - 1);
  }

  private async create(): Promise<void> {
    for (let s = 0; s < STEPS.length - 1; s++) {
      const err = this.check(s);
      if (err) {
        this.action.fail(err);
        this.step = s;
        return;
      }
    }
    const d = this.draft;
    const ok = await this.action.run(async () => {
      const task =
        d.bootKind === 'template'
          ? await deployTemplate(
              d.templateId,
              draftToDeploy(
                d,
                this.templates.value?.find((t) => t.id === d.templateId),
              ),
            )
          : await createVm(draftToRequest(d));
      const vmId = createdVmId(await this.task.follow(task));
      navigate(vmId ? `/vms/${encodeURIComponent(vmId)}` : '/vms');
    });
    const err = this.action.error;
    const step = !ok && err instanceof ApiError && err.field ? stepOfField(err.field) : undefined;
    if (step !== undefined) this.step = step;
  }

  /** The error for a field or any of its sub-fields (e.g. disks[0].sizeBytes under "disks"). */
  private err(...fields: string[]): string | undefined {
    const e = this.action.error;
    const f = e instanceof ApiError ? e.field : undefined;
    const hit = f && fields.find((x) => f === x || f.startsWith(`${x}[`) || f.startsWith(`${x}.`));
    return hit ? (e as ApiError).message : undefined;
  }

  override render() {
    const f = this.action.error instanceof ApiError ? this.action.error.field : undefined;
    const top = f && stepOfField(f) !== undefined ? undefined : this.action.formError();
    return html`<p><a href="#/vms">← Virtual machines</a></p>
      <h1>New virtual machine</h1>
      <div class="layout">
        <ol aria-label="Steps">
          ${STEPS.map((s, i) => html`<li aria-current=${i === this.step ? 'step' : nothing}>${s}</li>`)}
        </ol>
        <form
          class="card"
          novalidate
          @submit=${(e: Event) => {
            e.preventDefault();
            if (this.step === STEPS.length - 1) void this.create();
            else this.next();
          }}
        >
          <h2 style="margin-top:0">${STEPS[this.step]}</h2>
          ${errorNotice(top)} ${this.renderStep()}
          ${this.task.progressText ? html`<p role="status">${this.task.progressText}</p>` : nothing}
          <div class="nav">
            <button type="button" ?disabled=${this.step === 0 || this.action.busy} @click=${() => (this.step -= 1)}>
              Back
            </button>
            <span class="spacer"></span>
            ${
              this.step < STEPS.length - 1
                ? html`<button class="primary" type="submit">Next</button>`
                : html`<button class="primary" type="submit" ?disabled=${this.action.busy}>
                    ${this.action.busy ? 'Creating…' : 'Create VM'}
                  </button>`
            }
          </div>
        </form>
      </div>`;
  }

  private renderStep() {
    const d = this.draft;
    switch (this.step) {
      case 0:
        return html`${this.renderPreset()}
        ${formField('Name', 'name', html`<input id="name" type="text" .value=${d.name} @input=${(e: Event) => this.input('name', e)} required aria-invalid=${!!this.err('name')} />`, this.err('name'))}
        ${formField(
          'Placement',
          'placement',
          html`<select
            id="placement"
            @change=${(e: Event) => this.input('placement', e)}
            aria-invalid=${!!this.err('hostId', 'clusterId')}
          >
            <option value="auto" ?selected=${d.placement === 'auto'}>Automatic (the host with most free memory)</option>
            ${(this.clusters.value ?? []).map((c) => html`<option value="cluster:${c.id}" ?selected=${d.placement === `cluster:${c.id}`}>Cluster ${c.name}</option>`)}
            ${(this.hosts.value ?? []).map((h) => html`<option value="host:${h.id}" ?disabled=${h.status !== 'online' || h.maintenance} ?selected=${d.placement === `host:${h.id}`}>Host ${h.name}${h.status !== 'online' ? ' (offline)' : h.maintenance ? ' (maintenance)' : ''}</option>`)}
          </select>`,
          this.err('hostId', 'clusterId'),
        )}`;
      case 1:
        return html`<div class="row">
            ${formField('vCPUs', 'cores', html`<input id="cores" type="number" min="1" max="256" .value=${String(d.cores)} @input=${(e: Event) => this.input('cores', e, true)} aria-invalid=${!!this.err('cores', 'sockets')} />`, this.err('cores', 'sockets'))}
            ${formField('Memory (MiB)', 'memoryMib', html`<input id="memoryMib" type="number" min="16" step="16" .value=${String(d.memoryMib)} @input=${(e: Event) => this.input('memoryMib', e, true)} aria-invalid=${!!this.err('memoryMib')} />`, this.err('memoryMib'))}
          </div>
          <div class="row">
            ${formField('Max vCPUs (hotplug)', 'maxVcpus', html`<input id="maxVcpus" type="number" min="0" max="256" step=${d.cores} .value=${String(d.maxVcpus)} @input=${(e: Event) => this.input('maxVcpus', e, true)} aria-invalid=${!!this.err('maxVcpus', 'spec.max_vcpus')} />`, this.err('maxVcpus', 'spec.max_vcpus'), '0 = no growth; else a multiple of the vCPUs.')}
            ${formField('Max memory (MiB, hotplug)', 'maxMemoryMib', html`<input id="maxMemoryMib" type="number" min="0" step="16" .value=${String(d.maxMemoryMib)} @input=${(e: Event) => this.input('maxMemoryMib', e, true)} aria-invalid=${!!this.err('maxMemoryMib', 'spec.max_memory_mib')} />`, this.err('maxMemoryMib', 'spec.max_memory_mib'), '0 = no growth; the guest needs virtio_balloon.')}
          </div>
          ${this.renderCpu()}`;
      case 2: {
        const names = [...new Map((this.pools.value ?? []).map((p) => [p.name, p])).values()];
        return html`${formField(
          'Storage pool',
          'pool',
          html`<select id="pool" @change=${(e: Event) => this.input('pool', e)} aria-invalid=${!!this.err('pool')}>
            <option value="">Choose…</option>
            ${names.map((p) => html`<option value=${p.name} ?selected=${d.pool === p.name}>${p.name} (${p.hostName}, ${formatBytes(p.availableBytes)} free)</option>`)}
          </select>`,
          this.err('pool'),
          'Placement only considers hosts that have this pool.',
        )}
        ${formField('New disk size (GiB, 0 for none)', 'diskGib', html`<input id="diskGib" type="number" min="0" step="0.25" .value=${String(d.diskGib)} @input=${(e: Event) => this.input('diskGib', e, true)} aria-invalid=${!!this.err('disks')} />`, this.err('disks'))}
        ${formField(
          'Disk bus',
          'diskBus',
          html`<select id="diskBus" @change=${(e: Event) => this.input('diskBus', e)}>
            ${DISK_BUSES.map((b) => html`<option ?selected=${d.diskBus === b}>${b}</option>`)}
          </select>`,
          undefined,
          'virtio is fastest; Windows install media need SATA (no virtio drivers).',
        )}`;
      }
      case 3:
        return html`<fieldset class="choices" style="border:0;padding:0;margin:0">
            <legend class="sr-only">Boot media</legend>
            ${(['none', 'iso', 'image', 'template'] as const).map(
              (k) =>
                html`<label
                  ><input
                    type="radio"
                    name="bootKind"
                    value=${k}
                    .checked=${d.bootKind === k}
                    @change=${() => this.set('bootKind', k)}
                  />
                  ${BOOT_LABEL[k]}</label
                >`,
            )}
          </fieldset>
          ${
            d.bootKind === 'iso'
              ? formField(
                  'ISO',
                  'iso',
                  html`<select
                    id="iso"
                    @change=${(e: Event) => this.input('iso', e)}
                    aria-invalid=${!!this.err('cdroms')}
                  >
                    <option value="">Choose…</option>
                    ${(this.volumes.value ?? []).filter((v) => v.format === 'iso').map((v) => html`<option value="${v.hostId}|${v.pool}|${v.name}" ?selected=${d.iso === `${v.hostId}|${v.pool}|${v.name}`}>${v.name} (${v.pool}, ${formatBytes(v.capacityBytes)})</option>`)}
                  </select>`,
                  this.err('cdroms', 'bootOrder'),
                  'The VM is placed on the host that holds the ISO.',
                )
              : nothing
          }
          ${
            d.bootKind === 'image'
              ? formField(
                  'Disk image',
                  'image',
                  html`<select
                    id="image"
                    @change=${(e: Event) => this.input('image', e)}
                    aria-invalid=${!!this.err('image')}
                  >
                    <option value="">Choose…</option>
                    ${(this.volumes.value ?? []).filter((v) => v.format === 'qcow2' || v.format === 'raw').map((v) => html`<option value="${v.hostId}|${v.pool}|${v.name}" ?selected=${d.image === `${v.hostId}|${v.pool}|${v.name}`} ?disabled=${v.usedBy.length > 0}>${v.name} (${v.pool}, ${v.format}, ${formatBytes(v.capacityBytes)})${v.usedBy.length ? ' — in use' : ''}</option>`)}
                  </select>`,
                  this.err('image'),
                  'The VM boots from this volume (attached as its first disk), on the host that holds it.',
                )
              : nothing
          }
          ${
            d.bootKind === 'template'
              ? formField(
                  'Template',
                  'template',
                  html`<select
                    id="template"
                    @change=${(e: Event) => this.pickTemplate((e.target as HTMLSelectElement).value)}
                    aria-invalid=${!!this.err('template')}
                  >
                    <option value="">Choose…</option>
                    ${(this.templates.value ?? []).map((t) => html`<option value=${t.id} ?selected=${d.templateId === t.id}>${t.name} (${t.sockets * t.cores} vCPU, ${t.memoryMib} MiB, ${t.disks.length} disk)</option>`)}
                  </select>`,
                  this.err('template'),
                  'The VM gets the template’s disks and NICs, on the template’s host.',
                )
              : nothing
          }`;
      case 4: {
        if (d.bootKind === 'template')
          return html`<p class="muted">The VM gets the template’s network interfaces (with new MAC addresses).</p>`;
        const choices = this.networkChoices();
        const nets = choices ?? [];
        const stale = choices && d.network && !nets.some((n) => n.name === d.network);
        const r = draftToRequest(d);
        const where = r.hostId
          ? `Networks of host ${this.hosts.value?.find((h) => h.id === r.hostId)?.name ?? r.hostId}.`
          : r.clusterId
            ? 'Cluster networks of the chosen cluster.'
            : 'Automatic placement: only the networks every host has. Choose a host or cluster for more.';
        return html`<div class="row">
          ${formField(
            'Network',
            'network',
            html`<select
              id="network"
              @change=${(e: Event) => this.input('network', e)}
              aria-invalid=${!!this.err('nics')}
            >
              <option value="">No network</option>
              ${nets.map((n) => html`<option value=${n.name} ?selected=${d.network === n.name}>${n.name} (${n.detail})</option>`)}
              ${stale ? html`<option value=${d.network} selected>${d.network} (not available here)</option>` : nothing}
            </select>`,
            this.err('nics'),
            where,
          )}
          ${formField(
            'NIC model',
            'nicModel',
            html`<select id="nicModel" @change=${(e: Event) => this.input('nicModel', e)}>
              ${NIC_MODELS.map((m) => html`<option ?selected=${d.nicModel === m}>${m}</option>`)}
            </select>`,
          )}
        </div>`;
      }
      case 5:
        return html`<fieldset class="choices" style="border:0;padding:0;margin:0">
            <legend class="sr-only">Firmware</legend>
            <label
              ><input
                type="radio"
                name="firmware"
                .checked=${d.firmware === 'bios'}
                @change=${() => (this.draft = withFirmware(this.draft, 'bios'))}
              />
              BIOS (SeaBIOS)</label
            >
            <label
              ><input
                type="radio"
                name="firmware"
                .checked=${d.firmware === 'uefi'}
                @change=${() => (this.draft = withFirmware(this.draft, 'uefi'))}
              />
              UEFI (OVMF)</label
            >
            ${this.err('firmware') ? html`<span class="field-error" role="alert">${this.err('firmware')}</span>` : nothing}
          </fieldset>
          ${this.renderSecurity()} ${d.bootKind === 'template' ? nothing : this.renderVideo()}`;
      default:
        return this.renderReview();
    }
  }

  /** The guest OS presets, offered first: choosing one fills the rest of the form. */
  private renderPreset() {
    const hint = VM_PRESETS.find((p) => p.id === this.draft.preset)?.hint;
    return formField(
      'Guest OS',
      'preset',
      html`<select
        id="preset"
        @change=${(e: Event) => (this.draft = applyPreset(this.draft, (e.target as HTMLSelectElement).value))}
      >
        <option value="" ?selected=${!this.draft.preset}>Custom (choose every setting)</option>
        ${VM_PRESETS.map((p) => html`<option value=${p.id} ?selected=${this.draft.preset === p.id}>${p.label}</option>`)}
      </select>`,
      this.err('osType'),
      hint ?? 'A preset sets firmware, buses, NIC, CPU model and sizes for the OS; each stays editable.',
    );
  }

  /** The CPU model: named models every online host can run, plus the modes some host supports. */
  private renderCpu() {
    const d = this.draft;
    const hosts = (this.hosts.value ?? []).filter((h) => h.status === 'online');
    const models = hosts.length ? hosts.map((h) => h.cpuModels).reduce((a, b) => a.filter((m) => b.includes(m))) : [];
    const modes = [...new Set(hosts.flatMap((h) => h.cpuModes))] as CpuMode[];
    const value = d.cpuMode === 'named' ? `named:${d.cpuModel}` : d.cpuMode;
    const choices = cpuChoices(models, modes);
    if (!choices.some((c) => c.value === value))
      choices.push({ value, label: `${value.replace('named:', '')} (not on every host)` });
    return formField(
      'CPU model',
      'cpu',
      html`<select
        id="cpu"
        aria-invalid=${!!this.err('cpuMode', 'cpuModel')}
        @change=${(e: Event) => {
          const c = parseCpuChoice((e.target as HTMLSelectElement).value);
          this.draft = { ...this.draft, cpuMode: c.cpuMode, cpuModel: c.cpuModel ?? '' };
        }}
      >
        ${choices.map((c) => html`<option value=${c.value} ?selected=${c.value === value}>${c.label}</option>`)}
      </select>`,
      this.err('cpuMode', 'cpuModel'),
      'Placement only picks hosts that can run this model.',
    );
  }

  /** Secure Boot (UEFI with Microsoft keys; turns UEFI on) and a TPM 2.0. */
  private renderSecurity() {
    const d = this.draft;
    return html`<div class="choices">
      <label
        ><input
          id="secureBoot"
          type="checkbox"
          .checked=${d.secureBoot}
          @change=${(e: Event) => (this.draft = withSecureBoot(this.draft, (e.target as HTMLInputElement).checked))}
        />
        Secure Boot (UEFI with Microsoft keys, q35)</label
      >
      ${this.err('secureBoot', 'machine') ? html`<span class="field-error" role="alert">${this.err('secureBoot', 'machine')}</span>` : nothing}
      <label
        ><input id="tpm" type="checkbox" .checked=${d.tpm} @change=${(e: Event) => this.input('tpm', e)} /> TPM 2.0 (its
        state stays with the VM)</label
      >
      ${this.err('tpm') ? html`<span class="field-error" role="alert">${this.err('tpm')}</span>` : nothing}
    </div>`;
  }

  /** The video device (and with it the graphical console); the preset's choice by default. */
  private renderVideo() {
    const d = this.draft;
    return formField(
      'Video device',
      'videoModel',
      html`<select
        id="videoModel"
        aria-invalid=${!!this.err('videoModel', 'vnc')}
        @change=${(e: Event) =>
          (this.draft = { ...this.draft, videoModel: (e.target as HTMLSelectElement).value as VideoModel })}
      >
        ${VIDEO_MODELS.map((m) => html`<option value=${m} ?selected=${m === d.videoModel}>${VIDEO_LABELS[m]}</option>`)}
      </select>`,
      this.err('videoModel', 'vnc'),
      'The graphical console shows this device; none leaves only the serial console.',
    );
  }

  private pickTemplate(id: string): void {
    const t = this.templates.value?.find((x) => x.id === id);
    this.draft = {
      ...this.draft,
      templateId: id,
      ...(t ? { cores: t.sockets * t.cores, memoryMib: t.memoryMib } : {}),
    };
  }

  private renderReview() {
    const d = this.draft;
    const tpl = this.templates.value?.find((t) => t.id === d.templateId);
    const r = draftToRequest(d);
    return html`<dl class="props">
        <dt>Name</dt>
        <dd>${r.name}</dd>
        <dt>Placement</dt>
        <dd>
          ${d.bootKind === 'template' ? `Template host ${tpl?.hostName ?? ''}` : r.hostId ? `Host ${this.hosts.value?.find((h) => h.id === r.hostId)?.name ?? r.hostId}` : r.clusterId ? `Cluster ${this.clusters.value?.find((c) => c.id === r.clusterId)?.name ?? ''}` : 'Automatic'}
        </dd>
        <dt>Guest OS</dt>
        <dd>${VM_PRESETS.find((p) => p.id === d.preset)?.label ?? d.osType}</dd>
        <dt>CPU / memory</dt>
        <dd>
          ${d.cores} vCPU (${d.cpuMode === 'named' ? d.cpuModel : d.cpuMode}), ${d.memoryMib}
          MiB${d.bootKind !== 'template' && (r.maxVcpus || r.maxMemoryMib) ? `; grows to ${r.maxVcpus ?? d.cores} vCPU, ${r.maxMemoryMib ?? d.memoryMib} MiB` : ''}
        </dd>
        <dt>Disk</dt>
        <dd>
          ${d.bootKind === 'template' ? `${tpl?.disks.length ?? 0} from the template` : [d.bootKind === 'image' ? d.image.split('|')[2] : '', d.diskGib > 0 ? `new ${d.diskGib} GiB in ${d.pool}` : ''].filter(Boolean).join(' + ') || `none (pool ${d.pool})`}
        </dd>
        <dt>Boot</dt>
        <dd>
          ${d.bootKind === 'iso' ? `ISO ${d.iso.split('|')[2]}` : d.bootKind === 'image' ? `disk image ${d.image.split('|')[2]}` : d.bootKind === 'template' ? `Template ${tpl?.name ?? ''}` : 'disk'}
        </dd>
        <dt>Network</dt>
        <dd>
          ${d.bootKind === 'template' ? 'from the template' : d.network ? `${d.network} (${d.nicModel})` : 'none'}
        </dd>
        <dt>Firmware</dt>
        <dd>
          ${d.bootKind === 'template' ? tpl?.firmware || 'from the template' : [d.firmware.toUpperCase(), d.secureBoot ? 'Secure Boot' : '', d.tpm ? 'TPM 2.0' : ''].filter(Boolean).join(' + ')}
        </dd>
        <dt>Video</dt>
        <dd>${d.bootKind === 'template' ? 'from the template' : VIDEO_LABELS[d.videoModel]}</dd>
      </dl>
      <label style="display:block;margin-top:1rem"
        ><input type="checkbox" .checked=${d.start} @change=${(e: Event) => this.input('start', e)} /> Start the VM
        after creating it</label
      >`;
  }
}
customElements.define('qx-vm-create-wizard', QxVmCreateWizard);
