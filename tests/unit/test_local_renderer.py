"""The offline renderer: the same pictures here or in (niced) child processes, progress, cancel."""

from __future__ import annotations

import io
import os
import random
import signal
import time

import pytest
from PIL import Image

from imgapp.gateways.providers import Cancelled, LocalProvider, render_pool
from imgapp.services.generation import Params


@pytest.fixture(autouse=True)
def _no_pool_left_behind():
    yield
    render_pool.shutdown()


def _params(n: int = 2) -> Params:
    return Params(prompt="雪山下的小木屋, watercolour", size="512x512", n=n)


def test_child_processes_draw_the_very_same_pictures_as_the_calling_thread():
    progress: list[int] = []
    here = LocalProvider(0, processes=0).generate(
        _params(), on_progress=lambda *_: None, is_cancelled=lambda: False
    )
    pooled = LocalProvider(0, processes=2).generate(
        _params(), on_progress=lambda p, *_: progress.append(p), is_cancelled=lambda: False
    )
    assert [i.data for i in pooled] == [i.data for i in here]
    assert [(i.width, i.height, i.mime_type) for i in pooled] == [(512, 512, "image/png")] * 2
    assert progress == sorted(progress)
    assert progress[-1] == 100
    assert len(progress) == 2 * 5


def _paint_pid(image: Image.Image, _step: int, _rng: random.Random, _params: Params) -> Image.Image:
    """A pass that writes the drawing process's id into the picture."""
    pid = os.getpid()
    return Image.new("RGB", image.size, (pid & 255, (pid >> 8) & 255, (pid >> 16) & 255))


def test_the_drawing_happens_in_another_process_and_the_rng_moves_on_here():
    rng = random.Random(7)
    pooled = render_pool.draw_pass(
        _paint_pid, Image.new("RGB", (8, 8)), 0, rng, _params(1), processes=1
    )
    here = _paint_pid(Image.new("RGB", (8, 8)), 0, rng, _params(1))
    assert pooled.getpixel((0, 0)) != here.getpixel((0, 0))
    assert pooled.size == (8, 8)


def test_cancel_between_passes_stops_the_pooled_render():
    calls = {"n": 0}

    def cancelled() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(Cancelled):
        LocalProvider(0, processes=2).generate(
            _params(), on_progress=lambda *_: None, is_cancelled=cancelled
        )


def test_the_children_outlive_a_stop_signal_to_the_group_and_a_dead_one_costs_a_pass_here():
    rng = random.Random(3)
    image = Image.new("RGB", (8, 8))
    render_pool.draw_pass(_paint_pid, image, 0, rng, _params(1), processes=1)
    (child,) = render_pool._executor(1)._processes
    os.kill(child, signal.SIGTERM)  # as `kill -TERM -- -group` would
    time.sleep(0.3)
    os.kill(child, 0)  # still there
    os.kill(child, signal.SIGKILL)  # out of memory, say
    time.sleep(0.3)
    here = render_pool.draw_pass(_paint_pid, image, 0, rng, _params(1), processes=1)
    assert here.getpixel((0, 0)) == _paint_pid(image, 0, rng, _params(1)).getpixel((0, 0))
    again = render_pool.draw_pass(_paint_pid, image, 0, rng, _params(1), processes=1)
    assert again.getpixel((0, 0)) != here.getpixel((0, 0))  # a new pool, another process


def _paint_niceness(image: Image.Image, *_: object) -> Image.Image:
    """A pass that writes the drawing process's nice level into the picture."""
    return Image.new("RGB", image.size, (os.nice(0), 0, 0))


def test_children_draw_below_the_servers_priority_and_encode_the_last_pass():
    png = render_pool.draw_last_pass(
        _paint_niceness, Image.new("RGB", (8, 8)), 4, random.Random(1), _params(1), processes=1
    )
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG"
    assert picture.size == (8, 8)
    expected = min(19, os.nice(0) + render_pool.RENDER_NICENESS)
    assert picture.getpixel((0, 0))[0] == expected
