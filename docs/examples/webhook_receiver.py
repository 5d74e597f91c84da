"""A ready-to-use receiver of the PMO value bot's webhooks that keeps Jira or ServiceNow in step.

Python 3.10+, standard library only: copy this file next to your tools and run it.

    PMO_WEBHOOK_SECRET=...  TRACKER=jira  JIRA_URL=https://acme.atlassian.net \\
    JIRA_USER=pmo-bot@acme.com  JIRA_TOKEN=...  JIRA_PROJECT=PMO \\
    python webhook_receiver.py            # listens on 127.0.0.1:8080 (LISTEN=0.0.0.0:8080 to change)

Then point the bot at it: PMO_WEBHOOK_URL=https://receiver.acme.com/ (any path) with the same
PMO_WEBHOOK_SECRET.

What it does with each event (docs/webhooks.md describes them):

- every request: checks `X-PMO-Signature` (HMAC-SHA256 of `TIMESTAMP.BODY`, constant-time) and that
  `X-PMO-Timestamp` is within five minutes, else `401`; an event id it has handled before is
  answered `200` and not handled again (delivery is at least once);
- `painpoint.reported` creates an issue (Jira: in JIRA_PROJECT, type JIRA_ISSUE_TYPE; ServiceNow: a
  record of SERVICENOW_TABLE) and remembers which issue is whose pain point;
- `painpoint.updated` (owner, note, measure, comment) adds a comment (ServiceNow: a work note);
- `painpoint.resolved` comments what was done and the measure, then moves the issue to done
  (Jira: the transition named JIRA_DONE_TRANSITION; ServiceNow: state Resolved with close notes);
- `painpoint.reopened` comments and moves it back (JIRA_REOPEN_TRANSITION; ServiceNow: In Progress);
- `painpoint.confirmed` comments that the sponsor confirmed the fix;
- other events (`answer.recorded`, `outcome.measured`) are taken and ignored.

A pain point the receiver has not seen reported (it was reported before the receiver existed)
gets its issue on its first event. When the tracker fails, the receiver answers `502` and does not
mark the event handled, so the bot tries again later. What it has handled is kept in STATE_FILE
(JSON), so a restart neither repeats nor forgets anything.

Settings (environment variables):

    PMO_WEBHOOK_SECRET        the secret shared with the bot (required)
    LISTEN                    host:port to listen on (127.0.0.1:8080)
    STATE_FILE                where handled event ids and issue keys are kept (pmo-receiver-state.json)
    TRACKER                   jira or servicenow (jira)
    JIRA_URL                  https://acme.atlassian.net (Cloud) or your Jira Server/Data Center
    JIRA_USER, JIRA_TOKEN     Cloud: the account's e-mail and an API token (basic auth);
                              Server/Data Center: JIRA_TOKEN alone is a personal access token (Bearer)
    JIRA_PROJECT              the project key issues are created in (PMO)
    JIRA_ISSUE_TYPE           Task
    JIRA_DONE_TRANSITION      Done
    JIRA_REOPEN_TRANSITION    Reopen (no such transition: only the comment is added)
    SERVICENOW_URL            https://acme.service-now.com
    SERVICENOW_USER, SERVICENOW_PASSWORD   basic auth of an integration user
    SERVICENOW_TABLE          incident
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOLERANCE = 300  # seconds a signed request stays valid: an old one replayed is refused


class TrackerError(Exception):
    """The tracker did not take the change; the bot will try the event again."""


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None) -> bool:
    """Whether the request was signed with `secret` in the last five minutes."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE:
        return False
    expected = (
        "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(expected, signature)


# ---- talking to a tracker ------------------------------------------------------------------------


def _call(method: str, url: str, auth: str, payload: dict[str, Any] | None = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", auth)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            text = response.read()
    except urllib.error.HTTPError as exc:
        raise TrackerError(f"{method} {url} answered {exc.code}") from None
    except OSError as exc:
        raise TrackerError(f"{method} {url} failed: {exc}") from None
    return json.loads(text) if text.strip() else None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _title(data: dict[str, Any]) -> str:
    point, project = data["painpoint"], data["project"]
    text = point["text"] if len(point["text"]) <= 150 else point["text"][:147] + "..."
    return f"Pain point #{point['id']} on {project['name']}: {text}"


def _description(data: dict[str, Any]) -> str:
    point, project = data["painpoint"], data["project"]
    reporter = (point.get("reported_by") or {}).get("name", "a sponsor")
    return (
        f"{reporter} reported on {project['name']} ({point['reported_at']}), impact {point['impact']} of 5:\n\n"
        f"{point['text']}\n\nFrom the PMO value bot (pain point #{point['id']})."
    )


def _note(event_type: str, data: dict[str, Any]) -> str:
    """The comment an event adds, in words."""
    change, point = data.get("change") or {}, data["painpoint"]
    by = (change.get("by") or {}).get("name") or "The PMO"
    what = change.get("what")
    if event_type == "painpoint.resolved" or what == "measure":
        lines = [f"{by} resolved it." if event_type == "painpoint.resolved" else f"{by} recorded a measure."]
        if point.get("fix"):
            lines.append(f"Fix: {point['fix']}")
        if point.get("metric") and point.get("baseline") is not None:
            after = f" -> {point['after']}" if point.get("after") is not None else ""
            lines.append(f"{point['metric']}: {point['baseline']}{after} ({point['better']} is better)")
        return "\n".join(lines)
    if event_type == "painpoint.reopened":
        return f"{by} says it is not fixed yet; the pain point is open again."
    if event_type == "painpoint.confirmed":
        return f"{by} confirmed the fix."
    if what == "owner":
        owner = (point.get("owner") or {}).get("name", "someone")
        due = f", due {point['due']}" if point.get("due") else ""
        return f"{by} made {owner} the owner{due}."
    if what in ("note", "comment"):
        return f"{by}: {change.get('text', '')}"
    return f"{by}: {what or event_type}"


class Jira:
    def __init__(self, env: dict[str, str]) -> None:
        self.base = env["JIRA_URL"].rstrip("/")
        user, token = env.get("JIRA_USER", ""), env["JIRA_TOKEN"]
        self.auth = _basic(user, token) if user else f"Bearer {token}"
        self.project = env.get("JIRA_PROJECT", "PMO")
        self.issue_type = env.get("JIRA_ISSUE_TYPE", "Task")
        self.done = env.get("JIRA_DONE_TRANSITION", "Done")
        self.reopen = env.get("JIRA_REOPEN_TRANSITION", "Reopen")

    def create(self, data: dict[str, Any]) -> str:
        fields = {
            "project": {"key": self.project},
            "summary": _title(data),
            "description": _description(data),
            "issuetype": {"name": self.issue_type},
            "labels": ["pmo-painpoint"],
        }
        created = _call("POST", f"{self.base}/rest/api/2/issue", self.auth, {"fields": fields})
        return str(created["key"])

    def comment(self, issue: str, text: str) -> None:
        _call("POST", f"{self.base}/rest/api/2/issue/{issue}/comment", self.auth, {"body": text})

    def move(self, issue: str, name: str) -> bool:
        """Apply the transition called `name` (any case); False when the workflow has none."""
        found = _call("GET", f"{self.base}/rest/api/2/issue/{issue}/transitions", self.auth)
        for transition in found.get("transitions", []):
            if transition.get("name", "").lower() == name.lower():
                url = f"{self.base}/rest/api/2/issue/{issue}/transitions"
                _call("POST", url, self.auth, {"transition": {"id": transition["id"]}})
                return True
        return False

    def resolved(self, issue: str, text: str) -> None:
        self.comment(issue, text)
        self.move(issue, self.done)

    def reopened(self, issue: str, text: str) -> None:
        self.comment(issue, text)
        self.move(issue, self.reopen)


class ServiceNow:
    def __init__(self, env: dict[str, str]) -> None:
        self.base = env["SERVICENOW_URL"].rstrip("/")
        self.auth = _basic(env["SERVICENOW_USER"], env["SERVICENOW_PASSWORD"])
        self.table = env.get("SERVICENOW_TABLE", "incident")

    def _url(self, sys_id: str = "") -> str:
        return f"{self.base}/api/now/table/{self.table}" + (f"/{sys_id}" if sys_id else "")

    def create(self, data: dict[str, Any]) -> str:
        impact = data["painpoint"]["impact"]  # 5 (keeps me up at night) is ServiceNow's 1 (high)
        level = "1" if impact >= 5 else "2" if impact >= 3 else "3"
        record = {
            "short_description": _title(data),
            "description": _description(data),
            "impact": level,
            "urgency": level,
        }
        return str(_call("POST", self._url(), self.auth, record)["result"]["sys_id"])

    def comment(self, issue: str, text: str) -> None:
        _call("PATCH", self._url(issue), self.auth, {"work_notes": text})

    def resolved(self, issue: str, text: str) -> None:
        close = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": text}
        _call("PATCH", self._url(issue), self.auth, close)

    def reopened(self, issue: str, text: str) -> None:
        _call("PATCH", self._url(issue), self.auth, {"state": "2", "work_notes": text})


# ---- the receiver --------------------------------------------------------------------------------


class Receiver:
    """Handles one verified event at a time, remembering what it did in a JSON file."""

    def __init__(self, tracker: Jira | ServiceNow, state_file: Path) -> None:
        self.tracker = tracker
        self.state_file = state_file
        self.lock = threading.Lock()
        state = json.loads(state_file.read_text()) if state_file.exists() else {}
        self.seen: list[str] = state.get("seen", [])
        self.issues: dict[str, str] = state.get("issues", {})

    def _save(self) -> None:
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"seen": self.seen[-10000:], "issues": self.issues}))
        temporary.replace(self.state_file)

    def handle(self, event: dict[str, Any]) -> str:
        with self.lock:
            if event["id"] in self.seen:
                return "duplicate"
            kind, data = event["type"], event["data"]
            if kind.startswith("painpoint."):
                point = str(data["painpoint"]["id"])
                issue = self.issues.get(point)
                if issue is None:
                    issue = self.issues[point] = self.tracker.create(data)
                    self._save()  # the issue is known even if what follows fails
                if kind == "painpoint.resolved":
                    self.tracker.resolved(issue, _note(kind, data))
                elif kind == "painpoint.reopened":
                    self.tracker.reopened(issue, _note(kind, data))
                elif kind != "painpoint.reported":
                    self.tracker.comment(issue, _note(kind, data))
            self.seen.append(event["id"])
            self._save()
            return "handled"


