#!/bin/sh
# PID 1 of the NFS server guest (build-nfs-server.sh): NFSv4 only over TCP, no rpcbind. Kernel
# parameters: qx.ip=ADDR/PREFIX (its e1000 NIC), qx.exports="NAME:SIZE ..." (each a tmpfs of that
# size exported read-write as /NAME to the link's subnet, root not squashed). Prints
# "qx-nfs: ready" once serving, then runs a shell on the console for the test's commands.
export PATH=/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
while read -r m; do insmod "/lib/modules/$m.ko" || echo "qx-nfs: insmod $m failed"; done </lib/modules/order
ip=10.99.0.2/24
exports="export:256m"
for arg in $(cat /proc/cmdline); do
  case "$arg" in
  qx.ip=*) ip=${arg#qx.ip=} ;;
  qx.exports=*) exports=$(echo "${arg#qx.exports=}" | tr ',' ' ') ;;
  esac
done
ip link set lo up
ip link set eth0 up
ip addr add "$ip" dev eth0
net=$(ipcalc -n "$ip" | cut -d= -f2)/${ip#*/}
fsid=1
: >/etc/exports
for e in $exports; do
  name=${e%%:*}
  mkdir -p "/$name"
  mount -t tmpfs -o "size=${e#*:},mode=0755" "qx-$name" "/$name"
  echo "/$name $net(rw,sync,no_subtree_check,no_root_squash,fsid=$fsid)" >>/etc/exports
  fsid=$((fsid + 1))
done
mount -t nfsd nfsd /proc/fs/nfsd
# A short grace period: a fresh server refuses new opens until it ends (90 s by default).
echo 10 >/proc/fs/nfsd/nfsv4leasetime
echo 10 >/proc/fs/nfsd/nfsv4gracetime
exportfs -ra
rpc.mountd -N 2 -N 3 --no-udp
# (the kernel has no NFSv2: naming it with -N makes rpc.nfsd refuse to start)
rpc.nfsd -N 3 --no-udp 8
echo "qx-nfs: nfsd threads $(cat /proc/fs/nfsd/threads)"
echo "qx-nfs: exports $(cat /etc/exports | tr '\n' ';')"
echo "qx-nfs: ready on $ip"
while true; do setsid cttyhack sh; done
