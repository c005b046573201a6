"""`deploy/backup.sh` on the running shape: the copy restores to exact books and every image."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support import books
from tests.support.servers import PROJECT_ROOT


def _rows(url: str, query: str) -> list[tuple]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def test_a_backup_taken_while_serving_restores_to_the_same_books_and_images(
    shape, shape_user, tmp_path: Path
):
    shape_user.wait_finished([shape_user.submit(n=2), shape_user.submit()])
    running = shape_user.submit(n=4)  # still being drawn while the backup runs
    state = shape.state()
    done = subprocess.run(
        [str(PROJECT_ROOT / "deploy" / "backup.sh")],
        env={
            **os.environ,
            "DATABASE_URL": shape.database_url,
            "IMGAPP_DATA_DIR": str(shape.data_dir / "prod"),
            "BACKUP_DIR": str(tmp_path),
            "PG_BIN": state["PG_BIN"],
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (dump,) = tmp_path.glob("imgapp-*.dump")
    (tarball,) = tmp_path.glob("imgapp-*-images.tar.gz")
    assert not list(tmp_path.glob("*.partial"))
    checked = subprocess.run(
        ["sha256sum", "--check", next(tmp_path.glob("*.sha256")).name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Restored into a new database (as deploy/README.md says), the books are exact
    # and every image a row names is in the tarball.
    restored = shape.database_url.rsplit("/", 1)[0] + "/restored"
    server = restored.split("@", 1)[1].split("/", 1)[0]
    host, port = server.split(":")
    pg_bin = Path(state["PG_BIN"])
    subprocess.run(
        [pg_bin / "createdb", "-h", host, "-p", port, "-U", "postgres", "restored"], check=True
    )
    subprocess.run([pg_bin / "pg_restore", "--no-owner", "-d", restored, dump], check=True)
    # A task drawn while the dump was taken is restored as it was then; it is not
    # finished there, which books.problems would call out: finish the run first.
    shape_user.wait_finished([running])
    unfinished = (f"task {running}: still pending", f"task {running}: still processing")
    assert [p for p in books.problems(restored) if p not in unfinished] == []
    users = _rows(restored, "SELECT count(*) FROM users")[0][0]
    assert users >= 1
    paths = [row[0] for row in _rows(restored, "SELECT path FROM task_images")]
    assert len(paths) >= 3
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert set(paths) <= names
