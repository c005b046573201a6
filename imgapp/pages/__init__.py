"""One module per page; importing this package registers every page."""

from imgapp.pages import (
    account,
    console,
    dashboard,
    invites,
    login,
    recharge,
    register,
    security,
    usage,
)

__all__ = [
    "account",
    "console",
    "dashboard",
    "invites",
    "login",
    "recharge",
    "register",
    "security",
    "usage",
]
