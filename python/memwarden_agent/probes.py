"""What memwarden asks a live CPython for: a collection, a snapshot, memory figures.

This file is self-contained on purpose: the agent imports it, and memwarden also runs its source
inside a target through sys.remote_exec or a debugger, where no package is importable. Every
answer is a dict that json.dumps can write.
"""

import gc
import json
import os
import sys
import time
import tracemalloc

# Frames from these files are memwarden's own work, not the target's. Injected, this source runs
# under the name <memwarden> and has no __file__; imported, the whole agent package is ours.
_OWN_FILES = ["<memwarden>", tracemalloc.__file__]
if "__file__" in globals():
    _OWN_FILES.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "*"))


def _rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _blocks():
    # pymalloc's live blocks: objects of 512 bytes or less, which only free whole arenas.
    getter = getattr(sys, "getallocatedblocks", None)
    return getter() if getter else None


def release_heap():
    """Hands the C heap's free pages back to the system, with the allocator this process uses.

    Found by symbol in the process's own global namespace: jemalloc's mallctl (every arena purged;
    4096 is MALLCTL_ARENAS_ALL in jemalloc 5), tcmalloc's MallocExtension, else glibc's
    malloc_trim(0). musl and static allocators offer none of these, and that is said.
    """
    try:
        import ctypes
    except ImportError as exc:
        return {"allocator": None, "skipped": "ctypes cannot be imported here (%s)" % exc}
    try:
        lib = ctypes.CDLL(None)
    except OSError as exc:
        return {"allocator": None, "skipped": "the process's own symbols cannot be opened (%s)" % exc}
    before = _rss_bytes()
    started = time.monotonic()
    if hasattr(lib, "mallctl"):
        mallctl = lib.mallctl
        mallctl.restype = ctypes.c_int
        mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        returned = mallctl(b"arena.4096.purge", None, None, None, 0)
        result = {"allocator": "jemalloc", "call": 'mallctl("arena.4096.purge")', "returned": returned}
        result["released"] = returned == 0
    elif hasattr(lib, "MallocExtension_ReleaseFreeMemory"):
        lib.MallocExtension_ReleaseFreeMemory.restype = None
        lib.MallocExtension_ReleaseFreeMemory()
        result = {"allocator": "tcmalloc", "call": "MallocExtension_ReleaseFreeMemory()"}
    elif hasattr(lib, "malloc_trim"):
        malloc_trim = lib.malloc_trim
        malloc_trim.restype = ctypes.c_int
        malloc_trim.argtypes = [ctypes.c_size_t]
        returned = malloc_trim(0)
        result = {"allocator": "glibc", "call": "malloc_trim(0)", "returned": returned, "released": returned == 1}
    else:
        return {"allocator": None, "skipped": "no malloc_trim, mallctl or MallocExtension here (musl?)"}
    result["durationMs"] = round((time.monotonic() - started) * 1000, 3)
    result["rssBeforeBytes"] = before
    result["rssAfterBytes"] = _rss_bytes()
    return result


def collect(trim=1):
    """gc.collect(), then (unless trim is 0) the heap's free pages back to the system, in one visit."""
    before = _rss_bytes()
    blocks_before = _blocks()
    started = time.monotonic()
    collected = gc.collect()
    answer = {
        "collected": collected,
        "gcDurationMs": round((time.monotonic() - started) * 1000, 3),
        "rssBeforeBytes": before,
        "rssAfterCollectBytes": _rss_bytes(),
        "allocatedBlocksBefore": blocks_before,
        "allocatedBlocksAfter": _blocks(),
        "gcEnabled": gc.isenabled(),
    }
    if trim:
        answer["trim"] = release_heap()
    answer["rssAfterBytes"] = _rss_bytes()
    return answer


def _type_name(t):
    module = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", t.__name__)
    return name if module in (None, "builtins") else module + "." + name


def snapshot(top=100):
    top = max(1, min(int(top), 1000))
    counts = {}
    sizes = {}
    for obj in gc.get_objects():
        t = type(obj)
        counts[t] = counts.get(t, 0) + 1
        sizes[t] = sizes.get(t, 0) + sys.getsizeof(obj, 0)
    types = sorted(counts.items(), key=lambda item: item[1], reverse=True)[:top]
    # tracemalloc sees only what is allocated after it starts: the first snapshot starts it,
    # and the sites become meaningful from the second one on.
    started_now = not tracemalloc.is_tracing()
    if started_now:
        tracemalloc.start()
    stats = (
        tracemalloc.take_snapshot()
        .filter_traces([tracemalloc.Filter(False, f) for f in _OWN_FILES])
        .statistics("lineno")[:top]
    )
    sites = []
    for stat in stats:
        frame = stat.traceback[0]
        sites.append({"file": frame.filename, "line": frame.lineno, "sizeBytes": stat.size, "count": stat.count})
    current, peak = tracemalloc.get_traced_memory()
    return {
        "runtime": "python",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pid": os.getpid(),
        "pythonVersion": "%d.%d.%d" % sys.version_info[:3],
        "gcObjects": sum(counts.values()),
        "types": [{"name": _type_name(t), "count": n, "sizeBytes": sizes[t]} for t, n in types],
        "tracemallocStartedNow": started_now,
        "tracemallocTracedBytes": current,
        "tracemallocPeakBytes": peak,
        "tracemalloc": sites,
    }


def memory():
    traced = tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else None
    return {
        "pid": os.getpid(),
        "pythonVersion": "%d.%d.%d" % sys.version_info[:3],
        "rssBytes": _rss_bytes(),
        "gcEnabled": gc.isenabled(),
        "gcCounts": list(gc.get_count()),
        "tracemallocTracing": traced is not None,
        "tracemallocTracedBytes": traced[0] if traced else None,
    }


COMMANDS = {"gc": collect, "snapshot": snapshot, "memory": memory}


def run(command, args=None):
    """One command, never raising: failures come back as {"error": ...}."""
    handler = COMMANDS.get(command)
    if handler is None:
        return {"error": "unknown command %r (known: %s)" % (command, ", ".join(sorted(COMMANDS)))}
    try:
        return {"result": handler(**(args or {}))}
    except Exception as exc:  # the target must survive anything memwarden asks of it
        return {"error": "%s: %s" % (type(exc).__name__, exc)}


def run_to_file(command, args, path):
    """Runs a command for an injection and writes the answer where memwarden waits for it.

    O_EXCL and O_NOFOLLOW: the file is new, in a directory memwarden just created, and a link
    planted there is refused rather than followed.
    """
    answer = run(command, args)
    answer["pid"] = os.getpid()
    data = json.dumps(answer).encode()
    fd = os.open(path + ".part", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    # memwarden polls for the final name: a rename makes the whole answer appear at once.
    os.rename(path + ".part", path)
