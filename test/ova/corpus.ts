// The OVA test corpus: benign exports in the style of ovftool and VirtualBox plus hostile
// archives, generated with qemu-img (never committed). Each case carries what `qx ova inspect`
// must print, or the error both inspect and import must fail with.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { testGuest } from '../guest/fixture.js';
import { buildTar, type RawEntry } from './tar-build.js';
import { ovftoolOvf, unprefixedOvf, virtualboxOvf2, type TplVm } from './ovf-templates.js';

/** A host file hostile images point at; its content must never show up anywhere. */
export const HOST_SECRET_FILE = '/tmp/qxt-ova-host-secret.txt';
export const HOST_SECRET = 'QXT-OVA-HOST-SECRET-7f3a91';
/** A line of /etc/passwd that must never leak either. */
export const PASSWD_MARKER = 'root:x:0:0';

export interface InspectJson {
  name: string;
  cpus: number;
  coresPerSocket: number;
  memoryMiB: number;
  firmware: string;
  osType: string;
  disks: { file: string; capacityBytes: number; controller: string; format: string }[];
  nics: { model: string; network: string; mac: string }[];
  manifest: 'verified' | 'absent';
  warnings: string[];
}

export interface CorpusCase {
  name: string;
  file: string;
  /** Benign: the exact inspect JSON. */
  expect?: InspectJson;
  /** Hostile/broken: what the one error line must match (inspect and import). */
  error?: RegExp;
  /** Disk images whose content the imported qcow2 files must equal (qemu-img compare). */
  originals?: string[];
}

type Alg = 'sha1' | 'sha256' | 'sha512';

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

function mf(alg: Alg, entries: RawEntry[], opts: { spaces?: boolean; absent?: string; wrong?: string } = {}): RawEntry {
  const lines = entries.map((e) => {
    let digest = createHash(alg)
      .update(e.data ?? Buffer.alloc(0))
      .digest('hex');
    if (e.name === opts.wrong) digest = digest.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const A = alg.toUpperCase();
    return opts.spaces ? `${A} (${e.name}) =   ${digest}  ` : `${A}(${e.name})= ${digest}`;
  });
  if (opts.absent)
    lines.push(
      `${alg.toUpperCase()}(${opts.absent})= ${'0'.repeat(alg === 'sha1' ? 40 : alg === 'sha256' ? 64 : 128)}`,
    );
  return { name: 'x.mf', data: Buffer.from(lines.join('\n') + '\n') };
}

function withMf(name: string, entries: RawEntry[], alg: Alg, opts?: Parameters<typeof mf>[2]): RawEntry[] {
  return [...entries, { ...mf(alg, entries, opts), name }];
}

/** Disk images the corpus uses, built once into `dir/disks`. */
function buildDisks(dir: string) {
  const d = join(dir, 'disks');
  mkdirSync(d, { recursive: true });
  const raw = join(d, 'small.raw');
  if (!existsSync(raw)) {
    const buf = Buffer.alloc(8 * 2 ** 20);
    randomBytes(2 ** 20).copy(buf, 0);
    randomBytes(512 * 1024).copy(buf, 5 * 2 ** 20);
    writeFileSync(raw, buf);
  }
  const conv = (out: string, fmt: string, opts: string[] = [], src = raw, srcFmt = 'raw') => {
    const p = join(d, out);
    // Rebuilt when its source is newer: the test guest (guest.vmdk's source) changes with its inputs.
    if (!existsSync(p) || statSync(src).mtimeMs > statSync(p).mtimeMs) {
      sh('qemu-img', ['convert', '-f', srcFmt, '-O', fmt, ...opts, src, p]);
    }
    return p;
  };
  const disks = {
    raw,
    rawSmall: join(d, 'tiny.raw'),
    vmdk: conv('small.vmdk', 'vmdk', ['-o', 'subformat=streamOptimized']),
    sparse: conv('small-sparse.vmdk', 'vmdk', ['-o', 'subformat=monolithicSparse']),
    qcow2: conv('small.qcow2', 'qcow2'),
    guestVmdk: conv('guest.vmdk', 'vmdk', ['-o', 'subformat=streamOptimized'], testGuest.qcow2, 'qcow2'),
    backing: join(d, 'backing.qcow2'),
  };
  if (!existsSync(disks.rawSmall))
    writeFileSync(disks.rawSmall, Buffer.concat([randomBytes(4096), Buffer.alloc(4 * 2 ** 20 - 4096)]));
  if (!existsSync(disks.backing))
    sh('qemu-img', ['create', '-f', 'qcow2', '-u', '-b', HOST_SECRET_FILE, '-F', 'raw', disks.backing, '8M']);
  return disks;
}