def make_handler(secret: str, receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            timestamp = self.headers.get("X-PMO-Timestamp", "")
            if not verify(secret, timestamp, body, self.headers.get("X-PMO-Signature", "")):
                return self._answer(401, "bad or stale signature")
            try:
                event = json.loads(body)
                if event.get("id") != self.headers.get("X-PMO-Event-Id"):
                    return self._answer(400, "the event id and X-PMO-Event-Id differ")
                return self._answer(200, receiver.handle(event))
            except TrackerError as exc:
                self.log_message("tracker failed: %s", exc)
                return self._answer(502, "the tracker failed; try again later")
            except (ValueError, KeyError, TypeError):
                return self._answer(400, "not a PMO event")

        def _answer(self, status: int, text: str) -> None:
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def main(env: dict[str, str]) -> int:
    secret = env.get("PMO_WEBHOOK_SECRET")
    if not secret:
        print("webhook_receiver: set PMO_WEBHOOK_SECRET (the one the bot signs with)", file=sys.stderr)
        return 2
    tracker_name = env.get("TRACKER", "jira").lower()
    try:
        tracker: Jira | ServiceNow = Jira(env) if tracker_name == "jira" else ServiceNow(env)
    except KeyError as missing:
        print(f"webhook_receiver: TRACKER={tracker_name} needs {missing.args[0]}", file=sys.stderr)
        return 2
    host, _, port = env.get("LISTEN", "127.0.0.1:8080").rpartition(":")
    receiver = Receiver(tracker, Path(env.get("STATE_FILE", "pmo-receiver-state.json")))
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), make_handler(secret, receiver))
    print(f"webhook_receiver: listening on {host}:{server.server_address[1]} for {tracker_name}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(dict(os.environ)))
