import pytest

from dataprep.core.config import default_params_yaml, load_config
from dataprep.core.errors import UserError


def _refused(tmp_path, text: str, match: str) -> None:
    """params.yaml holding `text` is one UserError matching `match` (the key it names)."""
    p = tmp_path / "params.yaml"
    p.write_text(text)
    with pytest.raises(UserError, match=match):
        load_config(p)


def test_defaults_template_is_valid(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text(default_params_yaml())
    cfg = load_config(p)
    assert cfg.select.batch_size == 50 and cfg.acquire.test_fraction == 0.3


def test_unknown_key_is_named(tmp_path):
    _refused(tmp_path, "select:\n  batch_sise: 10\n", r"select\.batch_sise: Extra inputs are not permitted")


def test_bad_value_is_named(tmp_path):
    _refused(tmp_path, "select:\n  batch_size: many\n", r"select\.batch_size: .*'many'")


def test_override_wins(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("select:\n  batch_size: 5\n")
    assert load_config(p, {"select.batch_size": 7}).select.batch_size == 7
    assert load_config(p, {"select.batch_size": None}).select.batch_size == 5


@pytest.mark.parametrize("key", ["project.seed", "select.random_state", "simulate.seed", "augment.seed"])
@pytest.mark.parametrize("value", [-5, 2**32])
def test_a_seed_numpy_cannot_take_is_named(tmp_path, key, value):
    """numpy takes seeds 0 .. 2**32 - 1; -5 used to pass here and crash triage ("unexpected ValueError")."""
    p = tmp_path / "params.yaml"
    section, name = key.split(".")
    p.write_text(f"{section}:\n  {name}: {value}\n")
    with pytest.raises(UserError, match=rf"{key}: Input should be"):
        load_config(p)


@pytest.mark.parametrize("model,params,key", [("logistic", {"C": -1}, "'C'"),
                                              ("random_forest", {"n_estimators": 0}, "'n_estimators'"),
                                              ("sklearn.ensemble.ExtraTreesClassifier", {"max_depth": -2}, "'max_depth'")])
def test_a_model_parameter_scikit_learn_refuses_is_named_before_any_fit(model, params, key):
    """`select.model_params: {C: -1}` used to reach select's first fit: "unexpected InvalidParameterError"."""
    from dataprep.core.models import make_model

    with pytest.raises(UserError, match=rf"select\.model_params: The {key} parameter"):
        make_model(model, params)
    assert hasattr(make_model(model, {}), "predict_proba")


def test_two_simulated_annotators_of_one_name_are_named(tmp_path):
    """They used to pass and answer as one account (one identity, two behaviours)."""
    _refused(tmp_path, "simulate:\n  annotators:\n  - {name: a, profile: good}\n  - {name: a, profile: spammer}\n", r"simulate\.annotators: 2 annotators are named 'a'; give each its own name$")


def test_auto_labels_asked_of_a_detection_project_are_named(tmp_path):
    """Validate makes machine labels for classification only: on detection the setting did nothing."""
    _refused(tmp_path, "project:\n  task: detection\nlabel:\n  auto_accept: {max_error: 0.05}\n", r"label\.auto_accept: machine labels .* for classification")
