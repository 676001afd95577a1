"""The settings file: every setting with its default (config init), the effective values and
their sources (config show), one-line errors, command line over file over defaults, and the
flows and `forecast serve` reading the same file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from forecast.cli import app
from forecast.config import (
    COMMAND_LINE,
    DEFAULT_SOURCE,
    RunSettings,
    SettingsError,
    load_settings,
    settings_file_text,
    write_settings_file,
)


def test_init_writes_every_setting_as_an_active_line_with_a_comment(tmp_path) -> None:
    path = write_settings_file(tmp_path)
    assert path == tmp_path / "forecast.toml"
    lines = path.read_text().splitlines()
    keys = [k for k in RunSettings.model_fields if k != "config_file"]
    for key in keys:
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = "))
        assert lines[index - 1].startswith("# "), key
    assert set(tomllib.loads(path.read_text())) == set(keys)
    # read back, the file gives exactly the defaults
    loaded = load_settings(path)
    defaults = RunSettings()
    for key in keys:
        assert getattr(loaded.settings, key) == getattr(defaults, key), key
        assert loaded.sources[key] == str(path)
    with pytest.raises(SettingsError, match="already exists"):
        write_settings_file(tmp_path)


def test_choices_are_listed_in_the_comment() -> None:
    text = settings_file_text()
    assert "(one of: sQ, sS, RS)\npolicy = \"sQ\"" in text
    assert "(one of: fifo, priority, fair, retention)" in text


def test_command_line_over_file_over_defaults(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "forecast.toml").write_text(
        'service_levels = { A = 0.99, B = 0.95, C = 0.9 }\npolicy = "sS"\nhorizon = 14\n'
        'out_dir = "../out"\nmodels = []\n')
    loaded = load_settings(None, data, {"horizon": 7, "seed": None})
    s = loaded.settings
    assert s.service_levels["A"] == 0.99 and s.policy == "sS" and s.horizon == 7
    assert s.out_dir == (tmp_path / "out").resolve()  # relative to the file's folder
    assert s.models is None and s.config_file == (data / "forecast.toml").resolve()
    assert loaded.sources["policy"] == str(data / "forecast.toml")
    assert loaded.sources["horizon"] == COMMAND_LINE
    assert loaded.sources["seed"] == DEFAULT_SOURCE


@pytest.mark.parametrize("text, message", [
    ("servce_kind = 'cycle'\n", "unknown key 'servce_kind' (did you mean service_kind?)"),
    ("service_kind = 'cyc'\n", "service_kind = 'cyc' is not allowed: Input should be 'cycle' or 'fill_rate'"),
    ("service_levels = { A = 1.2, B = 0.95, C = 0.9 }\n", "service_levels = {'A': 1.2, 'B': 0.95, 'C': 0.9} is not allowed: service level for class A must be in (0, 1), got 1.2"),
    ("horizon = 0\n", "horizon = 0 is not allowed: Input should be greater than or equal to 1"),
    ("nightly_at = '25:00'\n", "nightly_at = '25:00' is not allowed"),
    ("service_levels = { A = 0.9 }\n", "missing B, C"),
])
def test_a_bad_key_or_value_fails_with_one_line(tmp_path, text, message) -> None:
    path = tmp_path / "forecast.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith(str(path))


def test_config_show_names_the_file_as_the_source(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["config", "init"]).exit_code == 0
    text = Path("forecast.toml").read_text().replace('policy = "sQ"', 'policy = "sS"')
    Path("forecast.toml").write_text(text)
    shown = runner.invoke(app, ["config", "show", "--format", "csv"], env={"COLUMNS": "100"})
    assert shown.exit_code == 0
    row = next(line for line in shown.output.splitlines() if line.startswith("policy,"))
    assert row == f'policy,"""sS""",{Path("forecast.toml").resolve()}' or row.endswith("forecast.toml")
    table = runner.invoke(app, ["config", "show"], env={"COLUMNS": "100"})
    assert all(len(line) <= 100 for line in table.output.splitlines())
    Path("forecast.toml").write_text("policy = 'xyz'\n")
    bad = runner.invoke(app, ["config", "show"])
    assert bad.exit_code == 1 and "policy = 'xyz' is not allowed" in bad.output


def test_a_run_stores_its_settings_and_file(demo_dir, tmp_path) -> None:
    """`forecast run --config FILE --set ...`: the file's class-A level and policy reach
    policies.csv, and `forecast runs --id` shows the settings and the file."""
    import json

    import pandas as pd

    config = tmp_path / "forecast.toml"
    config.write_text(settings_file_text(base=tmp_path)
                      .replace("A = 0.98", "A = 0.97").replace('policy = "sQ"', 'policy = "sS"'))
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--config", str(config), "--data", str(demo_dir), "--out", str(out),
                                 "--set", "n_paths=50", "--models", "ets,tsb"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    policies = pd.read_csv(out / "exports" / "policies.csv")
    assert set(policies["policy"]) == {"sS"}
    a = policies[(policies["abc_class"] == "A") & (policies["service_source"] == "class")]
    assert len(a) and (a["service_level"] == 0.97).all()
    runs = json.loads(runner.invoke(app, ["runs", "--out", str(out), "--format", "json"]).output)
    details = json.loads(runner.invoke(app, ["runs", "--out", str(out), "--id", runs[0]["run_id"],
                                             "--format", "json"]).output)
    used = {r["key"]: r["value"] for r in details["settings"]}
    assert used["policy"] == "sS" and used["n_paths"] == 50 and used["config_file"] == str(config.resolve())
    assert json.loads(used["service_levels"])["A"] == 0.97
    assert runner.invoke(app, ["run", "--config", str(config), "--set", "policy=sideways"]).exit_code == 1


def test_serve_deployments_take_the_settings_file(tmp_path) -> None:
    from pipelines.serve import deployments

    config = tmp_path / "forecast.toml"
    config.write_text('horizon = 14\n')
    nightly, weekly = deployments(tmp_path, tmp_path / "out", config_file=config, parameters={"horizon": 7})
    assert nightly.parameters == {"config_file": str(config.resolve()), "horizon": 7}
    assert weekly.parameters["config_file"] == str(config.resolve())
