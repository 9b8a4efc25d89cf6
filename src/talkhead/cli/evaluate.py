"""``talkhead evaluate``: every metric of a video (``talkhead evaluate video VIDEO ...``) and the MS-Sync landmark
report (``talkhead evaluate landmarks ...``), two subcommands of one argparse parser.

The metrics themselves are in :mod:`talkhead.evaluation`; this module only parses, calls, and writes the JSON and the
plot (both claimed from :class:`talkhead.io.outputs.OutputGuard` first: neither may be an input). The library's messages
name inputs by keyword; :data:`OPTION_NAMES` makes them name this command's flags.
"""

from __future__ import annotations

import sys

from .. import defaults
from ..io.audio import MIN_AUDIO_SECONDS
from ..io.outputs import OutputGuard

OPTION_NAMES = {
    "video": "--video",
    "audio": "--audio",
    "reference": "--reference",
    "speaker_video": "--speaker-video",
    "landmarks": "--landmarks",
    "syncnet_v2": "--syncnet-v2-model DIR",
    "av_hubert": "--av-hubert-model DIR",
    "max_side": "--max-side",
    "metrics": "--metrics",
}

VIDEO_DESCRIPTION = (
    "Score VIDEO with every metric the package has and write one JSON report: our SyncNet expert (offset, "
    "confidence, distance), SyncNet v2 LSE-D / LSE-C (with --syncnet-v2-model), MS-Sync multi-scale AV offset and "
    "confidence of the tracked landmarks, the mouth-sync expert's offset and confidence, AV-HuBERT AVS_u / AVS_m / "
    "AVS_v (with --av-hubert-model; AVS_m and AVS_v with --reference) and, against --reference, SSIM, PSNR, LMD, IFC "
    "and identity on 96x96 face crops. The first line printed is the verdict, from the mouth-sync expert: in sync, "
    "offset by N frames (video ahead of or behind the audio), or cannot tell and why. Each metric is reported as "
    "computed or unavailable with the reason; the report is written either way. Any frame rate and audio format: "
    "frames are resampled to 25 fps and audio to 16 kHz mono; the face is tracked once."
)


def add_evaluate(subparsers) -> None:
    """Add ``evaluate`` and its two subcommands, ``video`` and ``landmarks``, to the console script."""
    parser = subparsers.add_parser(
        "evaluate",
        help="every metric of a video (video), or MS-Sync metrics of landmarks (landmarks)",
        description="`talkhead evaluate video VIDEO ...` scores a video with every metric the package has; "
        "`talkhead evaluate landmarks ...` reports MS-Sync's multi-scale sync of tracked or given landmarks.",
    )
    evaluated = parser.add_subparsers(dest="evaluated", metavar="{video,landmarks}")
    _add_video(evaluated)
    _add_landmarks(evaluated)
    parser.set_defaults(func=lambda args: _missing_subcommand(parser))


def _missing_subcommand(parser) -> int:
    parser.print_help()
    return 2


