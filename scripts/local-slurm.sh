#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for testing the Slurm profile for real.
#   scripts/local-slurm.sh start DIR   -> writes DIR/slurm.conf, starts munged, slurmctld, slurmd
#   scripts/local-slurm.sh stop DIR    -> stops the daemons started from DIR
# Then: export SLURM_CONF=DIR/slurm.conf. Needs root and the Debian packages slurm-wlm and munge.
set -euo pipefail
action=${1:?usage: local-slurm.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: local-slurm.sh start|stop DIR}")
conf="$dir/slurm.conf"

start() {
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || { echo "local-slurm: $tool not found (Debian packages slurm-wlm, munge)" >&2; exit 3; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "local-slurm: must run as root (daemons run as root)" >&2; exit 3; }
  mkdir -p "$dir/state" "$dir/spool"
  host=$(hostname)
  mem_mb=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  cat > "$conf" <<CONF
ClusterName=c2flocal
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# Keep finished jobs visible to squeue long enough for the workflow to read their state.
MinJobAge=3600
ReturnToService=2
MpiDefault=none
# Configless: slurmd fetches this file from slurmctld and jobs get SLURM_CONF pointing at its
# cached copy, so srun inside a job finds the cluster without a file in /etc/slurm.
SlurmctldParameters=enable_configless
NodeName=$host CPUs=$(nproc) RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  # munged refuses to start unless its socket and log folders belong to the munge user.
  if ! munge -n >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    [ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
    chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge
    chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
    su -s /bin/sh munge -c munged
  fi
  SLURM_CONF="$conf" slurmctld -f "$conf"
  slurmd --conf-server "$host"
  for _ in $(seq 30); do
    if SLURM_CONF="$conf" sinfo -h -o %t 2>/dev/null | grep -q idle; then echo "$conf"; exit 0; fi
    sleep 1
  done
  echo "local-slurm: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
  exit 1
}

stop() {
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}

case "$action" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: local-slurm.sh start|stop DIR" >&2; exit 2 ;;
esac
