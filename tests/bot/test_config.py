"""Settings from the environment and `.env`: defaults, validation, modes, masking, log redaction."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
from collections.abc import Iterator

import pytest

from bot.config import MASK, VARIABLES, ConfigError, Secret, Settings, load_settings, mask_database_url
from bot.redaction import SecretFilter, install_log_redaction, remove_log_redaction

BOT = "xoxb-1111-2222-BOTSECRETabc"
APP = "xapp-1-A111-3333-APPSECRETdef"
SIGNING = "signingSECRET0123456789abcdef"
CLIENT_SECRET = "clientSECRET9876543210"
MS_PASSWORD = "msPASSWORD~with.odd_chars"
API_TOKEN = "apiTOKENxyz987654321"
DB_PASSWORD = "dbPASS@word/1"
DB_URL = "postgresql://pmo:dbPASS%40word%2F1@db.example.com:5432/pmo"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "00000000-0000-0000-0000-00000000abcd"

SECRETS = (BOT, APP, SIGNING, CLIENT_SECRET, MS_PASSWORD, API_TOKEN, DB_PASSWORD, "dbPASS%40word%2F1")

HTTP = {"SLACK_BOT_TOKEN": BOT, "SLACK_SIGNING_SECRET": SIGNING}
SOCKET = {"SLACK_BOT_TOKEN": BOT, "SLACK_APP_TOKEN": APP}
OAUTH = {
    "SLACK_CLIENT_ID": "1234.5678",
    "SLACK_CLIENT_SECRET": CLIENT_SECRET,
    "SLACK_SIGNING_SECRET": SIGNING,
}
TEAMS = {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": MS_PASSWORD, "MICROSOFT_APP_TENANT_ID": TENANT}


def load(**env: str) -> Settings:
    return load_settings(env, env_file=None)


# --- defaults -------------------------------------------------------------------------------


def test_defaults_with_nothing_set():
    s = load()
    assert s == Settings()
    assert s.database_url == "sqlite:///pmo.db"
    assert (s.host, s.port) == ("127.0.0.1", 3000)
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.pmo_timezone == "UTC"
    assert s.pmo_catchup_hours == 6.0
    assert s.pmo_admins == frozenset()
    assert s.slack_bot_token is None and s.pmo_api_token is None and s.microsoft_app_type is None
    assert s.slack_mode is None and not s.teams_enabled
    assert s.local_console and s.teams_local_unauthenticated and not s.local_console_forced


def test_every_value_is_read_and_typed():
    s = load(
        DATABASE_URL="postgres://pmo:pw@db.example.com/pmo",
        HOST="0.0.0.0",
        PORT="8080",
        SLACK_API_URL="http://127.0.0.1:9999/api",
        PMO_ADMINS=" U123 , U456,,29:1abc ",
        PMO_TIMEZONE="Europe/Berlin",
        PMO_ALERT_CHANNEL="C0ALERTS",
        PMO_API_TOKEN=API_TOKEN,
        LOCAL_CONSOLE="1",
        PMO_CATCHUP_HOURS="1.5",
        **HTTP,
        **TEAMS,
    )
    assert s.database_url == "postgres://pmo:pw@db.example.com/pmo"
    assert (s.host, s.port) == ("0.0.0.0", 8080)
    assert s.slack_api_url == "http://127.0.0.1:9999/api/"
    assert s.pmo_admins == frozenset({"U123", "U456", "29:1abc"})
    assert s.pmo_timezone == "Europe/Berlin"
    assert s.pmo_alert_channel == "C0ALERTS"
    assert isinstance(s.pmo_api_token, Secret) and s.pmo_api_token.reveal() == API_TOKEN
    assert s.slack_bot_token == Secret(BOT) and s.slack_signing_secret == Secret(SIGNING)
    assert s.microsoft_app_id == APP_ID and s.microsoft_app_password == Secret(MS_PASSWORD)
    assert s.microsoft_app_type == "SingleTenant" and s.microsoft_app_tenant_id == TENANT
    assert s.local_console_forced and s.pmo_catchup_hours == 1.5


def test_currency_is_an_iso_code_upper_cased_and_unset_by_default():
    assert load().pmo_currency is None
    assert load(PMO_CURRENCY=" eur ").pmo_currency == "EUR"
    assert load(PMO_CURRENCY="CHF").pmo_currency == "CHF"


def test_empty_strings_and_blanks_count_as_unset():
    s = load(
        DATABASE_URL="", PORT="  ", SLACK_BOT_TOKEN="", PMO_TIMEZONE="", PMO_API_TOKEN=" ", LOCAL_CONSOLE=""
    )
    assert s == Settings()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "1"}, 1),
        ({"PORT": "65535"}, 65535),
        ({"PORT": " 3001 "}, 3001),
    ],
)
def test_port_bounds_accepted(env, expected):
    assert load_settings(env, env_file=None).port == expected


def test_catchup_zero_and_case_insensitive_values_accepted():
    s = load(PMO_CATCHUP_HOURS="0", LOCAL_CONSOLE="true", MICROSOFT_APP_TYPE="multitenant", **TEAMS)
    assert s.pmo_catchup_hours == 0.0 and s.local_console_forced
    assert s.microsoft_app_type == "MultiTenant"
    assert not load(LOCAL_CONSOLE="0").local_console_forced


def test_heroku_postgres_and_sqlite_urls_accepted():
    assert load(DATABASE_URL="postgres://u:p@h/db").database_url == "postgres://u:p@h/db"
    assert load(DATABASE_URL="sqlite:////var/lib/pmo/pmo.db").database_url == "sqlite:////var/lib/pmo/pmo.db"


def test_every_setting_is_one_variable_of_the_table():
    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names)) == len(dataclasses.fields(Settings))
    assert all(variable.about for variable in VARIABLES)
    secrets = {variable.name for variable in VARIABLES if variable.secret}
    assert secrets == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_SECRET",
                       "MICROSOFT_APP_PASSWORD", "PMO_API_TOKEN", "PMO_METRICS_TOKEN", "PMO_WEBHOOK_URL", "PMO_WEBHOOK_SECRET"}  # fmt: skip
    s = load(PMO_API_TOKEN=API_TOKEN, **HTTP)
    assert isinstance(s.slack_bot_token, Secret) and isinstance(s.pmo_api_token, Secret)


# --- validation -----------------------------------------------------------------------------

ERRORS = [
    pytest.param({"SLACK_BOT_TOKEN": BOT}, "SLACK_SIGNING_SECRET", id="bot-token-without-signing-secret"),
    pytest.param({"SLACK_APP_TOKEN": APP}, "SLACK_BOT_TOKEN", id="app-token-without-bot-token"),
    pytest.param({**SOCKET, "SLACK_APP_TOKEN": "xoxp-" + APP}, "SLACK_APP_TOKEN", id="app-token-prefix"),
    pytest.param({**HTTP, "SLACK_BOT_TOKEN": "xoxp-" + BOT}, "SLACK_BOT_TOKEN", id="bot-token-prefix"),
    pytest.param(
        {"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": SIGNING}, "SLACK_CLIENT_SECRET", id="id-no-secret"
    ),
    pytest.param(
        {"SLACK_CLIENT_SECRET": CLIENT_SECRET, "SLACK_SIGNING_SECRET": SIGNING},
        "SLACK_CLIENT_ID",
        id="secret-no-id",
    ),
    pytest.param(
        {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": CLIENT_SECRET},
        "SLACK_SIGNING_SECRET",
        id="oauth-without-signing-secret",
    ),
    pytest.param({"SLACK_SIGNING_SECRET": SIGNING}, "SLACK_SIGNING_SECRET", id="signing-secret-alone"),
    pytest.param({"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TENANT_ID": TENANT}, "MICROSOFT_APP_PASSWORD"),
    pytest.param({**TEAMS, "MICROSOFT_APP_TYPE": "OtherTenant"}, "MICROSOFT_APP_TYPE", id="unknown-app-type"),
    pytest.param(
        {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_PASSWORD": MS_PASSWORD},
        "MICROSOFT_APP_TENANT_ID",
        id="single-tenant-without-tenant",
    ),
    pytest.param(
        {"MICROSOFT_APP_ID": APP_ID, "MICROSOFT_APP_TYPE": "UserAssignedMSI"},
        "MICROSOFT_APP_TENANT_ID",
        id="msi-without-tenant",
    ),
    pytest.param({"MICROSOFT_APP_PASSWORD": MS_PASSWORD}, "MICROSOFT_APP_ID", id="password-without-app-id"),
    pytest.param({"MICROSOFT_APP_TENANT_ID": TENANT}, "MICROSOFT_APP_ID", id="tenant-without-app-id"),
    pytest.param({"PORT": "http"}, "PORT", id="port-not-a-number"),
    pytest.param({"PORT": "0"}, "PORT", id="port-zero"),
    pytest.param({"PORT": "65536"}, "PORT", id="port-too-big"),
    pytest.param({"PORT": "-1"}, "PORT", id="port-negative"),
    pytest.param({"PORT": "80.5"}, "PORT", id="port-fraction"),
    pytest.param({"PMO_TIMEZONE": "Mars/Olympus_Mons"}, "PMO_TIMEZONE", id="unknown-timezone"),
    pytest.param({"PMO_TIMEZONE": "../../etc/passwd"}, "PMO_TIMEZONE", id="timezone-path"),
    pytest.param({"PMO_TIMEZONE": "Europe"}, "PMO_TIMEZONE", id="timezone-directory"),
    pytest.param({"DATABASE_URL": "mysql://u:" + DB_PASSWORD + "@h/db"}, "DATABASE_URL", id="db-mysql"),
    pytest.param({"DATABASE_URL": "not a url"}, "DATABASE_URL", id="db-garbage"),
    pytest.param({"DATABASE_URL": "postgresql:///pmo"}, "DATABASE_URL", id="db-no-host"),
    pytest.param({"DATABASE_URL": DB_URL.replace(":5432", ":port")}, "DATABASE_URL", id="db-bad-port"),
    pytest.param({"PMO_CATCHUP_HOURS": "-1"}, "PMO_CATCHUP_HOURS", id="catchup-negative"),
    pytest.param({"PMO_CATCHUP_HOURS": "six"}, "PMO_CATCHUP_HOURS", id="catchup-word"),
    pytest.param({"PMO_CATCHUP_HOURS": "nan"}, "PMO_CATCHUP_HOURS", id="catchup-nan"),
    pytest.param({"PMO_CATCHUP_HOURS": "inf"}, "PMO_CATCHUP_HOURS", id="catchup-inf"),
    pytest.param({"SLACK_API_URL": "ftp://slack.example.com/api/"}, "SLACK_API_URL", id="api-url-ftp"),
    pytest.param({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", id="api-url-no-scheme"),
    pytest.param({"LOCAL_CONSOLE": "maybe"}, "LOCAL_CONSOLE", id="local-console-word"),
    pytest.param({"PMO_CURRENCY": "€"}, "PMO_CURRENCY", id="currency-symbol"),
    pytest.param({"PMO_CURRENCY": "EURO"}, "PMO_CURRENCY", id="currency-word"),
]


@pytest.mark.parametrize(("env", "variable"), ERRORS)
def test_validation_error_is_one_line_naming_the_variable_without_secrets(env, variable):
    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None)
    message = str(caught.value)
    assert message and "\n" not in message
    assert variable in message
    for secret in SECRETS:
        assert secret not in message


def test_user_assigned_msi_needs_no_password():
    s = load(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_TYPE="UserAssignedMSI", MICROSOFT_APP_TENANT_ID=TENANT)
    assert s.teams_enabled and s.microsoft_app_password is None and s.microsoft_app_type == "UserAssignedMSI"


def test_multi_tenant_needs_no_tenant_id():
    s = load(MICROSOFT_APP_ID=APP_ID, MICROSOFT_APP_PASSWORD=MS_PASSWORD, MICROSOFT_APP_TYPE="MultiTenant")
    assert s.teams_enabled and s.microsoft_app_tenant_id is None


def test_unreadable_env_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({}, env_file=tmp_path)  # a directory


# --- .env and the environment ------------------------------------------------------------------


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n"
        f"SLACK_BOT_TOKEN={BOT}\n"
        f"SLACK_SIGNING_SECRET='{SIGNING}'\n"
        "PORT=4000\n"
        "PMO_TIMEZONE=Europe/Paris\n"
        "PMO_ADMINS=U1,U2\n"
        "UNRELATED=ignored\n"
    )
    from_file = load_settings({}, env_file=env_file)
    assert from_file.slack_mode == "http" and from_file.port == 4000
    assert from_file.pmo_timezone == "Europe/Paris" and from_file.pmo_admins == {"U1", "U2"}

    overridden = load_settings({"PORT": "5000", "PMO_TIMEZONE": "Asia/Tokyo"}, env_file=str(env_file))
    assert overridden.port == 5000 and overridden.pmo_timezone == "Asia/Tokyo"
    assert overridden.slack_bot_token == Secret(BOT)


def test_empty_environment_value_unsets_a_file_value(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"SLACK_BOT_TOKEN={BOT}\nSLACK_SIGNING_SECRET={SIGNING}\n")
    s = load_settings({"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": ""}, env_file=env_file)
    assert s.slack_mode is None and s.local_console


def test_env_file_errors_are_reported_like_environment_errors(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=eighty\n")
    with pytest.raises(ConfigError, match="PORT"):
        load_settings({}, env_file=env_file)


def test_missing_file_and_no_file(tmp_path):
    env_file = tmp_path / ".env"
    assert load_settings({}, env_file=env_file) == Settings()
    env_file.write_text("PORT=4000\n")
    assert load_settings({}, env_file=None).port == 3000


def test_reads_os_environ_by_default_and_never_changes_it(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("PMO_ALERT_CHANNEL=C_FROM_FILE\nPORT=4000\n")
    monkeypatch.setenv("PORT", "4100")
    monkeypatch.delenv("PMO_ALERT_CHANNEL", raising=False)
    before = dict(os.environ)
    s = load_settings(env_file=env_file)
    assert s.port == 4100 and s.pmo_alert_channel == "C_FROM_FILE"
    assert dict(os.environ) == before


# --- derived modes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        (HTTP, "http"),
        (SOCKET, "socket"),
        ({**SOCKET, "SLACK_SIGNING_SECRET": SIGNING}, "socket"),
        (OAUTH, "oauth"),
        ({**OAUTH, **SOCKET}, "oauth"),
        ({}, None),
    ],
)
def test_slack_mode(env, mode):
    s = load_settings(env, env_file=None)
    assert s.slack_mode == mode
    assert s.local_console == (mode is None)
    assert s.teams_local_unauthenticated == (mode is None)


def test_teams_alone():
    s = load(**TEAMS)
    assert s.teams_enabled and s.slack_mode is None
    assert not s.local_console and not s.teams_local_unauthenticated


def test_slack_and_teams_together():
    s = load(**HTTP, **TEAMS)
    assert s.slack_mode == "http" and s.teams_enabled and not s.local_console


def test_local_console_forced_keeps_api_messages_authenticated():
    s = load(LOCAL_CONSOLE="1", **TEAMS)
    assert s.local_console and s.local_console_forced
    assert not s.teams_local_unauthenticated


# --- Secret and masking ----------------------------------------------------------------------------


def test_secret_masks_itself():
    secret = Secret(BOT)
    assert repr(secret) == str(secret) == f"{secret}" == "Secret('**********')"
    assert BOT not in repr([secret]) and BOT not in "%s %r" % (secret, secret)  # noqa: UP031
    assert secret.reveal() == BOT
    assert secret == Secret(BOT) and secret == BOT and secret != Secret(BOT + "x") and secret != 42
    assert hash(secret) == hash(Secret(BOT))
    assert secret and not Secret("")


def test_settings_repr_masks_every_secret_and_the_database_password():
    s = load(DATABASE_URL=DB_URL, PMO_API_TOKEN=API_TOKEN, **OAUTH, **SOCKET, **TEAMS)
    text = repr(s)
    for secret in SECRETS:
        assert secret not in text
    assert "postgresql://pmo:**********@db.example.com:5432/pmo" in text
    assert text.count("Secret('**********')") == 6
    assert str(s) == text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("sqlite:///pmo.db", "sqlite:///pmo.db"),
        ("postgresql://pmo@h/db", "postgresql://pmo@h/db"),
        ("postgresql://h:5432/db", "postgresql://h:5432/db"),
        ("postgres://u:p@ss@h/db", "postgres://u:**********@h/db"),
        (
            "postgresql://u@h/db?sslmode=require&password=pw",
            "postgresql://u@h/db?sslmode=require&password=**********",
        ),
    ],
)
def test_mask_database_url(raw, masked):
    assert mask_database_url(raw) == masked


def test_directly_built_settings_wrap_plain_secrets_and_normalise():
    s = Settings(slack_bot_token=BOT, slack_api_url="http://127.0.0.1:1/api", microsoft_app_id=APP_ID)  # type: ignore[arg-type]
    assert isinstance(s.slack_bot_token, Secret) and BOT not in repr(s)
    assert s.slack_api_url == "http://127.0.0.1:1/api/"
    assert s.microsoft_app_type == "SingleTenant"


def test_settings_are_frozen():
    s = load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


def test_secret_values_cover_raw_and_url_encoded_forms():
    s = load(DATABASE_URL=DB_URL, PMO_API_TOKEN=API_TOKEN, **HTTP)
    values = s.secret_values()
    assert {BOT, SIGNING, API_TOKEN, DB_PASSWORD, "dbPASS%40word%2F1"} <= set(values)
    assert list(values) == sorted(values, key=len, reverse=True)
    assert load().secret_values() == ()


# --- log redaction -------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A real StreamHandler on a real logger, with redaction removed again afterwards."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("pmo.test.config")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)
    remove_log_redaction()


def test_log_redaction_removes_secrets_from_messages_args_and_tracebacks(captured):
    logger, stream = captured
    s = load(DATABASE_URL=DB_URL, PMO_API_TOKEN=API_TOKEN, **HTTP)
    install_log_redaction(s)
    logger.info("calling Slack with token=%s", BOT)
    logger.info("headers %r", {"Authorization": f"Bearer {API_TOKEN}"})
    logger.info(f"inline {SIGNING}")
    try:
        raise RuntimeError(f"could not connect as pmo:{DB_PASSWORD}")
    except RuntimeError:
        logger.exception("database failed for %s", "dbPASS%40word%2F1")
    output = stream.getvalue()
    for secret in (BOT, API_TOKEN, SIGNING, DB_PASSWORD, "dbPASS%40word%2F1"):
        assert secret not in output
    assert f"calling Slack with token={MASK}" in output
    assert f"Bearer {MASK}" in output
    assert f"RuntimeError: could not connect as pmo:{MASK}" in output
    assert "Traceback (most recent call last)" in output


def test_log_redaction_reaches_handlers_added_later_and_the_root_handlers(captured):
    logger, stream = captured
    root_stream = io.StringIO()
    root_handler = logging.StreamHandler(root_stream)
    logging.getLogger().addHandler(root_handler)
    try:
        install_log_redaction(load(**SOCKET))
        late_stream = io.StringIO()
        late = logging.StreamHandler(late_stream)
        logging.getLogger("pmo.test.late").addHandler(late)
        logging.getLogger("pmo.test.late").warning("socket %s / %s", APP, BOT)
        logger.warning("app token %s", APP, stack_info=True)
        for out in (late_stream.getvalue(), root_stream.getvalue(), stream.getvalue()):
            assert out and APP not in out and BOT not in out and MASK in out
        assert root_handler.filters  # the filter sits on the existing root handler too
    finally:
        logging.getLogger().removeHandler(root_handler)
        logging.getLogger("pmo.test.late").handlers.clear()


def test_reinstalling_replaces_secrets_and_removal_restores_plain_logging(captured):
    logger, stream = captured
    install_log_redaction(load(PMO_API_TOKEN=API_TOKEN))
    install_log_redaction(load(**HTTP))
    logger.info("%s %s", API_TOKEN, BOT)
    assert stream.getvalue().strip().endswith(f"{API_TOKEN} {MASK}")
    handler = logger.handlers[-1]
    assert sum(isinstance(f, SecretFilter) for f in handler.filters) == 1
    remove_log_redaction()
    logger.info("%s", BOT)
    assert stream.getvalue().strip().endswith(BOT)
    record = logging.getLogRecordFactory()("n", logging.INFO, "p", 1, "%s", (BOT,), None)
    assert record.args == (BOT,)


def test_secret_filter_handles_a_bad_format_string_without_leaking():
    f = SecretFilter([BOT])
    record = logging.LogRecord("n", logging.INFO, "p", 1, "two %s %s", (BOT,), None)
    assert f.filter(record)
    assert BOT not in record.getMessage() and MASK in record.getMessage()


# --- log escaping --------------------------------------------------------------------------------

FORGED = "\n2026-01-01 00:00:00,000 INFO pmo: forged line"
RAW_CONTROLS = ("\r", "\x1b", "\x07", "\x00", "\x85", "\u202e", "\u2066", "\u2028", "\t")


class JsonLines(logging.Formatter):
    """One JSON object a line, as LOG_FORMAT=json writes them; non-ASCII kept as is."""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = record.exc_text or (
            self.formatException(record.exc_info) if record.exc_info else None
        )
        fields = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_text:
            fields["exception"] = record.exc_text
        return json.dumps(fields, ensure_ascii=False)


@pytest.fixture
def text_and_json() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger writing app.py's text format to one stream and JSON lines to another."""
    text, lines = io.StringIO(), io.StringIO()
    text_handler, json_handler = logging.StreamHandler(text), logging.StreamHandler(lines)
    text_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    json_handler.setFormatter(JsonLines())
    logger = logging.getLogger("pmo.test.escaping")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(text_handler)
    logger.addHandler(json_handler)
    yield logger, text, lines
    logger.removeHandler(text_handler)
    logger.removeHandler(json_handler)
    remove_log_redaction()


