"""One settings object, read once from the environment; the README's table is generated from it."""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from amint_demo.errors import InvalidConfig
from amint_demo.settings import Settings, settings_table

README = Path(__file__).resolve().parents[1] / "README.md"
ENV_FIELDS = [f for f in fields(Settings) if f.metadata.get("env")]


def test_defaults_without_any_variable():
    settings = Settings.from_env({}, gpu=False)
    assert settings == Settings()
    assert settings.train_limits().max_steps == 400


def test_gpu_defaults_apply_to_training_limits_only():
    cpu, gpu = Settings.from_env({}, gpu=False), Settings.from_env({}, gpu=True)
    assert (gpu.train_max_members, gpu.train_max_steps) == (25000, 20000)
    assert (cpu.session_max_pairs, cpu.torch_threads) == (gpu.session_max_pairs, gpu.torch_threads)


@pytest.mark.parametrize("field", ENV_FIELDS, ids=lambda f: f.metadata["env"])
def test_every_variable_is_read(field, tmp_path):
    raw = {int: "7", float: "2.5"}.get(type(field.default), str(tmp_path))
    settings = Settings.from_env({field.metadata["env"]: raw}, gpu=False)
    value = getattr(settings, field.name)
    assert str(value) == raw or value == float(raw), (field.name, value)


def test_a_malformed_value_names_the_variable():
    with pytest.raises(InvalidConfig, match="AMINT_SESSION_MAX_PAIRS"):
        Settings.from_env({"AMINT_SESSION_MAX_PAIRS": "many"}, gpu=False)


def test_settings_are_frozen_once_read():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env({}, gpu=False).torch_threads = 8


def test_the_readme_table_is_the_generated_one():
    table = settings_table()
    assert table in README.read_text(), "regenerate the README's settings table: python -m amint_demo settings"
    assert len(table.splitlines()) == 2 + len(ENV_FIELDS)
