"""``talkhead benchmark live``: live avatars of the test clips, timed as a listener would see them and scored against
the offline lip-sync of the same audio and video.

Per test clip: the clip is prepared as an avatar (timed against its duration), saved and loaded again (timed), and
its own speech is pushed into a stream in 20 ms chunks paced in real time by a feeder thread
(:func:`stream_speech`). The **latency** of a frame is the time from the arrival of its middle sample to the frame
coming out; the **time to first frame** runs from the first chunk's arrival. The streamed video (its mouths never
taken from within ``OWN_EXCLUDE_FRAMES`` of the speech's own frame, as the offline ``own`` row) and the offline
``talkhead lip-sync`` of the same audio and video are tracked and scored against the real clip, offset undone
(:mod:`talkhead.benchmarks.articulation`): **lip-follow** and **bilabial closure**, streamed over offline.

``long_seconds`` adds a long run on the first avatar: the test speech, one second of silence after each clip, looped
in real time; it reports the sustained frame rate, the frames that came out more than a frame period after the
chunk that completed them (**late**), the CPU cores the process and its phone workers used, and their resident
memory every few seconds.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..io import audio as audio_io
from ..io.video_writer import VideoWriter
from ..metrics.articulation import aggregate_articulation
from ..options import LipSyncOptions
from ..pipelines.lip_sync import lip_sync
from ..pipelines.live import LipSyncAvatar
from ..pipelines.loading import load_lip_sync_models
from ..processing.audio import SAMPLES_PER_FRAME
from ..processing.tracked_clip import track_clip
from .articulation import load_offset_expert, prepare_real_clip, score_clip
from .lip_follow import OWN_EXCLUDE_FRAMES
from .speed import cpu_seconds, process_tree_sum
from .split_clips import split_clips

CHUNK_SECONDS = 0.02
MEMORY_EVERY_SECONDS = 5.0
LATE_AFTER_SECONDS = 0.04  # a frame period: a frame held longer than this after its audio completed it is late


def _rss_bytes() -> int:
    """Resident memory of this process and its live children (the phone workers)."""
    return int(process_tree_sum(lambda process: process.memory_info().rss))


def _feed(wave: np.ndarray, chunk: int, realtime: bool, out: queue.Queue) -> None:
    started = time.perf_counter()
    for index, start in enumerate(range(0, len(wave), chunk)):
        if realtime:
            time.sleep(max(0.0, started + index * chunk / audio_io.SAMPLE_RATE - time.perf_counter()))
        out.put((wave[start : start + chunk], time.perf_counter()))
    out.put(None)


def stream_speech(stream, wave: np.ndarray, realtime: bool = True, on_frame=None, on_tick=None) -> dict:
    """Push ``wave`` through ``stream`` in :data:`CHUNK_SECONDS` chunks from a feeder thread (paced in real time
    with ``realtime``), end it, and time it. ``on_frame(frame, audio)`` takes each pair; ``on_tick()`` runs after
    each chunk (memory sampling). Returns the per-frame latencies (seconds, from the frame's middle sample's
    arrival), the per-frame hold (from the arrival of the chunk that completed the frame), the time to the first
    frame, the wall and CPU seconds, and the frame count."""
    chunk = int(CHUNK_SECONDS * audio_io.SAMPLE_RATE)
    arrivals, latencies, holds = [], [], []
    chunks: queue.Queue = queue.Queue()
    feeder = threading.Thread(target=_feed, args=(np.asarray(wave, np.float32), chunk, realtime, chunks), daemon=True)
    cpu, started = cpu_seconds(), time.perf_counter()
    feeder.start()
    first_frame, made = None, 0
    while (item := chunks.get()) is not None:
        samples, arrived = item
        arrivals.append(arrived)
        for frame, audio in stream.push(samples):
            now = time.perf_counter()
            middle = (made * SAMPLES_PER_FRAME + SAMPLES_PER_FRAME // 2) // chunk
            latencies.append(now - arrivals[min(middle, len(arrivals) - 1)])
            holds.append(now - arrived)
            first_frame = first_frame if first_frame is not None else now - arrivals[0]
            made += 1
            if on_frame is not None:
                on_frame(frame, audio)
        if on_tick is not None:
            on_tick()
    for frame, audio in stream.end():
        made += 1
        if on_frame is not None:
            on_frame(frame, audio)
    feeder.join()
    wall = time.perf_counter() - started
    return {
        "frames": made,
        "latencies": latencies,
        "holds": holds,
        "first_frame_seconds": first_frame,
        "wall_seconds": wall,
        "cpu_seconds": cpu_seconds() - cpu,
    }


def _percentiles(values, *qs) -> list[float | None]:
    return [round(float(np.percentile(values, q)), 4) if len(values) else None for q in qs]


def _timing_report(run: dict, realtime: bool) -> dict:
    p50, p95 = _percentiles(run["latencies"], 50, 95) if realtime else (None, None)
    holds = np.asarray(run["holds"])
    return {
        "frames": run["frames"],
        "latency_p50_seconds": p50,
        "latency_p95_seconds": p95,
        "first_frame_seconds": round(run["first_frame_seconds"], 4) if run["first_frame_seconds"] else None,
        "late_frames": int((holds > LATE_AFTER_SECONDS).sum()),
        "frames_per_second": round(run["frames"] / run["wall_seconds"], 2),
        "cpu_cores": round(run["cpu_seconds"] / run["wall_seconds"], 3),
    }


def _write(path: Path, frames: list, audio: list, fps: float) -> None:
    with VideoWriter(path, fps=fps, audio=np.concatenate(audio)) as writer:
        for frame in frames:
            writer.write(frame)


def live_clip(clip, real, lip_sync_models, folder: Path, realtime: bool) -> tuple[dict, dict, dict]:
    """(timings, streamed scores, offline scores) of one test clip (see the module docstring)."""
    started = time.perf_counter()
    avatar = LipSyncAvatar.from_video(clip.video)
    prepare_seconds = time.perf_counter() - started
    avatar.save_pretrained(folder / "avatar")
    started = time.perf_counter()
    avatar = LipSyncAvatar.from_pretrained(folder / "avatar")
    load_seconds = time.perf_counter() - started
    frames, audio = [], []
    stream = avatar.stream(exclude_within=OWN_EXCLUDE_FRAMES, realtime=realtime)
    run = stream_speech(
        stream,
        real.wave,
        realtime,
        on_frame=lambda frame, sound: (frames.append(frame), audio.append(sound)),
    )
    count = real.tracked.num_frames
    _write(folder / "streamed.mp4", frames[:count], audio[:count], avatar.fps)
    settings = LipSyncOptions(progress=False, exclude_within=OWN_EXCLUDE_FRAMES)
    lip_sync(clip.video, clip.audio, folder / "offline.mp4", lip_sync_models, settings)
    scores = {}
    for name in ("streamed", "offline"):
        generated = track_clip(folder / f"{name}.mp4", keep_frames=True)
        real_opening, opening = real.tracked.mouth_opening(), generated.mouth_opening()
        scores[name] = score_clip(real, generated, real_opening, opening)["offset_undone"]
    timings = {
        **_timing_report(run, realtime),
        "latency_frames": stream.latency_frames,
        "prepare_seconds": round(prepare_seconds, 3),
        "video_seconds": round(real.tracked.num_frames / avatar.fps, 3),
        "load_seconds": round(load_seconds, 3),
        "loop": avatar.loop.to_dict(),
    }
    return timings, scores["streamed"], scores["offline"]


def long_run(avatar, waves: list[np.ndarray], seconds: float) -> dict:
    """The long real-time run of the module docstring on ``avatar``."""
    pause = np.zeros(audio_io.SAMPLE_RATE, np.float32)
    one_round = np.concatenate([part for wave in waves for part in (wave, pause)])
    speech = np.resize(one_round, int(seconds * audio_io.SAMPLE_RATE))
    memory, started, last = [], time.perf_counter(), [-np.inf]

    def sample_memory() -> None:
        now = time.perf_counter() - started
        if now - last[0] >= MEMORY_EVERY_SECONDS:
            memory.append((round(now, 1), _rss_bytes()))
            last[0] = now

    run = stream_speech(avatar.stream(), speech, True, on_tick=sample_memory)
    after_minute = [rss for at, rss in memory if at >= 60] or [rss for _, rss in memory]
    report = _timing_report(run, True)
    report.update(
        seconds=round(seconds, 1),
        late_share=round(report["late_frames"] / max(report["frames"], 1), 5),
        memory_mb=[(at, round(rss / 2**20, 1)) for at, rss in memory],
        memory_spread_after_first_minute=round((max(after_minute) - min(after_minute)) / min(after_minute), 4),
    )
    return report


def benchmark_live(
    data: str | os.PathLike,
    split: str = "test",
    limit: int | None = None,
    realtime: bool = True,
    long_seconds: float = 0.0,
    progress: bool = True,
    workdir: str | None = None,
) -> dict:
    """The report of the module docstring for ``split`` of ``data`` (a ``talkhead preprocess`` folder)."""
    clips = split_clips(data, split)[:limit]
    expert = load_offset_expert()
    models = load_lip_sync_models()
    per_clip, streamed, offline, follow = {}, [], [], {"streamed": {}, "offline": {}}
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        for clip in tqdm(clips, desc="live avatars", disable=not progress):
            folder = Path(tmp) / clip.clip_id
            folder.mkdir()
            tracked = track_clip(clip.video, keep_frames=True)
            real = prepare_real_clip(clip.clip_id, tracked, audio_io.load_audio(clip.audio), expert)
            timings, stream_scores, offline_scores = live_clip(clip, real, models, folder, realtime)
            per_clip[clip.clip_id] = timings
            streamed.append(stream_scores["articulation"])
            offline.append(offline_scores["articulation"])
            follow["streamed"][clip.clip_id] = stream_scores["lip_follow"]
            follow["offline"][clip.clip_id] = offline_scores["lip_follow"]
        long = None
        if long_seconds > 0 and clips:
            avatar = LipSyncAvatar.from_video(clips[0].video)
            long = long_run(avatar, [audio_io.load_audio(c.audio) for c in clips], long_seconds)
    return live_report(data, split, realtime, per_clip, streamed, offline, follow, long)


def live_report(data, split, realtime, per_clip, streamed, offline, follow, long) -> dict:
    """The JSON report: per-clip timings, their medians, the pooled scores and the streamed / offline ratios."""
    columns = ("latency_p50_seconds", "latency_p95_seconds", "first_frame_seconds", "load_seconds", "cpu_cores")
    medians = {
        name: _percentiles([c[name] for c in per_clip.values() if c[name] is not None], 50)[0] for name in columns
    }
    medians["prepare_over_duration"] = _percentiles(
        [c["prepare_seconds"] / c["video_seconds"] for c in per_clip.values()], 50
    )[0]
    pooled = {"streamed": aggregate_articulation(streamed), "offline": aggregate_articulation(offline)}
    lip_follow = {name: _percentiles(list(values.values()), 50)[0] for name, values in follow.items()}
    closure = {name: _rounded(pooled[name]["bilabial_closure"]["generated_rate"]) for name in pooled}
    return {
        "benchmark": "live",
        "data": str(data),
        "split": split,
        "pace": "realtime" if realtime else "fast",
        "medians": medians,
        "lip_follow": lip_follow,
        "bilabial_closure": closure,
        "ratios": {
            "lip_follow": _ratio(lip_follow["streamed"], lip_follow["offline"]),
            "bilabial_closure": _ratio(closure["streamed"], closure["offline"]),
        },
        "per_clip": per_clip,
        "per_clip_lip_follow": follow,
        "articulation": pooled,
        "long_run": long,
    }


def _rounded(value) -> float | None:
    return None if value is None else round(float(value), 4)


def _ratio(a, b) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def live_table(report: dict) -> str:
    """The report as a Markdown table (medians over the clips)."""
    m, r = report["medians"], report["ratios"]
    rows = [
        ("latency p50 / p95 (s)", f"{m['latency_p50_seconds']} / {m['latency_p95_seconds']}"),
        ("time to first frame (s)", m["first_frame_seconds"]),
        ("avatar load (s)", m["load_seconds"]),
        ("preparation / video duration", m["prepare_over_duration"]),
        ("CPU cores while streaming", m["cpu_cores"]),
        (
            "lip-follow streamed / offline",
            f"{report['lip_follow']['streamed']} / {report['lip_follow']['offline']} = {r['lip_follow']}",
        ),
        (
            "bilabial closure streamed / offline",
            f"{report['bilabial_closure']['streamed']} / {report['bilabial_closure']['offline']} = "
            f"{r['bilabial_closure']}",
        ),
    ]
    long = report.get("long_run")
    if long:
        rows += [
            (f"long run {long['seconds']} s: frames per second", long["frames_per_second"]),
            ("long run: late frames", f"{long['late_frames']} ({100 * long['late_share']:.2f} %)"),
            ("long run: CPU cores", long["cpu_cores"]),
            ("long run: memory spread after the first minute", long["memory_spread_after_first_minute"]),
        ]
    return "\n".join(["| measure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])
