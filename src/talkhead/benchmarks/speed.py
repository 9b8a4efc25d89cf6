"""``talkhead benchmark speed``: frames/s, real-time factor and peak memory of the two video pipelines.

Each (task, input length) runs in a fresh process, so its peak resident memory is its own and the
model loading of one run does not warm the next. Inputs are made on the spot and need no data:
the photo is scikit-image's astronaut, the speech the project's espeak-ng clip looped to length,
and the lip-sync video the astronaut's head drifting slowly (or any ``--video`` given), at 25 fps.

Reported per run: start-up seconds (imports, numba compilation, dlib and model loading: paid once per
process, so a server or a batch job pays it once), wall time and end-to-end frames/s (pipeline call to
finished file, after start-up), seconds, frames/s and real-time factor (seconds of work per second of output) of each
stage (decode, detect, landmarks, generator, render, encode), CPU use (CPU seconds of the process, its threads
and its worker processes, such as the phone decoders, per second of wall time: 2.0 is two busy cores) and peak
resident memory. Peak memory is what tells whether a pipeline streams: it should not grow from the short to the
long input.
"""

from __future__ import annotations

import multiprocessing
import platform
import queue as queue_lib
import resource
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import soundfile

from ..errors import TalkheadInputError
from ..io.audio import SAMPLE_RATE, load_audio, resample
from ..io.video_writer import VideoWriter
from ..options import LipSyncOptions, TalkingHeadOptions
from ..pipelines.lip_sync import lip_sync
from ..pipelines.loading import load_lip_sync_models, load_talking_head_models
from ..pipelines.pipeline_utils import DEFAULT_MOUTH_MOTION
from ..pipelines.stages import STAGES
from ..pipelines.talking_head import talking_head
from ..pipelines.talking_head.speech_to_landmarks import photo_detector
from ..processing import audio as audio_lib
from ..processing.faces import default_detector, default_landmark_predictor

TASKS = ("lip-sync", "talking-head")
DEFAULT_SECONDS = (10.0, 300.0)
VIDEO_SIDE = 512  # lip-sync input: a 512x512 video with the face about 200 pixels wide
POLL_SECONDS = 2.0  # how often measure() checks that the child is still alive while it waits for its report


def _speech(seconds: float) -> np.ndarray:
    """The example speech (examples/assets/speech.wav) repeated to ``seconds``, or harmonics with pauses."""

    asset = Path(__file__).resolve().parents[3] / "examples" / "assets" / "speech.wav"
    if asset.is_file():
        wave = load_audio(asset)
    else:  # an installed package has no examples/: a voiced, syllable-like signal
        t = np.arange(4 * SAMPLE_RATE) / SAMPLE_RATE
        wave = (0.2 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 4 * t) > 0)).astype(np.float32)
    return np.resize(wave, int(seconds * SAMPLE_RATE)).astype(np.float32)


def _face_frame(astronaut: np.ndarray, index: int) -> np.ndarray:

    dx, dy = int(6 * np.sin(index / 9)), int(4 * np.cos(index / 11))
    crop = astronaut[10 + 20 + dy : 330 + dy, 70 + 20 + dx : 390 + dx]
    return cv2.resize(crop, (VIDEO_SIDE, VIDEO_SIDE), interpolation=cv2.INTER_LINEAR)


def make_inputs(folder: Path, seconds: float) -> dict[str, Path]:
    """A photo, a speech wav and a talking video of ``seconds`` in ``folder``."""
    from skimage import data

    astronaut = data.astronaut()
    photo = folder / "photo.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    speech = folder / f"speech-{seconds:g}s.wav"
    soundfile.write(str(speech), _speech(seconds), SAMPLE_RATE)
    video = folder / f"video-{seconds:g}s.mp4"
    with VideoWriter(video, fps=25, preset="ultrafast") as writer:
        for index in range(int(round(seconds * 25))):
            writer.write(_face_frame(astronaut, index))
    return {"photo": photo, "speech": speech, "video": video}


def process_tree_sum(measure) -> float:
    """``measure(process)`` summed over this process and its live descendants (psutil processes; one that exits
    between listing and reading is left out)."""
    import psutil

    me = psutil.Process()
    total = measure(me)
    for child in me.children(recursive=True):
        try:
            total += measure(child)
        except psutil.Error:
            pass
    return total


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (every thread), its live descendants and its reaped children (a child
    that exits between listing and reading is counted here once reaped)."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return process_tree_sum(lambda process: sum(process.cpu_times()[:2])) + reaped.ru_utime + reaped.ru_stime


