"""``talkhead benchmark lip-follow`` and ``talkhead benchmark mouth``: the held-out quality of the generated mouth.

Both need the raw videos that ``talkhead preprocess`` read (listed in the dataset's
``talkhead_preprocess.json``), because they score full-resolution frames and re-track outputs.
"""

from __future__ import annotations

from .outputs import OutputGuard, write_json


def add_quality_benchmarks(kinds) -> None:
    lip_follow = kinds.add_parser(
        "lip-follow", help="does the generated mouth open and close with the speech on held-out clips (issue #14)",
        description="Lip-follow (correlation of mouth openings, no lag search) on the clips of a split: rows base "
                    "(unrelated speech), loudness and phone_table (no-learning baselines), model:NAME (each --model's "
                    "predicted opening), own (lipsync with the clip's own speech), cross (a clip dubbed with the next "
                    "clip's speech, against that clip's mouth) and photo (generate from the first frame).",
    )
    lip_follow.add_argument("--data", required=True, help="dataset written by `talkhead preprocess`")
    lip_follow.add_argument("--split", default="test")
    lip_follow.add_argument("--model", action="append", default=[], help="mouth-motion checkpoint for a model: row; repeat")
    lip_follow.add_argument("--lip-sync-model", default="talkhead/mouth-motion", help="the model the lipsync rows run with")
    lip_follow.add_argument("--no-pipelines", action="store_true", help="only the model and baseline rows (fast)")
    lip_follow.add_argument("--limit", type=int, help="only the first N clips")
    lip_follow.add_argument("--json", required=True)
    lip_follow.set_defaults(func=run_lip_follow)
    mouth = kinds.add_parser(
        "mouth", help="mouth quality at video resolution: mouth-box SSIM, PSNR, sharpness and face-box SSIM (issue #13)",
        description="Each clip of a split dubbed with its own speech (a frame may not reuse a mouth from within 10 "
                    "frames of itself), scored against the original: rows ground_truth, reference_copy, "
                    "renderer_real_shapes, lipsync and paper_generator.",
    )
    mouth.add_argument("--data", required=True, help="dataset written by `talkhead preprocess`")
    mouth.add_argument("--split", default="test")
    mouth.add_argument("--lip-sync-model", default="talkhead/mouth-motion")
    mouth.add_argument("--paper-generator", default="talkhead/stable-sync-face", help="the paper's G_L row; 'none' to skip")
    mouth.add_argument("--max-frames", type=int, default=150, help="frames scored per clip (default 150)")
    mouth.add_argument("--limit", type=int, help="only the first N clips")
    mouth.add_argument("--sheet", help="also write a contact sheet PNG: original mouth over dubbed mouth, 8 frames of 6 clips")
    mouth.add_argument("--json", required=True)
    mouth.set_defaults(func=run_mouth)


def run_lip_follow(args) -> int:
    from .evaluation.lip_follow import benchmark_lip_follow, lip_follow_table

    path = OutputGuard([args.data, *args.model, args.lip_sync_model]).claim(args.json, "--json", ".json")
    report = benchmark_lip_follow(args.data, args.split, args.model or None, not args.no_pipelines, args.lip_sync_model,
                                  limit=args.limit)
    write_json(report, path)
    print(f"{len(report['clips'])} clips of split '{report['split']}'")
    print(lip_follow_table(report))
    return 0


def run_mouth(args) -> int:
    from .evaluation.mouth_benchmark import benchmark_mouth, mouth_table

    guard = OutputGuard([args.data, args.lip_sync_model])
    path = guard.claim(args.json, "--json", ".json")
    sheet = guard.claim(args.sheet, "--sheet", ".png")
    paper = None if args.paper_generator.lower() == "none" else args.paper_generator
    report = benchmark_mouth(args.data, args.split, args.lip_sync_model, paper, args.limit, args.max_frames,
                             sheet=sheet)
    write_json(report, path)
    print(f"{len(report['clips'])} clips of split '{report['split']}', {report['max_frames']} frames each")
    print(mouth_table(report))
    return 0
