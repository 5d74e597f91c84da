"""`python app.py teams-package --app-id ID [--out FILE] [--domain HOST]`: the app package to sideload.

The package is a zip of `manifest.json` (from `teams/manifest.json`, with the bot's Azure app id
filled in) and the two icons Teams requires: a 192×192 colour icon and a 32×32 outline icon
(white on transparent). `--domain` is the host the bot is served on (the messaging endpoint's
host): it goes into `validDomains` and the developer links.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2] / "teams"
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
HOST = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
DEFAULT_WEBSITE = "https://www.example.com/pmo-value-bot"


class PackageError(ValueError):
    """A bad argument: the message says which and why, and nothing was written."""


def manifest(
    app_id: str, domain: str | None = None, template: Path = ROOT / "manifest.json"
) -> dict[str, Any]:
    """The manifest for this bot registration."""
    if not GUID.match(app_id or ""):
        raise PackageError(
            f"--app-id must be the bot's Azure app id, a GUID like 8c6a2c0e-5f7e-…, not {app_id!r}"
        )
    if domain is not None and not HOST.match(domain):
        raise PackageError(
            f"--domain must be a host name such as pmo.example.com (no https://, no path), not {domain!r}"
        )
    website = f"https://{domain}" if domain else DEFAULT_WEBSITE
    text = template.read_text(encoding="utf-8")
    text = text.replace("%MICROSOFT_APP_ID%", app_id.lower()).replace("%WEBSITE%", website)
    data = json.loads(text)
    data["validDomains"] = [domain] if domain else []
    return data


def build(app_id: str, out: Path, domain: str | None = None) -> Path:
    """Write the zip Teams takes in 'Upload a custom app'; the path written."""
    data = manifest(app_id, domain)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        for name in (data["icons"]["color"], data["icons"]["outline"]):
            archive.write(ROOT / name, arcname=name)
    return out
