"""Money as people read it in a report: in the organisation's currency, compact where the cents
and the last digits say nothing (€1.27M, €450k), exact below ten thousand (€1,234.50).

The JSON keeps the exact amounts; only renderings are compact."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥", "KRW": "₩", "BRL": "R$"}
COMPACT_FROM = 10_000
UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def prefix(currency: str | None) -> str:
    """'€' for EUR, 'CHF ' for a code without a well-known symbol, '' for none."""
    if not currency:
        return ""
    return SYMBOLS.get(currency.upper(), currency.upper() + " ")


def exact(value: float) -> str:
    """1,310,000 or 1,234.50: thousands separators, cents only when there are any."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def compact_number(value: float) -> str:
    """Three significant digits and a unit from ten thousand on: 1.27M, 2.4M, 450k, 12.3k."""
    magnitude = abs(value)
    if magnitude < COMPACT_FROM:
        return exact(value)
    index = next(i for i, (size, _) in enumerate(UNITS) if magnitude >= size)
    size, unit = UNITS[index]
    text = _significant(magnitude / size)
    if Decimal(text) >= 1000 and index > 0:  # 999,999 rounds to 1000k: say 1M
        size, unit = UNITS[index - 1]
        text = _significant(magnitude / size)
    return ("-" if value < 0 else "") + text + unit


def _significant(scaled: float) -> str:
    """Three significant digits, half away from zero on the decimal value (2.215 → 2.22), no
    trailing zeros (2.40 → 2.4)."""
    digits = max(0, 3 - len(str(int(scaled))))
    text = str(Decimal(repr(scaled)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: float | None, currency: str | None = None, *, compact: bool = True, na: str = "n/a") -> str:
    """An amount with its currency: '€1.27M' (compact) or '€1,268,226.03' (exact); None reads `na`."""
    if value is None:
        return na
    sign = "-" if value < 0 else ""
    body = compact_number(abs(value)) if compact else exact(abs(value))
    return f"{sign}{prefix(currency)}{body}"
