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
