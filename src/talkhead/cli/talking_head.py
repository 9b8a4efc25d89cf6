"""``talkhead talking-head``: a talking head from a face photo and speech (``pipeline("talking-head")``).

It uses the shipped models (``talkhead/<name>``, :mod:`talkhead.hub`) by default (no download) and prints one
summary: what was written, what the speech was heard as (the words or the phone loop, and why), the warnings (missing
faces, silent audio) and time per stage. Every file it writes is claimed from
:class:`talkhead.io.outputs.OutputGuard` before any work starts.
"""

from __future__ import annotations

import numpy as np

from .. import defaults
from ..io.outputs import OutputGuard, atomic_output
from ..options import TalkingHeadOptions
from .common import AUDIO_HELP, LANGUAGE_HELP, NO_VISEMES_HELP, none_or, print_report


def add_talking_head(subparsers) -> None:
    parser = subparsers.add_parser(
        "talking-head",
        help="talking head: a face photo and speech -> an mp4",
        description="Animate the largest face in IMAGE with AUDIO: MS-Sync generates the head's motion, the "
        "mouth-motion model (phones heard in the speech) moves the mouth and jaw, the photo is warped to follow them "
        "and the opened mouth is shaded (and, with --repaint, the face generator repaints the mouth).",
    )
    parser.add_argument(
        "--image", required=True, help="face photo (jpg, png, ...; grayscale and large photos are fine)"
    )
    parser.add_argument("--audio", required=True, help=AUDIO_HELP)
    parser.add_argument("--output", "-o", required=True, help="the .mp4 to write (H.264 + AAC)")
    parser.add_argument(
        "--head-motion-scale",
        type=float,
        default=TalkingHeadOptions.head_motion_scale,
        help=f"0 still head, 1 generated motion (default), 2 doubled, at most {defaults.MAX_MOTION_SCALE:g}",
    )
    parser.add_argument(
        "--lip-scale",
        type=float,
        default=TalkingHeadOptions.lip_scale,
        help="scale of the mouth and jaw movement (default 1: a typical speaker's amplitude, as the rendered "
        "video's mouth is read)",
    )
    parser.add_argument(
        "--expression-scale",
        type=float,
        default=TalkingHeadOptions.expression_scale,
        help="scale of the brows' and eyes' own movement (default 0: the shipped generator's eye points jitter)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=TalkingHeadOptions.fps,
        help=f"output frame rate (default {TalkingHeadOptions.fps:g})",
    )
    parser.add_argument(
        "--output-size",
        type=int,
        default=TalkingHeadOptions.output_size,
        help=f"longest side of the output video in pixels, at least 96 (default {TalkingHeadOptions.output_size}; "
        "larger photos are downscaled)",
    )
    parser.add_argument(
        "--repaint",
        action="store_true",
        help="repaint the mouth with the stabilized-sync face generator (blurry with the small shipped model)",
    )
    parser.add_argument("--seed", type=int, default=TalkingHeadOptions.seed)
    parser.add_argument(
        "--head-model",
        default=defaults.HEAD_MOTION,
        metavar="MODEL",
        help="MS-Sync generator checkpoint of the head's motion (folder, model id or short name)",
    )
    parser.add_argument(
        "--mouth-model",
        default=defaults.MOUTH_MOTION,
        metavar="MODEL",
        help="mouth-motion checkpoint; 'none' lets MS-Sync move the mouth too (then use --lip-scale 2)",
    )
    parser.add_argument(
        "--face-generator-model",
        default=defaults.FACE_GENERATOR,
        metavar="MODEL",
        help="face generator checkpoint used by --repaint",
    )
    parser.add_argument(
        "--silent-lip-model",
        default=defaults.SILENT_LIP,
        metavar="MODEL",
        help="silent-lip generator checkpoint (G_S) that closes the photo's mouth for --repaint; 'none' to skip",
    )
    parser.add_argument(
        "--mouth-interior-model",
        default=defaults.MOUTH_INTERIOR,
        metavar="MODEL",
        help="mouth-interior generator checkpoint: the teeth and mouth inside the lips; 'none' paints a dark mouth "
        "instead",
    )
    parser.add_argument("--no-blinks", action="store_true", help="keep the eyes open")
    parser.add_argument(
        "--keep-open-mouth",
        action="store_true",
        help="a photo whose lips are apart keeps them apart at rest (by default it is driven from its mouth closed)",
    )
    parser.add_argument(
        "--output-landmarks", help="also save the per-frame landmarks (output video pixels) to this .npz"
    )
    parser.add_argument(
        "--language",
        default=TalkingHeadOptions.language,
        help=LANGUAGE_HELP,
    )
    parser.add_argument("--no-visemes", action="store_true", help=NO_VISEMES_HELP)
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_talking_head)


def run_talking_head(args) -> int:
    # the library is imported here, not at the top: `talkhead --help` would otherwise load the model stack
    from ..pipelines.loading import load_talking_head_models
    from ..pipelines.talking_head import talking_head

    guard = OutputGuard(
        [
            args.image,
            args.audio,
            args.head_model,
            args.mouth_model,
            args.face_generator_model,
            args.silent_lip_model,
            args.mouth_interior_model,
        ]
    )
    output = guard.claim(args.output, "--output", ".mp4")
    landmarks = guard.claim(args.output_landmarks, "--output-landmarks", ".npz")
    report = guard.claim(args.json, "--json", ".json")
    options = TalkingHeadOptions(
        head_motion_scale=args.head_motion_scale,
        lip_scale=args.lip_scale,
        expression_scale=args.expression_scale,
        fps=args.fps,
        output_size=args.output_size,
        repaint=args.repaint,
        seed=args.seed,
        language=args.language,
        visemes=not args.no_visemes,
        progress=not args.quiet,
        blinks=not args.no_blinks,
        keep_open_mouth=args.keep_open_mouth,
    )
    models = load_talking_head_models(
        args.head_model,
        none_or(args.mouth_model),
        args.face_generator_model,
        none_or(args.silent_lip_model),
        seed=args.seed,
        repaint=args.repaint,
        mouth_interior=none_or(args.mouth_interior_model),
    )
    result = talking_head(args.image, args.audio, output, models, options)
    if landmarks:
        with atomic_output(landmarks) as temporary:
            np.savez(temporary, landmarks=result.landmarks, fps=result.fps)
    print_report(result, report, f"{result.frames} frames ({result.seconds:.2f} s at {result.fps:g} fps)", args.flags)
    return 0
