"""``python -m eigentechno.distributed run PIPELINE.toml --scheduler tcp://HOST:8786``

Runs a pipeline file's ingest (its ``folder``, ``resample``, ``stretch`` and ``bars``
stages' settings) sharded on a Dask cluster and its ``pca`` stage distributed, then
every other stage of the file as ``eigentechno run`` runs it, on this machine, with the
bar matrix (read from the shards through ``manifest.json``) and the model supplied:
listening WAVs, figures, outliers, samples, select-k, band energies, bar features, the
heatmaps and the explorer page. The output folder has the layout of a one-machine run
(``OUT/<stage name>/``), plus the shards; ``OUT/summary.json`` is the run's, with the
tracks and ingest stages of the sharded ingest.

Exit codes are the CLI's: 0 all done, 1 a stage failed, 2 a bad file or option (nothing
done), 3 done but some tracks failed (listed on stderr and in ``summary.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, List

from .. import Error, InvalidInputError, _native
from . import MANIFEST, ingest, pca, write_meta


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
    matrix = _stage(config, "matrix")
    if not p or not matrix:
        raise InvalidInputError(f"{pipeline}: the distributed front needs a `matrix` and a `pca` stage")
    if p.get("equalize"):
        raise InvalidInputError(f"{pipeline}: [stages.{p['name']}] equalize = true is not supported by the "
                                "distributed PCA; set it to false")
    if out is None:
        out = os.path.join(base, config.get("pipeline", {}).get("out", "out"))
    return {
        "folder": os.path.join(base, os.path.expanduser(folder["path"])),
        "options": options,
        "k": int(p.get("k", 0)),
        "method": "exact" if p.get("method") == "exact" else "randomized",
        "seed": int(p.get("seed", 0)),
        # One machine's power_iterations is a ceiling under the adaptive stop; with
        # tolerance = 0 it is the count run (the distributed PCA's power_iterations).
        "power_iterations": int(p.get("power_iterations", 12)) if float(p.get("tolerance", 1e-5)) == 0 else None,
        "matrix_stage": matrix["name"],
        "pca_stage": p["name"],
        "out": os.path.abspath(out),
    }


def _merge_summaries(run: Dict[str, Any], ingest_summary: Dict[str, Any]) -> Dict[str, Any]:
    """The run's summary, with the sharded ingest's tracks and its stages' files, times
    and errors (the run skipped those stages: their work was done on the cluster)."""
    done = {st["name"]: st for st in ingest_summary.get("stages", [])}
    for st in run["stages"]:
        if st["name"] in done:
            st.update({key: done[st["name"]][key] for key in ("files", "seconds", "error")})
    run["tracks"] = ingest_summary.get("tracks", []) + run.get("tracks", [])
    run["distributed"] = {key: ingest_summary[key] for key in ("shards", "shards_run", "rows")}
    return run


def _write_summary(out: str, report: Dict[str, Any]) -> None:
    tmp = os.path.join(out, f".summary.json.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, os.path.join(out, "summary.json"))


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
            failed = [t for t in summary["tracks"] if t.get("status") in ("failed", "timed out")]
            print(f"{summary['rows']} bars from {len(summary['tracks'])} tracks in {summary['shards']} shards "
                  f"({summary['shards_run']} run, {len(failed)} tracks failed)")
            for t in failed:
                print(f"  failed: {t['path']}: {t.get('error')}", file=sys.stderr)
            k = todo["k"] or min(400, summary["rows"] - 1)
            model_dir = os.path.join(todo["out"], todo["pca_stage"])
            model = pca(todo["out"], model_dir, client=client, n_components=k, method=todo["method"],
                        random_state=todo["seed"], power_iterations=todo["power_iterations"])
            print(f"pca: {model.n_components_} components in {model_dir}")
        # Every other stage as one machine runs it, with the matrix and model supplied.
        bars_csv = write_meta(todo["out"], os.path.join(todo["out"], todo["matrix_stage"], "bars.csv"))
        supplied = [
            (todo["matrix_stage"], json.dumps({"kind": "matrix", "npy": os.path.join(todo["out"], MANIFEST),
                                                "csv": bars_csv, "rate": todo["options"]["rate"]})),
            (todo["pca_stage"], json.dumps({"kind": "model", "dir": model_dir})),
        ]
        text, _ = _native.run(os.path.abspath(args.pipeline), todo["out"], args.set, sys.stderr.isatty(), 0,
                              supplied)
        report = _merge_summaries(json.loads(text), summary)
        _write_summary(todo["out"], report)
        failed_stages = [st for st in report["stages"] if st.get("error")]
        for st in report["stages"]:
            if st["name"] not in (todo["matrix_stage"], todo["pca_stage"]) and st.get("files") and not st.get("error"):
                print(f"{st['name']}: {len(st['files'])} files")
        for st in failed_stages:
            print(f"error: stage '{st['name']}': {st['error']}", file=sys.stderr)
        return 1 if failed_stages or not summary["rows"] else 3 if failed else 0
    except Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, InvalidInputError) else 1


if __name__ == "__main__":
    sys.exit(main())
