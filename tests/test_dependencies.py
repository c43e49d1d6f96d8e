"""The installed libraries are the versions pyproject.toml bounds, and a wrong one is named in one line."""

from __future__ import annotations

import importlib.metadata

import bot.dependencies
from bot.cli import main


def test_the_installed_libraries_are_within_pyprojects_bounds():
    assert bot.dependencies.unsupported() == []


def test_a_library_outside_its_bounds_is_named_with_the_bounds(monkeypatch, capsys):
    real = importlib.metadata.version

    def version(name: str) -> str:
        return "5.3.0" if name == "sentence-transformers" else real(name)

    monkeypatch.setattr(bot.dependencies, "version", version)
    assert bot.dependencies.unsupported() == ["sentence-transformers 5.3.0 is installed, but Wenda needs sentence-transformers<7,>=5.4"]
    assert main(["ask", "渝万高铁何时开工"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "sentence-transformers 5.3.0 is installed" in error and "pip install" in error
