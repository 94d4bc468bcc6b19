#!/usr/bin/env bash
# Provision the lueur-net lab VM (run by Vagrant as root): set up the repository with ./setup.sh and check that
# the kernel pieces the tc backend needs load on this stock kernel.
set -euo pipefail
repo=${1:-/lueur-net}
cd "$repo"
./setup.sh
for module in sch_netem sch_tbf sch_fq ifb act_mirred cls_u32 nfnetlink_queue; do
    modprobe "$module" || echo "provision: module $module did not load" >&2
done
lueur-net doctor || true
echo "provision: done; try: vagrant ssh -c 'cd $repo && sudo lueur-net doctor'"
