"""The value report's figures as lazy texts (handlers.i18n): English exactly as the report always
wrote them (41.7%, +7.4, €1.27M, Jun 26), every other language in its own form (41,7 %, +7,4,
1,27 Mio. €, Juni 26). The JSON keeps the numbers; only what people read is one of these."""

from __future__ import annotations

import copy
from typing import Any

from babel import Locale
from babel.numbers import format_compact_currency, format_compact_decimal, format_currency, format_decimal

from handlers.charts import month_label
from handlers.i18n import SOURCE, Lazy, Pct, _
from handlers.value.money import COMPACT_FROM, compact_number, money

NA = _("n/a")  # a figure that is not there


class Fixed(Lazy):
    """A number with `digits` decimals (7.4, +7.4 when `signed`): the decimal mark follows the
    language; no grouping, as the report writes it."""

    value: float
    digits: int
    signed: bool

    def __new__(cls, value: float, *, digits: int = 1, signed: bool = False) -> Fixed:
        self = super().__new__(cls, f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}")
        self.value, self.digits, self.signed = value, digits, signed
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_fixed, (self.value, self.digits, self.signed))

    def render(self, language: str) -> str:
        if language == SOURCE:
            return str(self)
        pattern = "0" + ("." + "0" * self.digits if self.digits else "")
        text = format_decimal(abs(self.value), format=pattern, locale=language)
        if str(self).startswith("-"):
            return "-" + text
        return ("+" + text) if self.signed else text


def _fixed(value: float, digits: int, signed: bool) -> Fixed:
    return Fixed(value, digits=digits, signed=signed)


class Percent(Pct):
    """A percentage: English as f"{value:.1f}%" (78.0%), other languages as `Pct` (78,0 %)."""

    def __new__(cls, value: float, *, signed: bool = False, digits: int = 1) -> Percent:
        english = f"{value:+.{digits}f}%" if signed else f"{value:.{digits}f}%"
        self = str.__new__(cls, english)
        self.value, self.signed, self.digits = value, signed, digits
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_percent_of, (self.value, self.signed, self.digits))

    def render(self, language: str) -> str:
        if language == SOURCE:
            return str(self)
        text = super().render(language)
        return "+" + text if self.signed and self.value == 0 else text


def _percent_of(value: float, signed: bool, digits: int) -> Percent:
    return Percent(value, signed=signed, digits=digits)


def pct(value: float | None, *, signed: bool = False, digits: int = 1) -> str:
    """41.7% (or +41.7% when `signed`); n/a for none."""
    return NA if value is None else Percent(value, signed=signed, digits=digits)


def fixed(value: float | None, *, digits: int = 1, signed: bool = False) -> str:
    return NA if value is None else Fixed(value, digits=digits, signed=signed)


class Compact(Lazy):
    """Money as the report writes it (handlers.value.money): compact from ten thousand on, three
    significant digits; the language's own units and currency place elsewhere (1,27 Mio. €)."""

    value: float
    currency: str | None

    def __new__(cls, value: float, currency: str | None = None) -> Compact:
        self = super().__new__(cls, money(value, currency))
        self.value, self.currency = value, currency
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Compact, (self.value, self.currency))

    def render(self, language: str) -> str:
        if language == SOURCE:
            return str(self)
        value = self.value
        if abs(value) < COMPACT_FROM:
            digits = 0 if float(value).is_integer() else 2
            pattern = "#,##0" + ("." + "0" * digits if digits else "")
            if not self.currency:
                return format_decimal(value, format=pattern, locale=language)
            if digits:
                return format_currency(value, self.currency.upper(), locale=language)
            return format_currency(
                value, self.currency.upper(), locale=language, format=_whole(language), currency_digits=False
            )
        shown = compact_number(abs(value))
        digits = len(shown.rstrip("kMBT").partition(".")[2])
        code = (self.currency or "").upper()
        if code:
            text = format_compact_currency(value, code, locale=language, fraction_digits=digits)
        else:
            text = format_compact_decimal(value, locale=language, fraction_digits=digits)
        if any(ch.isalpha() for ch in text.replace(code, "")):
            return text
        # a language without a short word for thousands (German): the whole amount, grouped
        if not code:
            return format_decimal(round(value), format="#,##0", locale=language)
        return format_currency(
            round(value), code, locale=language, format=_whole(language), currency_digits=False
        )


def _whole(language: str) -> Any:
    """The language's currency pattern without cents (a whole amount says none)."""
    pattern = copy.copy(Locale.parse(language).currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def amount(value: float | None, currency: str | None = None) -> str:
    """€1.27M, 450k, 1,234.50 in English; n/a for none."""
    return NA if value is None else Compact(value, currency)


class Month(Lazy):
    """'2026-06' → 'Jun 26' (English, as the chart's axis says it), 'Juni 26', 'juin 26'."""

    month: str

    def __new__(cls, month: str) -> Month:
        self = super().__new__(cls, month_label(month))
        self.month = month
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Month, (self.month,))

    def render(self, language: str) -> str:
        return month_label(self.month, language)  # as the chart's axis says it, in every language
