"""The README's first lines stay true: two commands, and CI runs the second one."""

from __future__ import annotations

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("```sh")
    end = lines.index("```", start + 1)
    return lines[start + 1 : end]


def test_readme_opens_with_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith('wenda ask "渝万高铁何时开工"')
    assert commands[1].endswith("python -m pytest -q")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()


def command_rows() -> dict[str, str]:
    """The README's command table: command name -> its row."""
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `wenda "):
            rows[line.split("`")[1].split()[1]] = line
    return rows


def test_the_command_table_names_every_command_and_option_help_shows():
    import argparse

    from bot.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    rows = command_rows()
    assert set(rows) == set(commands)
    for name, parser in commands.items():
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                shown = any(f"`{option}" in rows[name] for option in action.option_strings)
                assert shown, f"README's row for {name} lacks {'/'.join(action.option_strings)}"


def test_the_bench_duration_is_stated_once():
    """How long `bench --large` takes, and its memory, live in its --help only; the README points there."""
    import argparse

    from bot.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "minutes" not in readme and "wenda bench --help" in command_rows()["bench"]
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    description = commands["bench"].description
    assert "minutes" in description and "GB" in description


def test_env_example_lists_every_setting():
    from bot.config import Settings

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    assert names == {name.upper() for name in Settings.model_fields}
