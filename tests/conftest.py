"""Shared fixtures: a small demo data set, and Prefect isolated in a temporary home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Prefect reads its settings at import: isolate it before any test imports it.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("MPLBACKEND", "Agg")

#: A quick candidate set for tests that exercise the pipeline rather than forecast accuracy.
FAST_MODELS = ("seasonal_naive", "ets", "tsb")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small deterministic demo data folder (12 SKUs x 2 locations, 400 days)."""
    from forecast.demo import generate_demo

    folder = tmp_path_factory.mktemp("demo")
    generate_demo(folder, seed=7, n_skus=12, days=400)
    return folder


@pytest.fixture(scope="session")
def demo_run(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """One full pipeline run on the small demo; returns (settings, summary)."""
    from forecast.config import RunSettings
    from forecast.pipeline import run_pipeline

    settings = RunSettings(data_dir=demo_dir, out_dir=tmp_path_factory.mktemp("out"), n_paths=100)
    return settings, run_pipeline(settings)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture()
def webhook():
    """A local HTTP endpoint for alert webhooks: (its URL, the JSON bodies POSTed to it)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    posts: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the http.server API
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", posts
    finally:
        server.shutdown()
        server.server_close()


def shared_folder(name: str) -> Path:
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    return folder
