"""The example systemd units of ``docs/guides/systemd/``: systemd accepts them, each one's
``ExecStart`` (its variables taken from the example environment file) is a command line that
``ledgerlearn`` parses, the environment files name real settings, and every long-running agent
serves its metrics, takes its password as a credential and stops on SIGTERM."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import BaseModel
from pydantic_settings import BaseSettings

from ledgerlearn.cli import app
from ledgerlearn.config import Settings
from ledgerlearn_gateway.settings import GatewaySettings

UNITS = Path(__file__).resolve().parents[2] / "docs" / "guides" / "systemd"
BINARY = "/opt/ledgerlearn/.venv/bin/ledgerlearn"
"""Where the units expect the installation (the README says to adjust it)."""

EXAMPLES = {
    "ledgerlearn-validator@.service": ("validator.env.example", "alice"),
    "ledgerlearn-provider@.service": ("provider.env.example", "carol"),
    "ledgerlearn-publisher@.service": ("publisher.env.example", "bob"),
    "ledgerlearn-gateway.service": ("gateway.env.example", ""),
    "ledgerlearn-devnet.service": ("devnet.env.example", ""),
}
"""Each unit, the example of its EnvironmentFile, and the instance name the test uses."""

AGENTS = ("validator", "provider", "publisher")


def unit(name: str) -> dict[str, list[str]]:
    """The ``[Service]`` and ``[Unit]`` settings of a unit file: key -> values, in order."""
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key, []).append(value)
    return found


def environment(name: str) -> dict[str, str]:
    """An environment file's variables, as systemd reads it (quotes removed)."""
    variables = {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), line
        (value,) = shlex.split(value) or [""]
        variables[key] = value
    return variables


def command_line(exec_start: str, env: dict[str, str]) -> list[str]:
    """``ExecStart`` with its variables expanded as systemd does: ``${X}`` is one argument,
    ``$X`` alone splits at whitespace."""
    words = []
    for word in shlex.split(exec_start):
        whole = re.fullmatch(r"\$([A-Z_][A-Z0-9_]*)", word)
        if whole:
            assert whole.group(1) in env, f"{whole.group(1)} is not in the example environment"
            words += env[whole.group(1)].split()
            continue

        def value(match: re.Match[str]) -> str:
            assert match.group(1) in env, f"{match.group(1)} is not in the example environment"
            return env[match.group(1)]

        words.append(re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}", value, word))
    return words


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_units_command_line_is_one_ledgerlearn_parses(name: str) -> None:
    example, _ = EXAMPLES[name]
    settings = unit(name)
    (exec_start,) = settings["ExecStart"]
    args = command_line(exec_start, environment(example))
    assert args[0] == BINARY
    command: Any = typer.main.get_command(app)  # typer's own click
    words = args[1:]
    path = ["ledgerlearn"]
    while getattr(command, "commands", None):  # a group: its subcommand
        sub = command.commands.get(words[0])
        assert sub is not None, f"{name}: no command {words[0]!r} under {' '.join(path)}"
        path.append(words.pop(0))
        command = sub
    # parses and converts every option (unknown, malformed or missing ones fail), runs nothing
    with command.make_context(" ".join(path), list(words)) as context:
        if path[1] in {"publish", "provider", "validator"}:
            assert isinstance(context.params["metrics_port"], int), context.params


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_unit_runs_as_a_service_should(name: str) -> None:
    """Environment file, password as a credential, SIGTERM with 30 s to stop, restarts on
    failure where a restart is safe (a publisher's would publish its task again)."""
    settings = unit(name)
    instance = "%i" if "@" in name else ""
    env_file = f"/etc/ledgerlearn/{instance}.env" if instance else None
    if env_file is not None:
        assert settings["EnvironmentFile"] == [env_file]
    else:
        stem = name.removeprefix("ledgerlearn-").removesuffix(".service")
        assert settings["EnvironmentFile"][0].lstrip("-") == f"/etc/ledgerlearn/{stem}.env"
    assert settings["KillSignal"] == ["SIGTERM"]
    assert settings["TimeoutStopSec"] == ["30"]
    publisher = "publisher" in name
    assert settings["Restart"] == (["no"] if publisher else ["on-failure"])
    if "devnet" not in name:
        (credential,) = settings["LoadCredential"]
        key, _, source = credential.partition(":")
        assert source.startswith("/etc/ledgerlearn/") and source.endswith(".password")
        assert f"LEDGERLEARN_AGENT__PASSWORD_FILE=%d/{key}" in settings["Environment"]
    if any(role in name for role in AGENTS):
        assert "--metrics-port ${METRICS_PORT}" in settings["ExecStart"][0]


def test_the_environment_files_name_real_settings() -> None:
    """Every ``LEDGERLEARN_SECTION__FIELD`` of the examples and units is a setting (a typo would
    be ignored silently by the settings' loader)."""
    sections = {
        **{name: set(model.model_fields) for name, model in _sections(Settings)},
        **{name: set(model.model_fields) for name, model in _sections(GatewaySettings)},
    }
    names = set()
    for example, _ in EXAMPLES.values():
        names |= set(environment(example))
    for name in EXAMPLES:
        for assignment in unit(name).get("Environment", []):
            names.add(assignment.partition("=")[0])
    checked = 0
    for variable in sorted(names):
        if not variable.startswith("LEDGERLEARN_") or variable == "LEDGERLEARN_LOG":
            continue
        section, _, field = variable.removeprefix("LEDGERLEARN_").lower().partition("__")
        assert field in sections.get(section, set()), f"{variable} is not a setting"
        checked += 1
    assert checked >= 10


def _sections(model: type[BaseSettings]) -> list[tuple[str, type[BaseModel]]]:
    """The settings' sections (``chain``, ``agent``, ...) and their models."""
    found = []
    for name, field in model.model_fields.items():
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel), name
        found.append((name, section))
    return found


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here"
)
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """``systemd-analyze verify`` on each unit (templates as an instance), the installation
    path pointed at this interpreter's ``ledgerlearn`` (verify checks that it exists). A
    directive systemd ignores is only a message: any message fails the test."""
    installed = str(Path(sys.executable).parent / "ledgerlearn")  # this environment's script
    if not Path(installed).is_file():
        pytest.skip("no installed ledgerlearn script to point the units at")
    paths = []
    for name, (_, instance) in EXAMPLES.items():
        text = (UNITS / name).read_text().replace(BINARY, installed)
        (tmp_path / name).write_text(text)
        paths.append(str(tmp_path / name.replace("@.", f"@{instance}.")))
    result = subprocess.run(
        ["systemd-analyze", "verify", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    messages = [
        line for line in (result.stdout + result.stderr).splitlines() if "ledgerlearn" in line
    ]
    assert result.returncode == 0 and not messages, result.stdout + result.stderr
