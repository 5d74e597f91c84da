"""`app.py teams-package` writes a zip that passes the checks Teams makes when an app is uploaded.

The checks are written here from the manifest schema (v1.19) and Teams' upload rules, not taken
from the code under test: required fields of the declared version, a GUID app and bot id,
`validDomains` as plain host names, a 192×192 colour icon and a 32×32 outline icon that is white
on a transparent background.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[3]
APP_ID = "8c6a2c0e-5f7e-4c1b-9d0a-2b1f3e4d5c6a"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
HTTPS = re.compile(r"^https://[^\s/]+(/\S*)?$")
HOST = re.compile(r"^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$")
REQUIRED = ("manifestVersion", "version", "id", "developer", "name", "description", "icons", "accentColor")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:///unused.db"}
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def check_upload_rules(archive: zipfile.ZipFile) -> dict:
    names = set(archive.namelist())
    assert "manifest.json" in names, "manifest.json must be at the root of the zip"
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["manifestVersion"] == "1.19"
    assert manifest["$schema"].endswith("/v1.19/MicrosoftTeams.schema.json")
    for key in REQUIRED:
        assert manifest.get(key), f"{key} is required"
    assert SEMVER.match(manifest["version"])
    assert GUID.match(manifest["id"])
    developer = manifest["developer"]
    assert 0 < len(developer["name"]) <= 32
    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        assert HTTPS.match(developer[key]), key
    assert 0 < len(manifest["name"]["short"]) <= 30 and len(manifest["name"].get("full", "")) <= 100
    assert (
        0 < len(manifest["description"]["short"]) <= 80 and 0 < len(manifest["description"]["full"]) <= 4000
    )
    assert re.match(r"^#[0-9A-Fa-f]{6}$", manifest["accentColor"])
    [bot] = manifest["bots"]
    assert GUID.match(bot["botId"]) and set(bot["scopes"]) <= {"personal", "team", "groupChat"}
    assert bot["supportsFiles"] is True  # the export's FileConsentCard needs it
    for command_list in bot["commandLists"]:
        assert len(command_list["commands"]) <= 10
        for command in command_list["commands"]:
            assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    assert isinstance(manifest["validDomains"], list)
    for domain in manifest["validDomains"]:
        assert HOST.match(domain), f"{domain} is not a plain host name"
    icons = manifest["icons"]
    assert icons["color"] in names and icons["outline"] in names
    colour = Image.open(io.BytesIO(archive.read(icons["color"])))
    assert colour.format == "PNG" and colour.size == (192, 192)
    rgb = colour.convert("RGB").tobytes()
    assert len({rgb[i : i + 3] for i in range(0, len(rgb), 3)}) > 1, "the colour icon needs some colour"
    outline = Image.open(io.BytesIO(archive.read(icons["outline"])))
    assert outline.format == "PNG" and outline.size == (32, 32) and outline.mode == "RGBA"
    raw = outline.tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    assert any(p[3] == 0 for p in pixels), "the outline icon needs a transparent background"
    assert all(p[3] == 0 or p[:3] == (255, 255, 255) for p in pixels), "only white and transparent"
    assert any(p[3] == 255 for p in pixels)
    return manifest


def test_the_package_passes_the_upload_rules(tmp_path: Path) -> None:
    result = run(
        "teams-package",
        "--app-id",
        APP_ID.upper(),
        "--out",
        "app.zip",
        "--domain",
        "pmo.contoso.com",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "app.zip" in result.stdout
    with zipfile.ZipFile(tmp_path / "app.zip") as archive:
        manifest = check_upload_rules(archive)
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["pmo.contoso.com"]
    assert manifest["developer"]["websiteUrl"] == "https://pmo.contoso.com/"


def test_without_a_domain_and_to_the_default_file(tmp_path: Path) -> None:
    result = run("teams-package", "--app-id", APP_ID, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "pmo-teams-app.zip") as archive:
        assert check_upload_rules(archive)["validDomains"] == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--app-id", "not-a-guid"], "GUID"),
        (["--app-id", APP_ID, "--domain", "https://pmo.contoso.com/bot"], "host name"),
        ([], "--app-id"),
    ],
)
def test_bad_arguments_are_one_line_and_status_2(tmp_path: Path, args: list[str], says: str) -> None:
    result = run("teams-package", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_the_committed_template_and_icons_are_what_the_generator_draws() -> None:
    sys.path.insert(0, str(ROOT / "teams"))
    try:
        import make_icons
    finally:
        sys.path.pop(0)
    assert (ROOT / "teams" / "color.png").read_bytes() == make_icons.png(192, 192, make_icons.colour)
    assert (ROOT / "teams" / "outline.png").read_bytes() == make_icons.png(32, 32, make_icons.outline)
