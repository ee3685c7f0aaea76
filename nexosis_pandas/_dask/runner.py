"""Tasks on a Dask DataFrame's partitions, wherever the user's Dask runs them.

On the distributed client in use (``distributed.get_client()``) when there is one: each
partition's task goes to the worker that holds or makes the partition. Otherwise on a pool of
local threads, one synchronous Dask computation per partition.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent import futures as _futures
from functools import partial
from types import TracebackType
from typing import Any

import dask
from dask.delayed import delayed

from nexosis_pandas._encode.encoder import ENCODE_THREADS

__all__ = ["Runner"]


class Runner:
    """Submit, follow and cancel tasks; a context manager that cancels what is left on exit."""

    def __init__(self) -> None:
        self.client: Any = None
        self._pool: _futures.ThreadPoolExecutor | None = None
        try:
            from distributed import get_client

            self.client = get_client()
        except (ImportError, ValueError):
            self._pool = _futures.ThreadPoolExecutor(dask.system.CPU_COUNT or 2)
        self._live: dict[int, Any] = {}

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def threads_per_task(self) -> int:
        """Encoder threads for each task, so the tasks together fill a machine's cores.

        A worker process runs as many tasks at once as it has threads; the workers on one host
        share its cores (a ``LocalCluster`` of two one-thread workers on two cores: one encoder
        thread each; of one worker: two). More threads than cores only add switching.
        """
        if self.client is None:
            assert self._pool is not None
            return max(1, min(ENCODE_THREADS, (os.cpu_count() or 1) // self._pool._max_workers))
        workers = self.client.scheduler_info()["workers"]
        cpus = self.client.run(os.cpu_count)
        tasks: Counter[str] = Counter()
        cores: dict[str, int] = {}
        for address, info in workers.items():
            host = str(info.get("host", address))
            tasks[host] += int(info.get("nthreads", 1))
            cores[host] = int(cpus.get(address) or 1)
        if not tasks:
            return 1
        return max(1, min(ENCODE_THREADS, *(cores[h] // tasks[h] for h in tasks)))

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's link, when a distributed client runs the tasks."""
        return getattr(self.client, "dashboard_link", None) if self.client is not None else None

    def per_partition(
        self, ddf: Any, fn: Callable[..., Any], *args: Any, numbers: list[int] | None = None
    ) -> dict[int, Any]:
        """``fn(partition, number, *args)`` for each partition (or those ``numbers``)."""
        parts = ddf.to_delayed()
        chosen = range(len(parts)) if numbers is None else numbers
        tasks = {i: delayed(fn, pure=False)(parts[i], i, *args) for i in chosen}
        if self.client is not None:
            handles = dict(zip(tasks, self.client.compute(list(tasks.values())), strict=True))
        else:
            run = {i: partial(t.compute, scheduler="sync") for i, t in tasks.items()}
            handles = {i: self._local(fn) for i, fn in run.items()}
        for handle in handles.values():
            self._live[id(handle)] = handle
        return handles

    def submit(self, fn: Callable[..., Any], *args: Any, first: bool = False) -> Any:
        """``fn(*args)``, where an argument may be an earlier task's handle.

        ``first``: before the tasks already waiting (a short task whose result the client
        wants as soon as its arguments are ready).
        """
        if self.client is not None:
            handle = self.client.submit(fn, *args, pure=False, priority=1 if first else 0)
        else:
            handle = self._local(lambda: fn(*(_value(a) for a in args)))
        self._live[id(handle)] = handle
        return handle

    def _local(self, fn: Callable[[], Any]) -> Any:
        assert self._pool is not None
        return self._pool.submit(fn)

    def as_completed(self, handles: list[Any]) -> Iterator[Any]:
        if self.client is not None:
            from distributed import as_completed

            yield from as_completed(handles)
        else:
            yield from _futures.as_completed(handles)

    def release(self, handle: Any) -> None:
        """Forget ``handle``: its result may be dropped once the tasks that need it are done."""
        self._live.pop(id(handle), None)
        if self.client is not None:
            handle.release()

    def cancel(self) -> None:
        handles = list(self._live.values())
        self._live.clear()
        if self.client is not None:
            self.client.cancel(handles)
        else:
            for handle in handles:
                handle.cancel()


def _value(arg: Any) -> Any:
    return arg.result() if isinstance(arg, _futures.Future) else arg
