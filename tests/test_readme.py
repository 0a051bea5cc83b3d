"""The README's promises: exactly two set-up commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re


def _commands(readme: str) -> list[str]:
    setup = readme.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", setup, flags=re.S)


def test_readme_has_exactly_two_setup_commands(repo_root):
    commands = _commands((repo_root / "README.md").read_text(encoding="utf-8"))
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "pip install ." in commands[0] and "fraudscore " in commands[0]
    assert 'pip install -e ".[dev]"' in commands[1] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim(repo_root):
    test_command = _commands((repo_root / "README.md").read_text(encoding="utf-8"))[1]
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    lines = [ln for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[-1] == test_command
