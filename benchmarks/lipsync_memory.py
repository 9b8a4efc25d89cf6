#!/usr/bin/env python
"""Peak memory of `talkhead lip-sync` against the video's resolution and length.

    python benchmarks/lipsync_memory.py [--sizes 512 1080 2160] [--seconds 10 60] [--batch-size 16]

For each size and length: a synthetic talking video (the astronaut's face, a sixth of the frame's width, drifting;
16:9 for 1080 and 2160, square for 512), dubbed with the example speech looped to the video's length by
`talkhead lip-sync` with the shipped defaults, each in a fresh process. Peak resident memory is that process's
``ru_maxrss`` (models, decoders, the mouth pool, the batch of frames being rendered and the encoder together).
Writes benchmarks/results/lipsync_memory.json and the RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import machine, update_results_section, write_json

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "examples" / "assets" / "speech.wav"
FRAME_SIZES = {512: (512, 512), 1080: (1920, 1080), 2160: (3840, 2160)}
RUNNER = """
import resource, sys, time
from talkhead.cli import main
start = time.perf_counter()
status = main(sys.argv[1:])
print("MEASURED", status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - start)
"""


def synthetic_video(path: Path, width: int, height: int, seconds: float) -> None:
    """The astronaut's face drifting on a grey frame, H.264 ultrafast: fast to make."""
    import av
    import cv2
    from skimage import data

    face = data.astronaut()[20:300, 120:380]
    scale = max(width, height) / 800  # the face about a sixth of the longer side (the tracker needs an eighth)
    face = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"preset": "ultrafast", "crf": "23"}
    for index in range(int(round(seconds * 25))):
        frame = np.full((height, width, 3), 96, np.uint8)
        y = (height - face.shape[0]) // 2 + int(round(height * 0.01 * np.sin(index / 6)))
        x = (width - face.shape[1]) // 2 + int(round(width * 0.01 * np.cos(index / 7)))
        frame[y : y + face.shape[0], x : x + face.shape[1]] = face
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def looped_speech(path: Path, seconds: float) -> Path:
    import soundfile

    from talkhead.io.audio import SAMPLE_RATE, load_audio

    speech = load_audio(SPEECH)
    soundfile.write(str(path), np.resize(speech, int(seconds * SAMPLE_RATE)), SAMPLE_RATE)
    return path


def measure(video: Path, speech: Path, output: Path, batch_size: int) -> dict:
    command = [
        sys.executable,
        "-c",
        RUNNER,
        "lip-sync",
        "--video",
        str(video),
        "--audio",
        str(speech),
        "-o",
        str(output),
        "--audio-longer",
        "loop",
        "--batch-size",
        str(batch_size),
        "--quiet",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    line = next((line for line in done.stdout.splitlines() if line.startswith("MEASURED")), None)
    if line is None or line.split()[1] != "0":
        raise SystemExit(f"lip-sync failed on {video}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    _, _, peak, wall = line.split()
    return {"peak_rss_mib": round(float(peak)), "wall_seconds": round(float(wall), 1)}


def markdown(report: dict) -> str:
    lengths = sorted({row["seconds"] for row in report["rows"]})
    lines = [
        "### Lip-sync peak memory against resolution and length",
        "",
        f"`python benchmarks/lipsync_memory.py` ({report['machine']['date']}, {report['machine']['cores']} cores, "
        f"batch size {report['batch_size']}): a synthetic talking video dubbed with the example speech looped to "
        "its length, `talkhead lip-sync` defaults, a fresh process each; peak resident memory (MiB) and wall "
        "time.",
        "",
        "| video | " + " | ".join(f"{s:g} s" for s in lengths) + " |",
        "|---|" + "---|" * len(lengths),
    ]
    for size in sorted({row["size"] for row in report["rows"]}):
        cells = []
        for seconds in lengths:
            row = next((r for r in report["rows"] if r["size"] == size and r["seconds"] == seconds), None)
            cells.append(f"{row['peak_rss_mib']} MiB ({row['wall_seconds']:.0f} s)" if row else "-")
        width, height = FRAME_SIZES[size]
        lines.append(f"| {width}x{height} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1080, 2160], choices=sorted(FRAME_SIZES))
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-results", action="store_true", help="print only; leave RESULTS.md and the JSON alone")
    args = parser.parse_args()
    report = {"benchmark": "lipsync_memory", "machine": machine(), "batch_size": args.batch_size, "rows": []}
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            for seconds in args.seconds:
                video = Path(scratch) / f"{size}_{seconds:g}.mp4"
                started = time.perf_counter()
                synthetic_video(video, *FRAME_SIZES[size], seconds)
                made = time.perf_counter() - started
                speech = looped_speech(Path(scratch) / "speech.wav", seconds)
                row = {
                    "size": size,
                    "seconds": seconds,
                    **measure(video, speech, Path(scratch) / "out.mp4", args.batch_size),
                }
                report["rows"].append(row)
                print(json.dumps(row), f"(input made in {made:.0f} s)", flush=True)
                video.unlink()
    print(markdown(report))
    if not args.no_results:
        write_json("lipsync_memory", report)
        update_results_section("lipsync_memory", markdown(report))


if __name__ == "__main__":
    main()
