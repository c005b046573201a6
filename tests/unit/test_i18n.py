"""Message catalogues: every key the code uses is translated, in both languages, and compiled.

"Used by the code" means what `pybabel extract` finds with babel.cfg, the same
extraction that writes imgapp/locale/messages.pot. README.md ("Translations")
has the commands that fix each failure.
"""

from __future__ import annotations

import string
from collections import defaultdict
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from imgapp.core import i18n
from imgapp.models import InviteStatus, LedgerKind, PaymentStatus, TaskStatus
from imgapp.services import audit_log
from imgapp.services.invites import HoldReason
from imgapp.services.payments import PAY_TYPES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def used() -> dict[str, list[str]]:
    """Every key the code uses -> where (file:line)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fp:
        method_map, options_map = parse_mapping_cfg(fp)
    found: dict[str, list[str]] = defaultdict(list)
    for filename, lineno, key, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found[key].append(f"{filename}:{lineno}")
    return dict(found)


def _read_po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


@pytest.fixture(scope="module")
def catalogues() -> dict[str, Catalog]:
    """Each language's .po file."""
    return {
        lang: _read_po(i18n.catalogue_path(lang, ".po"), i18n.LOCALES[lang]) for lang in i18n.LANGS
    }


def _texts(catalog: Catalog) -> dict[str, str]:
    return {message.id: message.string for message in catalog if message.id}


def test_extraction_finds_keys_where_the_code_uses_them(used):
    assert "imgapp/pages/dashboard.py" in " ".join(used["dash.recent_usage"])
    assert any("services/accounts.py" in where for where in used["error.email_invalid"])
    assert any("services/errors.py" in where for where in used["error.email_taken"])
    assert any("core/i18n.py" in where for where in used["kind.refund"])


def test_every_key_the_code_uses_is_in_every_catalogue(used, catalogues):
    for lang, catalog in catalogues.items():
        missing = {key: where for key, where in used.items() if key not in _texts(catalog)}
        assert not missing, f"keys used by the code but missing from the {lang} catalogue"


def test_every_catalogue_entry_is_used_by_the_code(used, catalogues):
    for lang, catalog in catalogues.items():
        unused = sorted(set(_texts(catalog)) - set(used))
        assert not unused, f"{lang} catalogue entries no code uses: remove them"


def test_the_catalogues_have_the_same_keys(catalogues):
    zh, en = (set(_texts(catalogues[lang])) for lang in ("zh", "en"))
    assert sorted(zh ^ en) == []


def test_no_entry_is_empty_fuzzy_or_obsolete(catalogues):
    for lang, catalog in catalogues.items():
        assert not catalog.fuzzy, f"the {lang} catalogue's header is fuzzy"
        assert not catalog.obsolete, f"{lang}: obsolete entries left by `pybabel update`"
        empty = [m.id for m in catalog if m.id and not str(m.string).strip()]
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        assert not empty, f"{lang}: entries without a text"
        assert not fuzzy, f"{lang}: fuzzy entries (check the text, then drop the flag)"


def _placeholders(message: str, lang: str) -> set[str]:
    """`{name}` fields, a per-language `{name_<lang>}` counted as `{name}`."""
    names = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(message):
        if field is not None:
            root = field.split(".", 1)[0].split("[", 1)[0]
            names.add(root.removesuffix(f"_{lang}"))
    return names


def test_placeholders_are_the_same_in_both_languages(catalogues):
    zh, en = (_texts(catalogues[lang]) for lang in ("zh", "en"))
    differ = {
        key: (_placeholders(zh[key], "zh"), _placeholders(en[key], "en"))
        for key in zh.keys() & en.keys()
        if _placeholders(zh[key], "zh") != _placeholders(en[key], "en")
    }
    assert not differ


def test_the_template_lists_exactly_the_keys_the_code_uses(used):
    template = _read_po(i18n.LOCALE_DIR / "messages.pot")
    assert sorted(set(_texts(template)) ^ set(used)) == [], "run `pybabel extract` (README.md)"


def test_the_compiled_catalogues_are_the_po_files(catalogues):
    for lang, catalog in catalogues.items():
        with i18n.catalogue_path(lang).open("rb") as fp:
            compiled = _texts(read_mo(fp))
        assert compiled == _texts(catalog), f"{lang}: run `pybabel compile` (README.md)"
        assert {key: i18n.template(key, lang) for key in compiled} == compiled


def test_keys_built_at_run_time_exist():
    built = [
        *(f"kind.{kind}" for kind in LedgerKind),
        *(f"status.{status}" for status in TaskStatus),
        *(f"pay.status.{status}" for status in PaymentStatus),
        *(f"pay.type.{name}" for name in PAY_TYPES),
        *(f"invite.status.{status}" for status in InviteStatus),
        *(f"invite.reason.{reason}" for reason in HoldReason),
        *(f"sec.category.{category}" for category in audit_log.Category),
    ]
    assert [key for key in built if key not in i18n.CATALOG] == []
    assert set(built) == set(i18n.RUNTIME_KEYS)


def test_text_fills_placeholders_in_the_language_asked_for():
    assert i18n.text("error.too_many_attempts", "en", minutes=3) == (
        "Too many failed sign-ins. Try again in 3 minutes."
    )
    assert "3" in i18n.text("error.too_many_attempts", "zh", minutes=3)
    assert i18n.text("nav.dashboard", "en-US") == "Dashboard"
    assert i18n.text("nav.dashboard", "zh") == "概览"


def test_text_picks_the_per_language_parameter():
    params = {"label_en": "Alipay", "label_zh": "支付宝", "limit": "1,000.00"}
    assert i18n.text("error.amount_over_limit", "en", **params).startswith("Alipay ")
    assert i18n.text("error.amount_over_limit", "zh", **params).startswith("支付宝")


def test_text_falls_back_for_unknown_languages_keys_and_parameters():
    assert i18n.text("nav.dashboard", "fr") == i18n.text("nav.dashboard", i18n.DEFAULT_LANG)
    assert i18n.text("nav.dashboard", None) == "概览"
    assert i18n.text("no.such_key", "en") == i18n.text("error.error", "en")
    assert i18n.text("", "en") == i18n.text("error.error", "en")
    assert i18n.text("error.field_missing", "en") == i18n.template("error.field_missing", "en")
    assert "{name}" in i18n.text("error.field_missing", "en", other=1)


def test_catalog_view_reads_the_compiled_catalogues():
    assert i18n.CATALOG["nav.dashboard"] == ("概览", "Dashboard")
    assert "nav.dashboard" in i18n.CATALOG
    assert "no.such_key" not in i18n.CATALOG
    assert len(i18n.CATALOG) == len(i18n.keys()) == len(list(i18n.CATALOG))
    with pytest.raises(KeyError):
        i18n.template("no.such_key", "en")


def test_normalize_lang():
    assert [i18n.normalize_lang(tag) for tag in ("en", "EN-gb", "zh-CN", "", None, "de")] == [
        "en",
        "en",
        "zh",
        "zh",
        "zh",
        "zh",
    ]
