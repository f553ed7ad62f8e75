"""eigentechno.PCA against scikit-learn's PCA, and its model folder against the CLI's."""

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

import eigentechno as et
from conftest import FIXTURES


def low_rank(n=400, d=60, rank=12, noise=0.05, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    scales = np.linspace(10.0, 1.0, rank)
    X = (rng.normal(size=(n, rank)) * scales) @ rng.normal(size=(rank, d))
    X += noise * rng.normal(size=(n, d)) + rng.normal(size=d) * 3.0
    return X.astype(dtype)


def assert_same_components(a, b, tol=1e-8):
    cos = np.abs(np.sum(a * b, axis=1)) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert np.all(cos > 1 - tol), cos.min()


@pytest.mark.parametrize("method", ["exact", "randomized", "auto"])
def test_matches_sklearn_on_low_rank_float64(method):
    X = low_rank()
    k = 10
    ours = et.PCA(k, method=method).fit(X)
    ref = SkPCA(k, svd_solver="full").fit(X)
    tol = 1e-8
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-6)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-6)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-12, atol=1e-12)
    assert ours.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-6)
    assert_same_components(ours.components_, ref.components_, tol)
    assert (ours.n_components_, ours.n_samples_, ours.n_features_in_) == (k, 400, 60)
    # Signs differ between implementations: align before comparing projections.
    signs = np.sign(np.sum(ours.components_ * ref.components_, axis=1))
    Z, Zr = ours.transform(X), ref.transform(X) * signs
    scale = np.abs(Zr).max()
    np.testing.assert_allclose(Z, Zr, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(
        ours.inverse_transform(Z), ref.inverse_transform(ref.transform(X)), rtol=1e-6, atol=1e-6 * np.abs(X).max()
    )
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-6)
    assert ours.score(X) == pytest.approx(ref.score(X), rel=1e-6)
    np.testing.assert_allclose(ours.get_covariance(), ref.get_covariance(), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.fit_transform(X), Z, rtol=1e-9, atol=1e-9 * scale)


def test_more_rows_than_features_and_fewer():
    for n, d in [(30, 80), (200, 20)]:
        X = low_rank(n=n, d=d, rank=8)
        ours, ref = et.PCA(5).fit(X), SkPCA(5, svd_solver="full").fit(X)
        np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-6)
        assert ours.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-6)
        np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-6)


def test_float32_keeps_float32_where_sklearn_does():
    X = low_rank(dtype=np.float32)
    ours, ref = et.PCA(6).fit(X), SkPCA(6, svd_solver="full").fit(X)
    for name in ["components_", "explained_variance_", "explained_variance_ratio_", "singular_values_", "mean_"]:
        assert getattr(ours, name).dtype == getattr(ref, name).dtype == np.float32, name
    assert type(ours.noise_variance_) is type(ref.noise_variance_)
    assert ours.transform(X).dtype == ref.transform(X).dtype == np.float32
    assert ours.inverse_transform(ours.transform(X)).dtype == np.float32
    assert ours.score_samples(X).dtype == ref.score_samples(X).dtype
    assert ours.transform(X.astype(np.float64)).dtype == np.float64
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-4)


def test_fraction_and_none():
    X = low_rank()
    ours, ref = et.PCA(0.9).fit(X), SkPCA(0.9, svd_solver="full").fit(X)
    assert ours.n_components_ == ref.n_components_
    assert et.PCA().fit(X).n_components_ == 60


def test_sklearn_protocol():
    from sklearn.base import clone

    pca = et.PCA(4, method="randomized", random_state=3)
    assert pca.get_params()["random_state"] == 3
    copy = clone(pca)
    assert copy.get_params() == pca.get_params()
    assert pca.set_params(n_components=5).n_components == 5
    with pytest.raises(ValueError):
        pca.set_params(whiten=True)


def test_save_load_round_trip_and_the_cli_reads_it(tmp_path, cli):
    X = low_rank()
    pca = et.PCA(6).fit(X)
    pca.save(tmp_path / "model")
    back = et.PCA.load(tmp_path / "model")
    for name in ["components_", "explained_variance_", "mean_", "singular_values_"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(pca, name))
    assert back.noise_variance_ == pca.noise_variance_
    np.save(tmp_path / "X.npy", X)
    cli("ppca", "score", "--model", tmp_path / "model", "-k", 5, tmp_path / "X.npy", "--out", tmp_path / "ll.npy")
    assert np.load(tmp_path / "ll.npy").shape[0] == X.shape[0]


def test_loads_the_folder_eigentechno_pca_writes(tmp_path, cli):
    cli("pca", FIXTURES / "pca" / "X.npy", "--out", tmp_path / "pca", "-k", 8, "--method", "exact", "--model-only")
    loaded = et.PCA.load(tmp_path / "pca")
    X = np.load(FIXTURES / "pca" / "X.npy")
    fitted = et.PCA(8, method="exact").fit(X)
    np.testing.assert_allclose(loaded.explained_variance_, fitted.explained_variance_, rtol=1e-5)
    assert_same_components(loaded.components_.astype(np.float64), fitted.components_.astype(np.float64), 1e-6)
    assert loaded.transform(X).shape == (X.shape[0], 8)