def _add_video(evaluated) -> None:
    from ..evaluation.metric_names import GROUPS, METRICS

    parser = evaluated.add_parser(
        "video", help="every metric of a video, as one JSON report", description=VIDEO_DESCRIPTION
    )
    parser.add_argument("video", metavar="VIDEO", help="the talking-face video (any frame rate; or a folder of frames)")
    parser.add_argument(
        "--audio",
        metavar="AUDIO",
        help=f"speech to score against, at least {MIN_AUDIO_SECONDS:g} s (wav, "
        "mp3, m4a, a video's track); default: VIDEO's own",
    )
    parser.add_argument(
        "--reference", metavar="GT_VIDEO", help="ground-truth video: AVS_m, AVS_v and the image metrics"
    )
    parser.add_argument(
        "--metrics", help=f"comma-separated subset: {', '.join(METRICS)}, or groups {', '.join(GROUPS)} (default: all)"
    )
    parser.add_argument(
        "--speaker-video",
        metavar="ORIG",
        help="the video of the person who spoke the audio: adds lip-follow, the correlation of VIDEO's "
        "mouth opening with ORIG's, frame by frame with no lag (no learned model involved)",
    )
    parser.add_argument(
        "--mouth-sync-model",
        nargs="?",
        default=defaults.MOUTH_SYNC,
        const=defaults.MOUTH_SYNC,
        metavar="MODEL",
        help="the mouth-sync expert, whose audio-video offset and confidence (dlib mouth shapes against phones + mel "
        "over 1 s windows) give the verdict (default %(default)s)",
    )
    parser.add_argument("--json", required=True, metavar="OUT", help="report file to write (.json)")
    parser.add_argument("--plot", metavar="PNG", help="per-window confidence over time and the audio envelope (.png)")
    parser.add_argument(
        "--sync-expert-model",
        default=defaults.SYNC_EXPERT,
        metavar="MODEL",
        help="our SyncNet expert checkpoint (folder, model id or short name)",
    )
    parser.add_argument(
        "--eval-syncers-model",
        default=defaults.EVAL_SYNCERS,
        metavar="MODEL",
        help="MS-Sync evaluation syncers checkpoint (folder, model id or short name)",
    )
    parser.add_argument(
        "--syncnet-v2-model",
        metavar="DIR",
        help="SyncNet v2 weights: the folder written by talkhead.models.syncnet_v2.convert_syncnet_v2",
    )
    parser.add_argument(
        "--av-hubert-model",
        metavar="DIR",
        help="AV-HuBERT weights: the folder written by talkhead.models.av_hubert.convert_av_hubert",
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=defaults.TRACK_SIDE,
        help="decode frames at most this large, at least 96 (default %(default)s); every decoded frame is held "
        "in memory, about 0.7 MB a frame at 640x360",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or status lines on stderr")
    parser.set_defaults(func=run_evaluate_video)


def run_evaluate_video(args) -> int:
    from ..evaluation.evaluate import EvaluateOptions, check_options, evaluate_video, select_metrics
    from ..evaluation.report import format_table, plot_confidence, write_json

    guard = OutputGuard(
        [
            args.video,
            args.audio,
            args.reference,
            args.speaker_video,
            args.mouth_sync_model,
            args.sync_expert_model,
            args.eval_syncers_model,
            args.syncnet_v2_model,
            args.av_hubert_model,
        ]
    )
    report_path = guard.claim(args.json, "--json", ".json")
    plot_path = guard.claim(args.plot, "--plot", ".png")
    metrics = select_metrics(args.metrics)  # an unknown name fails before any decoding
    options = EvaluateOptions(
        expert=args.sync_expert_model,
        eval_syncers=args.eval_syncers_model,
        syncnet_v2=args.syncnet_v2_model,
        av_hubert=args.av_hubert_model,
        max_side=args.max_side,
        curves=True,
        speaker_video=args.speaker_video,
        mouth_sync=args.mouth_sync_model,
    )
    check_options(options, OPTION_NAMES)  # --max-side below 96 and the like: one error line, exit 2
    log = None if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    report = evaluate_video(args.video, args.audio, args.reference, metrics, options, log=log, names=OPTION_NAMES)
    write_json(report, report_path)
    if plot_path:
        plot_confidence(report, plot_path)
    print(format_table(report))
    if "lip_follow" in report:
        follow = report["lip_follow"]
        print(
            f"lip-follow against {args.speaker_video}: {follow['lip_follow']:.3f} over {follow['frames']} frames "
            f"(std of mouth opening, this video / the speaker's: {follow['std_ratio']:.2f})"
        )
    print(f"report written to {args.json}" + (f", plot to {args.plot}" if args.plot else ""))
    return 0


def _add_landmarks(evaluated) -> None:
    parser = evaluated.add_parser(
        "landmarks",
        help="MS-Sync's multi-scale AV offset and confidence of tracked or given landmarks",
        description=(
            "Track 68 landmarks in --video (or read --landmarks) and report |AV-Off_i| and AV-Conf_i at the four "
            "pyramid levels (200 to 1600 ms windows) with the evaluation syncers, plus the distance-versus-offset "
            "curves. Offsets are in level steps (40, 80, 160, 320 ms); positive means the audio leads."
        ),
    )
    parser.add_argument("--video", help="video to track landmarks in (its audio is used unless --audio is given)")
    parser.add_argument(
        "--audio",
        metavar="AUDIO",
        help=f"speech file, at least {MIN_AUDIO_SECONDS:g} s (wav, mp3, m4a, or a video's track)",
    )
    parser.add_argument(
        "--landmarks", help="(T, 68, 2) landmarks at 25 fps in crop units: .npz (key 'landmarks') or .json"
    )
    parser.add_argument(
        "--eval-syncers-model",
        default=defaults.EVAL_SYNCERS,
        metavar="MODEL",
        help="MS-Sync evaluation syncers checkpoint (folder, model id or short name)",
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=None,
        help="also average over consecutive clips of this many frames, at least 1 (the paper uses 80)",
    )
    parser.add_argument(
        "--padding",
        choices=["valid", "zeros"],
        default="valid",
        help="offset search: average overlapping windows only (default), or SyncNet's zero padding",
    )
    parser.add_argument("--json", required=True, help="report file to write (.json)")
    parser.add_argument("--plot", help="PNG of distance versus offset per level (.png)")
    parser.set_defaults(func=run_evaluate_landmarks)


def run_evaluate_landmarks(args) -> int:
    from ..errors import TalkheadInputError
    from ..evaluation.landmarks_report import evaluate_landmarks, plot_offset_curves
    from ..evaluation.report import write_json

    guard = OutputGuard([args.video, args.audio, args.landmarks, args.eval_syncers_model])
    report_path = guard.claim(args.json, "--json", ".json")
    plot_path = guard.claim(args.plot, "--plot", ".png")
    if args.chunk is not None and args.chunk < 1:  # 0 would silently skip the chunked average
        raise TalkheadInputError(f"--chunk must be at least 1 frame, got {args.chunk}")
    report = evaluate_landmarks(
        args.video, args.audio, args.landmarks, args.eval_syncers_model, args.chunk, args.padding, names=OPTION_NAMES
    )
    write_json(report, report_path)
    if plot_path:
        plot_offset_curves(report, plot_path)
    rows = [
        (f"level {name[-1]} ({level['step_ms'] * 5} ms)", level["offset"], level["confidence"], level["min_distance"])
        for name, level in report["levels"].items()
    ]
    print(f"{report['frames']} frames ({report['seconds']} s); offsets in level steps, + = audio leads")
    print(f"  {'':<18}{'AV-Off':>8}{'AV-Conf':>9}{'min dist':>10}")
    for label, offset, confidence, distance in rows:
        print(f"  {label:<18}{offset:>+8d}{confidence:>9.3f}{distance:>10.3f}")
    print(f"report written to {args.json}" + (f", plot to {args.plot}" if args.plot else ""))
    return 0
