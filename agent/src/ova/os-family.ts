// Guest OS family from an OVF OperatingSystemSection: the CIM OsType id first, then the
// VMware/VirtualBox os type string ("windows9_64Guest", "Ubuntu_64"). Pure.

const windowsIds = new Set([14, 15, 16, 17, 18, 19, 58, 63, 67, 69, 70, 71, 72, 73, 74, 75, 76, 77, 103, 105]);
const linuxIds = new Set([
  36, 79, 80, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 106, 107, 108, 109,
]);
const bsdIds = new Set([41, 42, 43, 65, 78]);
const solarisIds = new Set([29, 30, 81]);

/** "windows" | "linux" | "bsd" | "solaris" | "other". */
export function osFamily(cimId: number | undefined, hint: string | undefined): string {
  if (cimId !== undefined) {
    if (windowsIds.has(cimId) || (cimId >= 111 && cimId <= 130)) return 'windows';
    if (linuxIds.has(cimId)) return 'linux';
    if (bsdIds.has(cimId)) return 'bsd';
    if (solarisIds.has(cimId)) return 'solaris';
  }
  const h = (hint ?? '').toLowerCase();
  if (/^win|windows/.test(h)) return 'windows';
  if (
    /linux|ubuntu|debian|rhel|redhat|centos|fedora|sles|suse|oracle|alma|rocky|photon|arch|gentoo|mandr|turbo/.test(h)
  )
    return 'linux';
  if (/bsd/.test(h)) return 'bsd';
  if (/solaris/.test(h)) return 'solaris';
  return 'other';
}
