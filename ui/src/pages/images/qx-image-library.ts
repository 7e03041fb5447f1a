// Image library: ISOs (volumes of format iso in every pool) and OVA templates with their specs;
// OVA upload by drag-and-drop (upload phase from XHR, conversion phase from the ova.import task);
// deploy a template as a new VM.
import { LitElement, css, html, nothing } from 'lit';
import type { PoolDto, VolumeDto } from '@dto/storage.js';
import type { TaskDto } from '@dto/tasks.js';
import type { TemplateDto } from '@dto/templates.js';
import type { UserDto } from '@dto/auth.js';
import { deleteTemplate, deployTemplate, fetchTemplates, uploadOva } from '../../api/images.js';
import './qx-template-edit.js';
import { fetchAllVolumes, fetchPools } from '../../api/storage.js';
import { canMutate } from '../../api/session.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { recentTasks, taskChanges } from '../../controllers/task-tracker.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { createdVmId } from '../../api/tasks.js';
import { errorNotice, messageOf } from '../../components/status-views.js';
import { navigate } from '../../app/routes.js';
import { formatBytes, formatTime } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

interface Upload {
  file: string;
  phase: 'upload' | 'convert' | 'done' | 'failed';
  percent: number;
  detail: string;
}

export class QxImageLibrary extends LitElement {
  static override properties = {
    user: { attribute: false },
    target: { state: true },
    upload: { state: true },
    dragging: { state: true },
    message: { state: true },
    error: { state: true },
  };
  declare user: UserDto | undefined;
  declare target: string;
  declare upload: Upload | undefined;
  declare dragging: boolean;
  declare message: string;
  declare error: string;
  private templates = new ResourceController<TemplateDto[]>(this, fetchTemplates);
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  private isos = new ResourceController<VolumeDto[]>(this, async (s) =>
    (await fetchAllVolumes(await fetchPools(s), s)).filter((v) => v.format === 'iso'),
  );
  /** The ova.import task of the upload under way (its events drive the conversion bar). */
  private uploadTaskId = '';
  /** Deploy (keyed by template id) and delete of a template. */
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = [
    sharedStyles,
    css`
      .drop {
        border: 2px dashed var(--qx-border);
        border-radius: var(--qx-radius);
        padding: 1.5rem;
        text-align: center;
        background: var(--qx-surface);
      }
      .drop.over {
        border-color: var(--qx-accent);
        background: color-mix(in srgb, var(--qx-accent) 8%, var(--qx-surface));
      }
      .cards {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(280px, 1fr));
        gap: 1rem;
      }
      .cards h3 {
        margin: 0 0 0.4rem;
        font-size: 1rem;
      }
      .warn {
        color: var(--qx-warn);
        font-size: 0.85rem;
      }
    `,
  ];

  constructor() {
    super();
    this.target = '';
    this.dragging = false;
    this.message = '';
    this.error = '';
    new EventsController(this, { template: () => void this.templates.reload() });
  }

  private onTask = (e: Event) => {
    const t = (e as CustomEvent<TaskDto>).detail;
    if (t.id !== this.uploadTaskId || this.upload?.phase !== 'convert') return;
    this.upload = { ...this.upload, percent: t.progress ?? this.upload.percent, detail: t.phase };
  };

  override connectedCallback(): void {
    super.connectedCallback();
    taskChanges.addEventListener('change', this.onTask);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    taskChanges.removeEventListener('change', this.onTask);
  }

