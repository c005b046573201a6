"""Console page `/console`: the form (draw or edit) with its live cost, live tasks, the history."""

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import signed_in_page
from imgapp.components.status import task_status_color
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.pages.console_history import history_section
from imgapp.state.app import AppState
from imgapp.state.console import ConsoleState


def _select(name: str, items: object, value: rx.Var) -> rx.Component:
    return rx.select(
        items,  # type: ignore[arg-type]
        value=value,
        on_change=lambda v: ConsoleState.set_field(name, v),
        name=name,
        id=f"field-{name}",
        width="100%",
    )


_PICTURES = {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"], "image/webp": [".webp"]}


def _attached(url: rx.Var, label: rx.Component, which: str) -> rx.Component:
    return rx.flex(
        rx.link(
            rx.image(
                src=url,
                width="72px",
                height="72px",
                object_fit="contain",
                border_radius="6px",
                background="var(--gray-a3)",
                id=f"edit-{which}-preview",
            ),
            href=url,
            is_external=True,
        ),
        rx.flex(
            label,
            rx.button(
                t("console.edit_remove"),
                on_click=ConsoleState.detach(which),
                size="1",
                variant="soft",
                color_scheme="gray",
                id=f"edit-{which}-remove",
            ),
            direction="column",
            spacing="1",
            align="start",
        ),
        spacing="3",
        align="center",
    )


def _drop_zone(which: str, hint: rx.Component, on_drop: object) -> rx.Component:
    return rx.upload(
        rx.text(hint, size="1", color_scheme="gray", align="center"),
        id=f"edit-{which}",
        accept=_PICTURES if which == "image" else {"image/png": [".png"]},
        multiple=False,
        max_files=1,
        on_drop=on_drop,
        border="1px dashed var(--gray-a7)",
        border_radius="8px",
        padding="12px",
        cursor="pointer",
        width="100%",
    )


def _edit_picker() -> rx.Component:
    """An optional picture to edit, and an optional mask over it."""
    return rx.flex(
        rx.text(t("console.edit_title"), size="2", weight="medium"),
        rx.cond(
            ConsoleState.edit_image_id > 0,
            _attached(
                ConsoleState.edit_image_url,
                rx.text(
                    t("console.edit_attached"),
                    " ",
                    ConsoleState.edit_image_size,
                    size="1",
                    color_scheme="gray",
                ),
                "image",
            ),
            _drop_zone(
                "image",
                rx.fragment(t("console.edit_drop"), " (≤ ", ConsoleState.upload_limit_mb, " MB)"),
                ConsoleState.attach_image(rx.upload_files(upload_id="edit-image")),  # type: ignore[call-arg]
            ),
        ),
        rx.cond(
            ConsoleState.edit_image_id > 0,
            rx.cond(
                ConsoleState.edit_mask_id > 0,
                _attached(
                    ConsoleState.edit_mask_url,
                    rx.text(t("console.mask_attached"), size="1", color_scheme="gray"),
                    "mask",
                ),
                _drop_zone(
                    "mask",
                    t("console.mask_drop"),
                    ConsoleState.attach_mask(rx.upload_files(upload_id="edit-mask")),  # type: ignore[call-arg]
                ),
            ),
        ),
        rx.cond(ConsoleState.uploading, rx.spinner(size="1", id="edit-uploading")),
        rx.cond(
            ConsoleState.upload_error != "",
            rx.callout(
                ConsoleState.upload_error,
                color_scheme="red",
                role="alert",
                size="1",
                id="upload-error",
            ),
        ),
        direction="column",
        spacing="2",
        id="edit-picker",
    )


def _form() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.heading(t("console.new_task"), size="4", as_="h2"),
            labelled(
                "console.prompt",
                rx.text_area(
                    id="prompt",
                    value=ConsoleState.prompt,
                    on_change=lambda v: ConsoleState.set_field("prompt", v),
                    max_length=ConsoleState.prompt_limit,
                    placeholder=t("console.prompt_placeholder"),
                    rows="4",
                ),
            ),
            rx.text(
                ConsoleState.prompt.length(),
                " / ",
                ConsoleState.prompt_limit,
                size="1",
                color_scheme="gray",
                align="right",
                id="prompt-count",
            ),
            labelled(
                "console.negative_prompt",
                rx.text_area(
                    id="negative_prompt",
                    value=ConsoleState.negative_prompt,
                    on_change=lambda v: ConsoleState.set_field("negative_prompt", v),
                    max_length=2000,
                    rows="2",
                ),
            ),
            _edit_picker(),
            rx.grid(
                labelled(
                    "console.model", _select("model", ConsoleState.models, ConsoleState.model)
                ),
                labelled("console.size", _select("size", ConsoleState.sizes, ConsoleState.size)),
                labelled("console.count", _select("n", ConsoleState.counts, ConsoleState.n)),
                labelled(
                    "console.quality",
                    _select("quality", ConsoleState.qualities, ConsoleState.quality),
                ),
                labelled(
                    "console.style",
                    _select("style", ConsoleState.styles, ConsoleState.style),
                ),
                columns="2",
                spacing="3",
            ),
            rx.flex(
                rx.text(
                    t("console.cost"),
                    " ",
                    rx.text.strong(ConsoleState.cost_preview, id="cost-preview"),
                    " ",
                    t("money.credits_unit"),
                    " · ",
                    t("shell.balance"),
                    " ",
                    rx.text.strong(AppState.balance_text),
                    " ",
                    t("money.credits_unit"),
                    size="2",
                    color_scheme=rx.cond(ConsoleState.can_afford, "gray", "tomato"),
                ),
                rx.cond(
                    ~ConsoleState.can_afford,
                    rx.link(t("console.top_up"), href=routes.RECHARGE, size="2"),
                ),
                justify="between",
                wrap="wrap",
                spacing="2",
            ),
            rx.cond(
                ConsoleState.form_error != "",
                rx.callout(
                    ConsoleState.form_error, color_scheme="red", role="alert", id="form-error"
                ),
            ),
            rx.button(
                rx.cond(
                    ConsoleState.edit_image_id > 0, t("console.edit_submit"), t("console.generate")
                ),
                on_click=ConsoleState.submit,
                loading=ConsoleState.submitting,
                size="3",
                id="generate",
            ),
            rx.text(
                t("console.provider"),
                " ",
                rx.badge(ConsoleState.provider_name, id="provider-name"),
                size="1",
                color_scheme="gray",
            ),
            direction="column",
            spacing="3",
        ),
        size="3",
    )