def log_hostile_strings(logger: logging.Logger) -> None:
    logger.warning("user said %s", "hello" + FORGED + "\r\x1b[31mred\x07\u202etxt.exe\x85\u2066\u2028\x00\t")
    logger.info(f"inline {FORGED}")
    try:
        raise ValueError("bad value" + FORGED + "\x1b]0;title\x07")
    except ValueError:
        logger.exception("could not read %s", "x" + FORGED)


def test_log_lines_escape_control_characters_in_text_format(text_and_json):
    logger, text, _lines = text_and_json
    install_log_redaction(load(**HTTP))
    log_hostile_strings(logger)
    output = text.getvalue()
    for char in RAW_CONTROLS:
        assert char not in output, repr(char)
    lines = output.splitlines()
    assert not [line for line in lines if line.startswith("2026-01-01")]
    assert (
        "user said hello\\n2026-01-01 00:00:00,000 INFO pmo: forged line\\r\\x1b[31mred\\x07\\u202etxt.exe"
        in output
    )
    assert "\\x85\\u2066\\u2028\\x00\\t" in output
    # The traceback keeps its own lines; the exception's message stays on its one line.
    assert "Traceback (most recent call last):" in lines
    assert "ValueError: bad value\\n2026-01-01 00:00:00,000 INFO pmo: forged line\\x1b]0;title\\x07" in lines
    assert sum("forged line" in line for line in lines) == 4


