"""``talkhead generate`` and ``talkhead lipsync``: the two video commands of the console script.

They use the shipped models (``talkhead/<name>``, :mod:`talkhead.hub`) by default (no download) and print one
summary: what was written, the warnings (missing faces, audio/video length policy, silent audio) and time per stage.
Every file they write is claimed from :class:`talkhead.outputs.OutputGuard` before any work starts.
"""

from __future__ import annotations

from .outputs import OutputGuard, atomic_output, write_json
from .processing.audio import MIN_AUDIO_SECONDS

AUDIO_HELP = f"speech, at least {MIN_AUDIO_SECONDS:g} s (the same rule in every command): wav, mp3, m4a, flac, or a video's audio track"


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
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_generate)


def run_generate(args) -> int:
    import numpy as np

    from .models.mouth_motion import MouthMotionModel
    from .models.stable_sync import StableSyncFaceGenerator
    from .pipelines.base import load_component
    from .pipelines.speech_to_landmarks import SpeechToLandmarks
    from .pipelines.talking_head import TalkingHeadOptions, talking_head

    guard = OutputGuard([args.image, args.audio, args.model, args.mouth_model, args.face_generator, args.silent_lip])
    output = guard.claim(args.output, "--output", ".mp4")
    landmarks = guard.claim(args.landmarks, "--landmarks", ".npz")
    report = guard.claim(args.json, "--json", ".json")
    options = TalkingHeadOptions(head_motion_scale=args.head_motion_scale, lip_scale=args.lip_scale,
                                 expression_scale=args.expression_scale, fps=args.fps,
                                 max_side=args.max_side, repaint=args.repaint, seed=args.seed, progress=not args.quiet)
    generator = load_component(StableSyncFaceGenerator, args.face_generator) if args.repaint else None
    silent_lip = load_component(StableSyncFaceGenerator, _none(args.silent_lip)) if args.repaint else None
    mouth_model = load_component(MouthMotionModel, _none(args.mouth_model))
    result = talking_head(args.image, args.audio, output, SpeechToLandmarks(args.model, seed=args.seed),
                          generator, silent_lip, options, mouth_model=mouth_model)
    if landmarks:
        with atomic_output(landmarks) as temporary:
            np.savez(temporary, landmarks=result.landmarks, fps=result.fps)
    _report(result, report, f"{result.frames} frames ({result.seconds:.2f} s at {result.fps:g} fps)")
    return 0


def add_lipsync(subparsers) -> None:
    parser = subparsers.add_parser(
        "lipsync", help="lip-sync (dubbing): a video and new speech -> the video with the mouth following the speech",
        description="Track the face in VIDEO, predict the mouth's shape for every frame from AUDIO (mouth-motion model: "
                    "the phones heard in the speech), take the video's own mouth nearest each shape, warp it onto the shape "
                    "and paste it back, and write an mp4 at the video's own frame rate with AUDIO as its sound. "
                    "--model stable-sync-face uses the paper's face generator instead. Memory stays flat with the "
                    "video's length (it is read three times, streaming; a pool of at most --pool-size mouths is kept).",
    )
    parser.add_argument("--video", required=True, help="video with a face (any frame rate, variable too; or a folder of frames)")
    parser.add_argument("--audio", required=True, help=f"the new {AUDIO_HELP}")
    parser.add_argument("--output", "-o", required=True, help="the .mp4 to write (H.264 + AAC)")
    parser.add_argument("--on-missing-face", choices=["passthrough", "interpolate", "error"], default="passthrough",
                        help="frames without a face: keep them unchanged (default, ranges reported), interpolate the "
                             "face box across the gap, or stop. A video with no face in any frame is an error "
                             "under every policy: there is nothing to dub")
    parser.add_argument("--audio-longer", choices=["loop", "bounce", "trim"], default="bounce",
                        help="audio longer than the video: replay the video (loop), play it back and forth (bounce, "
                             "default), or cut the audio (trim)")
    parser.add_argument("--model", default="talkhead/mouth-motion",
                        help="mouth-motion checkpoint (default; the video's own mouths are reused), or a stabilized-sync "
                             "face generator such as stable-sync-face (the paper's G_L repaints the mouth)")
    parser.add_argument("--silent-lip", default="talkhead/stable-sync-silent-lip",
                        help="with a face generator: G_S that closes the identity frames' mouths; 'none' to skip")
    parser.add_argument("--pool-size", type=int, default=750, help="at most this many frames lend their mouths (default 750)")
    parser.add_argument("--batch-size", type=int, default=16, help="frames rendered at once (default 16)")
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_lipsync)


def run_lipsync(args) -> int:
    from .pipelines.lip_sync import LipSyncOptions, lip_sync, load_lip_sync_models

    guard = OutputGuard([args.video, args.audio, args.model, args.silent_lip])
    output = guard.claim(args.output, "--output", ".mp4")
    report = guard.claim(args.json, "--json", ".json")
    options = LipSyncOptions(on_missing_face=args.on_missing_face, audio_longer=args.audio_longer,
                             batch_size=args.batch_size, pool_size=args.pool_size, progress=not args.quiet)
    model, silent_lip = load_lip_sync_models(args.model, _none(args.silent_lip))
    result = lip_sync(args.video, args.audio, output, model, silent_lip, options)
    _report(result, report, f"{result.frames} frames ({result.seconds:.2f} s at {result.fps:g} fps), "
                               f"{result.generated_frames} with a generated mouth")
    return 0


def _none(value: str | None) -> str | None:
    return None if value is None or value.lower() == "none" else value


def _report(result, json_path, what: str) -> None:
    print(f"{result.video}: {what}")
    for warning in result.warnings:
        print(f"  note: {warning}")
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.stage_seconds.items() if seconds)
    print(f"  time: {stages}")
    if json_path:
        write_json(result.to_dict(), json_path)
