"""``talkhead generate``: a talking head from a face photo and speech.

It uses the shipped models (``talkhead/<name>``, :mod:`talkhead.hub`) by default (no download) and prints one
summary: what was written, the warnings (missing faces, silent audio) and time per stage. Every file it writes is
claimed from :class:`talkhead.outputs.OutputGuard` before any work starts.
"""

from __future__ import annotations

from ..outputs import OutputGuard, atomic_output
from ..processing.phones import DEFAULT_LANGUAGE
from .common import AUDIO_HELP, none_or, print_report


def add_generate(subparsers) -> None:
    parser = subparsers.add_parser(
        "generate", help="talking head: a face photo and speech -> an mp4",
        description="Animate the largest face in IMAGE with AUDIO: MS-Sync generates the head's motion, the mouth-motion "
                    "model (phones heard in the speech) moves the mouth and jaw, the photo is warped to follow them and "
                    "the opened mouth is shaded (and, with --repaint, the face generator repaints the mouth).",
    )
    parser.add_argument("--image", required=True, help="face photo (jpg, png, ...; grayscale and large photos are fine)")
    parser.add_argument("--audio", required=True, help=AUDIO_HELP)
    parser.add_argument("--output", "-o", required=True, help="the .mp4 to write (H.264 + AAC)")
    parser.add_argument("--head-motion-scale", type=float, default=1.0, help="0 still head, 1 generated motion (default), 2 doubled")
    parser.add_argument("--lip-scale", type=float, default=1.0,
                        help="scale of the mouth and jaw movement (default 1: as predicted; the model's gain was fitted "
                             "on held-out speakers to move as much as real mouths)")
    parser.add_argument("--expression-scale", type=float, default=0.0,
                        help="scale of the brows' and eyes' own movement (default 0: the shipped generator's eye points jitter)")
    parser.add_argument("--fps", type=float, default=25.0, help="output frame rate (default 25)")
    parser.add_argument("--max-side", type=int, default=720, help="longest side of the output (default 720)")
    parser.add_argument("--repaint", action="store_true",
                        help="repaint the mouth with the stabilized-sync face generator (blurry with the small shipped model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="talkhead/ms-sync-short", help="MS-Sync generator checkpoint (folder, model id or short name)")
    parser.add_argument("--mouth-model", default="talkhead/mouth-motion",
                        help="mouth-motion checkpoint; 'none' lets MS-Sync move the mouth too (then use --lip-scale 2)")
    parser.add_argument("--face-generator", default="talkhead/stable-sync-face", help="face generator used by --repaint")
    parser.add_argument("--silent-lip", default="talkhead/stable-sync-silent-lip", help="G_S that closes the photo's mouth; 'none' to skip")
    parser.add_argument("--landmarks", help="also save the per-frame landmarks (output pixels) to this .npz")
    parser.add_argument("--language", default=DEFAULT_LANGUAGE,
                        help="language of the speech: auto (default: the English recogniser's words where its own "
                             "confidence says it understood, the phone loop elsewhere), en (always its words), or "
                             "another code such as fr or zh (the phone loop alone: no English words)")
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_generate)


def run_generate(args) -> int:
    import numpy as np

    from ..models.mouth_motion import MouthMotionModel
    from ..models.stable_sync import StableSyncFaceGenerator
    from ..pipelines.base import load_component
    from ..pipelines.speech_to_landmarks import SpeechToLandmarks
    from ..pipelines.talking_head import TalkingHeadOptions, talking_head

    guard = OutputGuard([args.image, args.audio, args.model, args.mouth_model, args.face_generator, args.silent_lip])
    output = guard.claim(args.output, "--output", ".mp4")
    landmarks = guard.claim(args.landmarks, "--landmarks", ".npz")
    report = guard.claim(args.json, "--json", ".json")
    options = TalkingHeadOptions(head_motion_scale=args.head_motion_scale, lip_scale=args.lip_scale,
                                 expression_scale=args.expression_scale, fps=args.fps,
                                 max_side=args.max_side, repaint=args.repaint, seed=args.seed, language=args.language,
                                 progress=not args.quiet)
    generator = load_component(StableSyncFaceGenerator, args.face_generator) if args.repaint else None
    silent_lip = load_component(StableSyncFaceGenerator, none_or(args.silent_lip)) if args.repaint else None
    mouth_model = load_component(MouthMotionModel, none_or(args.mouth_model))
    result = talking_head(args.image, args.audio, output, SpeechToLandmarks(args.model, seed=args.seed),
                          generator, silent_lip, options, mouth_model=mouth_model)
    if landmarks:
        with atomic_output(landmarks) as temporary:
            np.savez(temporary, landmarks=result.landmarks, fps=result.fps)
    print_report(result, report, f"{result.frames} frames ({result.seconds:.2f} s at {result.fps:g} fps)")
    return 0
