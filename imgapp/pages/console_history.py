"""The console's history: every task of the person's, searched, filtered, paged.

Each card shows the first image (or the status), the prompt, when and with
what; a star; "again with these settings" (into the form); retry for a failed
or cancelled task (a new task, charged anew); download; delete with a
confirming second click (its images go; the ledger stays).
"""

import reflex as rx

from imgapp.components.native_select import SELECT_STYLE
from imgapp.components.status import task_status_color
from imgapp.components.text import t
from imgapp.services.history import STATUSES
from imgapp.state.console import ConsoleState

_FILTER_SELECT = {**SELECT_STYLE, "width": "auto"}
# A prompt cut to two lines on a card (the whole of it in the title).
_TWO_LINES = {
    "display": "-webkit-box",
    "-webkit-line-clamp": "2",
    "-webkit-box-orient": "vertical",
    "overflow": "hidden",
}


def _filter_select(
    select_id: str, name: str, value: rx.Var, options: rx.Var, any_key: str
) -> rx.Component:
    """A native select over a list var, "any" first (its value "")."""
    return rx.el.select(
        rx.foreach(
            options,
            lambda option: rx.el.option(rx.cond(option == "", t(any_key), option), value=option),
        ),
        id=select_id,
        value=value,
        on_change=lambda v: ConsoleState.set_history_filter(name, v),
        style=_FILTER_SELECT,
    )


def _history_filters() -> rx.Component:
    return rx.flex(
        rx.input(
            placeholder=t("console.history_search"),
            value=ConsoleState.h_search,
            on_change=lambda v: ConsoleState.set_history_filter("h_search", v),
            debounce_timeout=400,
            id="history-search",
            width="16em",
        ),
        rx.el.select(
            rx.foreach(
                ConsoleState.h_statuses,
                lambda status: rx.el.option(
                    rx.cond(
                        status == "",
                        t("console.history_any_status"),
                        rx.match(
                            status,
                            *[(s, t(f"status.{s}")) for s in STATUSES],
                            status,
                        ),
                    ),
                    value=status,
                ),
            ),
            id="history-status",
            value=ConsoleState.h_status,
            on_change=lambda v: ConsoleState.set_history_filter("h_status", v),
            style=_FILTER_SELECT,
        ),
        _filter_select(
            "history-model",
            "h_model",
            ConsoleState.h_model,
            ConsoleState.history_models,
            "console.history_any_model",
        ),
        _filter_select(
            "history-size",
            "h_size",
            ConsoleState.h_size,
            ConsoleState.history_sizes,
            "console.history_any_size",
        ),
        rx.flex(
            rx.input(
                type="date",
                value=ConsoleState.h_from,
                on_change=lambda v: ConsoleState.set_history_filter("h_from", v),
                id="history-from",
                aria_label=t("console.history_from"),
            ),
            rx.text("–", size="2"),
            rx.input(
                type="date",
                value=ConsoleState.h_to,
                on_change=lambda v: ConsoleState.set_history_filter("h_to", v),
                id="history-to",
                aria_label=t("console.history_to"),
            ),
            align="center",
            spacing="1",
        ),
        rx.text(
            rx.flex(
                rx.checkbox(
                    checked=ConsoleState.h_favourites,
                    on_change=lambda v: ConsoleState.set_history_filter("h_favourites", v),
                    id="history-favourites",
                ),
                t("console.history_favourites"),
                spacing="1",
                align="center",
            ),
            as_="label",
            size="2",
        ),
        rx.cond(
            ConsoleState.h_filtered,
            rx.button(
                t("console.history_clear"),
                on_click=ConsoleState.clear_history_filters,
                size="1",
                variant="ghost",
                id="history-clear",
            ),
        ),
        spacing="3",
        align="center",
        wrap="wrap",
    )


def _share_row(share: rx.Var) -> rx.Component:
    return rx.flex(
        rx.image(
            src=share["thumb"], width="40px", height="40px", object_fit="cover", border_radius="4px"
        ),
        rx.cond(
            share["link"] != "",
            rx.flex(
                rx.input(
                    value=share["link"],
                    read_only=True,
                    size="1",
                    width="19em",
                    class_name="share-link",
                    on_focus=rx.call_script("document.activeElement.select()"),
                ),
                rx.button(
                    t("console.share_copy"),
                    on_click=ConsoleState.copy_link(share["link"]),
                    size="1",
                    variant="soft",
                    class_name="share-copy",
                ),
                rx.button(
                    t("console.share_off"),
                    on_click=ConsoleState.stop_sharing(share["id"]),
                    size="1",
                    variant="soft",
                    color_scheme="tomato",
                    class_name="share-off",
                ),
                spacing="1",
                align="center",
            ),
            rx.button(
                t("console.share_on"),
                on_click=ConsoleState.share_image(share["id"]),
                size="1",
                class_name="share-on",
            ),
        ),
        spacing="2",
        align="center",
    )


