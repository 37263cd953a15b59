"""Settings read a `.env` file in the working directory; the environment wins over it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unihub.core.config import ENV_FILE_VARIABLE, Settings

SRC = str(Path(__file__).resolve().parents[2] / "src")
READ = "from unihub.core.config import Settings; s = Settings(); print(s.port, s.log_level)"


def run(cwd: Path, **env: str) -> str:
    """A fresh process, started in `cwd`, prints the port and log level it was configured with."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")}
    out = subprocess.run(
        [sys.executable, "-c", READ],
        cwd=cwd,
        env={**base, "PYTHONPATH": SRC, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip()


def test_a_process_reads_the_env_file_beside_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# a comment\nUNIHUB_PORT=9123\nUNIHUB_LOG_LEVEL=DEBUG\n")
    assert run(tmp_path) == "9123 DEBUG"
    # The environment wins over the file, setting by setting.
    assert run(tmp_path, UNIHUB_PORT="9124") == "9124 DEBUG"
    # Elsewhere, no file: the defaults.
    (tmp_path / "elsewhere").mkdir()
    assert run(tmp_path / "elsewhere") == "8080 INFO"


def test_env_file_variable_names_another_file_or_none(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("UNIHUB_PORT=9123\n")
    other = tmp_path / "unihub.env"
    other.write_text("UNIHUB_PORT=9125\n")
    assert run(tmp_path, **{ENV_FILE_VARIABLE: str(other)}) == "9125 INFO"
    assert run(tmp_path, **{ENV_FILE_VARIABLE: ""}) == "8080 INFO"


def test_in_process_with_chdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_FILE_VARIABLE, raising=False)
    monkeypatch.delenv("UNIHUB_RATE_LIMIT", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("UNIHUB_RATE_LIMIT=off\nUNIHUB_NOT_A_SETTING=1\n")
    assert Settings().rate_limit == "off"
    monkeypatch.setenv("UNIHUB_RATE_LIMIT", "5/second")
    assert Settings().rate_limit == "5/second"
    # Arguments win over both.
    assert Settings(rate_limit="7/second").rate_limit == "7/second"


def test_the_suite_reads_no_stray_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """conftest.py sets UNIHUB_ENV_FILE empty, so a `.env` where the tests run changes nothing."""
    assert os.environ[ENV_FILE_VARIABLE] == ""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("UNIHUB_PORT=9123\n")
    assert Settings().port == 8080
