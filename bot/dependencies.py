"""Whether the installed libraries are the versions Wenda is made for (pyproject.toml's bounds).

Several bounds guard internals, not public APIs (see the comments in pyproject.toml): outside them
Wenda would fail somewhere deep with an obscure error. `unsupported()` reads the bounds from the
installed package's own metadata, so they are written once, in pyproject.toml.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, requires, version


def unsupported(package: str = "wenda") -> list[str]:
    """One line for each required library that is missing or outside its bounds; empty when all is well."""
    from packaging.requirements import Requirement

    try:
        wanted = requires(package) or []
    except PackageNotFoundError:  # running from a source tree that was never installed
        return []
    problems = []
    for line in wanted:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra's (tests, bench), or not for this platform
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            problems.append(f"{requirement.name} is not installed (Wenda needs {requirement.name}{requirement.specifier})")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            problems.append(f"{requirement.name} {installed} is installed, but Wenda needs {requirement.name}{requirement.specifier}")
    return problems
