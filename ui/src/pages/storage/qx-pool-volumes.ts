// The volumes of one pool, with upload (ISO / qcow2 / raw) through XHR so the progress bar shows
// real bytes sent, new empty volumes, resize, clone, download, details and delete.
import { LitElement, html, nothing } from 'lit';
import type { PoolDto, VolumeDto } from '@dto/storage.js';
import {
  cloneVolume,
  createVolume,
  deleteVolume,
  fetchPool,
  fetchVolume,
  fetchVolumes,
  formatForFile,
  resizeVolume,
  uploadVolume,
  volumeDownloadUrl,
  volumeNameFor,
} from '../../api/storage.js';
import { ApiError } from '../../api/client.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { formatBytes, parseSize } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

export class QxPoolVolumes extends LitElement {
  static override properties = {
    pool: { attribute: false },
    canMutate: { type: Boolean },
    progress: { state: true },
    uploading: { state: true },
    error: { state: true },
    done: { state: true },
    details: { state: true },
  };
  declare pool: PoolDto;
  declare canMutate: boolean;
  declare progress: number;
  declare uploading: string;
  declare error: string;
  declare done: string;
  /** The volume whose details are shown (as the server returned it when opened). */
  declare details: VolumeDto | undefined;
  private abort?: AbortController;
  private volumes = new ResourceController<VolumeDto[]>(this, (s) => fetchVolumes(this.pool.hostId, this.pool.name, s));
  /** The pool itself, fresh after each change (free space). */
  private current = new ResourceController<PoolDto>(this, (s) => fetchPool(this.pool.hostId, this.pool.name, s));
  /** Volume create, resize, clone, delete (the upload keeps its own progress and message). */
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.progress = 0;
    this.uploading = '';
    this.error = '';
    this.done = '';
  }

  override willUpdate(changed: Map<string, unknown>): void {
    const prev = changed.get('pool') as PoolDto | undefined;
    if (prev && (prev.name !== this.pool.name || prev.hostId !== this.pool.hostId)) this.refresh();
  }

  private refresh(): void {
    void this.volumes.reload();
    void this.current.reload();
    this.dispatchEvent(new Event('qx-changed'));
  }

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const capacityBytes = parseSize(String(f.get('size')));
    if (!capacityBytes) {
      this.action.fail(new ApiError(400, 'Give a size such as 10G or 512M.', 'capacityBytes'));
      return;
    }
    const name = String(f.get('name')).trim();
    const format = f.get('format') === 'raw' ? 'raw' : 'qcow2';
    if (
      await this.action.run(
        () => createVolume(this.pool.hostId, this.pool.name, { name, format, capacityBytes }),
        'create',
      )
    ) {
      this.done = `Created ${name}.`;
      form.reset();
    }
    this.refresh();
  }

  private async resize(v: VolumeDto): Promise<void> {
    const text = prompt(`New size of ${v.name} (now ${formatBytes(v.capacityBytes)}), e.g. 20G`);
    if (!text) return;
    const size = parseSize(text);
    if (!size) {
      this.action.fail(new Error(`"${text}" is not a size: use e.g. 20G or 512M.`));
      return;
    }
    if (await this.action.run(() => resizeVolume(v, size), `resize:${v.name}`)) this.done = `Resized ${v.name}.`;
    this.refresh();
  }

  private async clone(v: VolumeDto): Promise<void> {
    const name = prompt(`Name of the copy of ${v.name}`, `${v.name.replace(/(\.[a-z0-9]+)?$/i, '-copy$1')}`);
    if (!name) return;
    const ok = await this.action.run(
      async () => this.task.follow(await cloneVolume(v, name.trim(), false)),
      `clone:${v.name}`,
    );
    if (ok) this.done = `Copied ${v.name} to ${name.trim()}.`;
    this.refresh();
  }

  private async showDetails(v: VolumeDto): Promise<void> {
    if (this.details?.name === v.name) {
      this.details = undefined;
      return;
    }
    await this.action.run(async () => (this.details = await fetchVolume(v)), `details:${v.name}`);
  }

  private async upload(file: File): Promise<void> {
    const name = volumeNameFor(file.name);
    this.uploading = name;
    this.progress = 0;
    this.error = '';
    this.done = '';
    this.abort = new AbortController();
    try {
      await uploadVolume(this.pool.hostId, this.pool.name, name, file, formatForFile(file.name), {
        signal: this.abort.signal,
        onProgress: (sent, total) => (this.progress = total ? (sent / total) * 100 : 0),
      });
      this.done = `Uploaded ${name} (${formatBytes(file.size)}).`;
    } catch (err) {
      this.error =
        (err as Error).name === 'AbortError'
          ? 'Upload cancelled.'
          : `Upload of ${file.name} failed: ${(err as Error).message}`;
    } finally {
      this.uploading = '';
      this.refresh();
    }
  }

  private async removeVolume(v: VolumeDto): Promise<void> {
    if (!confirm(`Delete volume ${v.name}?`)) return;
    this.error = '';
    await this.action.run(() => deleteVolume(v.hostId, v.pool, v.name));
    if (this.details?.name === v.name) this.details = undefined;
    this.refresh();
  }

  override render() {
    const list = this.volumes.value ?? [];
    const pool = this.current.value ?? this.pool;
    const err = (k: string) => this.action.fieldError(k);
    return html`<h2>Volumes in ${this.pool.name} <span class="muted">on ${this.pool.hostName}</span></h2>
      <p class="muted" data-testid="pool-free">
        ${formatBytes(pool.availableBytes)} free of ${formatBytes(pool.capacityBytes)} · ${pool.path}
      </p>
      ${
        this.canMutate
          ? html`<form class="row" @submit=${this.onCreate} aria-label="New volume">
                ${formField('New volume', 'vol-name', html`<input id="vol-name" name="name" required aria-invalid=${!!err('name')} />`, err('name'))}
                ${formField(
                  'Format',
                  'vol-format',
                  html`<select id="vol-format" name="format">
                    <option value="qcow2">qcow2 (thin)</option>
                    <option value="raw">raw</option>
                  </select>`,
                )}
                ${formField('Size', 'vol-size', html`<input id="vol-size" name="size" placeholder="e.g. 10G" required aria-invalid=${!!err('capacityBytes')} />`, err('capacityBytes'))}
                <div class="field">
                  <button type="submit" ?disabled=${this.action.busy}>
                    ${this.action.running === 'create' ? 'Creating…' : 'Create volume'}
                  </button>
                </div>
              </form>
              <div class="toolbar">
                <label for="upload">Upload ISO or disk image:</label>
                <input
                  id="upload"
                  type="file"
                  accept=".iso,.qcow2,.img,.raw"
                  ?disabled=${!!this.uploading}
                  @change=${(e: Event) => {
                    const f = (e.target as HTMLInputElement).files?.[0];
                    if (f) void this.upload(f);
                  }}
                />
                ${this.uploading ? html`<button @click=${() => this.abort?.abort()}>Cancel upload</button>` : nothing}
              </div>`
          : nothing
      }
      ${this.uploading ? html`<qx-progress-bar style="margin-bottom:.8rem" .value=${this.progress} .label=${`Uploading ${this.uploading}`}></qx-progress-bar>` : nothing}
      ${this.done ? html`<div class="notice ok" role="status">${this.done}</div>` : nothing}
      ${this.error ? html`<div class="notice error" role="alert">${this.error}</div>` : nothing}
      ${this.action.errorNotice(['name', 'capacityBytes'])}
      ${this.task.progressText ? html`<p class="muted" role="status">${this.task.progressText}</p>` : nothing}
      <table>
        <thead>
          <tr>
            <th>Volume</th>
            <th>Format</th>
            <th class="num">Size</th>
            <th class="num">Allocated</th>
            <th>Used by</th>
            ${this.canMutate ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (v) =>
              html`<tr data-volume=${v.name}>
                <td>
                  <button
                    class="link"
                    aria-expanded=${this.details?.name === v.name}
                    @click=${() => this.showDetails(v)}
                  >
                    ${v.name}
                  </button>
                </td>
                <td>${v.format}</td>
                <td class="num">${formatBytes(v.capacityBytes)}</td>
                <td class="num">${formatBytes(v.allocationBytes)}</td>
                <td>${v.usedBy.join(', ') || html`<span class="muted">—</span>`}</td>
                ${this.canMutate ? this.renderActions(v) : nothing}
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.details ? this.renderDetails(this.details) : nothing} ${this.volumes.empty('No volumes in this pool.')}`;
  }
  private renderActions(v: VolumeDto) {
    const busy = this.action.busy || !!this.uploading;
    return html`<td>
      <button ?disabled=${busy || v.format === 'iso'} @click=${() => this.resize(v)} aria-label="Resize ${v.name}">
        Resize
      </button>
      <button ?disabled=${busy} @click=${() => this.clone(v)} aria-label="Copy ${v.name}">Copy</button>
      <a class="button" href=${volumeDownloadUrl(v)} download=${v.name} aria-label="Download ${v.name}">Download</a>
      <button class="danger" ?disabled=${busy || v.usedBy.length > 0} @click=${() => this.removeVolume(v)}>
        Delete
      </button>
    </td>`;
  }

  private renderDetails(v: VolumeDto) {
    return html`<div class="card" role="region" aria-label="Volume ${v.name}" data-testid="volume-details">
      <dl class="props">
        <dt>Volume</dt>
        <dd>${v.name}</dd>
        <dt>Path</dt>
        <dd class="mono">${v.path}</dd>
        <dt>Format</dt>
        <dd>${v.format}</dd>
        <dt>Size</dt>
        <dd>${formatBytes(v.capacityBytes)} (${formatBytes(v.allocationBytes)} allocated)</dd>
        <dt>Backing volume</dt>
        <dd>${v.backingVolume || '—'}</dd>
        <dt>Used by</dt>
        <dd>${v.usedBy.join(', ') || '—'}</dd>
      </dl>
    </div>`;
  }
}
customElements.define('qx-pool-volumes', QxPoolVolumes);
