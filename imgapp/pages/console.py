"""Console page `/console`: parameters with a live cost preview, live task list, gallery."""

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import signed_in_page
from imgapp.components.status import task_status_color
from imgapp.components.text import t
from imgapp.core import routes
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
                t("console.generate"),
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
            rx.text(row.prompt, size="2", weight="medium", trim="both", class_name="task-prompt"),
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


def _gallery() -> rx.Component:
    return rx.flex(
        rx.heading(t("console.gallery"), size="4", as_="h2"),
        rx.cond(
            ConsoleState.gallery.length() > 0,  # type: ignore[attr-defined]
            rx.grid(
                rx.foreach(
                    ConsoleState.gallery,
                    lambda img: rx.card(
                        rx.flex(
                            rx.image(
                                src=img["url"], width="100%", border_radius="6px", alt=img["prompt"]
                            ),
                            rx.flex(
                                rx.badge(img["provider"], size="1"),
                                rx.spacer(),
                                rx.link(
                                    t("console.download"), href=img["url"] + "?download=1", size="1"
                                ),
                                align="center",
                            ),
                            direction="column",
                            spacing="2",
                        ),
                        size="1",
                        class_name="gallery-item",
                    ),
                ),
                columns=rx.breakpoints(initial="2", md="4"),
                spacing="3",
                id="gallery",
            ),
            rx.text(t("console.no_images"), color_scheme="gray", size="2"),
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
            _gallery(),
            direction="column",
            spacing="6",
        ),
    )
