"""Tables of rows (lists of string dicts), with a message when there are none."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import reflex as rx

from imgapp.components.text import t

Cell = Callable[[rx.Var], rx.Component]


def field(name: str) -> Cell:
    """A cell showing one field of the row as text."""
    return lambda row: rx.text(row[name], size="2")


def amount(name: str = "amount") -> Cell:
    """A signed amount, green when money came in."""
    return lambda row: rx.text(
        row[name],
        size="2",
        weight="medium",
        color_scheme=rx.cond(row["positive"] == "1", "grass", "tomato"),
    )


def rows_table(
    columns: Sequence[tuple[str, Cell]],
    rows: rx.Var,
    *,
    empty_key: str,
    table_id: str,
    key_field: str | None = None,
) -> rx.Component:
    """A table with translated headers; `columns` pairs a header key with a cell renderer.

    With `key_field`, each row carries that field as `data-key` and is the anchor
    `#<table_id>-<key>` (for links and tests).
    """

    def row_of(row: rx.Var) -> rx.Component:
        cells = [rx.table.cell(cell(row)) for _, cell in columns]
        if key_field is None:
            return rx.table.row(*cells)
        return rx.table.row(
            *cells, id=f"{table_id}-" + row[key_field], custom_attrs={"data-key": row[key_field]}
        )

    return rx.cond(
        rows.length() > 0,  # type: ignore[attr-defined]
        rx.table.root(
            rx.table.header(
                rx.table.row(*[rx.table.column_header_cell(t(key)) for key, _ in columns])
            ),
            rx.table.body(rx.foreach(rows, row_of)),
            variant="surface",
            size="1",
            width="100%",
            id=table_id,
        ),
        rx.text(t(empty_key), color_scheme="gray", size="2", id=f"{table_id}-empty"),
    )


def ledger_table(rows: rx.Var, *, table_id: str, with_reference: bool = True) -> rx.Component:
    """Ledger entries: time, kind, amount, balance after, reference, description."""
    columns: list[tuple[str, Cell]] = [
        ("col.time", field("time")),
        ("col.kind", field("kind_label")),
        ("col.amount", amount()),
        ("col.balance_after", field("balance_after")),
    ]
    if with_reference:
        columns.append(("col.reference", field("reference")))
    columns.append(("col.description", field("description")))
    return rows_table(columns, rows, empty_key="dash.no_entries", table_id=table_id)
