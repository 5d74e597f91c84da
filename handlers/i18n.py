"""Languages: texts that can be said again in another language, and figures formatted for it.

A use case builds its views in English, as before, but from *lazy* texts: `_("How does
*%(project)s* taste?", project=name)` is a `str` (its English) that also remembers its msgid and
its placeholders. Figures are lazy too (`Num`, `Pct`, `Money`, `Day`). When the recipient is known
(the caller's reply and each queued message in `handlers.outbox.perform`, a check-in the clock
sends), `handlers.views.localize(view, language)` says every lazy text again in that language, from
the gettext catalogs under `locales/` (compiled in memory on first use: no file is written, no
network is needed). Plain strings (a project's name, a sponsor's comment) are left as they are.

Placeholders are named, `%(name)s`, so a translation may reorder them; `tests/project/
test_catalogs.py` fails when a catalog misses a message or a placeholder differs from the msgid's.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import gettext
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("en", "de", "fr", "es", "pt")  # CONTRACT section 12; English is the source
SOURCE = "en"
LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
NONE = "—"  # a figure that is not there


def language_of_locale(locale: str | None) -> str | None:
    """`de-DE`, `pt_BR`, `fr` → a language the bot speaks; None for anything else (or nothing)."""
    if not locale:
        return None
    code = re.split(r"[-_]", locale.strip(), maxsplit=1)[0].lower()
    return code if code in LANGUAGES else None


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of `language`, compiled from its .po file in memory (once a process); English
    and unknown languages say the msgid itself. Fuzzy entries are left out, as msgfmt does."""
    if language == SOURCE or language not in LANGUAGES:
        return gettext.NullTranslations()
    path = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Lazy(str):
    """A text whose English is its `str` value and which `render`s itself in any language."""

    def render(self, language: str) -> str:
        raise NotImplementedError


def _say(value: Any, language: str) -> Any:
    return value.render(language) if isinstance(value, Lazy) else value


def _fill(text: str, params: Mapping[str, Any], language: str) -> str:
    if not params:
        return text
    return text % {key: _say(value, language) for key, value in params.items()}


class Msg(Lazy):
    """One message of the catalogs: its msgid (and plural), its count, its named placeholders."""

    msgid: str
    plural: str | None
    count: int | None
    params: dict[str, Any]

    def __new__(
        cls, msgid: str, params: dict[str, Any], plural: str | None = None, count: int | None = None
    ) -> Msg:
        english = msgid if plural is None or count == 1 else plural
        self = super().__new__(cls, _fill(english, params, SOURCE))
        self.msgid, self.plural, self.count, self.params = msgid, plural, count, params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # copies and pickles stay lazy
        return (Msg, (self.msgid, self.params, self.plural, self.count))

    def render(self, language: str) -> str:
        catalog = translations(language)
        if self.plural is None:
            text = catalog.gettext(self.msgid)
        else:
            text = catalog.ngettext(self.msgid, self.plural, self.count or 0)
        return _fill(text, self.params, language)


def _(msgid: str, **params: Any) -> Msg:
    """A message to translate; `%(name)s` placeholders are filled from `params` in every language."""
    return Msg(msgid, params)


def ngettext(singular: str, plural: str, n: int, **params: Any) -> Msg:
    """A message with a count `n` (also its placeholder `%(n)s`): each language's catalog chooses
    its own plural form."""
    return Msg(singular, {"n": n, **params}, plural, n)


class Cat(Lazy):
    """Texts joined, each said in the language: a help line, a title with a note added."""

    parts: tuple[Any, ...]
    sep: str

    def __new__(cls, *parts: Any, sep: str = "") -> Cat:
        self = super().__new__(cls, sep.join(str(p) for p in parts))
        self.parts, self.sep = parts, sep
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_cat, (self.parts, self.sep))

    def render(self, language: str) -> str:
        return self.sep.join(str(_say(p, language)) for p in self.parts)


def _cat(parts: tuple[Any, ...], sep: str) -> Cat:
    return Cat(*parts, sep=sep)


# ---- figures ------------------------------------------------------------------------------------


def _decimal(value: float, language: str, fraction: int = 2) -> str:
    pattern = "#,##0" + ("." + "#" * fraction if fraction else "")
    return format_decimal(value, format=pattern, locale=language)


class Num(Lazy):
    """A measurement as people of the language read it: 1,250.5 · 1.250,5 · 1 250,5; — for none."""

    value: float | None

    def __new__(cls, value: float | None) -> Num:
        self = super().__new__(cls, NONE if value is None else _decimal(value, SOURCE))
        self.value = value
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Num, (self.value,))

    def render(self, language: str) -> str:
        return NONE if self.value is None else _decimal(self.value, language)


class Pct(Lazy):
    """A percentage given in percent (41.7 → 41.7%), one decimal, with its sign when `signed`;
    the sign's place and its spacing follow the language (41,7 % in French and German)."""

    value: float | None
    signed: bool
    digits: int

    def __new__(cls, value: float | None, *, signed: bool = False, digits: int = 1) -> Pct:
        self = super().__new__(cls, _percent(value, signed, digits, SOURCE))
        self.value, self.signed, self.digits = value, signed, digits
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_pct, (self.value, self.signed, self.digits))

    def render(self, language: str) -> str:
        return _percent(self.value, self.signed, self.digits, language)


def _pct(value: float | None, signed: bool, digits: int) -> Pct:
    return Pct(value, signed=signed, digits=digits)


def _percent(value: float | None, signed: bool, digits: int, language: str) -> str:
    if value is None:
        return NONE
    locale = Locale.parse(language)
    pattern = copy.copy(locale.percent_formats[None])
    pattern.frac_prec = (digits, digits)
    text = pattern.apply(value / 100, locale)
    return "+" + text if signed and value > 0 else text


class Money(Lazy):
    """An amount of money: with its currency (PMO_CURRENCY) as the language writes it, else as a
    plain number; whole amounts without cents."""

    value: float | None
    currency: str | None

    def __new__(cls, value: float | None, currency: str | None = None) -> Money:
        self = super().__new__(cls, _money(value, currency, SOURCE))
        self.value, self.currency = value, currency
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Money, (self.value, self.currency))

    def render(self, language: str) -> str:
        return _money(self.value, self.currency, language)


def _money(value: float | None, currency: str | None, language: str) -> str:
    if value is None:
        return NONE
    if not currency:
        return _decimal(value, language)
    whole = float(value).is_integer()
    pattern = copy.copy(Locale.parse(language).currency_formats["standard"])
    if whole:
        pattern.frac_prec = (0, 0)
    return format_currency(value, currency, format=pattern, locale=language, currency_digits=not whole)


class Day(Lazy):
    """A date: ISO 8601 in English (2026-12-09, as the bot always wrote it), the language's own
    medium form elsewhere (09.12.2026, 9 déc. 2026)."""

    value: dt.date

    def __new__(cls, value: dt.date) -> Day:
        self = super().__new__(cls, value.isoformat())
        self.value = value
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Day, (self.value,))

    def render(self, language: str) -> str:
        if language == SOURCE:
            return self.value.isoformat()
        return format_date(self.value, format="medium", locale=language)


# ---- saying it ------------------------------------------------------------------------------------


def say(text: str, language: str) -> str:
    """One text in `language`; a plain string (a name, a comment) as it is."""
    return text.render(language) if isinstance(text, Lazy) and language in LANGUAGES else text
