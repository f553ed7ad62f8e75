#!/usr/bin/env python3
"""Essentia reference beats for the real tracks.

Usage: essentia_beats.py [TRACKS_DIR] [OUT_DIR]
  TRACKS_DIR defaults to /work/real-data/tracks (subfolders asc, chromium-bsu, nexuiz)
  OUT_DIR    defaults to /tmp/realref/essentia

For each audio file TRACKS_DIR/<group>/<stem>.<ext> writes
  OUT_DIR/<group>-<stem>.beats          one beat time (s) per line
  OUT_DIR/<group>-<stem>.bpm-essentia   the bpm
using RhythmExtractor2013(method="multifeature") on MonoLoader(sampleRate=44100).
"""
import os
import sys

import essentia
import essentia.standard as es

AUDIO_EXT = (".mp3", ".wav", ".ogg", ".flac")


def track_name(path, root):
    rel = os.path.relpath(path, root)
    group = os.path.dirname(rel).replace(os.sep, "-")
    stem = os.path.splitext(os.path.basename(rel))[0]
    return f"{group}-{stem}" if group else stem


def list_tracks(root):
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.lower().endswith(AUDIO_EXT):
                out.append(os.path.join(d, f))
    return sorted(out)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/work/real-data/tracks"
    outdir = sys.argv[2] if len(sys.argv) > 2 else "/tmp/realref/essentia"
    os.makedirs(outdir, exist_ok=True)
    essentia.log.infoActive = False
    essentia.log.warningActive = False
    rx = es.RhythmExtractor2013(method="multifeature")
    for path in list_tracks(root):
        name = track_name(path, root)
        audio = es.MonoLoader(filename=path, sampleRate=44100)()
        bpm, beats, conf, _, _ = rx(audio)
        with open(os.path.join(outdir, name + ".beats"), "w") as f:
            for t in beats:
                f.write(f"{float(t):.6f}\n")
        with open(os.path.join(outdir, name + ".bpm-essentia"), "w") as f:
            f.write(f"{float(bpm):.4f}\n")
        print(f"{name}\t{len(audio)/44100:.1f}s\tbpm={bpm:.2f}\tbeats={len(beats)}\tconf={conf:.2f}",
              flush=True)


if __name__ == "__main__":
    main()
