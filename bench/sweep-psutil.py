# psutil's full sweep with the attributes `memwarden ps --all --json` reports, timed in-process.
# Prints the median wall milliseconds of one sweep, the number of processes seen, and the mean
# CPU milliseconds of one sweep.
import statistics
import sys
import time

import psutil

ATTRS = ["pid", "ppid", "name", "cmdline", "username", "status", "create_time",
         "memory_info", "memory_percent", "cpu_percent", "num_threads"]
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
times = []
count = 0
cpu_start = time.process_time()
for _ in range(rounds):
    start = time.perf_counter()
    rows = [p.info for p in psutil.process_iter(ATTRS)]
    times.append((time.perf_counter() - start) * 1000)
    count = len(rows)
cpu_ms = (time.process_time() - cpu_start) * 1000 / rounds
print(f"{statistics.median(times):.3f} {count} {cpu_ms:.3f}")
