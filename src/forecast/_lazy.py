"""Lazy re-exports for the stage packages: ``forecast.planning.compute_policies`` works, but
importing ``forecast.planning`` loads nothing until a name is used (so ``forecast --help`` and
``import forecast.ingest.contract`` stay quick, and no stage package pulls in a later one)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose public ``name`` lives in the
    submodule ``exports[name]`` (relative to the package)."""

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
