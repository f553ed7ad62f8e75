"""librosa's load + beat_track over a folder, for `eigentechno bench ingest`'s ratio.

    python benches/tempo_librosa.py /tmp/corpus
prints tracks, seconds of audio, wall seconds (excluding numba's first-call compile,
done on the first file beforehand) and the realtime factor.
"""
import os
import sys
import time

import librosa


def main():
    root = sys.argv[1]
    files = sorted(
        os.path.join(d, f)
        for d, _, fs in os.walk(root)
        for f in fs
        if f.lower().endswith((".wav", ".flac", ".mp3", ".ogg"))
    )
    y, sr = librosa.load(files[0], sr=22050, mono=True, duration=5.0)
    librosa.beat.beat_track(y=y, sr=sr)  # warm-up: numba compiles here
    audio = 0.0
    t0 = time.perf_counter()
    for f in files:
        y, sr = librosa.load(f, sr=22050, mono=True)
        librosa.beat.beat_track(y=y, sr=sr)
        audio += len(y) / sr
    wall = time.perf_counter() - t0
    print(f"{len(files)} tracks, {audio:.1f} s of audio, librosa load+beat_track in {wall:.2f} s: {audio / wall:.0f}x realtime")


if __name__ == "__main__":
    main()
