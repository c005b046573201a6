"""The UI language, chosen per browser and kept in its local storage."""

from __future__ import annotations

import reflex as rx

from imgapp.core import i18n


class LangState(rx.State):
    """Root of imgapp's states: every page state can translate with `self.lang`."""

    lang: str = rx.LocalStorage(i18n.DEFAULT_LANG, name="imgapp_lang", sync=True)

    @rx.event
    def toggle_lang(self) -> None:
        """Switch between Simplified Chinese and English."""
        self.lang = "zh" if self.lang == "en" else "en"

    def text(self, key: str, **params: object) -> str:
        """The catalogue message for `key` in this browser's language."""
        return i18n.text(key, self.lang, **params)