def test_log_lines_escape_control_characters_in_json_format(text_and_json):
    logger, _text, lines = text_and_json
    install_log_redaction(load())
    log_hostile_strings(logger)
    output = lines.getvalue()
    for char in RAW_CONTROLS:
        assert char not in output, repr(char)
    records = [json.loads(line) for line in output.splitlines()]
    assert len(records) == 3
    for record in records:
        assert not any(char in record["message"] for char in ("\n", *RAW_CONTROLS))
    assert records[0]["message"].startswith("user said hello\\n2026-01-01")
    assert "\\u202etxt.exe" in records[0]["message"]
    exception = records[2]["exception"].split("\n")
    assert exception[0] == "Traceback (most recent call last):"
    assert exception[-1].startswith("ValueError: bad value\\n2026-01-01") and len(exception) > 2


def test_escaping_twice_changes_nothing_more():
    record = logging.LogRecord("n", logging.INFO, "p", 1, "a %s", ("b\nc\x1bd\\n",), None)
    f = SecretFilter()
    assert f.filter(record) and f.filter(record)
    assert record.getMessage() == "a b\\nc\\x1bd\\n"


def test_env_file_that_is_not_utf8_is_a_config_error(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"PMO_TIMEZONE=Europe/Z\xfcrich\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings({}, env_file=env_file)