  private async startUpload(file: File): Promise<void> {
    const [hostId, pool] = (this.target || this.defaultTarget()).split('/');
    this.error = '';
    this.message = '';
    if (!hostId || !pool) {
      this.error = 'Create a storage pool first: the OVA is converted into a pool.';
      return;
    }
    if (!/\.ova$/i.test(file.name)) {
      this.error = `${file.name} is not an .ova file.`;
      return;
    }
    this.uploadTaskId = '';
    this.upload = { file: file.name, phase: 'upload', percent: 0, detail: '' };
    try {
      const tpl = await uploadOva(
        { hostId, pool, file },
        {
          onTask: (task) => (this.uploadTaskId = task.id),
          onProgress: (sent, total) => {
            if (this.upload?.phase !== 'upload') return;
            const percent = total ? (sent / total) * 100 : 0;
            this.upload =
              sent >= total
                ? { ...this.upload, phase: 'convert', percent: 0, detail: 'converting disks' }
                : { ...this.upload, percent };
          },
        },
      );
      this.upload = { file: file.name, phase: 'done', percent: 100, detail: '' };
      this.message = `Template ${tpl.name} imported.`;
    } catch (err) {
      const failed = recentTasks().find((t) => t.id === this.uploadTaskId && t.status === 'failed');
      this.upload = { file: file.name, phase: 'failed', percent: 100, detail: '' };
      this.error = `Import of ${file.name} failed: ${failed?.error ?? (err as Error).message}`;
    } finally {
      void this.templates.reload();
    }
  }

  private defaultTarget(): string {
    const p = (this.pools.value ?? []).find((x) => x.state === 'active');
    return p ? `${p.hostId}/${p.name}` : '';
  }

  private onDrop(e: DragEvent): void {
    e.preventDefault();
    this.dragging = false;
    const f = e.dataTransfer?.files[0];
    if (f) void this.startUpload(f);
  }

  private async deploy(t: TemplateDto, e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    this.error = '';
    await this.action.run(async () => {
      try {
        const vmId = createdVmId(
          await this.task.follow(
            await deployTemplate(t.id, { name: String(f.get('name')).trim(), start: f.get('start') === 'on' }),
          ),
        );
        if (vmId) navigate(`/vms/${encodeURIComponent(vmId)}`);
      } catch (err) {
        throw new Error(`Deploying ${t.name} failed: ${messageOf(err)}`, { cause: err });
      }
    }, t.id);
  }

  private async removeTemplate(t: TemplateDto): Promise<void> {
    if (!confirm(`Delete template ${t.name} and its volumes?`)) return;
    await this.action.run(() => deleteTemplate(t.id));
    void this.templates.reload();
  }

