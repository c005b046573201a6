"""One module per page; importing this package registers every page.

`auth_card` is not a page: it is what sign-in and sign-up share.
"""

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
