#!/usr/bin/env python3
"""Mixes of real tracks joined by hard cuts on downbeats, with beat truth, for judging
beat tracking (`eigentechno eval-tempo`) on real music and on real-music mixes.

Usage:
    python3 benches/real_mixes.py BINARY TRACKS_DIR REFERENCE_DIR OUT_DIR
        [--mixes 5] [--seed 1] [--rate 44100] [--min-part 40] [--max-part 90]
        [--bpm-tolerance 0.02] [--min-beat-f 0.9]
    eigentechno eval-tempo OUT_DIR

BINARY         an eigentechno binary; `BINARY tempo --json` of each track alone gives its
               bpm, beats and downbeats (run at nice 10).
TRACKS_DIR     the real tracks, as <group>/<stem>.<ext> (anything soundfile reads:
               wav, ogg, flac, mp3 with libsndfile >= 1.1). A track is named
               <group>-<stem> (e.g. nexuiz-stairs).
REFERENCE_DIR  a second tracker's beats for each track: <name>.beats (one time in
               seconds per line) and <name>.bpm-essentia (one number). They were made
               with essentia (pip install essentia) as
                   audio = essentia.standard.MonoLoader(filename=path, sampleRate=44100)()
                   bpm, beats, *_ = essentia.standard.RhythmExtractor2013(
                       method="multifeature")(audio)
OUT_DIR        written: for each mix <mix>.wav (mono, 16-bit, --rate Hz), <mix>.beats
               (truth: `time beat-in-bar` per line, 1 = downbeat) and <mix>.parts.json;
               plus selection.json (every track's bpms, beat F and whether it qualified).

Which tracks: those whose tempo both trackers agree on: our bpm within --bpm-tolerance
(2 %) of essentia's and our beats against essentia's with a beat F >= --min-beat-f (0.9;
F of a one-to-one match within +-70 ms, as eval-tempo computes it).

Each mix: 3 or 4 of those tracks (random.Random(seed): the tracks used least so far,
ties broken at random, in a random order; no two mixes with the same tracks in the same
order where it can be helped), each part 40-90 s long. A part
runs from one of its track's downbeats to a later downbeat (downbeats from tempo --json
of the track alone); the next part starts on one of ITS downbeats right there: a hard cut,
no fade, so the cut lands on a downbeat of both parts.

Truth (<mix>.beats): for each part, the track's own beats (tempo --json of the track
alone) from its start downbeat up to, not including, its end downbeat, kept only where
an essentia beat lies within 70 ms (where both trackers agree), shifted to mix time.
Beat-in-bar counts from our downbeats (1 on each downbeat, 2, 3, ... after it), over all
of the track's beats, so a dropped beat does not shift the others' positions. The
count dropped per part is in <mix>.parts.json (beats_dropped) and printed. eval-tempo
takes the truth tempo of a .beats file as 60 / (median interval), so a mix's truth bpm
is a mixture of its parts' tempi.

Audio: read with soundfile, averaged to mono, resampled to --rate with a windowed-sinc
interpolator where a track's rate differs (times in seconds are unchanged), clipped to
[-1, 1]. Needs numpy and soundfile.
"""
import argparse
import bisect
import json
import math
import os
import random
import subprocess
import sys

import numpy as np
import soundfile as sf

AUDIO_EXT = (".mp3", ".wav", ".ogg", ".flac")
WINDOW = 0.07  # seconds, as eval-tempo's F_WINDOW
EPS = 1e-6


