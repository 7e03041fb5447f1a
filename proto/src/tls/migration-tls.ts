// The name a host's vDC migration certificate carries (DNS SAN) and QEMU's migration TLS checks on
// the destination (`virsh migrate --tls-destination`): bound to the host id, not to an address.

/** `<host id>.agent.quantix-vdc` for a host id of the vDC (a UUID: a valid DNS label). */
export function migrationTlsName(hostId: string): string {
  return `${hostId}.agent.quantix-vdc`;
}
