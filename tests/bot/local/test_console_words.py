"""The console page's own words (bot/local/words.py): `GET /console/api/words` says them in the
language the bot speaks with the person the page acts as, else PMO_LANGUAGE; index.html's English
(the page without JavaScript) is the same English, and every word the page uses exists."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import load_settings
from bot.local.console import STATIC
from bot.local.words import WORDS
from bot.runtime import Runtime, start
from bot.web import build_app
from tests.bot.local.test_console_api import API, SAM, admin_id, client, command, people, runtime

__all__ = ["client", "runtime"]  # the console fixtures, PMO_LANGUAGE unset (English)

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


async def words(client: TestClient, **params: str) -> dict[str, Any]:
    response = await client.get(f"{API}/words", params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def refused(client: TestClient, **params: str) -> str:
    response = await client.get(f"{API}/words", params=params)
    assert response.status == 400
    assert response.content_type == "application/json"
    error = (await response.json())["error"]
    assert "Traceback" not in error
    return error


@pytest.fixture
async def german_client(database_url: str) -> AsyncIterator[TestClient]:
    settings = load_settings(environ={"DATABASE_URL": database_url, "PMO_LANGUAGE": "de"}, env_file=None)
    rt = await start(settings)
    try:
        async with TestClient(TestServer(build_app(rt), host="127.0.0.1")) as c:
            yield c
    finally:
        await rt.aclose()


# ---- the API ------------------------------------------------------------------------------------


async def test_a_person_who_chose_german_gets_the_page_in_german(
    client: TestClient, runtime: Runtime
) -> None:
    admin = await admin_id(client)
    assert (await command(client, admin, f"project add Apollo sponsor:{SAM}"))["ok"]
    sam = (await people(client))["Sam"]["id"]
    before = await words(client, person=str(sam))
    assert before["language"] == "en" and before["words"]["who_are_you"] == "Who are you?"

    assert (await command(client, sam, "language de"))["ok"]
    german = await words(client, person=str(sam))
    assert german["language"] == "de"
    assert german["words"]["who_are_you"] == "Wer sind Sie?"
    assert german["words"]["role_sponsor"] == "Sponsor"
    assert german["words"]["send"] == "Senden"
    # a placeholder is left for the page, which puts the English command in its place
    assert (
        german["words"]["staff_empty_project"] == "Legen Sie ein Projekt mit seinem Sponsor an: %(command)s"
    )

    admin_words = await words(client, person=str(admin))  # the admin still reads English
    assert admin_words["language"] == "en" and admin_words["words"]["send"] == "Send"
    assert (await words(client))["language"] == "en"  # nobody chosen: PMO_LANGUAGE
    french = await words(client, language="FR")
    assert french["language"] == "fr" and french["words"]["who_are_you"] == "Qui êtes-vous ?"


async def test_before_anybody_is_chosen_the_page_speaks_pmo_language(german_client: TestClient) -> None:
    nobody = await words(german_client)
    assert nobody["language"] == "de"
    assert nobody["words"]["who_are_you"] == "Wer sind Sie?"
    admin = await admin_id(german_client)  # nobody chose a language: the organisation's
    assert (await words(german_client, person=str(admin)))["words"]["channels"] == "Kanäle"
    assert (await command(german_client, admin, "language en"))["ok"]
    assert (await words(german_client, person=str(admin)))["words"]["channels"] == "Channels"


async def test_a_bad_person_or_language_is_refused_with_a_reason(client: TestClient) -> None:
    assert (
        await refused(client, language="xx")
        == "'xx' is not a language of the bot; say one of en, de, fr, es, pt."
    )
    assert "is not a language" in await refused(client, language="")
    assert "is not a language" in await refused(client, language="d" * 5000)
    assert "person must be the id of a person" in await refused(client, person="sam")
    assert "person must be the id of a person" in await refused(client, person="")
    assert "There is no person #424242" in await refused(client, person="424242")
    admin = await admin_id(client)
    assert "not both" in await refused(client, person=str(admin), language="de")


async def test_a_refusal_is_said_in_the_pages_language_else_pmo_language(
    client: TestClient, german_client: TestClient
) -> None:
    bad = {"name": "Ana", "email": "not-an-address"}
    french = await client.post(f"{API}/people", json=bad, headers={"Accept-Language": "fr"})
    assert french.status == 400
    assert (await french.json())["error"] == (
        "« not-an-address » n'est pas une adresse e-mail (comme sam@example.com)."
    )
    # a browser's own header names a region; a language the bot does not speak is passed over
    spanish = await client.post(f"{API}/people", json=bad, headers={"Accept-Language": "ja-JP, es-MX;q=0.8"})
    assert (await spanish.json())["error"].startswith("«not-an-address» no es una dirección de correo")
    english = await client.post(f"{API}/people", json=bad)  # no header: PMO_LANGUAGE (English)
    assert (await english.json())[
        "error"
    ] == "'not-an-address' is not an e-mail address (like sam@example.com)."
    german = await german_client.post(f"{API}/people", json=bad)  # no header: PMO_LANGUAGE=de
    assert (await german.json())[
        "error"
    ] == "„not-an-address“ ist keine E-Mail-Adresse (wie sam@example.com)."
    long = {"name": "x" * 201, "email": "ana@example.com"}
    too_long = await german_client.post(f"{API}/people", json=long)
    assert (await too_long.json())["error"] == "name ist länger als 200 Zeichen."
    body = await german_client.post(
        f"{API}/people", data=b"[1]", headers={"Content-Type": "application/json"}
    )
    assert (await body.json())["error"] == "Der Inhalt der Anfrage muss ein JSON-Objekt sein."


# ---- the page's English is the words' English ----------------------------------------------------


class MarkedWords(HTMLParser):
    """Each `data-word` element's text and its `data-slot` children's, and each `data-word-ATTR`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, Any] | None, list[str] | None]] = []
        self.found: list[dict[str, Any]] = []
        self.attributes: list[tuple[str, str, dict[str, str]]] = []  # (key, shown, the element's data-*)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {k: v or "" for k, v in attrs}
        for attr in ("aria-label", "placeholder"):
            if f"data-word-{attr}" in named:
                data = {k.removeprefix("data-"): v for k, v in named.items() if k.startswith("data-")}
                self.attributes.append((named[f"data-word-{attr}"], named.get(attr, ""), data))
        if tag in VOID:
            return
        record = None
        if "data-word" in named:
            record = {"key": named["data-word"], "text": [], "slots": {}}
            self.found.append(record)
        slot = None
        if "data-slot" in named:
            owner = next(r for _, r, _ in reversed(self.stack) if r is not None)
            slot = owner["slots"].setdefault(named["data-slot"], [])
        self.stack.append((tag, record, slot))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> does not close <{self.stack[-1][0]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for _, record, slot in self.stack:
            if record is not None:
                record["text"].append(data)
            if slot is not None:
                slot.append(data)


def squeeze(text: str) -> str:
    return " ".join(text.split())


def english(key: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], str(WORDS[key]))


