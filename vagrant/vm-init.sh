#!/bin/sh
# /init of the kernel tier's initramfs (busybox sh, PID 1). Loads the 9p/virtio modules, mounts the host's root
# (read-only 9p share "lueurroot") and the results share ("lueurout"), gives the root writable tmpfs where tests
# need to write, mounts the repository's own read-only share ("lueurrepo") at its path, then switch_roots into the repository's vagrant/vm-guest.sh as the new PID 1.
# switch_root (not chroot in a child) because PID 1 shares its root with the kernel's usermode helper: on-demand
# module loading (sch_netem, ...) then finds /sbin/modprobe and /lib/modules/<release> on the host's root.
export PATH=/bin
fail() { echo "lueur-vm: init: $*"; echo o > /proc/sysrq-trigger; sleep 10; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r module; do
    insmod "/modules/$module" || fail "insmod $module failed"
done < /modules/order
opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "ro,$opts,cache=loose" lueurroot /newroot || fail "mounting the host root (9p) failed"
mount -t 9p -o "$opts" lueurout /newroot/mnt || fail "mounting the results share (9p) failed"
. /newroot/mnt/params.sh
for dir in /tmp /run /var/tmp; do
    mount -t tmpfs -o mode=1777 tmpfs "/newroot$dir"
done
# The repository has its own share, mounted after the tmpfs: a clone under /tmp (as CI's may be) stays visible.
mkdir -p "/newroot$LUEUR_REPO"
mount -t 9p -o "ro,$opts,cache=loose" lueurrepo "/newroot$LUEUR_REPO" || fail "mounting the repository (9p) failed"
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /bin/sh "$LUEUR_REPO/vagrant/vm-guest.sh"
