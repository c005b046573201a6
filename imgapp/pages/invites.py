"""Invites page `/invites`: the link, its QR code and poster, the sums, the invitees, binding."""

import reflex as rx

from imgapp.components.auth_form import labelled
from imgapp.components.layout import signed_in_page
from imgapp.components.status import invite_status_color
from imgapp.components.tables import field, rows_table
from imgapp.components.text import t
from imgapp.core import routes
from imgapp.state.app import AppState
from imgapp.state.invites import InvitesState


def _share() -> rx.Component:
    return rx.card(
        rx.flex(
            rx.flex(
                rx.heading(t("invite.link_title"), size="4", as_="h2"),
                rx.text(InvitesState.reward_line, size="2", id="invite-how"),
                rx.cond(
                    InvitesState.welcome_line != "",
                    rx.text(InvitesState.welcome_line, size="2", id="invite-welcome"),
                ),
                rx.cond(
                    InvitesState.caps_line != "",
                    rx.text(InvitesState.caps_line, size="1", color_scheme="gray"),
                ),
                labelled(
                    "invite.link_label",
                    rx.flex(
                        rx.input(
                            value=InvitesState.link,
                            read_only=True,
                            id="invite-link",
                            width="100%",
                            on_focus=rx.call_script(
                                "document.getElementById('invite-link').select()"
                            ),
                        ),
                        rx.button(
                            rx.icon("copy", size=16),
                            t("invite.copy"),
                            on_click=[rx.set_clipboard(InvitesState.link), InvitesState.copied],
                            id="copy-link",
                        ),
                        spacing="2",
                        width="100%",
                    ),
                ),
                rx.text(
                    t("invite.code_label"),
                    " ",
                    rx.code(InvitesState.code, id="invite-code", size="3", weight="bold"),
                    size="2",
                ),
                direction="column",
                spacing="3",
                flex="1",
                min_width="18rem",
            ),
            rx.flex(
                rx.image(
                    src=InvitesState.qr_image,
                    alt=t("invite.qr_alt"),
                    id="invite-qr",
                    width="180px",
                    height="180px",
                ),
                rx.button(
                    rx.el.a(
                        rx.icon("download", size=16),
                        t("invite.poster"),
                        href=InvitesState.poster_href,
                        download=True,
                        reload_document=True,  # not React Router's navigation: the browser fetches
                        id="download-poster",
                    ),
                    as_child=True,
                    variant="soft",
                ),
                direction="column",
                align="center",
                spacing="2",
            ),
            spacing="5",
            wrap="wrap",
            align="start",
        ),
        size="3",
    )


def _stat(key: str, label_key: str) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.text(t(label_key), size="2", color_scheme="gray"),
            rx.heading(InvitesState.stats[key], size="6", id=f"stat-{key}"),
            direction="column",
            spacing="1",
        ),
    )


def _stats() -> rx.Component:
    return rx.grid(
        _stat("invited", "invite.stat_invited"),
        _stat("qualified", "invite.stat_qualified"),
        _stat("rewarded", "invite.stat_rewarded"),
        _stat("held", "invite.stat_held"),
        _stat("credits_earned", "invite.stat_earned"),
        columns=rx.breakpoints(initial="2", sm="3", md="5"),
        spacing="3",
        width="100%",
    )


def _status(row: rx.Var) -> rx.Component:
    return rx.flex(
        rx.badge(row["status_label"], color_scheme=invite_status_color(row["status"])),
        rx.cond(
            row["reason_label"] != "",
            rx.text(row["reason_label"], size="1", color_scheme="gray"),
        ),
        direction="column",
        spacing="1",
        align="start",
    )


def _invitees() -> rx.Component:
    return rx.flex(
        rx.heading(t("invite.invitees"), size="4", as_="h2"),
        rows_table(
            [
                ("invite.col_email", field("email")),
                ("invite.col_joined", field("joined")),
                ("invite.col_first_recharge", field("first_recharge")),
                ("invite.col_status", _status),
                ("invite.col_reward", field("reward")),
            ],
            InvitesState.invitee_rows,
            empty_key="invite.empty",
            table_id="invitees",
            key_field="id",
        ),
        direction="column",
        spacing="2",
    )


def _binding() -> rx.Component:
    form = rx.form(
        rx.flex(
            labelled(
                "invite.bind_label",
                rx.input(
                    id="bind_code",
                    name="invite_code",
                    default_value=InvitesState.bind_prefill,
                    key=InvitesState.bind_prefill,
                    max_length=16,
                    placeholder="7KQ2MX9P",
                    required=True,
                ),
            ),
            rx.button(
                t("invite.bind_submit"),
                type="submit",
                id="bind-submit",
                loading=InvitesState.binding,
            ),
            spacing="2",
            align="end",
            wrap="wrap",
        ),
        on_submit=InvitesState.bind,
    )
    return rx.card(
        rx.flex(
            rx.heading(t("invite.bind_title"), size="4", as_="h2"),
            rx.cond(
                InvitesState.invited_by != "",
                rx.text(
                    t("invite.invited_by"),
                    " ",
                    rx.text.strong(InvitesState.invited_by),
                    size="2",
                    id="invited-by",
                ),
                rx.cond(
                    InvitesState.bind_until != "",
                    rx.flex(
                        rx.text(
                            t("invite.bind_hint"),
                            " ",
                            rx.text.strong(InvitesState.bind_until),
                            size="2",
                            color_scheme="gray",
                        ),
                        form,
                        direction="column",
                        spacing="2",
                    ),
                    rx.text(
                        t("invite.bind_closed"), size="2", color_scheme="gray", id="bind-closed"
                    ),
                ),
            ),
            rx.cond(
                InvitesState.bind_ok,
                rx.callout(t("invite.bind_ok"), color_scheme="green", size="1", id="bind-ok"),
            ),
            rx.cond(
                InvitesState.bind_error != "",
                rx.callout(
                    InvitesState.bind_error,
                    color_scheme="red",
                    size="1",
                    role="alert",
                    id="bind-error",
                ),
            ),
            direction="column",
            spacing="3",
        ),
        size="2",
    )


@rx.page(
    route=routes.INVITES,
    title="imgapp",
    on_load=[AppState.ensure_signed_in, InvitesState.load],
)
def invites() -> rx.Component:
    """Share the link, see who joined and what it earned, or add one's own inviter."""
    return signed_in_page(
        routes.INVITES,
        "page.invites.title",
        rx.cond(
            InvitesState.loaded,
            rx.flex(
                _share(),
                _stats(),
                _invitees(),
                _binding(),
                direction="column",
                spacing="5",
            ),
            rx.center(rx.spinner(size="3"), padding="4rem"),
        ),
    )
