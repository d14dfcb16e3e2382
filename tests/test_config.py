import pytest

from dataprep.core.config import default_params_yaml, load_config
from dataprep.core.errors import UserError


def test_defaults_template_is_valid(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text(default_params_yaml())
    cfg = load_config(p)
    assert cfg.select.batch_size == 50 and cfg.acquire.test_fraction == 0.3


def test_unknown_key_is_named(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("select:\n  batch_sise: 10\n")
    with pytest.raises(UserError, match=r"select\.batch_sise: Extra inputs are not permitted"):
        load_config(p)


def test_bad_value_is_named(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("select:\n  batch_size: many\n")
    with pytest.raises(UserError, match=r"select\.batch_size: .*'many'"):
        load_config(p)


def test_override_wins(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("select:\n  batch_size: 5\n")
    assert load_config(p, {"select.batch_size": 7}).select.batch_size == 7
    assert load_config(p, {"select.batch_size": None}).select.batch_size == 5