def list_tracks(root):
    """(name, path) of every audio file under root, sorted; name = <group>-<stem>."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.lower().endswith(AUDIO_EXT):
                p = os.path.join(d, f)
                rel = os.path.relpath(p, root)
                group = os.path.dirname(rel).replace(os.sep, "-")
                stem = os.path.splitext(os.path.basename(rel))[0]
                out.append((f"{group}-{stem}" if group else stem, p))
    return sorted(out)


def f_measure(est, ref, window=WINDOW):
    """F of est against ref, matched one-to-one within window (greedy over sorted times)."""
    est, ref = sorted(est), sorted(ref)
    if not est and not ref:
        return 1.0
    if not est or not ref:
        return 0.0
    i = j = hits = 0
    while i < len(est) and j < len(ref):
        d = est[i] - ref[j]
        if abs(d) <= window:
            hits, i, j = hits + 1, i + 1, j + 1
        elif d < 0:
            i += 1
        else:
            j += 1
    p, r = hits / len(est), hits / len(ref)
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def near(t, ref_sorted, window=WINDOW):
    k = bisect.bisect_left(ref_sorted, t)
    return any(0 <= m < len(ref_sorted) and abs(ref_sorted[m] - t) <= window
               for m in (k - 1, k))


def read_times(path):
    with open(path) as f:
        return sorted(float(line.split()[0]) for line in f if line.strip())


def tempo_json(binary, paths):
    p = subprocess.run(["nice", "-n", "10", binary, "tempo", "--json", *paths],
                       capture_output=True, text=True)
    try:
        reports = json.loads(p.stdout)
    except json.JSONDecodeError:
        sys.exit(f"{binary} tempo --json gave no JSON (exit {p.returncode}): "
                 f"{p.stderr[-2000:]}")
    return {r["file"]: r for r in reports}


def beat_positions(beats, downbeats, tol=0.001):
    """Beat-in-bar of each beat: 1 on a downbeat (within tol), then 2, 3, ...; 0 before
    the first downbeat."""
    downs = sorted(downbeats)
    pos, k = [], 0
    for b in beats:
        if near(b, downs, tol):
            k = 1
        elif k > 0:
            k += 1
        pos.append(k)
    return pos


def resample(x, rate_in, rate_out, half_taps=16, chunk=1 << 16):
    """Windowed-sinc (Kaiser) resampling of mono x; output sample n at n / rate_out s."""
    if rate_in == rate_out:
        return x
    step = rate_in / rate_out
    cutoff = min(1.0, rate_out / rate_in) * 0.97
    n_out = int(math.floor(len(x) / step))
    xp = np.concatenate([np.zeros(half_taps, x.dtype), x, np.zeros(half_taps + 1, x.dtype)])
    offs = np.arange(-half_taps + 1, half_taps + 1)
    beta = 8.0
    out = np.empty(n_out, np.float32)
    for s in range(0, n_out, chunk):
        t = np.arange(s, min(s + chunk, n_out)) * step
        base = np.floor(t).astype(np.int64)
        k = base[:, None] + offs[None, :]
        d = t[:, None] - k
        w = cutoff * np.sinc(cutoff * d) * np.i0(
            beta * np.sqrt(np.clip(1 - (d / (half_taps + 1)) ** 2, 0, 1))) / np.i0(beta)
        out[s:s + len(t)] = (xp[k + half_taps] * w).sum(axis=1)
    return out


def load_mono(path, rate):
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return resample(x, sr, rate)


def choose_span(downs, rng, lo, hi):
    """(i, j): downbeat indices with lo <= downs[j] - downs[i] <= hi, length near a drawn
    target; None if the track has no such span."""
    target = rng.uniform(lo, hi)
    starts = []
    for i, d in enumerate(downs):
        js = [j for j in range(i + 1, len(downs)) if lo <= downs[j] - d <= hi]
        if js:
            starts.append((i, js))
    if not starts:
        return None
    i, js = starts[rng.randrange(len(starts))]
    j = min(js, key=lambda j: abs(downs[j] - downs[i] - target))
    return i, j


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("tracks_dir")
    ap.add_argument("reference_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--mixes", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=int, default=44100)
    ap.add_argument("--min-part", type=float, default=40.0)
    ap.add_argument("--max-part", type=float, default=90.0)
    ap.add_argument("--bpm-tolerance", type=float, default=0.02)
    ap.add_argument("--min-beat-f", type=float, default=0.9)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)

    tracks = list_tracks(a.tracks_dir)
    if not tracks:
        sys.exit(f"no audio under {a.tracks_dir}")
    reports = tempo_json(a.binary, [p for _, p in tracks])

    info, qualified = {}, []
    for name, path in tracks:
        r = reports.get(path, {"error": "missing from tempo --json"})
        ref_beats = read_times(os.path.join(a.reference_dir, name + ".beats"))
        with open(os.path.join(a.reference_dir, name + ".bpm-essentia")) as f:
            ref_bpm = float(f.read().split()[0])
        row = {"track": name, "file": path, "essentia_bpm": ref_bpm}
        if "error" in r:
            row.update(error=r["error"], qualified=False)
        else:
            bf = f_measure(r["beats"], ref_beats)
            ok = abs(r["bpm"] / ref_bpm - 1) <= a.bpm_tolerance and bf >= a.min_beat_f
            row.update(bpm=r["bpm"], beat_f=round(bf, 4), qualified=ok)
            if ok:
                qualified.append(name)
                info[name] = dict(path=path, bpm=r["bpm"], beats=r["beats"],
                                  downbeats=sorted(r["downbeats"]), ref=ref_beats,
                                  ref_bpm=ref_bpm)
        info.setdefault("_rows", []).append(row)
        print(f"{name:28s} ours {row.get('bpm', float('nan')):7.2f}  essentia {ref_bpm:7.2f}"
              f"  beat F {row.get('beat_f', float('nan')):.3f}"
              f"  {'QUALIFIES' if row['qualified'] else '-'}")
    rows = info.pop("_rows")
    with open(os.path.join(a.out_dir, "selection.json"), "w") as f:
        json.dump({"binary": os.path.realpath(a.binary), "bpm_tolerance": a.bpm_tolerance,
                   "min_beat_f": a.min_beat_f, "tracks": rows}, f, indent=1)

    # Only tracks long enough for one part.
    usable = [n for n in qualified
              if choose_span(info[n]["downbeats"], random.Random(0), a.min_part, a.max_part)]
    if len(usable) < 2:
        sys.exit(f"only {len(usable)} usable track(s) ({usable}); need 2 or more")
    print(f"usable for mixes: {', '.join(usable)}")

    rng = random.Random(a.seed)
    audio_cache = {}
    seen = set()
    uses = {n: 0 for n in usable}
    for m in range(a.mixes):
        # The least used tracks so far (ties broken at random), in a random order.
        for _ in range(100):
            k = min(len(usable), rng.choice((3, 4)))
            ranked = sorted(usable, key=lambda n: (uses[n], rng.random()))
            order = tuple(rng.sample(ranked[:k], k))
            if order not in seen:
                break
        seen.add(order)
        for n in order:
            uses[n] += 1
        mix_name = f"realmix-{m + 1:02d}"
        pieces, parts, lines = [], [], []
        mix_pos = 0  # samples
        for name in order:
            t = info[name]
            downs = t["downbeats"]
            i, j = choose_span(downs, rng, a.min_part, a.max_part)
            s0, s1 = downs[i], downs[j]
            if name not in audio_cache:
                audio_cache[name] = load_mono(t["path"], a.rate)
            x = audio_cache[name]
            n0, n1 = int(round(s0 * a.rate)), int(round(s1 * a.rate))
            n1 = min(n1, len(x))
            seg = x[n0:n1]
            mix_start = mix_pos / a.rate
            shift = mix_start - n0 / a.rate  # source time -> mix time
            pos = beat_positions(t["beats"], downs)
            end = min(s1, len(x) / a.rate)
            inside = [(b, p) for b, p in zip(t["beats"], pos) if s0 - EPS <= b < end - EPS]
            kept = [(b, p) for b, p in inside if near(b, t["ref"])]
            for b, p in kept:
                lines.append(f"{max(0.0, b + shift):.6f} {p}")
            pieces.append(seg)
            mix_pos += len(seg)
            parts.append({
                "track": name, "file": t["path"],
                "source_start": round(n0 / a.rate, 6), "source_end": round(n1 / a.rate, 6),
                "mix_start": round(mix_start, 6), "mix_end": round(mix_pos / a.rate, 6),
                "bpm": t["bpm"], "essentia_bpm": t["ref_bpm"],
                "beats_in_span": len(inside), "beats_kept": len(kept),
                "beats_dropped": len(inside) - len(kept),
            })
        mix = np.clip(np.concatenate(pieces), -1.0, 1.0)
        sf.write(os.path.join(a.out_dir, mix_name + ".wav"), mix, a.rate, subtype="PCM_16")
        with open(os.path.join(a.out_dir, mix_name + ".beats"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(a.out_dir, mix_name + ".parts.json"), "w") as f:
            json.dump({"mix": mix_name, "rate": a.rate, "seconds": round(mix_pos / a.rate, 6),
                       "seed": a.seed, "parts": parts}, f, indent=1)
        dropped = sum(p["beats_dropped"] for p in parts)
        total = sum(p["beats_in_span"] for p in parts)
        print(f"{mix_name}: {mix_pos / a.rate:.1f} s, {len(lines)} truth beats "
              f"({dropped} of {total} dropped where essentia disagrees)")
        for p in parts:
            print(f"   {p['track']:28s} src {p['source_start']:8.3f}-{p['source_end']:8.3f}"
                  f"  mix {p['mix_start']:7.3f}-{p['mix_end']:7.3f}  {p['bpm']:.2f} bpm"
                  f"  dropped {p['beats_dropped']}/{p['beats_in_span']}")


if __name__ == "__main__":
    main()
