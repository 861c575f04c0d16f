# The end of a job (rendered into both sbatch scripts, before anything starts). Slurm sends this
# batch shell SIGTERM @@TERM_BEFORE@@ s before the time limit (--signal=B:TERM@...; up to 60 s
# earlier, Slurm's resolution; by hand: scancel --batch --signal=TERM JOBID). The trap passes it
# to the driver alone: the study stops cleanly, keeping everything finished, Ray stays up until
# the driver is done, and re-submitting this script resumes the study.
# The driver writes its PID here when it starts (a unique name: job IDs repeat across clusters).
driver_pid=$(mktemp "/tmp/ssvae-driver-$SLURM_JOB_ID.XXXXXX")
trap 'rm -f "$driver_pid"' EXIT
terms=0
delivered=
deliver_term() {
  if [ -z "$delivered" ] && [ -s "$driver_pid" ] && kill -TERM "$(cat "$driver_pid")" 2>/dev/null; then
    delivered=1
    echo "[slurm] SIGTERM: passed to the driver (pid $(cat "$driver_pid"))"
  fi
}
on_term() { terms=$((terms + 1)); deliver_term; }
trap on_term TERM
stop_if_term() {   # before the study starts: a job told to end starts nothing
  if [ "$terms" -gt 0 ]; then
    echo "[slurm] SIGTERM before the study started: nothing to stop; re-submit this script"
    exit 143
  fi
}
wait_for_study() {   # wait_for_study PID: waits for the job step; its exit status in $status
  local seen
  while :; do
    seen=$terms
    status=0
    wait "$1" || status=$?
    [ "$terms" != "$seen" ] || break   # not cut short by the trap: this is the step's status
    # SIGTERM came before the driver wrote its PID: pass it on as soon as the PID is there.
    while [ -z "$delivered" ] && kill -0 "$1" 2>/dev/null; do sleep 1; deliver_term; done
  done
  echo "[slurm] the study exited with status $status"
}
