# The end of a job (rendered into both sbatch scripts). Slurm sends this batch shell SIGTERM
# @@TERM_BEFORE@@ s before the time limit (--signal=B:TERM@...; by hand: scancel --batch
# --signal=TERM JOBID). The trap passes it to the driver alone: the study stops cleanly, keeping
# everything finished, and re-submitting this script resumes it.
term=
pass_term() {
  term=1
  echo "[slurm] SIGTERM: passing it to the driver (pid $(cat "$driver_pid" 2>/dev/null || echo '?'))"
  kill -TERM "$(cat "$driver_pid")" 2>/dev/null || true
}
trap pass_term TERM
status=0
wait "$step" || status=$?
if [ -n "$term" ]; then   # the trap cut `wait` short: wait for the driver's own exit status
  status=0
  wait "$step" || status=$?
fi
rm -f "$driver_pid"
echo "[slurm] the study exited with status $status"
