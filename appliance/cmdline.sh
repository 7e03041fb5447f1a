# Sourced by the appliance programs: reads `key=value` words from the kernel command line.
# qx_cmdline KEY → prints the value of the first KEY=value word (nothing if absent).
qx_cmdline() {
  local word
  for word in $(cat /proc/cmdline); do
    case $word in "$1="*) printf '%s\n' "${word#*=}"; return 0 ;; esac
  done
  return 1
}

# qx_disk_of DEV → the whole disk that holds DEV (DEV itself when it is a disk).
qx_disk_of() {
  local dev parent
  dev=$(readlink -f "$1")
  parent=$(lsblk -dno PKNAME "$dev" 2>/dev/null || true)
  if [ -n "$parent" ]; then echo "/dev/$parent"; else echo "$dev"; fi
}

# qx_boot_disk → the disk the running system was booted from (live medium or QX-ROOT).
qx_boot_disk() {
  local src
  src=$(findmnt -no SOURCE /run/live/medium 2>/dev/null || true)
  [ -n "$src" ] && qx_disk_of "$src"
}