function textDescriptor(target: string): Buffer {
  return Buffer.from(`# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 1 FLAT "${target}" 0

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "4"
`);
}

/** A binary VMDK sparse header with capacity 0: qemu then follows its embedded descriptor. */
function kdmvDescriptor(target: string): Buffer {
  const h = Buffer.alloc(512);
  h.write('KDMV', 0, 'latin1');
  h.writeUInt32LE(1, 4);
  h.writeUInt32LE(3, 8);
  h.writeBigUInt64LE(0n, 12);
  h.writeBigUInt64LE(128n, 20);
  h.writeBigUInt64LE(1n, 28);
  h.writeBigUInt64LE(20n, 36);
  const desc = Buffer.alloc(20 * 512);
  textDescriptor(target).copy(desc);
  return Buffer.concat([h, desc]);
}

const GUEST_SIZE = (): number => {
  const info = JSON.parse(
    execFileSync('qemu-img', ['info', '--output=json', testGuest.qcow2], { encoding: 'utf8' }),
  ) as { 'virtual-size': number };
  return info['virtual-size'];
};

const MiB = 2 ** 20;

/** Base VM used by most cases (ovftool flavour, one 8 MiB disk on LSI SCSI, one VMXNET3 NIC). */
function baseVm(over: Partial<TplVm> = {}): TplVm {
  return {
    name: 'web01',
    id: 'web01',
    osId: 101,
    osType: 'ubuntu64Guest',
    cpus: '2',
    coresPerSocket: 1,
    memory: '1024',
    memoryUnits: 'byte * 2^20',
    disks: [{ href: 'web01-disk1.vmdk', capacity: 8 * MiB, controller: 'scsi' }],
    nics: [{ model: 'VmxNet3', network: 'VM Network', mac: '00:50:56:aa:bb:01' }],
    ...over,
  };
}

function baseExpect(over: Partial<InspectJson> = {}): InspectJson {
  return {
    name: 'web01',
    cpus: 2,
    coresPerSocket: 1,
    memoryMiB: 1024,
    firmware: 'bios',
    osType: 'linux',
    disks: [{ file: 'web01-disk1.vmdk', capacityBytes: 8 * MiB, controller: 'scsi', format: 'vmdk' }],
    nics: [{ model: 'VmxNet3', network: 'VM Network', mac: '00:50:56:aa:bb:01' }],
    manifest: 'verified',
    warnings: [],
    ...over,
  };
}

const ovfEntry = (name: string, xml: string): RawEntry => ({ name, data: Buffer.from(xml) });

