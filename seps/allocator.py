"""Keep freed memory in the process instead of returning it to the OS after every step.

glibc's malloc serves blocks above its mmap threshold (128 kB at start) with fresh ``mmap`` pages and
trims the heap's free top above its trim threshold, so an array of a few hundred kB allocated and
freed on every step (a batch of observations, a global state, a rollout tensor) page-faults on
every write of a new page: on the vectorised warehouse (64 copies) 388 faults per ``global_state``
call made it 6x slower (1,081 µs against 167 µs, ``benchmarks/bench_envs.py``). Raising both
thresholds keeps those pages mapped for reuse; a process then holds at most ``trim_bytes`` of freed
memory above what it uses. Elsewhere (musl, macOS, Windows) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

M_TRIM_THRESHOLD = -1  # glibc malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's largest accepted mmap threshold on 64-bit systems


@functools.cache
def keep_freed_memory(mmap_bytes: int = MMAP_THRESHOLD_MAX, trim_bytes: int = 256 * 1024 * 1024) -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True when glibc accepted both."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_bytes)) and bool(mallopt(M_TRIM_THRESHOLD, trim_bytes))
