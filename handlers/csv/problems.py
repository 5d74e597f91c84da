"""The bad rows an import finds, each with its line, kept within bounds.

Shared by the import's passes (`handlers.csv.importer`) and the checks of each kind
(`handlers.csv.plans`), so that every problem is reported the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.i18n import ngettext

MAX_LISTED = 1000  # problems kept with their reason; a file of garbage must not exhaust memory


@dataclass(frozen=True)
class RowError:
    """One bad row: the physical line it starts on (the header is line 1) and what is wrong.

    `reason` is a lazy text (`handlers.i18n`): its `str` is the English, and `say(reason, language)`
    says it in another language. What people typed stays as typed, quoted, in every language."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class Problems:
    """The bad rows found so far, in the order found."""

    def __init__(self) -> None:
        self.listed: list[RowError] = []
        self.unlisted = 0
        self.first_unlisted = 0
        self.fatal = False  # the file could not be read to the end, or its header is wrong

    def add(self, line: int, reason: str) -> None:
        if len(self.listed) < MAX_LISTED:
            self.listed.append(RowError(line, reason))
            return
        if not self.unlisted or line < self.first_unlisted:
            self.first_unlisted = line
        self.unlisted += 1

    def __bool__(self) -> bool:
        return bool(self.listed)

    def as_list(self) -> list[RowError]:
        errors = sorted(self.listed, key=lambda e: e.line)
        if self.unlisted:
            more = ngettext(
                "and %(n)s more problems, not listed", "and %(n)s more problems, not listed", self.unlisted
            )
            errors.append(RowError(self.first_unlisted, more))
        return errors
