"""A form the browser submits itself (POST, then the server's redirect).

Reflex's `rx.el.form` always prevents the default submit to run a handler.
Sign-in, sign-up and sign-out must be real navigations, so the response can
set or clear the HttpOnly cookie before the next page opens its websocket.
"""

from __future__ import annotations

from typing import Any

from reflex.components.el.elements.forms import Form


class NativeForm(Form):
    """`<form method=post action=...>` with no client-side submit handler."""

    @classmethod
    def create(cls, *children: Any, **props: Any) -> NativeForm:
        """Create the form without Reflex's default `prevent_default` submit handler."""
        return super(Form, cls).create(*children, **props)  # skip Form.create on purpose


native_form = NativeForm.create
