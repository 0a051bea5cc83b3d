"""Saving and loading models: manifest, sha256 before unpickling, schema checks, the shipped default."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import fraudscore
from fraudscore.model import (
    FraudModel,
    ModelIntegrityError,
    SchemaMismatchError,
    default_model_dir,
    load_model,
    train_default,
)
from fraudscore.schema import schema_hash

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "models" / "default"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    sim = fraudscore.simulate(800, fraud_rate=0.25, seed=21, output="arrow")
    model = FraudModel(surveys=[sim.survey], max_iter=15, n_threads=1, random_state=0).fit(
        sim.data, sim.labels["is_fraud"].to_numpy())
    directory = tmp_path_factory.mktemp("model")
    model.save(directory, metrics={"note": {"x": 1.0}}, extra={"command": "test"})
    return model, directory


def copy_of(directory, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(directory, target)
    return target


def test_save_writes_model_manifest_and_card(saved):
    model, directory = saved
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["schema_hash"] == schema_hash()
    assert manifest["feature_names"] == [str(n) for n in model.feature_names_]
    assert set(manifest["versions"]) >= {"fraudscore", "scikit-learn", "numpy", "scipy"}
    assert manifest["thresholds"]["review"] == pytest.approx(model.thresholds_["review"])
    assert manifest["training"]["rows_read"] == 800 and manifest["metrics"]["note"] == {"x": 1.0}
    assert manifest["model_version"].endswith(manifest["model_sha256"][:12])
    card = (directory / "MODEL_CARD.md").read_text()
    for section in ("Intended use", "Training data", "Thresholds", "Metrics", "Limits", "Privacy"):
        assert f"## {section}" in card


def test_round_trip_gives_the_same_scores(saved):
    model, directory = saved
    loaded = load_model(directory)
    rows = fraudscore.simulate(80, seed=22).records
    np.testing.assert_array_equal(loaded.score(rows), model.score(rows))
    assert loaded.model_version_ == json.loads((directory / "manifest.json").read_text())["model_version"]


def test_a_tampered_model_file_is_refused(saved, tmp_path):
    directory = copy_of(saved[1], tmp_path)
    data = bytearray((directory / "model.joblib").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (directory / "model.joblib").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256 .* differs .* not unpickled"):
        load_model(directory)


def test_a_truncated_model_file_is_refused(saved, tmp_path):
    directory = copy_of(saved[1], tmp_path)
    data = (directory / "model.joblib").read_bytes()
    (directory / "model.joblib").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelIntegrityError, match="altered or truncated"):
        load_model(directory)


class _Payload:
    """A pickle that would create a marker file when unpickled."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_a_malicious_pickle_is_never_executed(saved, tmp_path):
    directory = copy_of(saved[1], tmp_path)
    marker = tmp_path / "pwned"
    (directory / "model.joblib").write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(ModelIntegrityError):
        load_model(directory)
    assert not marker.exists()
    # Sanity check of the payload itself: unpickling it does create the marker.
    pickle.loads((directory / "model.joblib").read_bytes())
    assert marker.exists()


def test_missing_or_unreadable_manifest_is_refused(saved, tmp_path):
    directory = copy_of(saved[1], tmp_path)
    (directory / "manifest.json").write_text("{not json")
    with pytest.raises(ModelIntegrityError, match="unreadable manifest"):
        load_model(directory)
    (directory / "manifest.json").unlink()
    with pytest.raises(ModelIntegrityError, match="no manifest"):
        load_model(directory)
    with pytest.raises(ModelIntegrityError, match="no such model directory"):  # a typo in the path
        load_model(tmp_path / "no-such-model")


def test_a_schema_hash_mismatch_is_refused(saved, tmp_path):
    directory = copy_of(saved[1], tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["schema_hash"] = "0" * 64
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SchemaMismatchError, match="retrain"):
        load_model(directory)


def test_train_default_writes_a_loadable_model(tmp_path):
    # A tiny run of the shipped-model command (the real one trains on tens of thousands of rows).
    summary = train_default(600, seed=5, output=tmp_path / "m", fraud_rate=0.3, max_iter=10, n_threads=1)
    assert "trained on 600" in summary
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["simulation"]["seed"] == 5 and "fraudscore train --simulate 600" in manifest["command"]
    assert load_model(tmp_path / "m").score(fraudscore.simulate(20, seed=6).records).shape == (20,)


# ---------------------------------------------------------------------------- the shipped model
def test_default_model_dir_is_the_checkout_models_folder_here():
    assert default_model_dir() in (SHIPPED, Path(fraudscore.__file__).parent / "_models" / "default")


def test_shipped_manifest_matches_this_codes_schema_hash():
    manifest = json.loads((SHIPPED / "manifest.json").read_text())
    assert manifest["schema_hash"] == schema_hash(), (
        "the input schema changed since models/default was trained: retrain it with the command in "
        "models/default/MODEL_CARD.md")


def test_shipped_model_is_small_and_scores_examples():
    assert (SHIPPED / "model.joblib").stat().st_size < 5_000_000
    model = load_model()
    sim = fraudscore.simulate(400, fraud_rate=0.25, seed=31)
    p = model.score(sim.records)
    y = sim.labels["is_fraud"].to_numpy()
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert p[y].mean() > p[~y].mean() + 0.3
    assert set(model.decide(p)) <= {"accept", "review", "reject"}


def test_default_model_dir_prefers_the_copy_inside_an_installed_package(tmp_path, monkeypatch):
    # An installed wheel holds models/ as fraudscore/_models/ (pyproject force-include).
    package = tmp_path / "fraudscore"
    (package / "_models" / "default").mkdir(parents=True)
    (package / "_models" / "default" / "manifest.json").write_text("{}")
    monkeypatch.setattr("importlib.resources.files", lambda name: package)
    assert default_model_dir() == package / "_models" / "default"


@pytest.mark.slow
def test_the_wheel_ships_the_default_model(tmp_path):
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True)
    (wheel,) = tmp_path.glob("fraudscore-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("model.joblib", "manifest.json", "MODEL_CARD.md"):
        assert f"fraudscore/_models/default/{name}" in names
    # Installed (not editable) and imported from there, load_model() finds the shipped copy.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True)
    code = ("import fraudscore, fraudscore.model as m; assert fraudscore.__file__.startswith(%r); "
            "print(m.default_model_dir()); m.load_model()" % str(target))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(target)}).stdout
    assert out.strip() == str(target / "fraudscore" / "_models" / "default")
