"""``talkhead benchmark KIND``: the papers' benchmark protocols and the held-out quality of the generated mouth.

Each KIND writes its report to ``--json`` (claimed from :class:`talkhead.io.outputs.OutputGuard` before any work) and
prints it as a Markdown table. ``lip-follow``, ``mouth`` and ``lip-sync``'s mouth table need the raw videos that
``talkhead preprocess`` read (listed in the dataset's ``talkhead_preprocess.json``), because they score
full-resolution frames and re-track outputs.
"""

from __future__ import annotations

from .. import defaults
from ..io.outputs import OutputGuard, write_json
from .benchmark_live import add_live_benchmark
from .common import NO_VISEMES_HELP

PREPROCESSED = "dataset written by `talkhead preprocess`"


def add_benchmark(subparsers) -> None:
    parser = subparsers.add_parser("benchmark", help="the papers' benchmark protocols, as JSON and a Markdown table")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND")
    _add_ms_sync(kinds)
    _add_lip_sync(kinds)
    _add_speed(kinds)
    _add_lip_follow(kinds)
    _add_mouth(kinds)
    _add_talking_head(kinds)
    add_live_benchmark(kinds, _kind, _finish)
    parser.set_defaults(func=lambda args: _missing_kind(parser))


def _missing_kind(parser) -> int:
    parser.print_help()
    return 2


def _kind(kinds, name: str, help: str, description: str, data: str | None = PREPROCESSED):
    """A KIND's parser, starting with the ``--data``/``--split`` pair every dataset benchmark takes."""
    parser = kinds.add_parser(name, help=help, description=description)
    if data:
        parser.add_argument("--data", required=True, help=data)
        parser.add_argument("--split", default="test")
    return parser


def _finish(parser, func) -> None:
    """Every KIND ends with the required ``--json`` report."""
    parser.add_argument("--json", required=True)
    parser.set_defaults(func=func)


def _add_ms_sync(kinds) -> None:
    ms_sync = _kind(
        kinds,
        "ms-sync",
        help="MS-Sync Table 3: multi-scale AV offset / confidence and landmark Fréchet distance",
        description="On 80-frame clips of a preprocessed split: rows static, ground_truth and each --head-model "
        "(generated from the first frame), columns |AV-Off_i|, AV-Conf_i (i = 1..4) and frechet.",
    )
    ms_sync.add_argument(
        "--head-model",
        action="append",
        default=[],
        metavar="MODEL",
        help=f"MS-Sync generator checkpoint; repeat for ablations (default {defaults.HEAD_MOTION})",
    )
    ms_sync.add_argument(
        "--eval-syncers-model",
        default=defaults.EVAL_SYNCERS,
        metavar="MODEL",
        help="MS-Sync evaluation syncers checkpoint (folder, model id or short name)",
    )
    ms_sync.add_argument("--clip-frames", type=int, default=80)
    ms_sync.add_argument("--padding", choices=["valid", "zeros"], default="valid", help="offset search padding")
    ms_sync.add_argument(
        "--mouth-model",
        metavar="MODEL",
        help="also rows <generator>+mouth: the mouth set by this mouth-motion checkpoint, as "
        "`talkhead talking-head` draws it (e.g. talkhead/mouth-motion)",
    )
    _finish(ms_sync, run_ms_sync)


def _add_lip_sync(kinds) -> None:
    lip_sync = _kind(
        kinds,
        "lip-sync",
        help="stabilized-sync Table 1: SSIM, PSNR, LMD, IFC, identity and expert sync scores of face generators",
        description="On chunks of a preprocessed split with --faces: rows ground_truth, reference_copy and each "
        "--face-generator-model (a StableSyncFaceGenerator), columns ssim, psnr, lmd, ifc, identity, sync_conf, "
        "sync_dist, sync_off.",
        data="dataset written by `talkhead preprocess --faces`",
    )
    lip_sync.add_argument(
        "--face-generator-model",
        action="append",
        default=[],
        metavar="MODEL",
        help="face generator checkpoint of a row; repeat for baselines (none: ground_truth and reference_copy only; "
        f"the mouth table's paper_generator row takes the first, default {defaults.FACE_GENERATOR})",
    )
    lip_sync.add_argument(
        "--silent-lip-model",
        default=defaults.SILENT_LIP,
        metavar="MODEL",
        help="silent-lip generator checkpoint (G_S) that closes the identity frames' lips",
    )
    lip_sync.add_argument(
        "--sync-expert-model",
        default=defaults.SYNC_EXPERT,
        metavar="MODEL",
        help="our SyncNet expert checkpoint, used only for evaluation (folder, model id or short name)",
    )
    lip_sync.add_argument("--chunk-frames", type=int, default=50)
    lip_sync.add_argument(
        "--no-mouth-table",
        action="store_true",
        help="skip the video-resolution mouth table (`talkhead benchmark mouth` runs it alone)",
    )
    lip_sync.add_argument(
        "--mouth-model",
        default=defaults.MOUTH_MOTION,
        metavar="MODEL",
        help="mouth-motion checkpoint of the mouth table's lipsync row",
    )
    lip_sync.add_argument("--max-frames", type=int, default=150, help="frames scored per clip in the mouth table")
    lip_sync.add_argument("--sheet", help="contact sheet PNG of the mouth table: original mouth over dubbed mouth")
    _finish(lip_sync, run_lip_sync)


