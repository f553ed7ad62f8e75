"""``python -m eigentechno.distributed run PIPELINE.toml --scheduler tcp://HOST:8786``

Runs a pipeline file's ingest (its ``folder``, ``resample``, ``stretch`` and ``bars``
stages' settings) sharded on a Dask cluster and its PCA distributed, then the stages
after the PCA on this machine, reading the bars from the shards: listening WAVs,
figures, the outlier ranking and the explorer page.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List

from .. import Error, InvalidInputError, _native, explore, listen
from . import ingest, pca


def _load_toml(path: str) -> Dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise InvalidInputError("reading pipeline files needs Python 3.11+, or `pip install tomli`") from None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        from .._errors import FileError

        raise FileError(f"{path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidInputError(f"{path}: {e}") from None


def _value(text: str) -> Any:
    """A --set value: TOML when it parses as one, else the text itself."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _stage(config: Dict[str, Any], type_name: str) -> Dict[str, Any]:
    for name, stage in config.get("stages", {}).items():
        if stage.get("type") == type_name:
            return {"name": name, **stage}
    return {}


def plan(pipeline: str, overrides: List[str], out: str | None) -> Dict[str, Any]:
    """What to run: the folder, ingest options, PCA settings and the output folder."""
    config = _load_toml(pipeline)
    for o in overrides:
        key, sep, text = o.partition("=")
        stage, dot, param = key.partition(".")
        if not sep or not dot or stage not in config.get("stages", {}):
            raise InvalidInputError(f"--set {o}: expected STAGE.KEY=VALUE with a stage of {pipeline}")
        config["stages"][stage][param] = _value(text)
    base = os.path.dirname(os.path.abspath(pipeline))
    folder = _stage(config, "folder")
    if not folder.get("path"):
        raise InvalidInputError(f"{pipeline}: no `folder` stage with a path")
    rate = _stage(config, "resample").get("rate", 8820)
    stretch = _stage(config, "stretch")
    options = {
        "rate": rate,
        "bpm": stretch.get("target_bpm", 128),
        "stretch": stretch.get("method", "pitch"),
        "max_bars_per_track": _stage(config, "bars").get("max_bars", 0),
    }
    p = _stage(config, "pca")
    if out is None:
        out = os.path.join(base, config.get("pipeline", {}).get("out", "out"))
    return {
        "folder": os.path.join(base, os.path.expanduser(folder["path"])),
        "options": options,
        "k": int(p.get("k", 0)),
        "method": "exact" if p.get("method") == "exact" else "randomized",
        "seed": int(p.get("seed", 0)),
        "listen": bool(_stage(config, "listen")),
        "figures": bool(_stage(config, "figures")),
        "outliers": bool(_stage(config, "outliers")),
        "explore": bool(_stage(config, "explore")),
        "out": os.path.abspath(out),
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eigentechno.distributed")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a pipeline's ingest sharded and its PCA distributed")
    run.add_argument("pipeline")
    run.add_argument("--scheduler", required=True, help="the Dask scheduler, e.g. tcp://HOST:8786")
    run.add_argument("--set", action="append", default=[], metavar="STAGE.KEY=VALUE")
    run.add_argument("--out")
    run.add_argument("--shard-tracks", type=int, default=64)
    args = parser.parse_args(argv)
    try:
        todo = plan(args.pipeline, args.set, args.out)
        from distributed import Client

        with Client(args.scheduler) as client:
            summary = ingest(todo["folder"], todo["out"], client=client, shard_tracks=args.shard_tracks,
                             **todo["options"])
            failed = [t for t in summary["tracks"] if t.get("status") == "failed"]
            print(f"{summary['rows']} bars from {len(summary['tracks'])} tracks in {summary['shards']} shards "
                  f"({summary['shards_run']} run, {len(failed)} tracks failed)")
            for t in failed:
                print(f"  failed: {t['path']}: {t.get('error')}", file=sys.stderr)
            k = todo["k"] or min(400, summary["rows"] - 1)
            model_dir = os.path.join(todo["out"], "pca")
            model = pca(todo["out"], model_dir, client=client, n_components=k, method=todo["method"],
                        random_state=todo["seed"])
            print(f"pca: {model.n_components_} components in {model_dir}")
        if todo["listen"]:
            print(f"listen: {len(listen(model_dir, os.path.join(todo['out'], 'listen')))} files")
        if todo["figures"]:
            print(f"figures: {len(_native.figures(model_dir, os.path.join(todo['out'], 'figures')))} files")
        if todo["outliers"]:
            print(f"outliers: {len(_native.outliers(model_dir, os.path.join(todo['out'], 'outliers')))} files")
        if todo["explore"]:
            print(f"explorer: {explore(todo['out'])}")
        with open(os.path.join(todo["out"], "summary.json")) as f:
            json.load(f)
        return 0
    except Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, InvalidInputError) else 1


if __name__ == "__main__":
    sys.exit(main())
