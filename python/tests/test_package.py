"""The package as a user meets it: the README example runs, the stubs cover the API,
help() teaches."""

import ast
import os
import re
import subprocess
import sys

import eigentechno as et
from conftest import ROOT


def readme_python_example():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs():
    done = subprocess.run([sys.executable, "-c", readme_python_example()], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "bpm" in done.stdout and "oddest bar" in done.stdout


def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", et.__version__)


def test_the_build_names_the_source_it_was_built_from():
    """The source hash in resume fingerprints is FNV-1a 64 over src/ (each relative path,
    then its bytes, each followed by 0xff, in path order): recomputed here, it must equal
    what the installed build embeds, or reruns could resume from another build's files."""
    h = 0xCBF29CE484222325
    files = sorted(
        (os.path.relpath(os.path.join(d, f), ROOT).replace(os.sep, "/"), os.path.join(d, f))
        for d, _, names in os.walk(ROOT / "src")
        for f in names
    )
    for rel, path in files:
        for chunk in (rel.encode(), open(path, "rb").read()):
            for b in chunk + b"\xff":
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    assert et._native.__source_hash__ == f"{h:016x}"


def test_stubs_cover_the_public_api():
    package = os.path.dirname(et.__file__)
    stub = ast.parse(open(os.path.join(package, "__init__.pyi")).read())
    defined = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in stub.body:
        if isinstance(node, ast.ImportFrom):
            defined |= {a.asname or a.name for a in node.names}
        if isinstance(node, ast.AnnAssign):
            defined.add(node.target.id)
    missing = set(et.__all__) - defined
    assert not missing, missing
    assert os.path.exists(os.path.join(package, "py.typed"))


def test_every_public_function_documents_itself_with_an_example():
    for name in et.__all__:
        obj = getattr(et, name)
        if callable(obj) and not isinstance(obj, type) or name == "PCA":
            doc = obj.__doc__ or ""
            assert ">>>" in doc, f"{name} has no example in its docstring"


def test_errors_are_python_exceptions():
    assert issubclass(et.FileError, OSError) and issubclass(et.FileError, et.Error)
    assert issubclass(et.InvalidInputError, ValueError) and issubclass(et.NoRhythmError, ValueError)


def test_dir_shows_the_api_and_not_the_helpers():
    # A newcomer's dir(eigentechno) is the API: no numpy, os, json, typing names.
    shown = {n for n in dir(et) if not n.startswith("__")}
    assert shown == set(et.__all__) - {"__version__"}, shown ^ (set(et.__all__) - {"__version__"})
    for name in ("np", "os", "json", "warnings", "Dict", "List", "Any"):
        assert name not in dir(et), name
    for name in et.__all__:
        assert hasattr(et, name), name
    star = {}
    exec("from eigentechno import *", star)
    assert set(star) - {"__builtins__"} == set(et.__all__)


def test_pca_says_which_method_auto_chose():
    import json

    import numpy as np

    X = np.random.default_rng(0).normal(size=(200, 30)).astype(np.float32)
    pca = et.PCA(5).fit(X)
    assert pca.method_ in ("exact", "randomized")
    assert pca.method_reason_
    assert et.PCA(5, method="randomized").fit(X).method_ == "randomized"
    assert et.PCA(5, method="exact").fit(X).method_ == "exact"


def test_saved_spectra_are_float64_and_attributes_follow_the_input(tmp_path):
    # The one place this is decided: the folder keeps float64 spectra, the attributes
    # follow scikit-learn's dtype rule (see PCA's docstring).
    import numpy as np

    X = np.random.default_rng(1).normal(size=(100, 12)).astype(np.float32)
    pca = et.PCA(4).fit(X)
    assert pca.explained_variance_.dtype == np.float32
    pca.save(tmp_path / "m")
    assert np.load(tmp_path / "m" / "explained_variance.npy").dtype == np.float64
    np.testing.assert_allclose(np.load(tmp_path / "m" / "explained_variance.npy"), pca.explained_variance_, rtol=1e-6)
    back = et.PCA.load(tmp_path / "m")
    assert back.method_ == pca.method_
    assert "dtype" in et.PCA.__doc__ and "float64" in et.PCA.__doc__
