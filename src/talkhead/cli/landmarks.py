"""``talkhead landmarks``: 68-point head and lip motion for a photo and speech (MS-Sync)."""

from __future__ import annotations

from .. import defaults
from ..io.outputs import OutputGuard
from .common import AUDIO_HELP


def add_landmarks(subparsers) -> None:
    parser = subparsers.add_parser(
        "landmarks",
        help="68-point head and lip motion for a photo and speech (MS-Sync)",
        description="Generate 25 fps 68-landmark trajectories for the face in IMAGE driven by AUDIO, and optionally a "
        "preview video with the landmarks drawn over the photo and the audio muxed.",
    )
    parser.add_argument("--image", required=True, help="face photo (the largest face is used)")
    parser.add_argument("--audio", required=True, help=AUDIO_HELP)
    parser.add_argument(
        "--output", "-o", required=True, help="lm.npz or lm.json: landmarks in crop units and photo pixels"
    )
    parser.add_argument("--preview", help="also write this .mp4: the photo with the moving landmarks, audio muxed")
    parser.add_argument(
        "--head-model",
        default=defaults.HEAD_MOTION,
        metavar="MODEL",
        help="MS-Sync generator checkpoint of the head's motion (folder, model id or short name)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run_landmarks)


def run_landmarks(args) -> int:
    from ..io.audio import load_audio
    from ..io.video_writer import write_video
    from ..pipelines.talking_head.speech_to_landmarks import (
        LANDMARK_SUFFIXES,
        SpeechToLandmarks,
        preview_frames,
        read_image,
    )

    guard = OutputGuard([args.image, args.audio, args.head_model])
    output = guard.claim(args.output, "--output", LANDMARK_SUFFIXES)
    preview = guard.claim(args.preview, "--preview", ".mp4")
    image = read_image(args.image)
    wave = load_audio(args.audio)
    motion = SpeechToLandmarks(args.head_model, seed=args.seed)(image, wave, args.image, args.audio)
    motion.save(output)
    print(
        f"{len(motion.landmarks)} frames ({len(motion.landmarks) / motion.fps:.2f} s) written to {output}"
        + (" (silent audio: still face, closed mouth)" if motion.silent else "")
    )
    if preview:
        write_video(preview, preview_frames(image, motion), motion.fps, audio=wave)
        print(f"preview written to {preview}")
    return 0