def _share_popover(item: rx.Var) -> rx.Component:
    """Per image: a public link to turn on, copy, or take down at once."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.cond(item.shared, rx.icon("link", size=12), rx.fragment()),
                t("console.share"),
                size="1",
                variant="ghost",
                class_name="history-share",
            )
        ),
        rx.popover.content(
            rx.flex(
                rx.text(t("console.share_intro"), size="1", color_scheme="gray"),
                rx.foreach(item.shares, _share_row),
                direction="column",
                spacing="2",
            ),
            max_width="34em",
        ),
    )


def _history_actions(item: rx.Var) -> rx.Component:
    return rx.flex(
        rx.icon_button(
            rx.cond(item.favourite, rx.icon("star", fill="currentColor"), rx.icon("star")),
            on_click=ConsoleState.toggle_favourite(item.id),
            size="1",
            variant="ghost",
            color_scheme=rx.cond(item.favourite, "amber", "gray"),
            class_name="history-star",
            aria_label=t("console.history_star"),
            title=t("console.history_star"),
        ),
        rx.button(
            t("console.retry"),
            on_click=ConsoleState.retry(item.id),
            size="1",
            variant="soft",
            class_name="history-again",
        ),
        rx.cond(
            item.can_retry,
            rx.button(
                t("console.history_retry"),
                on_click=ConsoleState.retry_task(item.id),
                size="1",
                variant="soft",
                color_scheme="grass",
                class_name="history-retry",
            ),
        ),
        rx.cond(
            item.cover != "",
            rx.link(t("console.download"), href=item.cover + "?download=1", size="1"),
        ),
        rx.cond(item.cover != "", _share_popover(item)),
        rx.spacer(),
        rx.cond(
            ~item.active,
            rx.cond(
                ConsoleState.confirm_delete == item.id,
                rx.flex(
                    rx.button(
                        t("console.history_delete_confirm"),
                        on_click=ConsoleState.delete_task(item.id),
                        size="1",
                        color_scheme="tomato",
                        class_name="history-delete-confirm",
                    ),
                    rx.button(
                        t("console.cancel"),
                        on_click=ConsoleState.ask_delete(0),
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                    ),
                    spacing="1",
                ),
                rx.button(
                    t("console.history_delete"),
                    on_click=ConsoleState.ask_delete(item.id),
                    size="1",
                    variant="ghost",
                    color_scheme="tomato",
                    class_name="history-delete",
                ),
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def _history_item(item: rx.Var) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.cond(
                item.cover != "",
                rx.link(
                    rx.image(
                        src=item.cover,
                        width="100%",
                        aspect_ratio="1",
                        object_fit="cover",
                        border_radius="6px",
                        alt=item.prompt,
                    ),
                    href=item.cover,
                    is_external=True,
                ),
                rx.center(
                    rx.badge(
                        item.status_label, color_scheme=task_status_color(item.status), size="2"
                    ),
                    width="100%",
                    aspect_ratio="1",
                    background="var(--gray-a3)",
                    border_radius="6px",
                ),
            ),
            rx.text(
                item.prompt,
                size="2",
                class_name="history-prompt",
                title=item.prompt,
                style=_TWO_LINES,
            ),
            rx.text(item.created, " · ", item.summary, size="1", color_scheme="gray"),
            _history_actions(item),
            direction="column",
            spacing="2",
        ),
        size="1",
        class_name="history-item",
        data_task_id=item.id,
        data_status=item.status,
        data_favourite=rx.cond(item.favourite, "1", "0"),
    )


def _history_pages() -> rx.Component:
    return rx.flex(
        rx.button(
            t("console.history_prev"),
            on_click=ConsoleState.history_page(ConsoleState.h_page - 1),
            disabled=ConsoleState.h_page <= 1,
            size="1",
            variant="soft",
            id="history-prev",
        ),
        rx.text(ConsoleState.h_page, " / ", ConsoleState.h_pages, size="2", id="history-page"),
        rx.button(
            t("console.history_next"),
            on_click=ConsoleState.history_page(ConsoleState.h_page + 1),
            disabled=ConsoleState.h_page >= ConsoleState.h_pages,
            size="1",
            variant="soft",
            id="history-next",
        ),
        spacing="3",
        align="center",
        justify="center",
    )


def history_section() -> rx.Component:
    """The history: filters, a page of tasks as cards, the pages."""
    return rx.flex(
        rx.flex(
            rx.heading(t("console.history"), size="4", as_="h2"),
            rx.text(
                ConsoleState.h_total_text,
                size="2",
                color_scheme="gray",
                id="history-total",
            ),
            align="baseline",
            spacing="3",
        ),
        _history_filters(),
        rx.cond(
            ConsoleState.h_error != "",
            rx.callout(ConsoleState.h_error, color_scheme="red", role="alert", id="history-error"),
        ),
        rx.cond(
            ConsoleState.history_items.length() > 0,  # type: ignore[attr-defined]
            rx.grid(
                rx.foreach(ConsoleState.history_items, _history_item),
                columns=rx.breakpoints(initial="2", sm="3", md="4"),
                spacing="3",
                id="history",
            ),
            rx.text(
                rx.cond(
                    ConsoleState.h_filtered,
                    t("console.history_none_match"),
                    t("console.no_images"),
                ),
                color_scheme="gray",
                size="2",
                id="history-empty",
            ),
        ),
        rx.cond(ConsoleState.h_pages > 1, _history_pages()),
        direction="column",
        spacing="3",
    )