  override render() {
    const mutate = canMutate(this.user);
    const pools = (this.pools.value ?? []).filter((p) => p.state === 'active');
    const up = this.upload;
    return html`<h1>Image library</h1>
      ${errorNotice(this.error)} ${this.action.errorNotice()}
      ${this.message ? html`<div class="notice ok" role="status">${this.message}</div>` : nothing}
      ${
        mutate
          ? html`<section class="card" style="margin-bottom:1rem" aria-label="Import an OVA">
              <div class="toolbar">
                <label for="ova-target">Import into pool</label>
                <select id="ova-target" @change=${(e: Event) => (this.target = (e.target as HTMLSelectElement).value)}>
                  ${pools.map((p) => html`<option value="${p.hostId}/${p.name}" ?selected=${this.target === `${p.hostId}/${p.name}`}>${p.name} on ${p.hostName} (${formatBytes(p.availableBytes)} free)</option>`)}
                </select>
              </div>
              <div
                class="drop ${this.dragging ? 'over' : ''}"
                @dragover=${(e: DragEvent) => {
                  e.preventDefault();
                  this.dragging = true;
                }}
                @dragleave=${() => (this.dragging = false)}
                @drop=${this.onDrop}
              >
                <p>
                  Drop an <strong>.ova</strong> file here, or
                  <label style="color:var(--qx-accent);cursor:pointer;text-decoration:underline"
                    >choose one<input
                      id="ova-file"
                      class="sr-only"
                      type="file"
                      accept=".ova"
                      @change=${(e: Event) => {
                        const f = (e.target as HTMLInputElement).files?.[0];
                        if (f) void this.startUpload(f);
                      }} /></label
                  >.
                </p>
                <p class="muted">The file streams to the host, which checks and converts its disks.</p>
              </div>
              ${
                up && up.phase !== 'done'
                  ? html`<div style="margin-top:.8rem" data-phase=${up.phase}>
                      <qx-progress-bar
                        .value=${up.phase === 'upload' ? up.percent : 100}
                        .label=${`1. Upload ${up.file}`}
                        .tone=${up.phase === 'upload' ? '' : 'ok'}
                      ></qx-progress-bar>
                      <qx-progress-bar
                        style="margin-top:.4rem"
                        .value=${up.phase === 'convert' || up.phase === 'failed' ? up.percent : 0}
                        .label=${'2. Conversion'}
                        .phase=${up.detail}
                        .tone=${up.phase === 'failed' ? 'danger' : ''}
                      ></qx-progress-bar>
                    </div>`
                  : nothing
              }
            </section>`
          : nothing
      }

      <h2>OVA templates</h2>
      <div class="cards">
        ${(this.templates.value ?? []).map(
          (t) =>
            html`<article class="card" data-template=${t.name} aria-label="Template ${t.name}">
              <h3>${t.name}</h3>
              ${t.description ? html`<p class="muted" style="margin:.2rem 0">${t.description}</p>` : nothing}
              <dl class="props">
                <dt>vCPUs</dt>
                <dd data-spec="cpus">${t.sockets * t.cores}</dd>
                <dt>Memory</dt>
                <dd data-spec="memory">${t.memoryMib} MiB</dd>
                <dt>Disks</dt>
                <dd data-spec="disks">${t.disks.length} (${formatBytes(t.sizeBytes)})</dd>
                <dt>NICs</dt>
                <dd>${t.nics.length ? t.nics.map((n) => n.model).join(', ') : 'none'}</dd>
                <dt>Firmware</dt>
                <dd>${t.firmware || '—'}</dd>
                <dt>OS</dt>
                <dd>${t.osType || '—'}</dd>
                <dt>Location</dt>
                <dd>${t.pool} on ${t.hostName}</dd>
                <dt>Imported</dt>
                <dd>${formatTime(t.createdAt)}</dd>
              </dl>
              ${t.warnings.map((w) => html`<div class="warn">⚠ ${w}</div>`)}
              ${mutate ? html`<qx-template-edit .template=${t} @qx-saved=${() => this.templates.reload()}></qx-template-edit>` : nothing}
              ${
                mutate
                  ? html`<form
                      class="toolbar"
                      style="margin:.8rem 0 0"
                      @submit=${(e: SubmitEvent) => this.deploy(t, e)}
                      aria-label="Deploy ${t.name}"
                    >
                      <label class="sr-only" for="dep-${t.id}">New VM name</label>
                      <input
                        id="dep-${t.id}"
                        name="name"
                        placeholder="New VM name"
                        required
                        pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,62}"
                        style="flex:1 1 100%"
                      />
                      <label><input type="checkbox" name="start" checked /> start</label>
                      <button class="primary" type="submit" ?disabled=${this.action.running === t.id}>
                        ${this.action.running === t.id ? 'Deploying…' : 'Deploy'}
                      </button>
                      <button type="button" class="danger" @click=${() => this.removeTemplate(t)}>Delete</button>
                    </form>`
                  : nothing
              }
            </article>`,
        )}
      </div>
      ${this.templates.empty(`No templates yet.${mutate ? ' Drop an OVA above.' : ''}`)}

      <h2>ISO images</h2>
      <table>
        <thead>
          <tr>
            <th>ISO</th>
            <th>Pool</th>
            <th class="num">Size</th>
            <th>Used by</th>
          </tr>
        </thead>
        <tbody>
          ${(this.isos.value ?? []).map(
            (v) =>
              html`<tr>
                <td>${v.name}</td>
                <td>${v.pool}</td>
                <td class="num">${formatBytes(v.capacityBytes)}</td>
                <td>${v.usedBy.join(', ') || '—'}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.isos.empty(html`No ISO images. Upload one on the <a href="#/storage">Storage</a> page.`)}`;
  }
}
customElements.define('qx-image-library', QxImageLibrary);
