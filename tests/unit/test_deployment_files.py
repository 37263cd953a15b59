"""The deployment files name only real settings and run only real commands.

Dockerfile, docker-compose.yml and .env.example are read as text (images cannot be pulled on
these machines): every `UNIHUB_*` variable they name is a field of `Settings`, every field is
listed in .env.example with its default and documented once in docs/configuration.md, and
every `unihub ...` command they run resolves in the Typer app, options included.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from unihub.cli import app
from unihub.core.config import ENV_FILE_VARIABLE, Settings

REPO = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"\bUNIHUB_[A-Z0-9_]+\b")


def setting_names() -> set[str]:
    """The environment variable of every field, as pydantic-settings looks it up."""
    prefix = Settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias or field.alias
        names.add((alias if isinstance(alias, str) else f"{prefix}{name}").upper())
    return names


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def as_argv(command: str | list[str]) -> list[str]:
    if isinstance(command, list):
        return command
    command = command.strip()
    return list(json.loads(command)) if command.startswith("[") else shlex.split(command)


def commands_run() -> list[list[str]]:
    """Every command line the Dockerfile and compose file run."""
    runs = [as_argv(rest) for keyword, rest in dockerfile_instructions() if keyword == "CMD"]
    for service in compose()["services"].values():
        if "command" in service:
            runs.append(as_argv(service["command"]))
    return runs


def example_lines() -> dict[str, str]:
    """.env.example's `NAME=value` lines, commented or not."""
    found = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        m = re.fullmatch(r"#?\s*(UNIHUB_[A-Z0-9_]+)=(.*)", line.strip())
        if m:
            assert m.group(1) not in found, f"{m.group(1)} twice in .env.example"
            found[m.group(1)] = m.group(2)
    return found


def documented_rows() -> list[str]:
    """The variables named in the first column of docs/configuration.md's table."""
    names = []
    for line in (REPO / "docs" / "configuration.md").read_text().splitlines():
        if line.startswith("| `UNIHUB_"):
            names += VARIABLE.findall(line.split("|")[1])
    return names


@pytest.mark.parametrize("path", ["Dockerfile", "docker-compose.yml", ".env.example"])
def test_every_variable_named_is_a_setting(path: str) -> None:
    named = set(VARIABLE.findall((REPO / path).read_text()))
    assert named, path
    assert named - setting_names() == set()


def test_every_setting_is_in_env_example_and_documented_once() -> None:
    assert setting_names() - set(example_lines()) == set()
    rows = documented_rows()
    assert sorted(n for n in set(rows) if rows.count(n) > 1) == []
    assert set(rows) == setting_names()


def test_env_example_gives_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in setting_names() | {ENV_FILE_VARIABLE}:
        monkeypatch.delenv(name, raising=False)
    values = example_lines()
    commented = {
        n for n in values if re.match(rf"#\s*{n}=", (REPO / ".env.example").read_text(), re.M)
    }
    # Commented lines are the empty defaults (unset or "").
    assert all(values[n] == "" for n in commented)
    from_example = Settings(_env_file=REPO / ".env.example").model_dump()  # type: ignore[call-arg]
    defaults = {
        n: f.get_default(call_default_factory=True) for n, f in Settings.model_fields.items()
    }
    assert from_example == defaults


def resolve(argv: list[str]) -> None:
    """Fails unless `argv` (`unihub ...`) names a command of the Typer app and its options."""
    assert argv[0] == "unihub", argv
    # Typer's click-like objects (Typer vendors click): a group has `commands`.
    command: Any = typer.main.get_command(app)
    args = argv[1:]
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        sub = command.commands.get(args[0])
        assert sub is not None, f"no command {args[0]!r} in {argv}"
        command, args = sub, args[1:]
    assert not hasattr(command, "commands"), f"{argv} names a group, not a command"
    options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    for arg in args:
        if arg.startswith("-"):
            assert arg.split("=", 1)[0] in options, f"{argv}: no option {arg}"


def test_every_command_run_exists_in_the_cli() -> None:
    runs = commands_run()
    assert ["unihub", "db", "upgrade"] in runs  # the compose file's one-shot migration
    for argv in runs:
        resolve(argv)


def test_the_container_serves_as_make_run_does() -> None:
    """`make run` is `unihub serve`; the image adds only the bind address, compose also
    `--no-migrate` (its `migrate` service is the one that migrates, docs/deployment.md)."""
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0].strip().splitlines()[1:]
    assert [line.strip() for line in recipe] == ["$(BIN)/unihub serve"]
    serve = ["unihub", "serve", "--host", "0.0.0.0"]
    cmd = [as_argv(rest) for keyword, rest in dockerfile_instructions() if keyword == "CMD"]
    assert cmd == [serve]
    services = compose()["services"]
    assert as_argv(services["unihub"]["command"]) == [*serve, "--no-migrate"]
    needs = services["unihub"]["depends_on"]
    assert needs["migrate"]["condition"] == "service_completed_successfully"
    assert services["unihub"]["environment"] == services["migrate"]["environment"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_dockerfile_runs_unprivileged_and_checks_readiness() -> None:
    instructions = dockerfile_instructions()
    keywords = [k for k, _ in instructions]
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [rest for k, rest in instructions if k == "USER"]
    assert users and users[-1] not in ("root", "0")
    # The last USER comes before the command, so it is the one the process runs as.
    assert keywords.index("USER") < keywords.index("CMD")
    assert ("EXPOSE", "8080") in instructions
    assert any(k == "VOLUME" for k in keywords)
    (check,) = [rest for k, rest in instructions if k == "HEALTHCHECK"]
    assert "/readyz" in check and "urllib" in check
    installs = [rest for k, rest in instructions if k == "RUN" and "pip install" in rest]
    assert installs and all("[dev]" not in rest for rest in installs)


def test_compose_services_have_healthchecks_and_volumes() -> None:
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name], name
        assert services[name]["volumes"], name


def healthcheck_argv() -> list[str]:
    (check,) = [rest for k, rest in dockerfile_instructions() if k == "HEALTHCHECK"]
    return as_argv(check.split(" CMD ", 1)[1])


def test_the_migration_and_the_healthcheck_work_against_a_served_process(tmp_path: Path) -> None:
    """The compose file's migration, then the image's HEALTHCHECK against `unihub serve`."""
    from tests.middleware.served import cli, free_port, serve, server_env

    env = server_env(tmp_path / "data")
    (migrate,) = [as_argv(s["command"]) for n, s in compose()["services"].items() if n == "migrate"]
    cli(env, *migrate[1:])
    assert (tmp_path / "data" / "unihub.db").exists()

    check = healthcheck_argv()
    assert check[0] == "python"

    def healthy(port: int) -> bool:
        run = subprocess.run(
            [sys.executable, *check[1:]],
            env={**env, "UNIHUB_PORT": str(port)},
            capture_output=True,
            timeout=30,
        )
        return run.returncode == 0

    served = serve(env)
    try:
        assert healthy(served.port)
    finally:
        served.stop()
    assert not healthy(free_port())
