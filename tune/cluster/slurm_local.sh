#!/usr/bin/env bash
# A single-host Slurm (Debian's slurm-wlm 22.05 + munge) in one folder, to try the sbatch scripts
# of tune/cluster/ for real on one machine (tests/tune/test_tune_slurm.py uses it):
#
#   bash tune/cluster/slurm_local.sh start DIR   # munge (generated key), slurmctld, slurmd
#   export SLURM_CONF=DIR/slurm.conf             # then sbatch / squeue / scancel as usual
#   bash tune/cluster/slurm_local.sh stop DIR    # stops only what `start DIR` started
#
# Everything lives in DIR (key, sockets, state, logs, PID files); ports are free ones picked at
# start. ProctrackType=proctrack/linuxproc and TaskPlugin=task/none need no cgroups, so this runs
# inside a container. slurmd runs in its own PID namespace (unshare) when it can: every job
# process is then inside it, `ray stop` (which `ray symmetric-run` runs when it ends) sees only
# the jobs' Ray and not other Ray processes of the user on this machine, and stopping slurmd
# ends whatever a job left behind. Needs root (slurmd runs jobs as their user).
# Install: apt-get install slurm-wlm munge
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
  # Only the daemons this folder's PID files name, newest first.
  for name in slurmd slurmctld munged; do
    if pid_alive "$dir/$name.pid"; then
      pid=$(cat "$dir/$name.pid")
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$name.pid"
  done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  for _ in $(seq $((limit * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "error: $what did not come up in ${limit}s; its log:" >&2
  return 1
}

start() {
  for cmd in munged mungekey slurmctld slurmd sinfo; do
    command -v "$cmd" >/dev/null || { echo "error: $cmd not found; apt-get install slurm-wlm munge" >&2; exit 3; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "error: slurmd must run as root (uid $(id -u) here)" >&2; exit 3; }
  if pid_alive "$dir/slurmctld.pid"; then echo "error: a Slurm from $dir is already running" >&2; exit 3; fi
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
  chmod 700 "$dir/munge"
  rm -f "$dir/munge/munge.key"
  mungekey --create --keyfile="$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed"
  wait_for 10 munged test -S "$dir/munge/munge.sock" || { cat "$dir/munged.log" >&2; exit 1; }

  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
  cat > "$dir/slurm.conf" <<EOF
# Written by tune/cluster/slurm_local.sh: a one-host Slurm for trying ssvae's sbatch scripts.
ClusterName=ssvae-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
# slurmd's own view of its PID (1 inside its namespace); $dir/slurmd.pid is the one to stop.
SlurmdPidFile=$dir/spool/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# No cgroups in a container: track job processes by parentage, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
# A job that outlives its time limit gets SIGTERM, then SIGKILL this many seconds later.
KillWait=30
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
# Two partitions on the one node: whole-node jobs (--exclusive) and a shared partition.
PartitionName=nodes Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=shared Nodes=$host MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -f "$SLURM_CONF"
  wait_for 20 slurmctld scontrol ping || { cat "$dir/slurmctld.log" >&2; stop; exit 1; }
  if unshare --pid --fork --mount-proc true 2>/dev/null; then
    # When the namespace's first process ends, the kernel ends every process left in it.
    # Stopping unshare sends that process TERM (--kill-child).
    # A bash stands first in the namespace to reap the jobs' orphans (slurmd would leave zombies).
    nohup unshare --pid --fork --mount-proc --kill-child=TERM bash -c \
      'trap "kill -TERM \$slurmd; wait \$slurmd" TERM; slurmd -D -f "$0" -N "$1" & slurmd=$!; wait $slurmd' \
      "$SLURM_CONF" "$host" > "$dir/slurmd.out" 2>&1 &
    echo $! > "$dir/slurmd.pid"
  else
    echo "note: no PID namespace here (unshare failed); slurmd shares this machine's PIDs" >&2
    slurmd -f "$SLURM_CONF" -N "$host"
    wait_for 10 slurmd test -s "$dir/spool/slurmd.pid"
    cp "$dir/spool/slurmd.pid" "$dir/slurmd.pid"
  fi
  node_idle() { sinfo -h -n "$host" -o %t | grep -qx idle; }
  wait_for 30 slurmd node_idle || { cat "$dir/slurmd.log" "$dir/slurmd.out" >&2 || true; stop; exit 1; }
  echo "Slurm is up: export SLURM_CONF=$SLURM_CONF"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
