"""Lazy re-exports for the stage packages: ``forecast.planning.compute_policies`` works, but
importing ``forecast.planning`` loads nothing until a name is used (so ``forecast --help`` and
``import forecast.ingest.contract`` stay quick, and no stage package pulls in a later one)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose submodule ``module`` (relative to
    the package) defines the public names ``exports[module]``."""
    home = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> object:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(home)

    return __getattr__, __dir__
