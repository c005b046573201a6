"""Usage report benchmark: one user with 1,000,000 charges on a durable PostgreSQL server.

    python bench/usage_export.py [--rows 1000000] [--days 366] [--runs 100]

Seeds a year of charges (each with its model and size; every 25th refunded a minute
later), serves the API in its own process (uvicorn, as in production) and:

  - times the 30-day report (`GET /api/usage/report?group_by=day`: totals,
    groups and the first page of rows) over `--runs` requests: p50 / p95;
  - downloads every row of the year as CSV through the HTTP route, timing it
    and reading the server process's memory (peak RSS over its RSS before);
  - runs PostgreSQL's own `COPY (SELECT ...) TO STDOUT WITH CSV` of the same
    rows (the same join and order) in the same run, as the baseline, and
    prints the ratio of the two times (target: at most 2x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SESSION_SECRET", "bench-session-secret-0123456789")

import httpx  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from imgapp.core import db, migrations  # noqa: E402
from imgapp.services import accounts, usage  # noqa: E402
from tests.support.net import free_port, wait_http  # noqa: E402
from tests.support.pg import PostgresServer  # noqa: E402

EMAIL = "heavy-user@example.com"
PASSWORD = "bench password 0123"  # noqa: S105 - a throwaway account
ZONE = "Asia/Shanghai"


def seed(url: str, rows: int, days: int) -> tuple[int, datetime]:
    """A user whose `rows` charges (with what each paid for) spread evenly over `days` until now."""
    db.use_engine(db.make_engine(url))
    account = accounts.prepare_registration(email=EMAIL, password=PASSWORD)
    user, _ = db.call(accounts.register, account=account, ip="127.0.0.1", user_agent="bench")
    db.use_engine(None)
    start = datetime.now(UTC) - timedelta(days=days - 1)
    step = days * 86400 / rows
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, reference_type,"
                " reference_id, idempotency_key, description, created_at, task_id, model, size,"
                " image_count)"
                " SELECT :uid, -8, 900000000 - g * 8, 'charge', 'task', g::text,"
                " 'bench-charge:' || g, 'a lighthouse at dusk, oil painting #' || g,"
                " :start + make_interval(secs => g * :step), NULL,"
                " (ARRAY['gpt-image-1', 'dall-e-3'])[1 + g % 2],"
                " (ARRAY['512x512', '1024x1024', '1024x1536'])[1 + g % 3], 1 + g % 4"
                " FROM generate_series(1, :n) g"
            ),
            {"uid": user.id, "n": rows, "start": start, "step": step},
        )
        conn.execute(
            text(
                "INSERT INTO ledger_entries (user_id, amount, balance_after, kind, reference_type,"
                " reference_id, idempotency_key, description, created_at)"
                " SELECT user_id, 8, balance_after + 8, 'refund', 'ledger_entry', id::text,"
                " 'bench-refund:' || id, 'task failed', created_at + interval '1 minute'"
                " FROM ledger_entries WHERE user_id = :uid AND kind = 'charge' AND id % 25 = 0"
            ),
            {"uid": user.id},
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return int(user.id), start


def serve(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The API alone in its own process, as `make run` serves it (uvicorn)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "IMGAPP_DATA_DIR": str(data_dir),
        "IMGAPP_TIMEZONE": ZONE,
        "TASK_PROCESSOR_IN_APP": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "imgapp.api.app:create_api",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    wait_http(base + "/api/health", timeout=60)
    return proc, base


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0])
    return found


def reset_peak(pid: int) -> None:
    """Start VmHWM afresh from the current RSS (Linux: write 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def copy_baseline(dsn: str, user_id: int, low: datetime, high: datetime) -> tuple[float, int]:
    """PostgreSQL's own CSV of the same rows: (seconds, bytes)."""
    sql = (
        "COPY (SELECT e.created_at, e.id, e.kind, e.amount, e.balance_after, u.model, u.size,"
        " u.image_count, u.task_id, e.reference_type, e.reference_id, e.description"
        " FROM ledger_entries e LEFT JOIN ledger_entries u ON u.id ="
        " CASE WHEN e.kind = 'charge' THEN e.id"
        " WHEN e.kind = 'refund' AND e.reference_type = 'ledger_entry'"
        " THEN CAST(e.reference_id AS BIGINT) END"
        " WHERE e.user_id = %s AND e.created_at >= %s AND e.created_at < %s"
        " ORDER BY e.created_at, e.id) TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    size = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        began = time.perf_counter()
        with cur.copy(sql, (user_id, low, high)) as copy:
            for chunk in copy:
                size += len(chunk)
        return time.perf_counter() - began, size


def time_report(client: httpx.Client, runs: int) -> None:
    """The 30-day report `runs` times: p50 and p95."""
    today = datetime.now(UTC).date()
    month = f"from={today - timedelta(days=29)}&to={today + timedelta(days=1)}&tz={ZONE}"
    times = []
    for run in range(runs + 3):
        t0 = time.perf_counter()
        response = client.get(f"/api/usage/report?{month}&group_by=day")
        response.raise_for_status()
        if run >= 3:  # noqa: PLR2004 - three warm-up requests
            times.append((time.perf_counter() - t0) * 1000)
    cuts = statistics.quantiles(times, n=20)
    body = response.json()
    print(
        f"30-day report (totals, {len(body['groups'])} day groups, first page):"
        f" p50 {statistics.median(times):.0f} ms, p95 {cuts[18]:.0f} ms"
        f" over {runs} requests; {body['totals']['entries']:,} entries in range"
    )


def time_export(
    client: httpx.Client, pid: int, pg: PostgresServer, user_id: int, days: int
) -> None:
    """Every row of the range as CSV through HTTP, then COPY of the same rows."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    span = usage.check_range(
        first.isoformat(), (today + timedelta(days=1)).isoformat(), ZoneInfo(ZONE)
    )
    before = memory_kib(pid)
    reset_peak(pid)
    t0 = time.perf_counter()
    size = lines = 0
    query = f"from={span.start}&to={span.end}&tz={ZONE}&format=csv"
    with client.stream("GET", f"/api/usage/report?{query}") as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    http_seconds = time.perf_counter() - t0
    after = memory_kib(pid)
    growth = (after["VmHWM"] - before["VmRSS"]) / 1024
    copy_seconds, copy_size = copy_baseline(pg.dsn("usage"), user_id, span.low, span.high)
    print(
        f"CSV of {span.days} days through HTTP: {lines - 1:,} rows, {size / 2**20:.0f} MiB in"
        f" {http_seconds:.2f} s; server memory {before['VmRSS'] / 1024:.0f} MiB before,"
        f" peak growth {growth:.1f} MiB"
    )
    print(
        f"baseline COPY (SELECT ...) TO STDOUT WITH CSV, same rows: {copy_seconds:.2f} s,"
        f" {copy_size / 2**20:.0f} MiB; HTTP export / COPY = {http_seconds / copy_seconds:.2f}x"
    )


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    pg = PostgresServer(durable=True).start()
    proc = None
    try:
        pg.create_database("usage")
        url = pg.url("usage")
        migrations.upgrade(url)
        began = time.perf_counter()
        user_id, _ = seed(url, args.rows, args.days)
        print(
            f"PostgreSQL {pg.port}, durable; {args.rows:,} charges over {args.days} days"
            f" for one user (seeded in {time.perf_counter() - began:.0f} s); 2 CPUs"
        )
        proc, base = serve(url, pg.root / "data-dir")
        client = httpx.Client(base_url=base, timeout=600)
        signed_in = client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
        signed_in.raise_for_status()
        time_report(client, args.runs)
        time_export(client, proc.pid, pg, user_id, args.days)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        pg.stop()


if __name__ == "__main__":
    main()
