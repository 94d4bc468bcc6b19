#!/bin/sh
# PID 1 of the kernel-tier VM after switch_root (the host's root, read-only, with tmpfs on /tmp /run /var/tmp;
# the results share on /mnt). Runs pytest with the project's venv python, leaves its exit status and JUnit file in
# the results share for scripts/vm-tier, and powers the VM off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8
. /mnt/params.sh
export LUEUR_HOST_RELEASE LUEUR_IN_VM=1 COLUMNS="$LUEUR_COLUMNS"
# What tests expect of a normal system beyond init's tmpfs: shared memory, ptys, bpffs (pins), lo up.
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up
# Power off; PID 1 must not exit (the kernel panics) nor run programs from the root share (going away).
power_off() { sync; echo o > /proc/sysrq-trigger; while :; do :; done; }
cd "$LUEUR_REPO" || { echo "lueur-vm: $LUEUR_REPO is not visible in the VM"; echo 3 > /mnt/status; power_off; }
color=no; [ "$LUEUR_COLOR" = yes ] && color=yes
if [ -n "$LUEUR_EXEC" ]; then
    echo "lueur-vm: running command in $(uname -r) ($(nproc) cpus)"
    sh -c "$LUEUR_EXEC"
    echo $? > /mnt/status
    power_off
fi
echo "lueur-vm: running pytest in $(uname -r) ($(nproc) cpus)"
# LUEUR_PYTEST_ARGS is shell-quoted by the host (shlex.join): eval restores the words.
eval "set -- $LUEUR_PYTEST_ARGS"
"$LUEUR_PYTHON" -m pytest --color="$color" --junitxml=/mnt/junit.xml "$@"
echo $? > /mnt/status
power_off
