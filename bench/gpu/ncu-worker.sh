#!/usr/bin/env bash
# A GPU worker for `kforge eval` that runs the real one under Nsight Compute (bench/gpu/check.py
# names it in KFORGE_GPU_WORKER for its ncu step):
#   ncu-worker.sh PID_FILE LOG_FILE NCU KERNEL_FILTER LAUNCH_COUNT KFORGE [worker arguments]
# ncu profiles the first LAUNCH_COUNT launches of the kernels KERNEL_FILTER matches (e.g.
# regex:^relu_vec$) with the one metric gpu__time_duration.sum, clocks and caches as ncu's
# defaults for timing leave them except that the clocks are not locked (--clock-control none:
# kforge times at whatever clock the card runs), and writes everything it says to LOG_FILE,
# never to the pipe the worker's replies travel on.
# ncu starts in a session of its own: kforge gives a leaving worker two seconds before it kills
# it, and ncu prints its results only after its target has ended. The caller waits for the pid
# in PID_FILE to end before it reads LOG_FILE.
set -u
pid_file=$1 log_file=$2 ncu=$3 filter=$4 count=$5 kforge=$6
shift 6
[ $# -gt 0 ] || set -- worker gpu --device 0
rm -f "$pid_file"
setsid -w bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" \
  "$ncu" --target-processes all --clock-control none --metrics gpu__time_duration.sum \
  --kernel-name "$filter" --launch-count "$count" --csv --page raw --print-units base \
  --log-file "$log_file" "$kforge" "$@" &
wait $!