/** Generates every OVA into `dir` and returns the cases. */
export function buildCorpus(dir: string): CorpusCase[] {
  mkdirSync(dir, { recursive: true });
  writeFileSync(HOST_SECRET_FILE, `${HOST_SECRET}\n`.repeat(64));
  const disks = buildDisks(dir);
  const vmdk = readFileSync(disks.vmdk);
  const cases: CorpusCase[] = [];
  const add = (c: Omit<CorpusCase, 'file'>, tar: Buffer): void => {
    const file = join(dir, `${c.name}.ova`);
    writeFileSync(file, tar);
    cases.push({ ...c, file });
  };
  const simple = (ovf: string, disk: Buffer = vmdk, href = 'web01-disk1.vmdk'): RawEntry[] => [
    ovfEntry('web01.ovf', ovf),
    { name: href, data: disk },
  ];

  // --- benign: VMware ovftool style -------------------------------------------------------
  const guest = readFileSync(disks.guestVmdk);
  const guestSize = GUEST_SIZE();
  {
    const vm = baseVm({
      name: 'qx-guest',
      id: 'qx-guest',
      cpus: '2',
      coresPerSocket: 2,
      memory: '128',
      disks: [{ href: 'qx-guest-disk1.vmdk', fileSize: guest.length, capacity: guestSize, controller: 'scsi' }],
      nics: [{ model: 'E1000', network: 'VM Network', mac: '00:50:56:01:02:03' }],
    });
    add(
      {
        name: 'ovftool-guest-sha256',
        expect: baseExpect({
          name: 'qx-guest',
          coresPerSocket: 2,
          memoryMiB: 128,
          disks: [{ file: 'qx-guest-disk1.vmdk', capacityBytes: guestSize, controller: 'scsi', format: 'vmdk' }],
          nics: [{ model: 'E1000', network: 'VM Network', mac: '00:50:56:01:02:03' }],
        }),
        originals: [testGuest.qcow2],
      },
      buildTar(
        withMf(
          'qx-guest.mf',
          [ovfEntry('qx-guest.ovf', ovftoolOvf(vm)), { name: 'qx-guest-disk1.vmdk', data: guest }],
          'sha256',
        ),
      ),
    );
  }
  {
    // ovftool really writes the manifest right after the OVF: OVF, MF, disks.
    const entries = simple(ovftoolOvf(baseVm()));
    const m = { ...mf('sha1', entries), name: 'web01.mf' };
    add(
      { name: 'ovftool-sha1-mf-second', expect: baseExpect(), originals: [disks.raw] },
      buildTar([entries[0]!, m, entries[1]!]),
    );
  }
  add(
    { name: 'ovftool-sha512', expect: baseExpect(), originals: [disks.raw] },
    buildTar(withMf('web01.mf', simple(ovftoolOvf(baseVm())), 'sha512')),
  );
  add(
    { name: 'ovftool-no-manifest', expect: baseExpect({ manifest: 'absent' }) },
    buildTar(simple(ovftoolOvf(baseVm()))),
  );
  {
    const vm = baseVm({
      name: 'win-efi',
      id: 'win-efi',
      osId: 1,
      osType: 'windows9_64Guest',
      cpus: '4',
      coresPerSocket: 2,
      memory: '4',
      memoryUnits: 'byte * 2^30',
      firmware: 'efi',
      cdrom: true,
      disks: [
        { href: 'win-efi-disk1.vmdk', capacity: 8, units: 'byte * 2^20', controller: 'sata' },
        { href: 'win-efi-disk2.vmdk', capacity: 8 * MiB, controller: 'nvme' },
      ],
      nics: [
        { model: 'E1000e', network: 'Office LAN' },
        { model: 'VmxNet3', network: 'Backup', mac: '00-50-56-AA-BB-02' },
      ],
    });
    add(
      {
        name: 'ovftool-windows-efi-multidisk',
        expect: {
          name: 'win-efi',
          cpus: 4,
          coresPerSocket: 2,
          memoryMiB: 4096,
          firmware: 'efi',
          osType: 'windows',
          disks: [
            { file: 'win-efi-disk1.vmdk', capacityBytes: 8 * MiB, controller: 'sata', format: 'vmdk' },
            { file: 'win-efi-disk2.vmdk', capacityBytes: 8 * MiB, controller: 'nvme', format: 'vmdk' },
          ],
          nics: [
            { model: 'E1000e', network: 'Office LAN', mac: '' },
            { model: 'VmxNet3', network: 'Backup', mac: '00:50:56:aa:bb:02' },
          ],
          manifest: 'verified',
          warnings: [],
        },
        originals: [disks.raw, disks.raw],
      },
      buildTar(
        withMf(
          'win-efi.mf',
          [
            ovfEntry('win-efi.ovf', ovftoolOvf(vm)),
            { name: 'win-efi-disk1.vmdk', data: vmdk },
            { name: 'win-efi-disk2.vmdk', data: vmdk },
          ],
          'sha256',
        ),
      ),
    );
  }
  // --- benign: VirtualBox ---------------------------------------------------------------------
  {
    const vm = baseVm({
      name: undefined,
      id: 'Ubuntu 22.04',
      osId: 94,
      osType: 'Ubuntu_64',
      cpus: '1',
      memory: '2048',
      memoryUnits: 'MegaBytes',
      firmware: 'efi',
      cdrom: true,
      disks: [{ href: 'Ubuntu 22.04-disk001.vmdk', capacity: 8 * MiB, controller: 'sata' }],
      nics: [{ model: 'E1000', network: 'NAT', mac: '08:00:27:a1:b2:c3' }],
    });
    const entries = [
      ovfEntry('Ubuntu 22.04.ovf', virtualboxOvf2(vm)),
      { name: 'Ubuntu 22.04-disk001.vmdk', data: vmdk },
    ];
    add(
      {
        name: 'virtualbox-ovf2',
        expect: {
          name: 'Ubuntu 22.04',
          cpus: 1,
          coresPerSocket: 1,
          memoryMiB: 2048,
          firmware: 'efi',
          osType: 'linux',
          disks: [{ file: 'Ubuntu 22.04-disk001.vmdk', capacityBytes: 8 * MiB, controller: 'sata', format: 'vmdk' }],
          nics: [{ model: 'E1000', network: 'NAT', mac: '08:00:27:a1:b2:c3' }],
          manifest: 'verified',
          warnings: [],
        },
        originals: [disks.raw],
      },
      buildTar(withMf('Ubuntu 22.04.mf', entries, 'sha256')),
    );
  }
  {
    const vm = baseVm({
      name: undefined,
      id: 'legacy-box',
      osId: 1,
      osType: 'Other',
      cpus: '1',
      memory: '512',
      memoryUnits: 'MB',
      nics: [],
      disks: [{ href: 'legacy-disk1.vmdk', capacity: 8 * MiB, controller: 'ide' }],
    });
    add(
      {
        name: 'virtualbox-ide-no-nic',
        expect: {
          ...baseExpect(),
          name: 'legacy-box',
          cpus: 1,
          memoryMiB: 512,
          osType: 'other',
          disks: [{ file: 'legacy-disk1.vmdk', capacityBytes: 8 * MiB, controller: 'ide', format: 'vmdk' }],
          nics: [],
          manifest: 'absent',
        },
      },
      buildTar([ovfEntry('legacy-box.ovf', virtualboxOvf2(vm)), { name: 'legacy-disk1.vmdk', data: vmdk }]),
    );
  }
  add(
    { name: 'no-namespace-prefixes', expect: baseExpect({ manifest: 'absent' }) },
    buildTar(simple(unprefixedOvf(baseVm()))),
  );
  // --- benign: encodings and layouts ------------------------------------------------------
  {
    const gz = gzipSync(vmdk);
    const vm = baseVm({
      disks: [{ href: 'web01-disk1.vmdk.gz', capacity: 8 * MiB, controller: 'scsi', compression: 'gzip' }],
    });
    add(
      {
        name: 'gzip-disk',
        expect: baseExpect({
          disks: [{ file: 'web01-disk1.vmdk.gz', capacityBytes: 8 * MiB, controller: 'scsi', format: 'vmdk' }],
        }),
        originals: [disks.raw],
      },
      buildTar(withMf('web01.mf', simple(ovftoolOvf(vm), gz, 'web01-disk1.vmdk.gz'), 'sha256')),
    );
  }
  {
    const chunk = 1024 * 1024;
    const vm = baseVm({
      disks: [{ href: 'web01-disk1.vmdk', capacity: 8 * MiB, controller: 'scsi', chunkSize: chunk }],
    });
    const parts: RawEntry[] = [];
    for (let i = 0; i * chunk < vmdk.length; i++)
      parts.push({
        name: `web01-disk1.vmdk.${String(i).padStart(9, '0')}`,
        data: vmdk.subarray(i * chunk, (i + 1) * chunk),
      });
    add(
      { name: 'chunked-disk', expect: baseExpect(), originals: [disks.raw] },
      buildTar(withMf('web01.mf', [ovfEntry('web01.ovf', ovftoolOvf(vm)), ...parts], 'sha256')),
    );
    const gz = gzipSync(guest);
    const gzChunk = Math.ceil(gz.length / 3);
    const gvm = baseVm({
      disks: [
        {
          href: 'web01-disk1.vmdk.gz',
          capacity: guestSize,
          controller: 'scsi',
          compression: 'gzip',
          chunkSize: gzChunk,
        },
      ],
    });
    const gparts: RawEntry[] = [0, 1, 2].map((i) => ({
      name: `web01-disk1.vmdk.gz.00000000${i}`,
      data: gz.subarray(i * gzChunk, (i + 1) * gzChunk),
    }));
    add(
      {
        name: 'gzip-chunked-disk',
        expect: baseExpect({
          disks: [{ file: 'web01-disk1.vmdk.gz', capacityBytes: guestSize, controller: 'scsi', format: 'vmdk' }],
        }),
        originals: [testGuest.qcow2],
      },
      buildTar(withMf('web01.mf', [ovfEntry('web01.ovf', ovftoolOvf(gvm)), ...gparts], 'sha1')),
    );
  }
  {
    const entries = simple(ovftoolOvf(baseVm()));
    add(
      { name: 'ovf-after-disks', expect: baseExpect(), originals: [disks.raw] },
      buildTar([entries[1]!, entries[0]!, { ...mf('sha256', entries), name: 'web01.mf' }]),
    );
  }
  {
    const vm = baseVm({ name: undefined, id: 'vm-without-name' });
    add(
      { name: 'no-name', expect: baseExpect({ name: 'vm-without-name', manifest: 'absent' }) },
      buildTar(simple(ovftoolOvf(vm))),
    );
  }
  {
    const vm = baseVm({
      name: 'My Web Server',
      disks: [{ href: 'My Web Server disk 1.vmdk', capacity: 8 * MiB, controller: 'scsi' }],
    });
    add(
      {
        name: 'spaces-in-names',
        expect: baseExpect({
          name: 'My Web Server',
          disks: [{ file: 'My Web Server disk 1.vmdk', capacityBytes: 8 * MiB, controller: 'scsi', format: 'vmdk' }],
        }),
        originals: [disks.raw],
      },
      buildTar(
        withMf(
          'My Web Server.mf',
          [ovfEntry('My Web Server.ovf', ovftoolOvf(vm)), { name: 'My Web Server disk 1.vmdk', data: vmdk, uid: 501 }],
          'sha256',
        ),
      ),
    );
  }
  {
    const entries = simple(ovftoolOvf(baseVm()));
    const junk = Buffer.from('\0\x05\x16\x07\0\x02\0\0Mac OS X        ');
    add(
      { name: 'macos-dot-underscore', expect: baseExpect() },
      buildTar([
        { name: '._web01.ovf', data: junk },
        entries[0]!,
        { name: '._web01-disk1.vmdk', data: junk },
        entries[1]!,
        { ...mf('sha256', entries), name: 'web01.mf' },
      ]),
    );
  }
  add(
    {
      name: 'manifest-lists-absent-file',
      expect: baseExpect({ warnings: ['manifest lists "web01-disk2.vmdk" but the OVA does not contain it'] }),
    },
    buildTar(withMf('web01.mf', simple(ovftoolOvf(baseVm())), 'sha256', { absent: 'web01-disk2.vmdk' })),
  );
  add(
    { name: 'manifest-extra-spaces', expect: baseExpect() },
    buildTar(withMf('web01.mf', simple(ovftoolOvf(baseVm())), 'sha256', { spaces: true })),
  );
  {
    const vm = baseVm({
      floppy: true,
      disks: [
        {
          href: 'web01-disk1.img',
          capacity: 4 * MiB,
          controller: 'scsi',
          format: 'http://www.gnome.org/~markmc/qcow-image-format.html#raw',
        },
        {
          href: 'web01-disk2.qcow2',
          capacity: 8 * MiB,
          controller: 'scsi',
          format: 'http://www.gnome.org/~markmc/qcow-image-format.html',
        },
        {
          href: 'web01-disk3.vmdk',
          capacity: 8 * MiB,
          controller: 'ide',
          format: 'http://www.vmware.com/interfaces/specifications/vmdk.html#sparse',
        },
      ],
    });
    add(
      {
        name: 'raw-qcow2-sparse-vmdk',
        expect: baseExpect({
          disks: [
            { file: 'web01-disk1.img', capacityBytes: 4 * MiB, controller: 'scsi', format: 'raw' },
            { file: 'web01-disk2.qcow2', capacityBytes: 8 * MiB, controller: 'scsi', format: 'qcow2' },
            { file: 'web01-disk3.vmdk', capacityBytes: 8 * MiB, controller: 'ide', format: 'vmdk' },
          ],
          warnings: [
            'floppy drive not imported',
            'the OVA is signed (.cert): the signature is recorded but not verified',
          ],
        }),
        originals: [disks.rawSmall, disks.raw, disks.raw],
      },
      buildTar(
        withMf(
          'web01.mf',
          [
            ovfEntry('web01.ovf', ovftoolOvf(vm)),
            { name: 'web01-disk1.img', data: readFileSync(disks.rawSmall) },
            { name: 'web01-disk2.qcow2', data: readFileSync(disks.qcow2) },
            { name: 'web01-disk3.vmdk', data: readFileSync(disks.sparse) },
            {
              name: 'web01.cert',
              data: Buffer.from('SHA256(web01.mf)= 00\n-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'),
            },
          ],
          'sha256',
        ),
      ),
    );
  }
  add(
    {
      name: 'unreferenced-extra-file',
      expect: baseExpect({ manifest: 'absent', warnings: ['"web01.nvram" is not used by the OVF: ignored'] }),
    },
    buildTar([{ name: 'web01.nvram', data: Buffer.from('nvram') }, ...simple(ovftoolOvf(baseVm()))]),
  );

  // --- hostile ---------------------------------------------------------------------------------
  const good = simple(ovftoolOvf(baseVm()));
  const bad = (name: string, error: RegExp, entries: RawEntry[]) => add({ name, error }, buildTar(entries));
  bad('traversal', /path traversal "\.\.\/\.\.\/tmp\/qxt-ova-evil" refused/, [
    ...good,
    { name: '../../tmp/qxt-ova-evil', data: Buffer.from('x') },
  ]);
  bad('absolute-path', /absolute path "\/tmp\/qxt-ova-evil" refused/, [
    { name: '/tmp/qxt-ova-evil', data: Buffer.from('x') },
    ...good,
  ]);
  bad('symlink', /"web01-disk1\.vmdk" is a symbolic link/, [
    good[0]!,
    { name: 'web01-disk1.vmdk', type: '2', linkname: '/etc/passwd' },
  ]);
  bad('hardlink', /"web01-disk1\.vmdk" is a hard link/, [
    good[0]!,
    { name: 'web01-disk1.vmdk', type: '1', linkname: '/etc/passwd' },
  ]);
  bad('char-device', /"web01-disk1\.vmdk" is a character device/, [good[0]!, { name: 'web01-disk1.vmdk', type: '3' }]);
  bad('block-device', /"sda" is a block device/, [...good, { name: 'sda', type: '4' }]);
  bad('directory', /"disks\/" is a directory/, [{ name: 'disks/', type: '5' }, ...good]);
  bad('duplicate-entry', /duplicate entry "web01-disk1\.vmdk"/, [...good, good[1]!]);
  bad(
    'xxe',
    /DTD \(<!DOCTYPE>\) is not allowed/,
    simple(
      ovftoolOvf(
        baseVm({ prolog: '<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', annotation: '&xxe;' }),
      ),
    ),
  );
  bad(
    'billion-laughs',
    /DTD \(<!DOCTYPE>\) is not allowed/,
    simple(
      ovftoolOvf(
        baseVm({
          prolog: `<!DOCTYPE Envelope [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">${Array.from({ length: 8 }, (_, i) => `<!ENTITY ${'cdefghij'[i]} "${`&${'bcdefghi'[i]};`.repeat(10)}">`).join('')}]>\n`,
          annotation: '&j;',
        }),
      ),
    ),
  );
  bad(
    'vmdk-text-descriptor-host-file',
    /not a safe image: a VMDK text descriptor refers to other files/,
    simple(ovftoolOvf(baseVm()), textDescriptor(HOST_SECRET_FILE)),
  );
  bad('vmdk-text-descriptor-passwd', /not a safe image/, simple(ovftoolOvf(baseVm()), textDescriptor('/etc/passwd')));
  bad(
    'vmdk-kdmv-descriptor-host-file',
    /not a safe image: VMDK sparse header without capacity/,
    simple(ovftoolOvf(baseVm()), kdmvDescriptor(HOST_SECRET_FILE)),
  );
  {
    const vm = baseVm({
      disks: [
        {
          href: 'web01-disk1.qcow2',
          capacity: 8 * MiB,
          controller: 'scsi',
          format: 'http://www.gnome.org/~markmc/qcow-image-format.html',
        },
      ],
    });
    bad(
      'qcow2-backing-file',
      /not a safe image: it has a backing file/,
      simple(ovftoolOvf(vm), readFileSync(disks.backing), 'web01-disk1.qcow2'),
    );
  }
  bad(
    'vmdk-is-really-qcow2',
    /not a safe image: it is qcow2, the OVF says vmdk/,
    simple(ovftoolOvf(baseVm()), readFileSync(disks.backing)),
  );
  bad(
    'bad-checksum',
    /SHA256 digest mismatch for "web01-disk1\.vmdk"/,
    withMf('web01.mf', good, 'sha256', { wrong: 'web01-disk1.vmdk' }),
  );
  {
    const full = buildTar(withMf('web01.mf', good, 'sha256'));
    add({ name: 'truncated', error: /truncated/ }, full.subarray(0, 512 + 4096 + 512 + 100_000));
  }
  {
    const t = buildTar(good);
    t[10] = 0x41; // header byte changed, checksum not updated
    add({ name: 'corrupt-header', error: /bad header checksum/ }, t);
  }
  add({ name: 'not-a-tar', error: /bad header checksum/ }, Buffer.from('this is not an OVA at all\n'.repeat(40)));
  bad('no-ovf', /no OVF descriptor/, [good[1]!]);
  bad('missing-disk', /disk file "web01-disk1\.vmdk" is missing/, [good[0]!]);
  {
    // 256 MiB of zeros gzip to ~256 KB; the OVF says the disk holds 8 MiB.
    const vm = baseVm({
      disks: [{ href: 'web01-disk1.vmdk.gz', capacity: 8 * MiB, controller: 'scsi', compression: 'gzip' }],
    });
    bad(
      'gzip-bomb',
      /disk "web01-disk1\.vmdk\.gz" expands beyond \d+ bytes/,
      simple(ovftoolOvf(vm), gzipSync(Buffer.alloc(256 * MiB)), 'web01-disk1.vmdk.gz'),
    );
  }
  bad(
    'absurd-capacity',
    /capacity .* is absurdly large/,
    simple(
      ovftoolOvf(
        baseVm({
          disks: [{ href: 'web01-disk1.vmdk', capacity: 9_000_000, units: 'byte * 2^40', controller: 'scsi' }],
        }),
      ),
    ),
  );
  bad('negative-cpu', /CPU VirtualQuantity -2 is out of range/, simple(ovftoolOvf(baseVm({ cpus: '-2' }))));
  bad(
    'negative-memory',
    /Memory VirtualQuantity "-1024" is not an integer|Memory VirtualQuantity -1024 is out of range/,
    simple(ovftoolOvf(baseVm({ memory: '-1024' }))),
  );
  bad(
    'virtual-system-collection',
    /VirtualSystemCollection .* is not supported/,
    simple(ovftoolOvf(baseVm({ collection: true }))),
  );
  bad('two-ovfs', /more than one OVF descriptor/, [...good, ovfEntry('other.ovf', ovftoolOvf(baseVm()))]);
  bad(
    'external-url-file',
    /is a URL; only files inside the OVA are allowed/,
    simple(
      ovftoolOvf(baseVm({ disks: [{ href: 'http://10.0.0.1/disk.vmdk', capacity: 8 * MiB, controller: 'scsi' }] })),
    ),
  );
  return cases;
}
