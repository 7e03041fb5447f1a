// The volumes of one pool, with upload (ISO / qcow2 / raw) through XHR so the progress bar shows
// real bytes sent, and delete.
import { LitElement, html, nothing } from 'lit';
import type { PoolDto, VolumeDto } from '@dto/storage.js';
import { deleteVolume, fetchVolumes, formatForFile, uploadVolume, volumeNameFor } from '../../api/storage.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formatBytes } from '../../app/format.js';
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
  };
  declare pool: PoolDto;
  declare canMutate: boolean;
  declare progress: number;
  declare uploading: string;
  declare error: string;
  declare done: string;
  private abort?: AbortController;
  private volumes = new ResourceController<VolumeDto[]>(this, (s) => fetchVolumes(this.pool.hostId, this.pool.name, s));
  /** Volume delete (the upload keeps its own progress and message). */
  private action = new ActionController(this);

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
    if (prev && (prev.name !== this.pool.name || prev.hostId !== this.pool.hostId)) void this.volumes.reload();
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
      this.dispatchEvent(new Event('qx-changed'));
    } catch (err) {
      this.error =
        (err as Error).name === 'AbortError'
          ? 'Upload cancelled.'
          : `Upload of ${file.name} failed: ${(err as Error).message}`;
    } finally {
      this.uploading = '';
      void this.volumes.reload();
    }
  }

  private async removeVolume(v: VolumeDto): Promise<void> {
    if (!confirm(`Delete volume ${v.name}?`)) return;
    this.error = '';
    await this.action.run(() => deleteVolume(v.hostId, v.pool, v.name));
    void this.volumes.reload();
    this.dispatchEvent(new Event('qx-changed'));
  }

  override render() {
    const list = this.volumes.value ?? [];
    return html`<h2>Volumes in ${this.pool.name} <span class="muted">on ${this.pool.hostName}</span></h2>
      ${
        this.canMutate
          ? html`<div class="toolbar">
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
      ${this.action.errorNotice()}
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
                <td>${v.name}</td>
                <td>${v.format}</td>
                <td class="num">${formatBytes(v.capacityBytes)}</td>
                <td class="num">${formatBytes(v.allocationBytes)}</td>
                <td>${v.usedBy.join(', ') || html`<span class="muted">—</span>`}</td>
                ${this.canMutate ? html`<td><button class="danger" ?disabled=${v.usedBy.length > 0} @click=${() => this.removeVolume(v)}>Delete</button></td>` : nothing}
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.volumes.empty('No volumes in this pool.')}`;
  }
}
customElements.define('qx-pool-volumes', QxPoolVolumes);
