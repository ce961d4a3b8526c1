"""The `attest` command as people use it: help, flows check/diagram, settings errors, plain console."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.console_driver import ATTEST


def attest(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ATTEST, *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_help_lists_every_subcommand() -> None:
    result = attest("--help")
    assert result.returncode == 0
    for name in ("console", "run", "sync", "keys", "flows", "review", "queue"):
        assert f"  {name} " in result.stdout


def test_flows_check_passes_on_the_shipped_flows() -> None:
    result = attest("flows", "check")
    assert result.returncode == 0
    assert "ok  survivor" in result.stdout


def test_flows_check_names_file_and_line_of_a_broken_flow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "id: broken\nversion: '1'\nmode: survivor\nstart: a\nsteps:\n"
        "  - id: a\n    kind: free-text\n    text: Hello?\n    next: nowhere\n",
        encoding="utf-8",
    )
    result = attest("flows", "check", str(broken))
    assert result.returncode == 1
    assert f"{broken}:9:" in result.stderr
    assert "nowhere" in result.stderr


def test_flows_check_names_the_step_whose_label_is_missing(tmp_path: Path) -> None:
    definitions = Path(__file__).resolve().parents[1] / "flows" / "definitions"
    source = (definitions / "survivor.yaml").read_text(encoding="utf-8")
    label = '    label: "How it affected your life"\n'
    assert source.count(label) == 1
    broken = tmp_path / "survivor.yaml"
    broken.write_text(source.replace(label, ""), encoding="utf-8")
    line = next(
        n
        for n, text in enumerate(broken.read_text("utf-8").splitlines(), 1)
        if text == "  - id: impact"
    )
    result = attest("flows", "check", str(broken))
    assert result.returncode == 1
    assert f"{broken}:{line}: step 'impact' needs a `label`" in result.stderr


def test_flows_diagram_writes_mermaid(tmp_path: Path) -> None:
    out = tmp_path / "survivor.mmd"
    assert attest("flows", "diagram", "survivor", "--out", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("stateDiagram")
    assert "consent-archive" in text
    assert attest("flows", "diagram", "nope").returncode == 1


def test_a_missing_settings_file_stops_the_console_with_a_clear_message(tmp_path: Path) -> None:
    result = attest(
        "console",
        env={"ATTEST_DATA_DIR": str(tmp_path), "ATTEST_CONFIG": str(tmp_path / "none.yaml")},
    )
    assert result.returncode == 1
    assert "settings file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_plain_console_prints_numbered_options_when_piped(tmp_path: Path) -> None:
    result = attest(
        "console", "--respondent", "plain", env={"ATTEST_DATA_DIR": str(tmp_path)}, stdin="1\n"
    )
    assert result.returncode == 0
    assert "Which language would you like to use?\n  1. English\n" in result.stdout
    assert "Are you somewhere you can write privately right now?" in result.stdout
    assert "  3. No" in result.stdout


def test_processes_on_separate_data_dirs_share_a_named_node_key(tmp_path: Path) -> None:
    shared = {"ATTEST_NODE_KEY": str(tmp_path / "shared-node.key")}
    first = attest("keys", "node", env={**shared, "ATTEST_DATA_DIR": str(tmp_path / "a")})
    second = attest("keys", "node", env={**shared, "ATTEST_DATA_DIR": str(tmp_path / "b")})
    assert first.returncode == 0 and second.returncode == 0
    assert first.stdout == second.stdout
    assert not (tmp_path / "a" / "node.key").exists()


def test_flows_check_fails_when_the_flows_differ_in_a_shared_list(tmp_path: Path) -> None:
    definitions = Path(__file__).resolve().parents[1] / "flows" / "definitions"
    for name in ("survivor", "documenter"):
        (tmp_path / f"{name}.yaml").write_text(
            (definitions / f"{name}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    documenter = tmp_path / "documenter.yaml"
    text = documenter.read_text(encoding="utf-8")
    # The documenter's "barred from work" becomes an id of its own: accounts would not add up.
    documenter.write_text(text.replace("- id: barred-work", "- id: barred-from-work"), "utf-8")
    result = attest("flows", "check", str(tmp_path / "survivor.yaml"), str(documenter))
    assert result.returncode != 0
    assert "harms: documenter and survivor differ in barred-from-work, barred-work" in result.stderr
