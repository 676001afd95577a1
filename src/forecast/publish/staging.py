"""Published files in generations: a run's exports, report and snapshot are written to a folder
of their own and swapped in with one rename, together with the warehouse's published pointer.

Layout of an output folder::

    OUT/.generations/<run_id>/{exports,snapshot,reports}   one folder per published run
    OUT/current -> .generations/<run_id>                    the pointer (a symlink, replaced by rename)
    OUT/exports, OUT/snapshot, OUT/reports -> current/...   fixed links: the documented paths

A run stages into ``.generations/<run_id>.partial`` (:func:`stage`), completes it (files that
only earlier runs write, such as ``backtest_*.csv`` and older reports, are carried forward as hard
links) by renaming it to ``.generations/<run_id>`` just before the warehouse commits the
published pointer, and then swaps ``current`` (:func:`swap`). A reader therefore sees the whole
previous generation or the whole new one, never a half-written file. A run killed before the
commit leaves a folder no pointer names, removed by the next run; one killed between the commit
and the swap is swapped in by the next run (:func:`recover`). The generations of the last
published runs the warehouse keeps are kept; older ones are removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

GENERATIONS = ".generations"
CURRENT = "current"
#: The published folders, each a fixed link ``OUT/<name> -> current/<name>``.
PUBLISHED_DIRS = ("exports", "snapshot", "reports")
PARTIAL = ".partial"


def stage(out_dir: Path, run_id: str) -> Path:
    """A new, empty staging folder for ``run_id`` (with ``exports/``, ``snapshot/``, ``reports/``)."""
    staging = Path(out_dir) / GENERATIONS / f"{run_id}{PARTIAL}"
    shutil.rmtree(staging, ignore_errors=True)
    for name in PUBLISHED_DIRS:
        (staging / name).mkdir(parents=True)
    return staging


def complete(out_dir: Path, staging: Path) -> Path:
    """Carry forward the current generation's files this run did not write (hard links, else
    copies), then mark the staging folder complete by renaming it; returns the generation."""
    out_dir = Path(out_dir)
    for name in ("exports", "reports"):
        source = out_dir / name
        if not source.is_dir():
            continue
        for file in source.iterdir():
            target = staging / name / file.name
            if file.is_file() and not target.exists():
                try:
                    os.link(file, target)
                except OSError:
                    shutil.copy2(file, target)
    final = staging.with_name(staging.name.removesuffix(PARTIAL))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    return final


def current_run(out_dir: Path) -> str | None:
    """The run whose generation ``OUT/current`` points at, if any."""
    link = Path(out_dir) / CURRENT
    return Path(os.readlink(link)).name if link.is_symlink() else None


def swap(out_dir: Path, run_id: str, keep: list[str] | None = None) -> None:
    """Point ``OUT/current`` at ``run_id``'s generation in one rename, make sure the fixed links
    exist, and remove generations not in ``keep`` (the runs the warehouse keeps)."""
    out_dir = Path(out_dir)
    target = Path(GENERATIONS) / run_id
    if not (out_dir / target).is_dir():
        raise FileNotFoundError(f"{out_dir / target}: no complete generation to publish")
    tmp = out_dir / f".{CURRENT}.{run_id}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, out_dir / CURRENT)
    for name in PUBLISHED_DIRS:
        _link_published_dir(out_dir, name)
    if keep is not None:
        prune(out_dir, {*keep, run_id})


def _link_published_dir(out_dir: Path, name: str) -> None:
    """``OUT/<name> -> current/<name>``; a real folder of an older layout is replaced (its files
    were carried into the generation by :func:`complete`)."""
    path = out_dir / name
    if path.is_symlink():
        return
    if path.exists():
        old = out_dir / GENERATIONS / f"{name}.old-layout"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
        shutil.rmtree(old, ignore_errors=True)
    tmp = out_dir / f".{name}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path(CURRENT) / name)
    os.replace(tmp, path)


def prune(out_dir: Path, keep: set[str]) -> None:
    """Remove generations (and leftover staging folders) of runs not in ``keep``."""
    root = Path(out_dir) / GENERATIONS
    if not root.is_dir():
        return
    current = current_run(out_dir)
    for folder in root.iterdir():
        if folder.name not in keep and folder.name != current:
            shutil.rmtree(folder, ignore_errors=True)


def recover(out_dir: Path, published_run: str | None, keep: list[str]) -> str | None:
    """At the start of a run: swap in the generation of a run the warehouse published but whose
    swap was cut short (it was killed in between), and remove what killed runs staged. Returns
    the run swapped in, if any."""
    out_dir = Path(out_dir)
    swapped = None
    if published_run is not None and current_run(out_dir) != published_run \
            and (out_dir / GENERATIONS / published_run).is_dir():
        swap(out_dir, published_run)
        swapped = published_run
    prune(out_dir, set(keep))
    return swapped
