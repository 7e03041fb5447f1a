// CPU model, Secure Boot and TPM of an existing VM: the settings form's fields (read back from
// FormData into an UpdateVmDto patch) and the summary line of the VM page. Lit templates only.
import { html } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import type { UpdateVmDto, VmDto } from '@dto/vms.js';
import { formField } from '../../components/form-field.js';
import { cpuChoices, parseCpuChoice } from './vm-presets.js';

/** The summary's words: "x86-64-v2-AES · UEFI + Secure Boot · TPM 2.0". */
export function hardwareSummary(vm: VmDto): { cpu: string; firmware: string } {
  const cpu = vm.cpuMode === 'named' ? vm.cpuModel : vm.cpuMode === 'default' ? 'QEMU default' : vm.cpuMode;
  const firmware = [vm.firmware.toUpperCase(), vm.secureBoot ? 'Secure Boot' : '', vm.tpm ? 'TPM 2.0' : '']
    .filter(Boolean)
    .join(' + ');
  return { cpu, firmware };
}

/** The settings fields; `host` (the VM's host) lists the models it can run. */
export function hardwareFields(vm: VmDto, host: HostDto | undefined, err: (field: string) => string | undefined) {
  const value = vm.cpuMode === 'named' ? `named:${vm.cpuModel}` : vm.cpuMode;
  const choices = cpuChoices(host?.cpuModels ?? [], host?.cpuModes ?? []);
  if (!choices.some((c) => c.value === value)) {
    choices.unshift({ value, label: vm.cpuMode === 'default' ? 'QEMU default (from before CPU models)' : value });
  }
  const cpuErr = err('cpuMode') ?? err('cpuModel');
  const sbErr = err('secureBoot') ?? err('machine');
  return html`<div class="row">
      ${formField(
        'CPU model',
        'cpu',
        html`<select id="cpu" name="cpu" aria-invalid=${!!cpuErr}>
          ${choices.map((c) => html`<option value=${c.value} ?selected=${c.value === value}>${c.label}</option>`)}
        </select>`,
        cpuErr,
      )}
    </div>
    <div class="choices">
      <label
        ><input id="secureBoot" name="secureBoot" type="checkbox" .checked=${vm.secureBoot} aria-invalid=${!!sbErr} />
        Secure Boot (needs UEFI and the q35 machine type)</label
      >
      ${sbErr ? html`<span class="field-error" role="alert">${sbErr}</span>` : ''}
      <label
        ><input id="tpm" name="tpm" type="checkbox" .checked=${vm.tpm} /> TPM 2.0 (removing it deletes its state)</label
      >
    </div>`;
}

/** The patch of those fields from the submitted form; the CPU only when it changed. */
export function hardwarePatch(
  vm: VmDto,
  f: FormData,
): Pick<UpdateVmDto, 'cpuMode' | 'cpuModel' | 'secureBoot' | 'tpm'> {
  const value = String(f.get('cpu') ?? '');
  const same = value === (vm.cpuMode === 'named' ? `named:${vm.cpuModel}` : vm.cpuMode);
  const cpu = same ? {} : parseCpuChoice(value);
  return { ...cpu, secureBoot: f.get('secureBoot') === 'on', tpm: f.get('tpm') === 'on' };
}
