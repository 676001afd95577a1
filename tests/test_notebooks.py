"""Every notebook executes on the demo results (papermill injects the snapshot folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAST_MODELS

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.name for n in NOTEBOOKS])
def test_notebook_runs(notebook: Path, demo_run, tmp_path: Path) -> None:
    import papermill

    settings, _ = demo_run
    papermill.execute_notebook(
        str(notebook), str(tmp_path / notebook.name),
        parameters={"snapshot_dir": str(settings.snapshot_dir), "models": list(FAST_MODELS)},
        cwd=str(notebook.parent), kernel_name="python3", progress_bar=False,
    )
