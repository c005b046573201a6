"""Messages for people in Simplified Chinese and English, read from gettext catalogues.

The texts live in `imgapp/locale/<locale>/LC_MESSAGES/messages.po`, compiled to
`messages.mo` beside it; each msgid is a key such as `nav.console`. Pages never
hold literal text: they ask for a key (`components.text.t`), and services'
errors, the API and the UI all translate here with `text()`. This module also
owns the languages (`Lang`, `LANGS`) and the Babel locale behind each one.
Both languages' texts for a key take the same `{placeholders}`, except that a
parameter may come in one version per language (`{label_zh}`, `{label_en}`).
README.md ("Translations") says how to add or change a message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.messages.mofile import read_mo
from babel.support import Translations

Lang = Literal["zh", "en"]
DEFAULT_LANG: Lang = "zh"
LANGS: tuple[Lang, ...] = ("zh", "en")

# The Babel (CLDR) locale of each language: its catalogue's folder, its number formats.
LOCALES: dict[Lang, str] = {"zh": "zh_Hans_CN", "en": "en"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
# What `text()` says for a key no catalogue has.
FALLBACK_KEY = "error.error"

# Keys the code only ever builds at run time (kind.*, status.*, pay.status.*,
# pay.type.*, invite.status.*, invite.reason.*, sec.category.*), written out so
# that extraction (babel.cfg) finds them: one per LedgerKind, TaskStatus,
# PaymentStatus, pay type, InviteStatus, invite hold reason and log category.
# error.<code or rule> keys are found where the codes and rules are written.
RUNTIME_KEYS = (
    "kind.recharge",
    "kind.charge",
    "kind.refund",
    "kind.reward",
    "kind.adjustment",
    "status.pending",
    "status.processing",
    "status.completed",
    "status.failed",
    "status.cancelled",
    "pay.status.pending",
    "pay.status.succeeded",
    "pay.status.failed",
    "pay.status.expired",
    "pay.type.alipay",
    "pay.type.wechat",
    "invite.status.pending",
    "invite.status.rewarded",
    "invite.status.held",
    "invite.status.rejected",
    "invite.reason.same_email",
    "invite.reason.same_ip",
    "invite.reason.cap_daily",
    "invite.reason.cap_total",
    "sec.category.sign_in",
    "sec.category.security",
    "sec.category.money",
    "sec.category.invites",
    "sec.category.account",
)


def normalize_lang(lang: str | None) -> Lang:
    """Any language tag to one the catalogues speak (Chinese unless it is English)."""
    return "en" if (lang or "").lower().startswith("en") else "zh"


def locale(lang: str | None = DEFAULT_LANG) -> Locale:
    """The Babel locale numbers and dates are formatted with in `lang`."""
    return _locale(normalize_lang(lang))


@cache
def _locale(lang: Lang) -> Locale:
    return Locale.parse(LOCALES[lang])


def catalogue_path(lang: Lang, suffix: str = ".mo") -> Path:
    """Where `lang`'s catalogue is: `.mo` (compiled, read here) or `.po` (edited)."""
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def _translations(lang: Lang) -> Translations:
    """`lang`'s compiled catalogue, read once per process."""
    with catalogue_path(lang).open("rb") as fp:
        return Translations(fp, domain=DOMAIN)


@cache
def keys() -> frozenset[str]:
    """Every message key (the default language's; a test keeps the catalogues' keys equal)."""
    with catalogue_path(DEFAULT_LANG).open("rb") as fp:
        return frozenset(message.id for message in read_mo(fp) if message.id)


def template(key: str, lang: str | None = DEFAULT_LANG) -> str:
    """The message for `key` in `lang` with its `{placeholders}` unfilled; KeyError if unknown."""
    if key not in keys():
        raise KeyError(key)
    return _translations(normalize_lang(lang)).gettext(key)


def text(key: str, lang: str | None = DEFAULT_LANG, **params: object) -> str:
    """The message for `key` in `lang`, with `{placeholders}` filled in."""
    message = template(key if key in keys() else FALLBACK_KEY, lang)
    try:
        return message.format(**params) if params else message
    except (KeyError, IndexError):
        return message


class _Catalogue(Mapping[str, tuple[str, ...]]):
    """Every key with its message in each of LANGS, read from the compiled catalogues."""

    def __getitem__(self, key: str) -> tuple[str, ...]:
        return tuple(template(key, lang) for lang in LANGS)

    def __contains__(self, key: object) -> bool:
        return key in keys()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(keys()))

    def __len__(self) -> int:
        return len(keys())


# key -> (Simplified Chinese, English), read-only; `key in CATALOG` asks whether a key exists.
CATALOG: Mapping[str, tuple[str, ...]] = _Catalogue()
