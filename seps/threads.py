"""Pinning torch and BLAS/OpenMP thread pools for the duration of a stage.

The models seps trains are small: with torch's default thread count a busy 2-core machine
oversubscribes its cores and one encoder run took 863 s instead of ~30 s. Every entry point
(``partition_agents``, ``Experiment.run``, sweep cells, benchmarks) runs its work inside
:func:`pinned_threads`, one thread by default; it also keeps freed memory mapped for reuse
(:mod:`seps.allocator`), which entry points want for the same reason: steady speed on a loaded machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from seps.allocator import keep_freed_memory
from seps.errors import ConfigError


def check_threads(threads: object) -> int:
    """Return ``threads`` if it is an integer >= 1, else raise a one-line error."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be an integer >= 1, got {threads!r}")
    return threads


@contextmanager
def pinned_threads(threads: int = 1) -> Iterator[None]:
    """Run the block with ``threads`` torch intra-op threads and BLAS/OpenMP pools of that size, then restore."""
    import torch  # here, so that the CLI's argument checks (which import this module) do not import torch

    check_threads(threads)
    keep_freed_memory()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        torch.set_num_threads(previous)