def _task_card(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.badge(
                    row.status_label,
                    color_scheme=task_status_color(row.status),
                    class_name="task-status",
                ),
                rx.text("#", row.id, size="1", color_scheme="gray"),
                rx.spacer(),
                rx.text(row.elapsed, size="1", color_scheme="gray", class_name="task-elapsed"),
                align="center",
                spacing="2",
            ),
            rx.flex(
                rx.cond(
                    row.source_url != "",
                    rx.link(
                        rx.image(
                            src=row.source_url,
                            width="40px",
                            height="40px",
                            object_fit="cover",
                            border_radius="4px",
                            alt=t("console.edit_source"),
                        ),
                        href=row.source_url,
                        is_external=True,
                        class_name="task-source",
                        title=t("console.edit_source"),
                    ),
                ),
                rx.text(
                    row.prompt, size="2", weight="medium", trim="both", class_name="task-prompt"
                ),
                spacing="2",
                align="center",
            ),
            rx.text(
                row.summary,
                " · ",
                row.cost,
                " ",
                t("money.credits_unit"),
                size="1",
                color_scheme="gray",
            ),
            rx.cond(
                row.active,
                rx.progress(value=row.progress, max=100, class_name="task-progress"),
            ),
            rx.cond(
                row.queue_text != "",
                rx.text(row.queue_text, size="1", color_scheme="gray", class_name="task-queue"),
            ),
            rx.cond(row.message != "", rx.text(row.message, size="1", class_name="task-message")),
            rx.cond(
                row.image_urls.length() > 0,  # type: ignore[attr-defined]
                rx.flex(
                    rx.foreach(
                        row.image_urls,
                        lambda url: rx.link(
                            rx.image(
                                src=url,
                                width="72px",
                                height="72px",
                                object_fit="cover",
                                border_radius="6px",
                            ),
                            href=url,
                            is_external=True,
                        ),
                    ),
                    spacing="2",
                    wrap="wrap",
                ),
            ),
            rx.flex(
                rx.cond(
                    row.active,
                    rx.button(
                        t("console.cancel"),
                        on_click=ConsoleState.cancel(row.id),
                        size="1",
                        color_scheme="tomato",
                        variant="soft",
                        class_name="task-cancel",
                    ),
                ),
                rx.button(
                    t("console.retry"),
                    on_click=ConsoleState.retry(row.id),
                    size="1",
                    variant="soft",
                    class_name="task-retry",
                ),
                rx.cond(
                    row.refunded > 0,
                    rx.text(
                        t("console.refunded"), " ", row.refunded, size="1", color_scheme="grass"
                    ),
                ),
                spacing="2",
                align="center",
            ),
            direction="column",
            spacing="2",
        ),
        size="1",
        class_name="task-card",
        custom_attrs={"data-task-id": row.id, "data-updated-ms": row.updated_ms},
        data_task_id=row.id,
        data_status=row.status,
    )


def _tasks() -> rx.Component:
    return rx.flex(
        rx.heading(t("console.tasks"), size="4", as_="h2"),
        rx.cond(
            ConsoleState.task_rows.length() > 0,  # type: ignore[attr-defined]
            rx.flex(
                rx.foreach(ConsoleState.task_rows, _task_card),
                direction="column",
                spacing="2",
                id="task-list",
            ),
            rx.text(t("console.no_tasks"), color_scheme="gray", size="2", id="task-list-empty"),
        ),
        direction="column",
        spacing="2",
    )


@rx.page(
    route=routes.CONSOLE,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, ConsoleState.load],
)
def console() -> rx.Component:
    """Generate images and follow the tasks live."""
    return signed_in_page(
        routes.CONSOLE,
        "page.console.title",
        rx.flex(
            rx.grid(
                _form(),
                _tasks(),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="5",
                width="100%",
            ),
            history_section(),
            direction="column",
            spacing="6",
        ),
    )
