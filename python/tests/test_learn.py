"""eigentechno.SKMClassifier and eigentechno.learn_fit (issue #27): a scikit-learn
estimator that passes scikit-learn's own checks, knows when a row is unlike its training
data, survives pickling, and a file front equal to the CLI's."""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_blobs
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import check_estimator

import eigentechno as et

from conftest import FIXTURES


def test_skm_classifier_passes_scikit_learns_estimator_checks():
    # Every check, none skipped or expected to fail (the docstring would list them).
    failed = check_estimator(et.SKMClassifier(), on_fail=None)
    bad = [r for r in failed if r["status"] == "failed"]
    assert not bad, "\n".join(f"{r['check_name']}: {r['exception']}" for r in bad)
    assert any(r["status"] == "passed" for r in failed)


def test_iris_cross_validation_reaches_an_rbf_svm():
    # A grid-searched RBF SVM reaches 0.95-0.97 on iris (benches/learn_small_data.py);
    # the SKM with defaults, no search and no scaler, must come close.
    X, y = load_iris(return_X_y=True)
    s = cross_val_score(et.SKMClassifier(), X, y, cv=5)
    assert s.mean() >= 0.93, s


def test_confidence_falls_far_from_the_training_data():
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=0.6, random_state=0)
    m = et.SKMClassifier(random_state=1).fit(X, y)
    assert m.score(X, y) > 0.97
    near = m.confidence(X)
    far = m.confidence(X + 40.0)
    assert np.median(near) > 0.8, np.median(near)
    # Far away every kernel is zero: the one-vs-rest probabilities fall to their biases'.
    assert far.max() < 0.25, far.max()
    assert m.support_points_.shape == (30, 32)
    p = m.predict_proba(X)
    assert p.shape == (300, 3) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    # decision_function's argmax is the prediction; its columns are the SKM scores.
    d = m.decision_function(X)
    assert d.shape == (300, 3)
    assert (m.classes_[d.argmax(1)] == m.predict(X)).all()
    assert m.embedding(X).shape == (300, 32)


def test_string_labels_pickling_and_clone_keep_the_model():
    X, y = make_blobs(n_samples=120, centers=2, random_state=3)
    names = np.array(["kick", "snare"])[y]
    m = et.SKMClassifier(epochs=30).fit(X, names)
    assert list(m.classes_) == ["kick", "snare"]
    back = pickle.loads(pickle.dumps(m))
    assert (back.predict(X) == m.predict(X)).all()
    np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
    # Binary: one decision column, positive for the second class.
    d = m.decision_function(X)
    assert d.shape == (120,)
    assert ((d > 0) == (m.predict(X) == "snare")).all()
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "classes_")


def test_bad_options_and_data_say_what_is_wrong():
    X, y = make_blobs(n_samples=40, centers=2, random_state=0)
    with pytest.raises(ValueError, match="n_support"):
        et.SKMClassifier(n_support=1).fit(X, y)
    with pytest.raises(ValueError, match="head"):
        et.SKMClassifier(head="knn").fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        et.SKMClassifier().fit(X, y + 0.5)
    m = et.SKMClassifier(epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :1])


def test_learn_fit_from_python_writes_the_clis_files(tmp_path, cli):
    data = FIXTURES / "learn" / "fashion-1000"
    rec = et.learn_fit(data, tmp_path / "py", epochs=1, batch=64, seed=3)
    assert rec["train_rows"] == 1000 and rec["test_rows"] == 500
    assert len(rec["epochs"]) == 1
    for f in ["model.safetensors", "learn.json", "training.png", "embedding.png"]:
        assert (tmp_path / "py" / f).is_file(), f
    cli("learn", "fit", data, "--out", tmp_path / "cli", "--epochs", "1", "--batch", "64", "--seed", "3", "-q")
    # The same seed gives the same model: the same test accuracy and weights.
    a = json.loads((tmp_path / "cli" / "learn.json").read_text())
    assert a["epochs"][0]["test_accuracy"] == rec["epochs"][0]["test_accuracy"]
    # (The safetensors header's key order varies; the predictions must not.)
    for d in ["cli", "py"]:
        cli("learn", "predict", tmp_path / d, data, "--out", tmp_path / f"{d}.csv")
    assert (tmp_path / "cli.csv").read_text() == (tmp_path / "py.csv").read_text()
    with pytest.raises(et.InvalidInputError, match="augment"):
        et.learn_fit(data, tmp_path / "bad", augment="rotate")
    # dropout reaches the fit (learn.json records it) and is checked there.
    assert rec["options"]["dropout"] == 0.25
    none = et.learn_fit(data, tmp_path / "nodrop", epochs=1, batch=64, seed=3, dropout=0.0)
    assert none["options"]["dropout"] == 0.0
    with pytest.raises(et.InvalidInputError, match="dropout"):
        et.learn_fit(data, tmp_path / "bad", dropout=0.99)


def test_learn_fit_with_diffusion_and_learn_cv_match_the_cli(tmp_path, cli):
    blobs = FIXTURES / "learn" / "blobs"
    x, y = blobs / "x_train.npy", blobs / "y_train.npy"
    small = dict(labels=y, net="mlp", hidden=16, embed=6, epochs=6, batch=32, learning_rate=0.01, threads=2)
    rec = et.learn_fit(x, tmp_path / "py", diffusion=3, coupling=0.25, exchange=3, **small)
    assert rec["diffusion"] == {"replicas": 3, "coupling": 0.25, "exchange": 3, "topology": "ring"}
    assert [r["name"] for r in rec["replicas"]] == ["replica_00", "replica_01", "replica_02"]
    assert sorted(i for r in rec["replicas"] for i in r["shard"]) == list(range(270))
    assert 0.0 < rec["estimate_error"] < 0.2 and 0.5 < rec["estimate"] <= 1.0
    cli(
        "learn", "fit", x, "--labels", y, "--out", tmp_path / "cli", "--net", "mlp", "--hidden", "16",
        "--embed", "6", "--epochs", "6", "--batch", "32", "--learning-rate", "0.01", "--threads", "2",
        "--diffusion", "3", "--coupling", "0.25", "--exchange", "3", "-q",
    )
    other = json.loads((tmp_path / "cli" / "diffusion.json").read_text())
    # The same seed and options: the same exchanges and the same estimate.
    assert other["exchanges"] == rec["exchanges"]
    assert other["estimate"] == rec["estimate"]
    with pytest.raises(et.InvalidInputError, match="coupling"):
        et.learn_fit(x, tmp_path / "bad", diffusion=3, coupling=2.0, **small)
    with pytest.raises(et.InvalidInputError, match="topology"):
        et.learn_fit(x, tmp_path / "bad", diffusion=3, topology="star", **small)
    assert not (tmp_path / "bad").exists()

    cv = et.learn_cv(x, tmp_path / "cv", folds=3, **small)
    assert [f["name"] for f in cv["folds"]] == ["fold_00", "fold_01", "fold_02"]
    pooled = sum(f["validation_accuracy"] * f["validation_rows"] for f in cv["folds"]) / 300
    assert cv["estimate"] == pytest.approx(pooled, abs=1e-12)
    with pytest.raises(et.InvalidInputError, match="--folds"):
        et.learn_cv(x, tmp_path / "bad", folds=1, **small)
