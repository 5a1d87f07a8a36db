# The loop memwarden replaces, written the usual way with psutil: every interval, find the
# processes whose command line contains a pattern, and log each one's CPU %, memory %, pid and
# start time plus the machine's memory. Runs until killed.
import json
import sys
import time

import psutil

pattern = sys.argv[1]
interval = float(sys.argv[2])
log = open("/dev/null", "w")
while True:
    started = time.monotonic()
    vm = psutil.virtual_memory()
    log.write(json.dumps({"total": vm.total, "available": vm.available, "percent": vm.percent}) + "\n")
    for p in psutil.process_iter(["pid", "cmdline", "create_time"]):
        cmdline = " ".join(p.info["cmdline"] or [])
        if pattern not in cmdline:
            continue
        try:
            log.write(json.dumps({"pid": p.info["pid"], "cpu": p.cpu_percent(), "mem": p.memory_percent(),
                                  "start": p.info["create_time"], "cmd": cmdline}) + "\n")
        except psutil.Error:
            pass
    time.sleep(max(0.0, interval - (time.monotonic() - started)))
