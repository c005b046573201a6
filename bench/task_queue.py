"""Queue benchmark: jobs/s through claim -> no-op work -> complete, vs procrastinate and pgqueuer.

All three run on the same durable PostgreSQL server in the same run, each on
its own database, with the same number of no-op jobs, at 1 and 4 processor
processes (each running up to `--concurrency` jobs at once). Time is measured
from the moment the processors start (all jobs already queued) until the last
job is done. imgapp's jobs belong to 100 people, in fair-share turns, as
their submits would have queued them. Each system's
commits per job are counted from the server's statistics
(`pg_stat_database.xact_commit`, the bench's own polls left out).
Needs the bench extras: `pip install -r bench/requirements.txt`
(`make bench` does it).

    python bench/task_queue.py [--jobs 2000] [--processes 1,4] [--concurrency 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SESSION_SECRET", "bench-session-secret-0123456789")
os.environ.setdefault("TASK_POLL_SECONDS", "0.05")
PEOPLE = 100  # owners of the imgapp jobs

import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from imgapp.core import db, migrations  # noqa: E402
from imgapp.gateways.providers import GeneratedImage  # noqa: E402
from tests.support.pg import PostgresServer  # noqa: E402


class NoOp:
    """A provider that makes nothing, instantly: the queue's own cost is what is measured."""

    name = "local"

    def generate(self, params, *, on_progress, is_cancelled) -> list[GeneratedImage]:  # noqa: ANN001, ARG002
        """No images, no waiting."""
        return []


def _seed_imgapp(url: str, jobs: int) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, display_name, is_active,"
                " created_at, updated_at, password_changed_at)"
                " SELECT g, 'bench' || g || '@example.com', 'x', '', true, now(), now(), now()"
                " FROM generate_series(1, :people) g"
            ),
            {"people": PEOPLE},
        )
        # Spread over PEOPLE people in fair-share turns, as their submits would have been.
        conn.execute(
            text(
                "INSERT INTO ai_images_creator_tasks (user_id, prompt, negative_prompt, model,"
                " size, n, quality, style, provider, status, progress, message, cost, refunded,"
                " attempts, error, queue_turn, created_at, updated_at)"
                " SELECT 1 + g % :people, 'job ' || g, '', 'bench', '512x512', 1, 'standard', '',"
                " 'local', 'pending', 0, '', 4, 0, 0, '', g / :people, now(), now()"
                " FROM generate_series(1, :n) g"
            ),
            {"n": jobs, "people": PEOPLE},
        )
    engine.dispose()


def _imgapp_worker(url: str, concurrency: int, start_at: float, _jobs: int) -> None:
    """The production loop: `entry.start`, as `python -m imgapp.worker` runs it."""
    from imgapp.worker import entry  # noqa: PLC0415
    from imgapp.worker.processor import Processor  # noqa: PLC0415

    db.use_engine(db.make_engine(url, pool_size=concurrency + 2))
    processor = Processor(concurrency=concurrency, provider_factory=NoOp)

    async def run() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        entry.start(processor)
        await asyncio.Event().wait()  # until the parent terminates this process

    asyncio.run(run())


def _done_imgapp(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ai_images_creator_tasks WHERE status = 'completed'"
        ).fetchone()
        return int(row[0]) if row else 0


def _procrastinate_app(dsn: str):  # noqa: ANN202
    import procrastinate  # noqa: PLC0415

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    return app, noop


def _procrastinate_worker(dsn: str, concurrency: int, start_at: float, _jobs: int) -> None:
    app, _ = _procrastinate_app(dsn)

    async def run() -> None:
        async with app.open_async():
            await asyncio.sleep(max(0.0, start_at - time.time()))
            await app.run_worker_async(concurrency=concurrency, wait=False, listen_notify=False)

    asyncio.run(run())


def _seed_procrastinate(dsn: str, jobs: int) -> None:
    app, noop = _procrastinate_app(dsn)

    async def run() -> None:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            await noop.batch_defer_async(*([{}] * jobs))

    asyncio.run(run())


def _done_procrastinate(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        ).fetchone()
        return int(row[0]) if row else 0


_pgqueuer_jobs = 0


def _seed_pgqueuer(dsn: str, jobs: int) -> None:
    global _pgqueuer_jobs  # noqa: PLW0603 - what _done_pgqueuer counts down from
    _pgqueuer_jobs = jobs
    from pgqueuer import Queries  # noqa: PLC0415
    from pgqueuer.db import PsycopgDriver  # noqa: PLC0415

    async def run() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        queries = Queries(PsycopgDriver(conn))
        await queries.install()
        await queries.enqueue(["noop"] * jobs, [None] * jobs, [0] * jobs)
        await conn.close()

    asyncio.run(run())


