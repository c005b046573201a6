"""A person's task history: search, filters, pages, favourites, deletion.

`check_filters` turns query fields into `Filters` (or `ValidationFailed`
naming the field): words to find in the prompt, a status, a model, a size,
local days `from` (included) to `to` (not included) in the person's zone,
favourites only, a page and its size. `page` answers one page of the
person's tasks, newest first, with the total that match. Deleted tasks are
never shown; everything is the person's own (another's id: `NotFound`).

`delete` removes a finished task from the person's sight for good: its image
rows go (the files after the commit), its uploads are let go (the sweep
removes them), the row stays hidden because the ledger's entries name it:
the money it cost and any refund stay exactly as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, func, update
from sqlmodel import Session, col, select

from imgapp.models import Task, TaskImage, TaskStatus
from imgapp.models.base import utcnow
from imgapp.models.tasks import ACTIVE
from imgapp.services import generation
from imgapp.services.errors import NotFound, TaskStillActive, ValidationFailed
from imgapp.services.usage import params as report_params

STATUSES = tuple(s.value for s in TaskStatus)
SEARCH_MAX_LENGTH = 200
PER_PAGE_DEFAULT = 24
PER_PAGE_MAX = 100


@dataclass(frozen=True)
class Filters:
    """What to show of a person's history."""

    search: str = ""
    status: str = ""
    model: str = ""
    size: str = ""
    range: report_params.Range | None = None
    favourites: bool = False
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT


@dataclass(frozen=True)
class Page:
    """One page of tasks, newest first, and how many match in all."""

    tasks: list[Task]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages the matches fill (at least 1)."""
        return max(1, -(-self.total // self.per_page))


def _whole(value: object, name: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    text = str(value).strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationFailed(
            "number_range",
            f"`{name}` must be a whole number from {low} to {high}.",
            field=name,
            name=name,
            low=low,
            high=high,
        )
    return int(text)


def _flag(value: object, name: str) -> bool:
    if value is None or value in {"", "0", "false", False}:
        return False
    if value in {"1", "true", True}:
        return True
    raise ValidationFailed(
        "flag_invalid", f"`{name}` must be true or false.", field=name, name=name
    )


def _choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    text = str(value or "").strip()
    if text and text not in choices:
        raise ValidationFailed(
            "choice_unknown",
            f"`{name}` must be one of: {', '.join(choices)}.",
            field=name,
            name=name,
            choices=", ".join(choices),
        )
    return text


def check_filters(fields: dict[str, object], *, zone: ZoneInfo) -> Filters:
    """Query fields as `Filters` (`ValidationFailed` naming the field otherwise).

    `q`, `status`, `model`, `size`, `from`, `to` (local days in `zone`, `to`
    not included), `favourite`, `page`, `per_page`.
    """
    search = str(fields.get("q") or "").strip()
    if len(search) > SEARCH_MAX_LENGTH:
        raise ValidationFailed(
            "search_too_long",
            f"Search for at most {SEARCH_MAX_LENGTH} characters.",
            field="q",
            max=SEARCH_MAX_LENGTH,
        )
    start, end = fields.get("from") or None, fields.get("to") or None
    if start is None and end is None:
        span = None
    elif start is None or end is None:
        raise ValidationFailed(
            "range_incomplete",
            "Give both `from` and `to` (local dates; `to` is not included), or neither.",
            field="from" if start is None else "to",
        )
    else:
        span = report_params.check_range(start, end, zone)
    return Filters(
        search=search,
        status=_choice(fields.get("status"), "status", STATUSES),
        model=str(fields.get("model") or "").strip()[:64],
        size=_choice(fields.get("size"), "size", tuple(generation.SIZES)),
        range=span,
        favourites=_flag(fields.get("favourite"), "favourite"),
        page=_whole(fields.get("page"), "page", 1, 100_000, 1),
        per_page=_whole(fields.get("per_page"), "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT),
    )


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(user_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    where = [col(Task.user_id) == user_id, col(Task.deleted_at).is_(None)]
    where.extend(  # every word, anywhere in the prompt, any case
        func.lower(Task.prompt).like(f"%{_escaped(word.lower())}%", escape="\\")
        for word in filters.search.split()
    )
    if filters.status:
        where.append(col(Task.status) == filters.status)
    if filters.model:
        where.append(col(Task.model) == filters.model)
    if filters.size:
        where.append(col(Task.size) == filters.size)
    if filters.range is not None:
        where += [
            col(Task.created_at) >= filters.range.low,
            col(Task.created_at) < filters.range.high,
        ]
    if filters.favourites:
        where.append(col(Task.favourite).is_(True))
    return where


def page(session: Session, *, user_id: int, filters: Filters) -> Page:
    """One page of the person's tasks matching `filters`, newest first."""
    where = _conditions(user_id, filters)
    total = session.exec(select(func.count()).select_from(Task).where(*where)).one()
    tasks = session.exec(
        select(Task)
        .where(*where)
        .order_by(col(Task.id).desc())
        .offset((filters.page - 1) * filters.per_page)
        .limit(filters.per_page)
    ).all()
    return Page(list(tasks), int(total), filters.page, filters.per_page)


def models_used(session: Session, *, user_id: int) -> list[str]:
    """The models the person's tasks used (the model filter's choices)."""
    return list(
        session.exec(
            select(Task.model)
            .where(col(Task.user_id) == user_id, col(Task.deleted_at).is_(None))
            .distinct()
            .order_by(col(Task.model))
        )
    )


def _shown(session: Session, *, task_id: int, user_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.user_id != user_id or task.deleted_at is not None:
        raise NotFound
    return task


def set_favourite(session: Session, *, task_id: int, user_id: int, favourite: bool) -> Task:
    """Star or unstar one of the person's tasks."""
    task = _shown(session, task_id=task_id, user_id=user_id)
    if task.favourite != favourite:
        session.execute(
            update(Task)
            .where(col(Task.id) == task_id)
            .values(favourite=favourite, updated_at=utcnow())
        )
        session.refresh(task)
    return task


def delete_task(session: Session, *, task_id: int, user_id: int) -> list[str]:
    """Hide a finished task for good and drop its images; answers the files to remove.

    A waiting or running task is refused (`TaskStillActive`): cancel it first,
    so its refund is settled before it disappears.
    """
    task = _shown(session, task_id=task_id, user_id=user_id)
    if task.status in ACTIVE:
        raise TaskStillActive
    removed = session.execute(
        delete(TaskImage).where(col(TaskImage.task_id) == task_id).returning(col(TaskImage.path))
    )
    paths = [path for (path,) in removed]
    session.execute(
        update(Task)
        .where(col(Task.id) == task_id, col(Task.deleted_at).is_(None))
        .values(
            deleted_at=utcnow(),
            favourite=False,
            source_upload_id=None,
            mask_upload_id=None,
            updated_at=utcnow(),
        )
    )
    return paths


def retryable(session: Session, *, task_id: int, user_id: int) -> Task:
    """A failed or cancelled task of the person's, to run again with the same settings."""
    task = _shown(session, task_id=task_id, user_id=user_id)
    if task.status not in {TaskStatus.FAILED.value, TaskStatus.CANCELLED.value}:
        raise ValidationFailed(
            "task_not_retryable",
            "Only a failed or cancelled task can be retried; use its settings for a new one.",
            field="task_id",
        )
    return task