def _add_speed(kinds) -> None:
    speed = _kind(
        kinds,
        "speed",
        help="frames/s, real-time factor and peak memory per stage of the lip-sync and talking-head pipelines",
        description="Run each pipeline on generated inputs (the astronaut photo, the example speech looped, a "
        "synthetic talking video) of each --seconds length, each in a fresh process; report frames/s and real-time "
        "factor of decode, detect, landmarks, generator, render and encode, end to end, and peak memory.",
        data=None,
    )
    speed.add_argument("--seconds", type=float, nargs="+", default=[10.0, 300.0], help="input lengths (default 10 300)")
    speed.add_argument("--task", choices=["lip-sync", "talking-head"], action="append", help="default: both")
    speed.add_argument("--video", help="lip-sync this video instead of the synthetic one")
    _finish(speed, run_speed)


def _add_talking_head(kinds) -> None:
    talking = _kind(
        kinds,
        "talking-head",
        help="a photo that talks against the real clip: lip-follow, opening, rest gap, teeth, blinks",
        description="`talkhead talking-head` from each clip's first frame with its own speech, tracked and compared "
        "with the real clip: lip-follow and opening std ratio, the lips' rest gap (all clips and open-mouth photos), "
        "mouth sharpness and teeth share on open frames (generated over real), blinks per minute and identity distance "
        "to the photo. Rows: warp (the warp alone: painted interior, --keep-open-mouth, no blinks) and "
        "mouth-interior (the defaults: mouth-interior generator, open-mouth photos driven from their mouth closed, "
        "blinks).",
    )
    talking.add_argument(
        "--mouth-interior-model",
        default=defaults.MOUTH_INTERIOR,
        metavar="MODEL",
        help="mouth-interior generator checkpoint measured",
    )
    talking.add_argument("--row", action="append", choices=["warp", "mouth-interior"], help="only these rows")
    talking.add_argument("--max-seconds", type=float, default=20.0, help="clips are cut to this length")
    talking.add_argument("--limit", type=int, help="only the first N clips")
    talking.add_argument("--keep-outputs", help="keep the generated videos in this folder")
    _finish(talking, run_talking_head)


def _add_lip_follow(kinds) -> None:
    lip_follow = _kind(
        kinds,
        "lip-follow",
        help="does the generated mouth open and close with the speech on held-out clips",
        description="Lip-follow (correlation of mouth openings, no lag search) on the clips of a split: rows base "
        "(unrelated speech), loudness and phone_table (no-learning baselines), model:NAME (each --mouth-model's "
        "predicted opening), own (lip-sync with the clip's own speech), cross (a clip dubbed with the next "
        "clip's speech, against that clip's mouth) and photo (talking-head from the first frame); own, cross and "
        "photo run with the first --mouth-model.",
    )
    lip_follow.add_argument(
        "--mouth-model",
        action="append",
        default=[],
        metavar="MODEL",
        help=f"mouth-motion checkpoint for a model: row; repeat; the first also runs the own, cross and photo rows "
        f"(default {defaults.MOUTH_MOTION})",
    )
    lip_follow.add_argument("--no-pipelines", action="store_true", help="only the model and baseline rows (fast)")
    lip_follow.add_argument("--no-visemes", action="store_true", help=NO_VISEMES_HELP)
    lip_follow.add_argument("--limit", type=int, help="only the first N clips")
    _finish(lip_follow, run_lip_follow)


def _add_mouth(kinds) -> None:
    mouth = _kind(
        kinds,
        "mouth",
        help="mouth quality at video resolution: mouth-box SSIM, PSNR, sharpness and face-box SSIM",
        description="Each clip of a split dubbed with its own speech (a frame may not reuse a mouth from within 10 "
        "frames of itself), scored against the original: rows ground_truth, reference_copy, "
        "renderer_real_shapes, lipsync and paper_generator.",
    )
    mouth.add_argument(
        "--mouth-model",
        default=defaults.MOUTH_MOTION,
        metavar="MODEL",
        help="mouth-motion checkpoint of the lipsync row",
    )
    mouth.add_argument(
        "--face-generator-model",
        default=defaults.FACE_GENERATOR,
        metavar="MODEL",
        help="face generator checkpoint of the paper_generator row (the paper's G_L); 'none' to skip",
    )
    mouth.add_argument("--max-frames", type=int, default=150, help="frames scored per clip (default 150)")
    mouth.add_argument("--limit", type=int, help="only the first N clips")
    mouth.add_argument(
        "--sheet", help="also write a contact sheet PNG: original mouth over dubbed mouth, 8 frames of 6 clips"
    )
    _finish(mouth, run_mouth)