def _pgqueuer_worker(dsn: str, concurrency: int, start_at: float, _jobs: int) -> None:
    from pgqueuer import PgQueuer  # noqa: PLC0415
    from pgqueuer.db import PsycopgDriver  # noqa: PLC0415
    from pgqueuer.domain.types import QueueExecutionMode  # noqa: PLC0415

    async def run() -> None:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        queuer = PgQueuer(PsycopgDriver(conn))

        # No entrypoint `concurrency_limit`: pgqueuer enforces that one across all
        # processes in the database. The per-process cap is `max_concurrent_tasks`.
        @queuer.entrypoint("noop")
        async def noop(job) -> None:  # noqa: ANN001, ARG001
            return None

        await asyncio.sleep(max(0.0, start_at - time.time()))
        await queuer.run(
            dequeue_timeout=timedelta(seconds=0.05),
            batch_size=max(1, concurrency // 2),  # pgqueuer wants concurrency >= 2 x batch
            mode=QueueExecutionMode.continuous,
            max_concurrent_tasks=max(2, concurrency),
        )
        await conn.close()

    asyncio.run(run())


def _done_pgqueuer(dsn: str) -> int:
    # pgqueuer deletes a job from its queue table when it is done.
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM pgqueuer").fetchone()
        return _pgqueuer_jobs - (int(row[0]) if row else 0)


def _commits(dsn: str) -> int:
    """Transactions committed in this database so far (as the statistics collector has them)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else 0


@dataclass(frozen=True)
class Run:
    """One measured run: jobs per second, and commits per job (the bench's own polls left out)."""

    rate: float
    commits_per_job: float


def _measure(
    *,
    worker: Callable[..., None],
    target: str,
    done: Callable[[str], int],
    dsn: str,
    processes: int,
    concurrency: int,
    jobs: int,
    timeout: float,
) -> Run:
    time.sleep(1.1)  # the seeding's statistics are in
    commits_before = _commits(dsn)
    polls = 1
    ctx = mp.get_context("fork")
    start_at = time.time() + 1.0
    procs = [
        ctx.Process(target=worker, args=(target, concurrency, start_at, jobs), daemon=True)
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    while time.time() < start_at:
        time.sleep(0.001)
    finished = None
    while time.time() < start_at + timeout:
        polls += 1
        if done(dsn) >= jobs:
            finished = time.time()
            break
        time.sleep(0.02)
    for proc in procs:
        proc.terminate()
        proc.join(5)
    time.sleep(1.1)  # the workers' connections have closed and reported
    commits = _commits(dsn) - commits_before - polls
    if finished is None:
        return Run(float("nan"), commits / jobs)
    return Run(jobs / (finished - start_at), commits / jobs)


def _rounds(runs: dict[str, list[Run]]) -> str:
    return "; ".join(
        f"{name} {', '.join(f'{r.rate:.0f}' for r in each)}" for name, each in runs.items()
    )


def _commits_per_job(runs: dict[str, list[Run]]) -> str:
    return ", ".join(
        f"{name} {statistics.median(r.commits_per_job for r in each):.2f}"
        for name, each in runs.items()
    )


def main() -> None:
    """Run the three queues at each process count and print jobs/s and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--processes", default="1,4")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved; medians reported")
    args = parser.parse_args()

    pg = PostgresServer(durable=True).start()
    try:
        print(
            f"{args.jobs} no-op jobs, durable PostgreSQL, each process runs "
            f"{args.concurrency} jobs at once; {os.cpu_count()} CPUs"
        )
        print(
            f"{'processes':>9} {'imgapp/s':>9} {'procrastinate/s':>16} {'pgqueuer/s':>11}"
            f" {'vs procr.':>9} {'vs pgq.':>8}"
        )
        for level, processes in enumerate(int(p) for p in args.processes.split(",")):
            common = {
                "processes": processes,
                "concurrency": args.concurrency,
                "jobs": args.jobs,
                "timeout": args.timeout,
            }
            rates: dict[str, list[Run]] = {"imgapp": [], "procrastinate": [], "pgqueuer": []}
            for round_no in range(args.rounds):  # interleaved, so the disk's moods hit all three
                tag = f"{level}_{round_no}"
                url = pg.create_database(f"imgapp_{tag}")
                migrations.upgrade(url)
                _seed_imgapp(url, args.jobs)
                rates["imgapp"].append(
                    _measure(
                        worker=_imgapp_worker,
                        target=url,
                        done=_done_imgapp,
                        dsn=pg.dsn(f"imgapp_{tag}"),
                        **common,
                    )
                )
                pg.create_database(f"procrastinate_{tag}")
                dsn = pg.dsn(f"procrastinate_{tag}")
                _seed_procrastinate(dsn, args.jobs)
                rates["procrastinate"].append(
                    _measure(
                        worker=_procrastinate_worker,
                        target=dsn,
                        done=_done_procrastinate,
                        dsn=dsn,
                        **common,
                    )
                )
                pg.create_database(f"pgqueuer_{tag}")
                dsn = pg.dsn(f"pgqueuer_{tag}")
                _seed_pgqueuer(dsn, args.jobs)
                rates["pgqueuer"].append(
                    _measure(
                        worker=_pgqueuer_worker,
                        target=dsn,
                        done=_done_pgqueuer,
                        dsn=dsn,
                        **common,
                    )
                )
            ours, procr, pgq = (statistics.median(r.rate for r in rates[k]) for k in rates)
            print(
                f"{processes:>9} {ours:>9.0f} {procr:>16.0f} {pgq:>11.0f}"
                f" {ours / procr:>9.2f} {ours / pgq:>8.2f}"
                f"  rounds: {_rounds(rates)}; commits per job: {_commits_per_job(rates)}"
            )
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
