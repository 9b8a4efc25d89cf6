"""``talkhead lip-sync``: dubbing, a video and new speech -> the video with the mouth following the speech
(``pipeline("lip-sync")``).

It uses the shipped models (``talkhead/<name>``, :mod:`talkhead.hub`) by default (no download) and prints one
summary: what was written, what the speech was heard as (the words or the phone loop, and why), the warnings (missing
faces, audio/video length policy, silent audio) and time per stage. Every file it writes is claimed from
:class:`talkhead.io.outputs.OutputGuard` before any work starts.
"""

from __future__ import annotations

from .. import defaults
from ..io.outputs import OutputGuard
from ..options import LipSyncOptions
from .common import AUDIO_HELP, LANGUAGE_HELP, NO_VISEMES_HELP, none_or, print_report


def add_lip_sync(subparsers) -> None:
    parser = subparsers.add_parser(
        "lip-sync",
        help="lip-sync (dubbing): a video and new speech -> the video with the mouth following the speech",
        description="Track the face in VIDEO, predict the mouth's shape for every frame from AUDIO (mouth-motion "
        "model: the phones heard in the speech), take the video's own mouth nearest each shape, warp it onto the shape "
        "and paste it back, and write an mp4 at the video's own frame rate with AUDIO as its sound. "
        "--renderer generator uses the paper's face generator (--face-generator-model) instead. Memory stays flat "
        "with the video's length (it is read three times, streaming; a pool of at most --pool-size mouths is kept).",
    )
    parser.add_argument(
        "--video", required=True, help="video with a face (any frame rate, variable too; or a folder of frames)"
    )
    parser.add_argument("--audio", required=True, help=f"the new {AUDIO_HELP}")
    parser.add_argument("--output", "-o", required=True, help="the .mp4 to write (H.264 + AAC)")
    parser.add_argument(
        "--on-missing-face",
        choices=defaults.MISSING_FACE_POLICIES,
        default=LipSyncOptions.on_missing_face,
        help="frames without a face: keep them unchanged (default, ranges reported), interpolate the "
        "face box across the gap, or stop. A video with no face in any frame is an error "
        "under every policy: there is nothing to dub",
    )
    parser.add_argument(
        "--audio-longer",
        choices=defaults.AUDIO_LONGER_POLICIES,
        default=LipSyncOptions.audio_longer,
        help="audio longer than the video: replay the video (loop), play it back and forth (bounce, "
        "default), or cut the audio (trim)",
    )
    parser.add_argument(
        "--renderer",
        choices=defaults.RENDERERS,
        default=LipSyncOptions.renderer,
        help="how the mouth is painted: retrieval (default) reuses the video's own mouths, warped to "
        "the shapes --mouth-model predicts; generator repaints every face with "
        "--face-generator-model (the paper's G_L)",
    )
    parser.add_argument(
        "--mouth-model",
        default=defaults.MOUTH_MOTION,
        metavar="MODEL",
        help=f"mouth-motion checkpoint of the retrieval renderer (default {defaults.MOUTH_MOTION})",
    )
    parser.add_argument(
        "--face-generator-model",
        default=defaults.FACE_GENERATOR,
        metavar="MODEL",
        help=f"face generator checkpoint of the generator renderer (default {defaults.FACE_GENERATOR})",
    )
    parser.add_argument(
        "--silent-lip-model",
        default=defaults.SILENT_LIP,
        metavar="MODEL",
        help="silent-lip generator checkpoint (G_S) that closes the identity frames' mouths for the generator "
        "renderer; 'none' to skip",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=LipSyncOptions.pool_size,
        help=f"at most this many frames lend their mouths (default {LipSyncOptions.pool_size})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=LipSyncOptions.batch_size,
        help=f"frames rendered at once (default {LipSyncOptions.batch_size})",
    )
    parser.add_argument(
        "--language",
        default=LipSyncOptions.language,
        help=LANGUAGE_HELP,
    )
    parser.add_argument("--no-visemes", action="store_true", help=NO_VISEMES_HELP)
    parser.add_argument(
        "--face",
        default=LipSyncOptions.face,
        help="with several faces: which to dub, largest (default), leftmost, rightmost, an index from "
        "the left (0 is the leftmost) or a point X,Y in the video's pixels; the choice is made "
        "where the face is first found and that face is followed to the end",
    )
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_lip_sync)


def run_lip_sync(args) -> int:
    # the library is imported here, not at the top: `talkhead --help` would otherwise load the model stack
    from ..pipelines.lip_sync import lip_sync
    from ..pipelines.loading import load_lip_sync_models

    uses = [args.mouth_model] if args.renderer == "retrieval" else [args.face_generator_model, args.silent_lip_model]
    guard = OutputGuard([args.video, args.audio, *uses])
    output = guard.claim(args.output, "--output", ".mp4")
    report = guard.claim(args.json, "--json", ".json")
    options = LipSyncOptions(
        renderer=args.renderer,
        on_missing_face=args.on_missing_face,
        audio_longer=args.audio_longer,
        batch_size=args.batch_size,
        pool_size=args.pool_size,
        language=args.language,
        visemes=not args.no_visemes,
        face=args.face,
        progress=not args.quiet,
    )
    models = load_lip_sync_models(
        args.mouth_model, args.renderer, args.face_generator_model, none_or(args.silent_lip_model)
    )
    result = lip_sync(args.video, args.audio, output, models, options)
    print_report(
        result,
        report,
        f"{result.frames} frames ({result.seconds:.2f} s at {result.fps:g} fps), "
        f"{result.generated_frames} with a generated mouth; {result.face}",
        args.flags,
    )
    return 0