def test_index_html_says_the_english_words() -> None:
    page = MarkedWords()
    page.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    assert len(page.found) > 20 and len(page.attributes) >= 4
    for record in page.found:
        slots = {name: squeeze("".join(text)) for name, text in record["slots"].items()}
        assert set(PLACEHOLDER.findall(str(WORDS[record["key"]]))) == set(slots), record["key"]
        assert squeeze("".join(record["text"])) == squeeze(english(record["key"], slots)), record["key"]
    for key, shown, data in page.attributes:
        assert shown == english(key, data), key


def test_every_word_the_page_uses_exists_and_every_word_is_used() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    script = (STATIC / "console.js").read_text(encoding="utf-8")
    in_html = set(re.findall(r'data-word(?:-[a-z-]+)?="(\w+)"', html))
    in_js = set(re.findall(r'\bword(?:Text|Nodes)?\("(\w+)"', script))
    in_js |= set(re.findall(r'"((?:role|group)_\w+)"', script))  # the picker's and badges' keys
    assert in_html | in_js <= set(WORDS), (in_html | in_js) - set(WORDS)
    assert set(WORDS) <= in_html | in_js, set(WORDS) - in_html - in_js
    # the two words a page that could not fetch any says, in English as words.py says them
    offline = dict(
        re.findall(r'^\s+(\w+): "([^"]+)",$', script.split("const OFFLINE = {")[1].split("};")[0], re.M)
    )
    assert offline == {key: str(WORDS[key]) for key in ("not_answering", "server_answered")}
