"""Ledger benchmark: charges per second through `billing.charge` vs pgbench, same server, same run.

Starts a durable PostgreSQL server (fsync and synchronous_commit on, as in
production), then for each concurrency level runs
  - pgbench's built-in simple-update script (`-N`) on its own database, and
  - N clients each calling `imgapp.flows.billing.charge(...)` in a loop on
    random accounts among 1,000, one transaction per charge,
and prints both rates and their ratio, with the CPU each transaction cost the
clients (this process's waited-for children: pgbench, or the charging
processes) and the server (the postmaster and every backend it reaped), in ms.
Ends with the ledger invariant check.

    python bench/ledger.py [--seconds 10] [--clients 1,16] [--rounds 5] [--processes N]

The two alternate for `--rounds` rounds at each level; the medians are
printed, and the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SESSION_SECRET", "bench-session-secret-0123456789")

import psutil  # noqa: E402
from sqlalchemy import text  # noqa: E402

from imgapp.core import db, migrations  # noqa: E402
from imgapp.flows import billing  # noqa: E402
from imgapp.services import ledger  # noqa: E402
from tests.support.pg import PostgresServer, _as_postgres, _bin_dir  # noqa: E402

ACCOUNTS = 1000
START_BALANCE = 10**9


def _seed(url: str) -> None:
    """1,000 users with a large balance, booked as ledger adjustments."""
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, display_name, is_active,"
                " created_at, updated_at, password_changed_at)"
                " SELECT g, 'bench' || g || '@example.com', 'x', '', true, now(), now(), now()"
                " FROM generate_series(1, :n) g"
            ),
            {"n": ACCOUNTS},
        )
        conn.execute(
            text(
                "INSERT INTO billing_accounts (user_id, balance, created_at, updated_at)"
                " SELECT g, :b, now(), now() FROM generate_series(1, :n) g"
            ),
            {"n": ACCOUNTS, "b": START_BALANCE},
        )
        conn.execute(
            text(
                "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, reference_type,"
                " reference_id, idempotency_key, description, created_at)"
                " SELECT g, :b, :b, 'adjustment', 'operator', '', 'bench-seed:' || g, 'seed', now()"
                " FROM generate_series(1, :n) g"
            ),
            {"n": ACCOUNTS, "b": START_BALANCE},
        )
    engine.dispose()


def _charge_loop(deadline: float, tag: str) -> int:
    rng = random.Random(tag)
    done = 0
    while time.time() < deadline:
        billing.charge(
            user_id=rng.randint(1, ACCOUNTS),
            credits=1,
            key=f"bench:{tag}:{done}",
            usage=ledger.Usage(model="bench", size="512x512", image_count=1),
        )
        done += 1
    return done


def _charger(  # noqa: PLR0917 - a process entry point takes positional args
    url: str, threads: int, seconds: float, start_at: float, tag: str, out: mp.Queue
) -> None:
    """One process: `threads` threads, each its own connection, charging until the deadline."""
    db.use_engine(db.make_engine(url, pool_size=threads, max_overflow=0))
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + seconds
    with ThreadPoolExecutor(max_workers=threads) as pool:
        counts = pool.map(lambda i: _charge_loop(deadline, f"{tag}-{i}"), range(threads))
        out.put(sum(counts))


class CpuMeter:
    """CPU seconds spent by the clients (waited-for children) and the server, around one run."""

    def __init__(self, pg: PostgresServer) -> None:
        """`pg`: the server whose postmaster (and reaped backends) is counted."""
        pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        self.server = psutil.Process(pid)

    def _now(self) -> tuple[float, float]:
        mine = resource.getrusage(resource.RUSAGE_CHILDREN)
        times = self.server.cpu_times()
        live = 0.0
        for child in self.server.children():
            try:
                live += sum(child.cpu_times()[:2])
            except psutil.NoSuchProcess:  # a backend that exited meanwhile: counted once reaped
                continue
        return mine.ru_utime + mine.ru_stime, sum(times[:4]) + live

    def measure(self, run: Callable[[], float], seconds: float) -> tuple[float, float, float]:
        """(rate, client ms per transaction, server ms per transaction) of `run()`."""
        client_before, server_before = self._now()
        rate = run()
        time.sleep(0.5)  # the run's backends have exited and been reaped
        client_after, server_after = self._now()
        done = max(1.0, rate * seconds)
        return (
            rate,
            (client_after - client_before) * 1000 / done,
            (server_after - server_before) * 1000 / done,
        )


def layout(clients: int, processes: int = 0) -> tuple[int, int]:
    """(processes, threads each): one process per CPU, as the app would be deployed.

    Ratios measured here with 16 clients (five rounds each): 2x8 0.52, 4x4 0.45,
    16x1 0.50-0.55; `--processes` picks another layout.
    """
    processes = max(1, min(clients, processes or os.cpu_count() or 1))
    return processes, -(-clients // processes)


def imgapp_rate(url: str, clients: int, seconds: float, round_no: int, processes: int) -> float:
    """Charges per second with `clients` concurrent transactions."""
    processes, threads = layout(clients, processes)
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    start_at = time.time() + 1.0
    procs = [
        ctx.Process(target=_charger, args=(url, threads, seconds, start_at, f"{round_no}-{i}", out))
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    total = sum(out.get() for _ in procs)
    for proc in procs:
        proc.join()
    return total / seconds


def pgbench_rate(pg: PostgresServer, clients: int, seconds: float) -> float:
    """Transactions per second of pgbench -N (simple-update)."""
    result = subprocess.run(
        _as_postgres(
            [
                str(_bin_dir() / "pgbench"),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "postgres",
                "-N",
                "-c",
                str(clients),
                "-j",
                str(min(clients, 2)),
                "-T",
                str(int(seconds)),
                "pgbench",
            ]
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", result.stdout)
    if not match:
        raise RuntimeError(result.stdout + result.stderr)
    return float(match.group(1))


def main() -> None:
    """Run both at each concurrency and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", default="1,16")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved; medians reported")
    parser.add_argument(
        "--processes", type=int, default=0, help="client processes (default: one per CPU)"
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    pg = PostgresServer(durable=True).start()
    try:
        url = pg.create_database("imgapp_bench")
        migrations.upgrade(url)
        _seed(url)
        pg.create_database("pgbench")
        subprocess.run(
            _as_postgres(
                [
                    str(_bin_dir() / "pgbench"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(pg.port),
                    "-U",
                    "postgres",
                    "-i",
                    "-s",
                    "10",
                    "-q",
                    "pgbench",
                ]
            ),
            check=True,
            capture_output=True,
        )
        print(
            f"PostgreSQL {pg.port}, durable (fsync on); {args.seconds:.0f} s per run; "
            f"{os.cpu_count()} CPUs"
        )
        print(
            f"{'clients':>8} {'pgbench -N tps':>15} {'imgapp charges/s':>17} {'ratio':>6}"
            f" {'CPU ms/tx client, server: pgbench':>34} {'imgapp':>12}  imgapp layout"
        )
        meter = CpuMeter(pg)
        for n, clients in enumerate(levels):
            # Alternate the two so that the disk's good and bad moments hit both.
            bases, ours_list = [], []
            for r in range(args.rounds):
                bases.append(
                    meter.measure(lambda c=clients: pgbench_rate(pg, c, args.seconds), args.seconds)
                )
                ours_list.append(
                    meter.measure(
                        lambda c=clients, r=r, n=n: imgapp_rate(
                            url, c, args.seconds, n * 100 + r, args.processes
                        ),
                        args.seconds,
                    )
                )
            ratios = [o[0] / b[0] for o, b in zip(ours_list, bases, strict=True)]
            base, ours = (statistics.median(x[0] for x in runs) for runs in (bases, ours_list))
            cpu = [
                statistics.median(x[i] for x in runs) for runs in (bases, ours_list) for i in (1, 2)
            ]
            processes, threads = layout(clients, args.processes)
            print(
                f"{clients:>8} {base:>15.0f} {ours:>17.0f} {statistics.median(ratios):>6.2f}"
                f" {cpu[0]:>26.2f}, {cpu[1]:.2f} {cpu[2]:>8.2f}, {cpu[3]:.2f}"
                f"  {processes} process(es) x {threads} thread(s);"
                f" ratios per round {', '.join(f'{x:.2f}' for x in ratios)}"
            )
        engine = db.make_engine(url)
        db.use_engine(engine)
        problems = db.call_read(ledger.check_invariants)
        print(f"ledger invariant: {'holds' if not problems else problems[:5]}")
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
