"""Shared set-up: the repository, the CLI binary (built by `cargo test --release`
before pytest runs; built here if missing), and small helpers."""

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
CORPUS = FIXTURES / "corpus"
AUDIO_EXT = {".wav", ".flac", ".mp3", ".ogg"}


def corpus_tracks():
    return sorted(p for p in CORPUS.iterdir() if p.suffix in AUDIO_EXT)


@pytest.fixture(scope="session")
def cli():
    exe = Path(os.environ.get("EIGENTECHNO_BIN", ROOT / "target" / "release" / "eigentechno"))
    if not exe.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "eigentechno"], cwd=ROOT, check=True)
    def run(*args, cwd=ROOT):
        done = subprocess.run([str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True)
        assert done.returncode == 0, f"eigentechno {' '.join(map(str, args))} failed:\n{done.stderr}"
        return done.stdout
    return run


@pytest.fixture(scope="session")
def cli_ingest(cli, tmp_path_factory):
    """`eigentechno ingest fixtures/corpus` once, for the comparisons."""
    out = tmp_path_factory.mktemp("cli_ingest")
    cli("ingest", "fixtures/corpus", "--out", out, "--quiet")
    return out / "matrix"


def read_json(path):
    with open(path) as f:
        return json.load(f)
