"""Migrations: up, matching the models, down, and up again, on this run's database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

import imgapp.models  # noqa: F401 - registers the tables
from imgapp.core import db, migrations


def _fk_key(fk: object) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    return (
        fk.table.name,  # type: ignore[attr-defined]
        tuple(c.name for c in fk.columns),  # type: ignore[attr-defined]
        tuple(e.target_fullname for e in fk.elements),  # type: ignore[attr-defined]
    )


def _inline_sqlite_fks_match(conn: object, diff: list[object]) -> list[object]:
    """SQLite: foreign keys added inline (ADD COLUMN ... REFERENCES) compared by SQLite itself.

    SQLAlchemy reads a foreign key's name and ON DELETE from table-level clauses
    only, so such a column reflects without them. The pair counts as equal when
    SQLite's own foreign_key_list agrees on column, table and ON DELETE.
    """
    removed = {_fk_key(d[1]): d for d in diff if d[0] == "remove_fk" and d[1].name is None}
    matched = []
    for item in diff:
        if item[0] != "add_fk" or (key := _fk_key(item[1])) not in removed:
            continue
        rows = conn.exec_driver_sql(f"PRAGMA foreign_key_list({key[0]})").fetchall()
        actual = {(r[3], r[2], r[6]) for r in rows}  # (column, table, on_delete)
        target = key[2][0].split(".")[0]
        if (key[1][0], target, item[1].ondelete) in actual:
            matched += [item, removed[key]]
    return [d for d in diff if d not in matched]


def _diff(url: str) -> list[object]:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
            if engine.dialect.name == "sqlite":
                diff = _inline_sqlite_fks_match(conn, diff)
            return diff
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_matches_models_then_downgrade_and_upgrade_again(databases):
    url = databases.blank("migrations")
    try:
        migrations.upgrade(url)
        assert _tables(url) >= {"users", "user_sessions", "audit_logs"}
        assert _diff(url) == []
        migrations.downgrade(url, "base")
        assert _tables(url) == set()
        migrations.upgrade(url)
        assert _diff(url) == []
    finally:
        databases.drop(url)


def test_0011_0012_move_usage_into_entries_keep_them_immutable_and_go_back_losing_nothing(
    databases,
):
    """Upgrading a database with usage rows: the facts land on their entries, the table goes."""
    url = databases.blank("migrations_0011")
    try:
        migrations.upgrade(url, "0010")
        engine = db.make_engine(url)
        now = "2026-11-20 10:00:00"
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, password_hash, display_name, is_active,"
                    " created_at, updated_at, password_changed_at)"
                    " VALUES (1, 'a@example.com', 'x', '', true, :now, :now, :now)"
                ),
                {"now": now},
            )
            for entry_id, kind, amount, key in (
                (1, "recharge", 100, "r1"),
                (2, "charge", -16, "c1"),
                (3, "charge", -8, "c2"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO ledger_entries (id, user_id, amount, balance_after, kind,"
                        " reference_type, reference_id, idempotency_key, description, created_at)"
                        " VALUES (:id, 1, :amount, 100, :kind, '', '', :key, '', :now)"
                    ),
                    {"id": entry_id, "amount": amount, "kind": kind, "key": key, "now": now},
                )
            conn.execute(
                text(
                    "INSERT INTO usage_logs (user_id, ledger_entry_id, task_id, model, size,"
                    " image_count, credits, description, created_at)"
                    " VALUES (1, 2, 77, 'gpt-image-1', '1024x1024', 2, 16, '', :now)"
                ),
                {"now": now},
            )
        engine.dispose()
        migrations.upgrade(url)
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT id, task_id, model, size, image_count FROM ledger_entries"
                        " ORDER BY id"
                    )
                ).all()
                assert [tuple(r) for r in rows] == [
                    (1, None, "", "", 0),
                    (2, 77, "gpt-image-1", "1024x1024", 2),
                    (3, None, "", "", 0),
                ]
            assert "usage_logs" not in _tables(url)
            with pytest.raises(DBAPIError, match="immutable"), engine.begin() as conn:
                conn.execute(text("UPDATE ledger_entries SET model = 'x' WHERE id = 2"))
            with engine.begin() as conn:  # a task with an image, for the way down
                conn.execute(
                    text(
                        "INSERT INTO ai_images_creator_tasks (id, user_id, prompt,"
                        " negative_prompt, model, size, n, quality, style, provider, status,"
                        " progress, message, cost, refunded, attempts, error, queue_turn,"
                        " created_at, updated_at) VALUES (77, 1, 'p', '', 'gpt-image-1',"
                        " '1024x1024', 2, 'standard', '', 'local', 'completed', 100, '', 16, 0,"
                        " 1, '', 0, :now, :now)"
                    ),
                    {"now": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO task_images (task_id, user_id, position, path, mime_type,"
                        " width, height, size_bytes, provider, created_at) VALUES (77, 1, 0,"
                        " 'a.png', 'image/png', 1, 1, 1, 'local', :now)"
                    ),
                    {"now": now},
                )
        finally:
            engine.dispose()
        # Down again with the data in place: nothing is lost on the way.
        migrations.downgrade(url, "0010")
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                usage = conn.execute(
                    text("SELECT ledger_entry_id, task_id, model, credits FROM usage_logs")
                ).all()
                assert sorted(tuple(r) for r in usage) == [
                    (2, 77, "gpt-image-1", 16),
                    (3, None, "", 8),
                ]
                assert conn.execute(text("SELECT count(*) FROM task_images")).scalar() == 1
                assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 3
            with pytest.raises(DBAPIError, match="immutable"), engine.begin() as conn:
                conn.execute(text("DELETE FROM ledger_entries WHERE id = 3"))
        finally:
            engine.dispose()
    finally:
        databases.drop(url)


def test_0013_to_0016_go_down_with_edits_history_shares_and_webhooks_losing_no_task(databases):
    """Down past uploads, history, share links and webhooks with rows in place, and up again."""
    url = databases.blank("migrations_0016")
    try:
        migrations.upgrade(url)
        engine = db.make_engine(url)
        now = "2026-11-28 10:00:00"
        statements = [
            "INSERT INTO users (id, email, password_hash, display_name, is_active, created_at,"
            " updated_at, password_changed_at, webhook_secret) VALUES (1, 'a@example.com', 'x',"
            " '', true, :now, :now, :now, 'whsec_c2VjcmV0')",
            "INSERT INTO uploads (id, user_id, purpose, path, mime_type, width, height,"
            " size_bytes, created_at) VALUES (5, 1, 'image', 'uploads/1/a.png', 'image/png',"
            " 64, 64, 10, :now)",
            "INSERT INTO ai_images_creator_tasks (id, user_id, prompt, negative_prompt, model,"
            " size, n, quality, style, provider, status, progress, message, cost, refunded,"
            " attempts, error, queue_turn, source_upload_id, favourite, deleted_at, webhook_url,"
            " webhook_events, created_at, updated_at) VALUES (9, 1, 'p', '', 'gpt-image-1',"
            " '1024x1024', 1, 'standard', '', 'local', 'completed', 100, '', 8, 0, 1, '', 0, 5,"
            " true, NULL, 'https://hooks.example/x', 'completed', :now, :now)",
            "INSERT INTO task_images (task_id, user_id, position, path, mime_type, width, height,"
            " size_bytes, provider, share_token, shared_at, created_at) VALUES (9, 1, 0,"
            " 'images/1/a.png', 'image/png', 1, 1, 1, 'local', 'tok', :now, :now)",
            "INSERT INTO webhook_deliveries (task_id, user_id, event, message_id, url, payload,"
            " status, attempts, next_attempt_at, last_error, created_at) VALUES (9, 1,"
            " 'completed', 'msg_1', 'https://hooks.example/x', '{}', 'delivered', 1, :now, '',"
            " :now)",
        ]
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement), {"now": now})
        engine.dispose()
        migrations.downgrade(url, "0012")
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(
                    text("SELECT id, status FROM ai_images_creator_tasks")
                ).all() == [(9, "completed")]
                assert conn.execute(text("SELECT count(*) FROM task_images")).scalar() == 1
                assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 1
            assert {"uploads", "webhook_deliveries"}.isdisjoint(_tables(url))
        finally:
            engine.dispose()
        migrations.upgrade(url)
        engine = db.make_engine(url)
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    text(
                        "SELECT favourite, deleted_at, webhook_url, webhook_events,"
                        " source_upload_id FROM ai_images_creator_tasks"
                    )
                ).one()
                assert tuple(row) == (False, None, None, "", None)
        finally:
            engine.dispose()
        assert _diff(url) == []
    finally:
        databases.drop(url)
