"""Where the transform normalises besides its reading thread: threads that run the compiled
normaliser (it releases the interpreter) and worker processes that run the Python one."""

from __future__ import annotations

import atexit
import concurrent.futures
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

log = logging.getLogger("skillstream.transforms")

_threads: dict[tuple[int, int], concurrent.futures.ThreadPoolExecutor] = {}


def normaliser_threads(workers: int, nice: int = 0) -> concurrent.futures.ThreadPoolExecutor:
    """Threads that run the compiled normaliser (`native_batch_table`), one pool a process
    for each (workers, nice). Each thread lowers its own priority by `nice`
    (`lower_thread_priority`)."""
    pool = _threads.get((workers, nice))
    if pool is None:
        pool = _threads[(workers, nice)] = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="skillstream-normalise",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
    return pool


def lower_thread_priority(steps: int) -> None:
    """Lower the calling thread's priority by `steps` nice values (0: leave it), relative to
    the process's own (at most 19). On Linux a thread has a nice value of its own; elsewhere
    `setpriority` would change the whole process, so it is left alone there. Refused (a
    sandbox), the thread runs on as it is: the priority is a speed choice, never a reason to
    fail."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        nice = min(19, os.getpriority(os.PRIO_PROCESS, thread) + steps)
        os.setpriority(os.PRIO_PROCESS, thread, nice)
    except OSError as error:
        log.debug("normaliser thread priority not lowered by %d: %s", steps, error)


def _parent_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # a killed, unreaped parent is a zombie
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False


def _exit_with(parent: int) -> None:
    while not _parent_gone(parent):
        time.sleep(0.5)
    os._exit(0)


def _worker_start(parent: int) -> None:
    """In each worker process: Ctrl-C reaches the whole process group, but the parent decides
    how to stop, not the workers; and a worker ends when its parent is gone, also SIGKILLed.
    (A pool worker otherwise waits for work forever, and the forkserver with it: each holds the
    other alive, and a SIGKILLed transform would leave three processes behind.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    gc.freeze()  # the modules it imported live as long as it does: not for the collector to walk


_pools: dict[int, concurrent.futures.ProcessPoolExecutor] = {}


@atexit.register
def _shutdown_pools() -> None:
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def worker_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """Processes that normalise (the CPU-bound step) next to the one that reads and lands.

    One pool per process, kept across pipeline runs (`--follow` runs one per round). The
    forkserver start method forks workers from a clean process, not from this one with its
    Beam and Kafka threads; the workers (and so the forkserver) end with their parent, also
    when it is SIGKILLed (`_worker_start`).
    """
    pool = _pools.get(workers)
    if pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["skillstream.transforms.native_bridge"])
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        _pools[workers] = pool
    return pool
