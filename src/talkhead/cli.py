"""The ``talkhead`` console script.

Each subcommand is a function ``_run_<name>(args)``; its parser lives in ``_add_<name>``. Bad input
(:class:`talkhead.errors.TalkheadInputError`, a missing file) prints one ``error:`` line and exits
with status 2; anything else is a bug and keeps its traceback. Every file a command writes is claimed
from :class:`talkhead.outputs.OutputGuard` before any work. Ctrl-C, SIGTERM and SIGHUP stop a command
the same way: temporary files are removed, one ``interrupted`` line is printed, and the exit status
is 128 + the signal's number (130, 143, 129).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from . import __version__, outputs
from .cli_evaluate import add_evaluate
from .cli_quality import add_quality_benchmarks
from .cli_video import AUDIO_HELP, add_generate, add_lipsync
from .errors import TalkheadInputError
from .outputs import OutputGuard
from .processing.audio import MIN_AUDIO_SECONDS

# import name -> the setup.cfg extra that installs it: `pip install talkhead` is the inference set, and a command
# that needs more (preprocess, benchmark, evaluate --plot) says which extra instead of a traceback
EXTRA_OF = {"datasets": "data", "pyarrow": "data", "accelerate": "train", "skimage": "eval", "matplotlib": "eval",
            "gradio": "demo"}


def _add_preprocess(subparsers) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="turn folders of talking videos into a `datasets` dataset",
        description=(
            "Walk INPUT folders (or files), pair silent videos and frame folders with same-name audio, "
            "track 68 face landmarks at 25 fps, compute audio features, and save a DatasetDict with "
            "`save_to_disk`. Unusable inputs (unreadable, no face, no audio, audio shorter than "
            f"{MIN_AUDIO_SECONDS:g} s, ...) are skipped and listed with the reason."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="folders or video files")
    parser.add_argument("--output", "-o", required=True,
                        help="folder to write the dataset to (not an input, and holding none)")
    parser.add_argument("--faces", action="store_true", help="also store 96x96 face crops (needed by the image models)")
    parser.add_argument("--phones", action="store_true",
                        help="also store the phones heard per frame (pocketsphinx; what the mouth-motion model reads)")
    parser.add_argument("--test-sources", default=None,
                        help="comma-separated source folders (or globs) that form the `test` split")
    parser.add_argument("--num-proc", type=int, default=min(4, os.cpu_count() or 1),
                        help="worker processes (default: %(default)s)")
    parser.add_argument("--min-frames", type=int, default=25, help="drop face segments shorter than this (default 25)")
    parser.add_argument("--max-side", type=int, default=640,
                        help="decode frames at most this large for tracking and crops (default 640)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --output")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", default=None, help="also write the summary to this .json file")
    parser.add_argument("--parquet", action="store_true",
                        help="also export Parquet shards under OUTPUT/data/ (README `configs:`; `load_dataset(OUTPUT)` reads them)")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="upload the dataset card and Parquet shards as this Hub dataset (implies --parquet)")
    parser.set_defaults(func=_run_preprocess)


def _run_preprocess(args) -> int:
    from .data.build import PreprocessOptions, build_dataset

    if args.num_proc < 1:
        raise TalkheadInputError(f"--num-proc must be at least 1, got {args.num_proc}")
    guard = OutputGuard(args.inputs)
    guard.claim(args.output, "--output", folder=True, overwrite=args.overwrite)
    report = guard.claim(args.json, "--json", ".json")
    options = PreprocessOptions(faces=args.faces, min_frames=args.min_frames, max_side=args.max_side, phones=args.phones)
    test_sources = [s.strip() for s in args.test_sources.split(",") if s.strip()] if args.test_sources else None
    summary = build_dataset(
        args.inputs, args.output, options=options, test_sources=test_sources, num_proc=args.num_proc,
        overwrite=args.overwrite, progress=not args.quiet, parquet=args.parquet or bool(args.push_to_hub),
    )
    print(format_preprocess_summary(summary))
    if report:
        outputs.write_json(summary.to_dict(), report, default=str)
    if args.push_to_hub:  # a failure is one `error:` line saying whether it was authentication or the network
        from .data.hub_export import push_dataset

        print(f"pushed the dataset to {args.push_to_hub} ({push_dataset(args.output, args.push_to_hub)})")
    return 0


def format_preprocess_summary(summary) -> str:
    """The table printed at the end of ``talkhead preprocess``."""
    splits = ", ".join(f"{name} {count}" for name, count in summary.splits.items())
    used = [r for r in summary.reports if not r.skipped]
    rows = [
        ("clips (rows)", f"{summary.rows} ({splits})"),
        ("input videos used", f"{len(used)} of {len(summary.reports)}"),
        ("minutes", f"{summary.minutes:.2f}"),
        ("frames (25 fps)", f"{summary.frames:,}"),
        ("face-found rate", f"{100 * summary.face_found_rate:.2f} %"),
        ("wall time", f"{summary.wall_seconds:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"dataset saved to {summary.output}", ""]
    lines += [f"  {key:<{width}}  {value}" for key, value in rows]
    skipped = summary.skipped()
    if skipped:
        lines += ["", f"skipped ({len(skipped)}):"]
        lines += [f"  {path}: {reason}" for path, reason in skipped]
    notes = [(r.video, note) for r in summary.reports for note in r.notes]
    if notes:
        lines += ["", "notes:"] + [f"  {path}: {note}" for path, note in notes]
    if summary.unused_audio or summary.stills:
        lines += ["", f"not clips (usable as inference inputs): {len(summary.unused_audio)} speech-only audio files, "
                      f"{len(summary.stills)} still images"]
    return "\n".join(lines)


def _missing_kind(parser) -> int:
    parser.print_help()
    return 2


def _add_landmarks(subparsers) -> None:
    parser = subparsers.add_parser(
        "landmarks", help="68-point head and lip motion for a photo and speech (MS-Sync)",
        description="Generate 25 fps 68-landmark trajectories for the face in IMAGE driven by AUDIO, and optionally a "
                    "preview video with the landmarks drawn over the photo and the audio muxed.",
    )
    parser.add_argument("--image", required=True, help="face photo (the largest face is used)")
    parser.add_argument("--audio", required=True, help=AUDIO_HELP)
    parser.add_argument("--output", "-o", required=True, help="lm.npz or lm.json: landmarks in crop units and photo pixels")
    parser.add_argument("--preview", help="also write this .mp4: the photo with the moving landmarks, audio muxed")
    parser.add_argument("--model", default="talkhead/ms-sync-short", help="generator checkpoint (folder, model id or short name)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=_run_landmarks)


def _run_landmarks(args) -> int:
    from .pipelines.speech_to_landmarks import LANDMARK_SUFFIXES, SpeechToLandmarks, preview_frames, read_image
    from .processing.audio import load_audio
    from .processing.video import write_video

    guard = OutputGuard([args.image, args.audio, args.model])
    output = guard.claim(args.output, "--output", LANDMARK_SUFFIXES)
    preview = guard.claim(args.preview, "--preview", ".mp4")
    image = read_image(args.image)
    wave = load_audio(args.audio)
    motion = SpeechToLandmarks(args.model, seed=args.seed)(image, wave, args.image, args.audio)
    motion.save(output)
    print(f"{len(motion.landmarks)} frames ({len(motion.landmarks) / motion.fps:.2f} s) written to {output}"
          + (" (silent audio: still face, closed mouth)" if motion.silent else ""))
    if preview:
        write_video(preview, preview_frames(image, motion), motion.fps, audio=wave)
        print(f"preview written to {preview}")
    return 0


def _add_benchmark(subparsers) -> None:
    parser = subparsers.add_parser("benchmark", help="the papers' benchmark protocols, as JSON and a Markdown table")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    ms_sync = kinds.add_parser(
        "ms-sync", help="MS-Sync Table 3: multi-scale AV offset / confidence and landmark Fréchet distance",
        description="On 80-frame clips of a preprocessed split: rows static, ground_truth and each --model "
                    "(generated from the first frame), columns |AV-Off_i|, AV-Conf_i (i = 1..4) and frechet.",
    )
    ms_sync.add_argument("--data", required=True, help="dataset written by `talkhead preprocess`")
    ms_sync.add_argument("--split", default="test")
    ms_sync.add_argument("--model", action="append", default=[], help="generator checkpoint; repeat for ablations")
    ms_sync.add_argument("--eval-syncers", default="talkhead/ms-sync-eval-syncers")
    ms_sync.add_argument("--clip-frames", type=int, default=80)
    ms_sync.add_argument("--padding", choices=["valid", "zeros"], default="valid", help="offset search padding")
    ms_sync.add_argument("--mouth-model", help="also rows <generator>+mouth: the mouth set by this mouth-motion model, as "
                                               "`talkhead generate` draws it (e.g. talkhead/mouth-motion)")
    ms_sync.add_argument("--json", required=True)
    ms_sync.set_defaults(func=_run_benchmark_ms_sync)
    lipsync = kinds.add_parser(
        "lipsync", help="stabilized-sync Table 1: SSIM, PSNR, LMD, IFC, identity and expert sync scores of face generators",
        description="On chunks of a preprocessed split with --faces: rows ground_truth, reference_copy and each --model "
                    "(a StableSyncFaceGenerator), columns ssim, psnr, lmd, ifc, identity, sync_conf, sync_dist, sync_off.",
    )
    lipsync.add_argument("--data", required=True, help="dataset written by `talkhead preprocess --faces`")
    lipsync.add_argument("--split", default="test")
    lipsync.add_argument("--model", action="append", default=[], help="face generator checkpoint; repeat for baselines")
    lipsync.add_argument("--silent-lip", default="talkhead/stable-sync-silent-lip", help="G_S that closes the identity frames' lips")
    lipsync.add_argument("--eval-expert", default="talkhead/syncnet-eval", help="SyncNet expert used only for evaluation")
    lipsync.add_argument("--chunk-frames", type=int, default=50)
    lipsync.add_argument("--no-mouth-table", action="store_true",
                         help="skip the video-resolution mouth table (issue #13; `talkhead benchmark mouth` alone)")
    lipsync.add_argument("--lip-sync-model", default="talkhead/mouth-motion", help="the lipsync row of the mouth table")
    lipsync.add_argument("--max-frames", type=int, default=150, help="frames scored per clip in the mouth table")
    lipsync.add_argument("--sheet", help="contact sheet PNG of the mouth table: original mouth over dubbed mouth")
    lipsync.add_argument("--json", required=True)
    lipsync.set_defaults(func=_run_benchmark_lipsync)
    speed = kinds.add_parser(
        "speed", help="frames/s, real-time factor and peak memory per stage of the lip-sync and talking-head pipelines",
        description="Run each pipeline on generated inputs (the astronaut photo, the example speech looped, a synthetic "
                    "talking video) of each --seconds length, each in a fresh process; report frames/s and real-time "
                    "factor of decode, detect, landmarks, generator, render and encode, end to end, and peak memory.",
    )
    speed.add_argument("--seconds", type=float, nargs="+", default=[10.0, 300.0], help="input lengths (default 10 300)")
    speed.add_argument("--task", choices=["lip-sync", "talking-head"], action="append", help="default: both")
    speed.add_argument("--video", help="lip-sync this video instead of the synthetic one")
    speed.add_argument("--json", required=True)
    speed.set_defaults(func=_run_benchmark_speed)
    add_quality_benchmarks(kinds)
    parser.set_defaults(func=lambda args: _missing_kind(parser))


def _run_benchmark_lipsync(args) -> int:
    from .metrics.benchmarks import benchmark_lipsync, markdown_table
    from .metrics.report import write_json

    guard = OutputGuard([args.data, *args.model, args.silent_lip, args.eval_expert, args.lip_sync_model])
    path = guard.claim(args.json, "--json", ".json")
    sheet = guard.claim(args.sheet, "--sheet", ".png")
    if not args.no_mouth_table:
        from .evaluation.split_clips import split_clips

        split_clips(args.data, args.split)  # the mouth table needs the raw videos: say so before the long part
    report = benchmark_lipsync(args.data, args.split, args.model, args.silent_lip or None, args.eval_expert, args.chunk_frames)
    print(f"{report['chunks']} chunks of {report['chunk_frames']} frames from split '{report['split']}' (96-px faces)")
    print(markdown_table(report))
    if not args.no_mouth_table:  # the table of issue #13: whole frames at video resolution, through `talkhead lipsync`
        from .evaluation.mouth_benchmark import benchmark_mouth, mouth_table

        paper = args.model[0] if args.model else "talkhead/stable-sync-face"
        report["mouth"] = benchmark_mouth(args.data, args.split, args.lip_sync_model, paper, None, args.max_frames,
                                          sheet=sheet)
        print(f"\nvideo resolution, {len(report['mouth']['clips'])} clips, {report['mouth']['max_frames']} frames each:")
        print(mouth_table(report["mouth"]))
    write_json(report, path)
    return 0


def _run_benchmark_speed(args) -> int:
    from .metrics.report import write_json
    from .pipelines.speed import TASKS, benchmark_speed, speed_table

    path = OutputGuard([args.video]).claim(args.json, "--json", ".json")
    report = benchmark_speed(tuple(args.seconds), tuple(args.task or TASKS), args.video)
    write_json(report, path)
    print(speed_table(report))
    return 0


def _run_benchmark_ms_sync(args) -> int:
    from .metrics.benchmarks import benchmark_ms_sync, markdown_table
    from .metrics.report import write_json

    path = OutputGuard([args.data, *args.model, args.eval_syncers, args.mouth_model]).claim(args.json, "--json", ".json")
    report = benchmark_ms_sync(args.data, args.split, args.model or ["ms-sync-short"], args.eval_syncers, args.clip_frames,
                               padding=args.padding, mouth_model=args.mouth_model)
    write_json(report, path)
    print(f"{report['clips']} clips of {report['clip_frames']} frames from split '{report['split']}'")
    print(markdown_table(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="talkhead",
        description="Talking-head generation and audio-visual synchrony metrics (MS-Sync, stabilized sync, AV-HuBERT).",
    )
    parser.add_argument("--version", action="version", version=f"talkhead {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_preprocess(subparsers)
    add_generate(subparsers)
    add_lipsync(subparsers)
    add_evaluate(subparsers)
    _add_landmarks(subparsers)
    _add_benchmark(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    written = outputs.published_count()
    try:
        with outputs.interrupt_on_signals(), _quiet_libraries():
            return args.func(args)
    except (TalkheadInputError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        extra = EXTRA_OF.get((err.name or "").partition(".")[0])
        if extra is None:  # not an optional package: a broken install, keep the traceback
            raise
        print(f"error: this command needs {err.name}, which the core install leaves out: "
              f"pip install \"talkhead[{extra}]\"", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interruption:  # Ctrl-C, or SIGTERM / SIGHUP raised as outputs.Interrupted
        print(outputs.interrupted_message(written), file=sys.stderr)
        return 128 + getattr(interruption, "signum", signal.SIGINT)


@contextlib.contextmanager
def _quiet_libraries():
    """The commands print their own summary: no weight-loading bars, no second copy of the pipelines' warnings."""
    import logging

    from transformers.utils import logging as transformers_logging

    pipelines = logging.getLogger("talkhead.pipelines")
    level, bars = pipelines.level, transformers_logging.is_progress_bar_enabled()
    pipelines.setLevel(logging.ERROR)
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        pipelines.setLevel(level)
        if bars:
            transformers_logging.enable_progress_bar()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