def run_ms_sync(args) -> int:
    from ..benchmarks.papers import benchmark_ms_sync, markdown_table

    path = OutputGuard([args.data, *args.head_model, args.eval_syncers_model, args.mouth_model]).claim(
        args.json, "--json", ".json"
    )
    report = benchmark_ms_sync(
        args.data,
        args.split,
        args.head_model or [defaults.HEAD_MOTION],
        args.eval_syncers_model,
        args.clip_frames,
        padding=args.padding,
        mouth_model=args.mouth_model,
    )
    write_json(report, path)
    print(f"{report['clips']} clips of {report['clip_frames']} frames from split '{report['split']}'")
    print(markdown_table(report))
    return 0


def run_lip_sync(args) -> int:
    from ..benchmarks.papers import benchmark_lip_sync, markdown_table

    guard = OutputGuard(
        [args.data, *args.face_generator_model, args.silent_lip_model, args.sync_expert_model, args.mouth_model]
    )
    path = guard.claim(args.json, "--json", ".json")
    sheet = guard.claim(args.sheet, "--sheet", ".png")
    if not args.no_mouth_table:
        from ..benchmarks.split_clips import split_clips

        split_clips(args.data, args.split)  # the mouth table needs the raw videos: say so before the long part
    report = benchmark_lip_sync(
        args.data,
        args.split,
        args.face_generator_model,
        args.silent_lip_model or None,
        args.sync_expert_model,
        args.chunk_frames,
    )
    print(f"{report['chunks']} chunks of {report['chunk_frames']} frames from split '{report['split']}' (96-px faces)")
    print(markdown_table(report))
    if not args.no_mouth_table:  # the mouth table scores whole frames at video resolution, through `talkhead lip-sync`
        from ..benchmarks.mouth import benchmark_mouth, mouth_table

        paper = args.face_generator_model[0] if args.face_generator_model else defaults.FACE_GENERATOR
        report["mouth"] = benchmark_mouth(
            args.data, args.split, args.mouth_model, paper, None, args.max_frames, sheet=sheet
        )
        print(
            f"\nvideo resolution, {len(report['mouth']['clips'])} clips, {report['mouth']['max_frames']} frames each:"
        )
        print(mouth_table(report["mouth"]))
    write_json(report, path)
    return 0


def run_speed(args) -> int:
    from ..benchmarks.speed import TASKS, benchmark_speed, speed_table

    path = OutputGuard([args.video]).claim(args.json, "--json", ".json")
    report = benchmark_speed(tuple(args.seconds), tuple(args.task or TASKS), args.video)
    write_json(report, path)
    print(speed_table(report))
    return 0


def run_lip_follow(args) -> int:
    from ..benchmarks.lip_follow import benchmark_lip_follow, lip_follow_table

    mouth_models = args.mouth_model or [defaults.MOUTH_MOTION]
    path = OutputGuard([args.data, *mouth_models]).claim(args.json, "--json", ".json")
    report = benchmark_lip_follow(
        args.data,
        args.split,
        mouth_models,
        not args.no_pipelines,
        mouth_models[0],
        limit=args.limit,
        visemes=not args.no_visemes,
    )
    write_json(report, path)
    print(f"{len(report['clips'])} clips of split '{report['split']}'")
    print(lip_follow_table(report))
    _print_articulation(report)
    return 0


def _print_articulation(report: dict) -> None:
    from ..benchmarks.articulation import VIEWS, articulation_table

    if report.get("articulation"):
        for view in VIEWS:
            print(f"\narticulation, {view.replace('_', ' ')}:")
            print(articulation_table(report["articulation"], view))


def run_talking_head(args) -> int:
    from ..benchmarks.talking_head import benchmark_talking_head, talking_head_table

    path = OutputGuard([args.data, args.mouth_interior_model]).claim(args.json, "--json", ".json")
    report = benchmark_talking_head(
        args.data,
        args.split,
        args.mouth_interior_model,
        args.row,
        args.limit,
        args.max_seconds,
        keep_outputs=args.keep_outputs,
    )
    write_json(report, path)
    print(f"{len(report['clips'])} clips of split '{report['split']}' ({len(report['open_photos'])} open-mouth photos)")
    print(talking_head_table(report))
    _print_articulation(report)
    return 0


def run_mouth(args) -> int:
    from ..benchmarks.mouth import benchmark_mouth, mouth_table

    guard = OutputGuard([args.data, args.mouth_model])
    path = guard.claim(args.json, "--json", ".json")
    sheet = guard.claim(args.sheet, "--sheet", ".png")
    paper = None if args.face_generator_model.lower() == "none" else args.face_generator_model
    report = benchmark_mouth(args.data, args.split, args.mouth_model, paper, args.limit, args.max_frames, sheet=sheet)
    write_json(report, path)
    print(f"{len(report['clips'])} clips of split '{report['split']}', {report['max_frames']} frames each")
    print(mouth_table(report))
    return 0
