"""Translated text for pages: `t("nav.console")` renders in the browser's language."""

from __future__ import annotations

import reflex as rx

from imgapp.core.i18n import CATALOG
from imgapp.state.lang import LangState


def t(key: str) -> rx.Var[str]:
    """Both translations of `key`, chosen in the browser by the current language."""
    zh, en = CATALOG[key]
    return rx.cond(LangState.lang == "en", en, zh)
