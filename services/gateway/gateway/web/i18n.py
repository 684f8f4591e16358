"""Gettext catalogs of the pages: ``translations/<locale>/LC_MESSAGES/messages.po``,
compiled in memory with Babel when first needed (no build step, no committed .mo).

Templates use symbolic message ids (``_("field.title")``) so no Chinese or English
text sits in a template; both catalogs translate every id (checked by a unit test).
"""
from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).with_name("translations")
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "lang"


def catalog_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``locale`` (one of LOCALES)."""
    with open(catalog_path(locale), "rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def normalise(tag: str) -> str | None:
    """The supported locale a language tag asks for (``zh-TW`` → zh_CN), else None."""
    tag = tag.strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(lang_arg: str | None, lang_cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the remembered choice, then the browser's preference."""
    for explicit in (lang_arg, lang_cookie):
        if explicit and (chosen := normalise(explicit)):
            return chosen
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if (chosen := normalise(tag)) and quality > 0:
            weighted.append((-quality, index, chosen))
    return sorted(weighted)[0][2] if weighted else DEFAULT_LOCALE
