"""The gettext catalogs are complete: a test that fails when a language misses a message.

The messages are extracted from the code afresh (as `pybabel extract -F babel.cfg` does), and
`locales/messages.pot` must hold exactly them; each language's .po must translate every one of
them, none fuzzy, none stale, each with the same `%(name)s` placeholders as its msgid (a
translation that drops or misspells a placeholder would break or lie at run time).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import LANGUAGES, SOURCE

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
TRANSLATED = [language for language in LANGUAGES if language != SOURCE]


def extracted() -> Catalog:
    catalog = Catalog()
    with (ROOT / "babel.cfg").open() as config:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(config)
    for filename, _line, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={"_": None, "ngettext": (1, 2)}
    ):
        catalog.add(message, None, [(filename, _line)], auto_comments=comments, context=context)
    return catalog


def ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def placeholders(text: str | tuple[str, ...]) -> set[str]:
    texts = (text,) if isinstance(text, str) else text
    return {name for t in texts for name in PLACEHOLDER.findall(t)}


def test_the_template_holds_exactly_the_messages_of_the_code() -> None:
    with (ROOT / "locales" / "messages.pot").open("rb") as pot:
        template = read_po(pot)
    code = ids(extracted())
    assert len(code) > 200
    missing, stale = code - ids(template), ids(template) - code
    assert not missing, (
        f"run the extraction of docs/languages.md; not in messages.pot: {sorted(map(str, missing))[:5]}"
    )
    assert not stale, f"in messages.pot but no longer in the code: {sorted(map(str, stale))[:5]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    code = ids(extracted())
    assert ids(catalog) - code == set(), "stale entries: run pybabel update (docs/languages.md)"
    problems: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else tuple(message.id)
        strings = (message.string,) if isinstance(message.string, str) else tuple(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {key!r}")
        elif any(placeholders(s) != placeholders(key) for s in strings):
            problems.append(f"placeholders differ: {key!r} → {strings!r}")
    missing = code - ids(catalog)
    problems += [f"missing: {m!r}" for m in sorted(map(str, missing))]
    assert not problems, "\n".join(problems[:20])


def test_the_check_notices_a_missing_placeholder(tmp_path: Path) -> None:
    """The placeholder comparison itself: a translation without %(project)s is caught."""
    assert placeholders("How does *%(project)s* taste?") == {"project"}
    assert placeholders("Wie schmeckt es?") != placeholders("How does *%(project)s* taste?")
    assert placeholders(("%(n)s row", "%(n)s rows")) == {"n"}