def _run(task: str, inputs: dict, output: str, queue) -> None:
    """One measured run, in a child process; puts its report (or its error) on ``queue``."""
    import torch
    from transformers.utils import logging as transformers_logging

    torch.set_grad_enabled(False)
    transformers_logging.disable_progress_bar()
    try:
        startup = time.perf_counter()
        _warm_up()

        if task == "lip-sync":
            models = load_lip_sync_models(DEFAULT_MOUTH_MOTION)
            startup, start, cpu_start = time.perf_counter() - startup, time.perf_counter(), cpu_seconds()
            result = lip_sync(inputs["video"], inputs["speech"], output, models, LipSyncOptions(progress=False))
        else:
            # the defaults of `talkhead talking-head`: mouth interior, blinks
            models = load_talking_head_models(repaint=False)
            startup, start, cpu_start = time.perf_counter() - startup, time.perf_counter(), cpu_seconds()
            result = talking_head(inputs["photo"], inputs["speech"], output, models, TalkingHeadOptions(progress=False))
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        queue.put(
            {
                "frames": result.frames,
                "seconds": result.seconds,
                "wall": wall,
                "startup": startup,
                "stage_seconds": result.stage_seconds,
                "cpu_seconds": cpu,
                "peak_memory_mib": round(peak_kib / 1024, 1),
            }
        )
    except Exception as error:  # reported by the parent, with the task named
        queue.put({"error": f"{type(error).__name__}: {error}"})


def _warm_up() -> None:
    """Pay the one-time costs a long-running process pays once: imports, numba compilation, dlib model loading."""

    wave = np.zeros(SAMPLE_RATE, np.float32)
    audio_lib.mel80(wave), audio_lib.logfbank26(wave, 25), resample(wave, 48_000)
    default_detector(), default_landmark_predictor()

    photo_detector()


def _wait_for_report(process, queue, task: str, poll: float = POLL_SECONDS) -> dict:
    """The child's report; a child that dies without one (OOM kill, segfault) is a RuntimeError, not a hang."""
    while True:
        try:
            return queue.get(timeout=poll)
        except queue_lib.Empty:
            if process.is_alive():
                continue
        try:  # it may have put its report just before exiting
            return queue.get(timeout=poll)
        except queue_lib.Empty:
            process.join()
            code = process.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            hint = ", usually the out-of-memory killer" if code == -9 else ""
            raise RuntimeError(f"{task} failed: the benchmark process died without a report ({how}{hint})") from None


def measure(task: str, inputs: dict, output: Path) -> dict:
    """Run ``task`` on ``inputs`` in a fresh process; frames/s, real-time factor and peak memory."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(task, {k: str(v) for k, v in inputs.items()}, str(output), queue))
    process.start()
    try:
        report = _wait_for_report(process, queue, task)
    finally:
        process.join(timeout=30)
        if process.is_alive():  # reported but stuck on exit: do not hang the benchmark on it
            process.terminate()
            process.join()
    if "error" in report:
        raise RuntimeError(f"{task} failed: {report['error']}")
    duration, frames = report["seconds"], report["frames"]
    stages = {}
    for name in STAGES:
        seconds = report["stage_seconds"].get(name, 0.0)
        if seconds:
            stages[name] = {
                "seconds": round(seconds, 2),
                "frames_per_second": round(frames / seconds, 1),
                "real_time_factor": round(seconds / duration, 3),
            }
    return {
        "task": task,
        "input_seconds": round(duration, 2),
        "frames": frames,
        "wall_seconds": round(report["wall"], 2),
        "frames_per_second": round(frames / report["wall"], 1),
        "real_time_factor": round(report["wall"] / duration, 3),
        "startup_seconds": round(report["startup"], 2),
        "cpu_cores": round(report["cpu_seconds"] / report["wall"], 2),
        "peak_memory_mib": report["peak_memory_mib"],
        "stages": stages,
    }


def benchmark_speed(
    lengths: tuple[float, ...] = DEFAULT_SECONDS,
    tasks: tuple[str, ...] = TASKS,
    video: str | None = None,
    progress: bool = True,
) -> dict:
    """Every task at every input length; see the module docstring."""
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise TalkheadInputError(f"unknown task(s) {sorted(unknown)}; choose from {list(TASKS)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="talkhead-speed-") as folder:
        for seconds in lengths:
            inputs = make_inputs(Path(folder), seconds)
            if video:
                inputs["video"] = Path(video)
            for task in tasks:
                if progress:
                    print(f"{task}, {seconds:g} s input ...", file=sys.stderr, flush=True)
                rows.append(measure(task, inputs, Path(folder) / f"{task}-{seconds:g}.mp4"))
    return {
        "benchmark": "speed",
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpus": multiprocessing.cpu_count(),
            "python": platform.python_version(),
        },
        "video": video or f"synthetic {VIDEO_SIDE}x{VIDEO_SIDE} talking video (astronaut)",
        "rows": rows,
    }


def speed_table(report: dict) -> str:
    """Markdown: one row per run, frames/s per stage and end to end, CPU cores in use and peak memory."""
    header = [
        "task",
        "input",
        "frames",
        *STAGES,
        "end to end",
        "real-time factor",
        "start-up",
        "CPU cores",
        "peak memory",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report["rows"]:
        stages = [f"{row['stages'][s]['frames_per_second']:,.0f}" if s in row["stages"] else "-" for s in STAGES]
        lines.append(
            f"| {row['task']} | {row['input_seconds']:g} s | {row['frames']} | "
            + " | ".join(stages)
            + f" | **{row['frames_per_second']:.1f}** | {row['real_time_factor']:.2f} | {row['startup_seconds']:.1f} s"
            f" | {row['cpu_cores']:.2f} | {row['peak_memory_mib']:,.0f} MiB |"
        )
    return "\n".join(lines)
