"""``talkhead lipsync``: dubbing, a video and new speech -> the video with the mouth following the speech.

It uses the shipped models (``talkhead/<name>``, :mod:`talkhead.hub`) by default (no download) and prints one
summary: what was written, the warnings (missing faces, audio/video length policy, silent audio) and time per stage.
Every file it writes is claimed from :class:`talkhead.outputs.OutputGuard` before any work starts.
"""

from __future__ import annotations

from ..outputs import OutputGuard
from ..processing.phones import DEFAULT_LANGUAGE
from .common import AUDIO_HELP, none_or, print_report


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
    parser.add_argument("--language", default=DEFAULT_LANGUAGE,
                        help="language of the speech: auto (default: the English recogniser's words where its own "
                             "confidence says it understood, the phone loop elsewhere), en (always its words), or "
                             "another code such as fr or zh (the phone loop alone: no English words)")
    parser.add_argument("--face", default="largest",
                        help="with several faces: which to dub, largest (default), leftmost, rightmost, an index from "
                             "the left (0 is the leftmost) or a point X,Y in the video's pixels; the choice is made "
                             "where the face is first found and that face is followed to the end")
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_lipsync)


def run_lipsync(args) -> int:
    from ..pipelines.lip_sync import LipSyncOptions, lip_sync, load_lip_sync_models

    guard = OutputGuard([args.video, args.audio, args.model, args.silent_lip])
    output = guard.claim(args.output, "--output", ".mp4")
    report = guard.claim(args.json, "--json", ".json")
    options = LipSyncOptions(on_missing_face=args.on_missing_face, audio_longer=args.audio_longer,
                             batch_size=args.batch_size, pool_size=args.pool_size, language=args.language,
                             face=args.face, progress=not args.quiet)
    model, silent_lip = load_lip_sync_models(args.model, none_or(args.silent_lip))
    result = lip_sync(args.video, args.audio, output, model, silent_lip, options)
    print_report(result, report, f"{result.frames} frames ({result.seconds:.2f} s at {result.fps:g} fps), "
                               f"{result.generated_frames} with a generated mouth; {result.face}")
    return 0
