"""The user documentation keeps up with the code it describes."""

from __future__ import annotations

from pathlib import Path

from bot.config import VARIABLES
from handlers.commands.parser import SPECS

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_is_documented() -> None:
    commands = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8").replace("\\|", "|")
    missing = [spec.usage for spec in SPECS if f"`{spec.usage}`" not in commands]
    assert missing == []


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "pip install -r requirements.txt && python app.py" in head
    assert "pip install -r requirements-dev.txt && pytest" in head


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    test_command = next(line for line in readme.splitlines() if line.endswith("&& pytest"))
    assert test_command in ci


def test_env_example_names_every_variable() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for variable in VARIABLES:
        assert f"{variable.name}=" in example, variable.name


def test_every_variable_is_documented() -> None:
    docs = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
    )
    missing = [variable.name for variable in VARIABLES if f"`{variable.name}`" not in docs]
    assert missing == []
