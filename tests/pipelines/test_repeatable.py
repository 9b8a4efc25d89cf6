"""Same input, same output: a pipeline reused after other audio, two threads on one pipeline object,
the CLI in a fresh process, and silence that closes the mouth. With the shipped default models, so that the word
decoder really runs."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from talkhead.io.video import read_video
from talkhead.processing.phones import phones_available

from ..conftest import talking_video, write_wav

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not phones_available(), reason="pocketsphinx is not installed")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, astronaut):
    """A 25-frame talking video, 1 s of noisy speech (A), other speech (B) and loud noise, as files."""
    from talkhead.io.audio import load_audio

    folder = tmp_path_factory.mktemp("repeatable")
    rng = np.random.default_rng(0)
    speech = load_audio(ROOT / "examples" / "assets" / "speech.wav")
    noisy = np.clip(speech + 0.02 * rng.standard_normal(len(speech)), -1, 1).astype(np.float32)
    return {
        "video": talking_video(folder / "video.mp4", astronaut, num_frames=25),
        "A": write_wav(folder / "a.wav", noisy[16000:32000]),
        "B": write_wav(folder / "b.wav", speech[48000:64000]),
        "noise": write_wav(folder / "noise.wav", np.clip(0.3 * rng.standard_normal(80000), -1, 1).astype(np.float32)),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def lip_syncer():
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401  (registers the tasks)

    return pipeline("lip-sync")


def _dub(syncer, inputs, audio: str, name: str) -> np.ndarray:
    output = inputs["folder"] / f"{name}.mp4"
    syncer({"video": str(inputs["video"]), "audio": str(inputs[audio])}, output=str(output), progress=False)
    return read_video(output)


def test_a_reused_lip_sync_pipeline_gives_what_it_gave_first(lip_syncer, inputs):
    first = _dub(lip_syncer, inputs, "A", "first")
    _dub(lip_syncer, inputs, "B", "other")
    _dub(lip_syncer, inputs, "noise", "noise")
    np.testing.assert_array_equal(_dub(lip_syncer, inputs, "A", "again"), first)


def test_two_threads_on_one_lip_sync_pipeline_give_the_sequential_outputs(lip_syncer, inputs):
    jobs = [("A", "thread-a"), ("B", "thread-b")]
    sequential = [_dub(lip_syncer, inputs, audio, name + "-seq") for audio, name in jobs]
    with ThreadPoolExecutor(len(jobs)) as pool:
        concurrent = list(pool.map(lambda job: _dub(lip_syncer, inputs, *job), jobs))
    for alone, together in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(together, alone)


def test_the_cli_in_a_fresh_process_gives_the_reused_pipelines_frames(lip_syncer, inputs):
    in_process = _dub(lip_syncer, inputs, "A", "in-process")
    output = inputs["folder"] / "cli.mp4"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "talkhead.cli",
            "lip-sync",
            "--video",
            str(inputs["video"]),
            "--audio",
            str(inputs["A"]),
            "-o",
            str(output),
            "--quiet",
        ],
        check=True,
        capture_output=True,
    )
    np.testing.assert_array_equal(read_video(output), in_process)


def test_two_threads_on_one_talking_head_pipeline_give_the_sequential_outputs(photo, inputs):
    from transformers import pipeline

    import talkhead.pipelines  # noqa: F401

    animator = pipeline("talking-head")

    def animate(job: tuple[str, str]) -> np.ndarray:
        audio, name = job
        output = inputs["folder"] / f"head-{name}.mp4"
        animator(
            {"image": str(photo), "audio": str(inputs[audio])}, output=str(output), progress=False, output_size=256
        )
        return read_video(output)

    jobs = [("A", "a"), ("B", "b")]
    sequential = [animate((audio, name + "-seq")) for audio, name in jobs]
    with ThreadPoolExecutor(len(jobs)) as pool:
        concurrent = list(pool.map(animate, jobs))
    for alone, together in zip(sequential, concurrent, strict=True):
        np.testing.assert_array_equal(together, alone)


def test_render_threads_do_not_change_a_dub(lip_syncer, inputs, monkeypatch):
    """Batches render in worker threads while the caller encodes: the same frames as in one thread."""
    from talkhead.pipelines import concurrency

    threaded = _dub(lip_syncer, inputs, "A", "threads-2")
    monkeypatch.setattr(concurrency, "RENDER_THREADS", 1)
    np.testing.assert_array_equal(_dub(lip_syncer, inputs, "A", "threads-1"), threaded)
