"""Translated text for pages: `t("nav.console")` renders in the browser's language."""

from __future__ import annotations

import reflex as rx

from imgapp.core import i18n
from imgapp.state.lang import LangState


def t(key: str) -> rx.Var[str]:
    """Both translations of `key`, chosen in the browser by the current language.

    An unknown key raises KeyError, so a mistyped key fails when the pages compile.
    """
    zh, en = (i18n.template(key, lang) for lang in ("zh", "en"))
    return rx.cond(LangState.lang == "en", en, zh)
