"""Where the offline renderer's Pillow work runs: a pool of separate processes.

Drawing holds the GIL. In the web process (the in-app processor) it ran in
threads next to the event loop that pushes live updates to the pages, and the
pushes waited for it: the live bench's p95 tail. Each pass is now drawn in a
child process (`LOCAL_RENDER_PROCESSES` of them, shared by every task of this
process), so this interpreter only waits for the result. The children are
spawned, not forked: the parent runs threads and event loops a fork would
copy in whatever state they were in. `LOCAL_RENDER_PROCESSES=0` draws in the
calling thread (as before; one process less).

The children ignore SIGINT and SIGTERM: a stop signal sent to the whole process
group (Ctrl-C, `make run-prod`) is the parent's to handle, which finishes the
pass and gives the task back; a child killed anyway (out of memory) costs a
new pool, and the pass is drawn in the calling thread instead.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import random
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from PIL import Image

from imgapp.services.generation import Params

# A pass: (image, step, rng, params) -> the image after it (the rng advanced in place).
DrawPass = Callable[[Image.Image, int, random.Random, Params], Image.Image]

log = logging.getLogger(__name__)

# Drawing is batch work: a pass that waits a few ms costs nothing, a push or a
# page answer that waits for a pass is what people see. The children run at
# this nice level so the kernel gives the serving process the CPU first.
RENDER_NICENESS = 10

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def _executor(processes: int) -> ProcessPoolExecutor:
    global _pool, _pool_size  # noqa: PLW0603 - one pool per process, made on first use
    with _lock:
        if _pool is None or _pool_size != processes:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_setup,
            )
            _pool_size = processes
        return _pool


def _child_setup() -> None:
    """In each child: stopping is the parent's decision, and drawing yields the CPU to serving."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.nice(RENDER_NICENESS)


def _drop(broken: ProcessPoolExecutor) -> None:
    global _pool  # noqa: PLW0603
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Pass:
    """One pass to draw in a child: the picture so far as raw RGB, and the seeded rng's state.

    `encode`: the image's last pass; the child answers the PNG file instead of
    the raw picture (encoding is the costliest step of all, and the smaller
    transfer).
    """

    draw: DrawPass
    raw: bytes
    size: tuple[int, int]
    step: int
    rng_state: object
    params: Params
    encode: bool = False


def encode_png(image: Image.Image) -> bytes:
    """The picture as a PNG file."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _draw(job: _Pass, rng: random.Random) -> bytes:
    image = job.draw(Image.frombytes("RGB", job.size, job.raw), job.step, rng, job.params)
    return encode_png(image) if job.encode else image.tobytes()


def _in_child(job: _Pass) -> tuple[bytes, object]:
    rng = random.Random()  # noqa: S311 - a seeded picture, not a secret
    rng.setstate(job.rng_state)  # type: ignore[arg-type]
    return _draw(job, rng), rng.getstate()


def _run(job: _Pass, rng: random.Random, processes: int) -> bytes:
    """Draw `job` in a child process (here when `processes` is 0); advances `rng` either way."""
    if processes <= 0:
        return _draw(job, rng)
    pool = _executor(processes)
    try:
        out, state = pool.submit(_in_child, job).result()
    except BrokenProcessPool:
        log.warning("a render process died; drawing this pass here, a new pool next time")
        _drop(pool)
        return _draw(job, rng)
    rng.setstate(state)  # type: ignore[arg-type]
    return out


def draw_pass(
    draw: DrawPass,
    image: Image.Image,
    step: int,
    rng: random.Random,
    params: Params,
    *,
    processes: int,
) -> Image.Image:
    """`draw(image, step, rng, params)`, in a child process unless `processes` is 0."""
    if processes <= 0:
        return draw(image, step, rng, params)
    job = _Pass(draw, image.tobytes(), image.size, step, rng.getstate(), params)
    return Image.frombytes("RGB", image.size, _run(job, rng, processes))


def draw_last_pass(
    draw: DrawPass,
    image: Image.Image,
    step: int,
    rng: random.Random,
    params: Params,
    *,
    processes: int,
) -> bytes:
    """`draw_pass`, then the finished picture as a PNG file, both in the same child."""
    job = _Pass(draw, image.tobytes(), image.size, step, rng.getstate(), params, encode=True)
    return _run(job, rng, processes)


def shutdown() -> None:
    """Stop the children (tests; at exit the executor stops them itself)."""
    global _pool  # noqa: PLW0603
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
