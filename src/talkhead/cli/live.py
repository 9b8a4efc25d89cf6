"""``talkhead avatar`` (prepare a video once) and ``talkhead live`` (lip-sync it to speech as the speech arrives).

``talkhead live`` reads speech from a file, paced as if it were spoken now (``--pace realtime``, the default) or as
fast as it renders (``--pace fast``), or raw 16 kHz mono s16le PCM from standard input (``--audio -``), and writes
an mp4 as it goes (``--output``) or raw RGB frames to standard output for ffmpeg or a virtual camera
(``--raw-video -``; the delayed audio to ``--raw-audio``).
"""

from __future__ import annotations

import sys
import time

from .. import defaults
from ..errors import TalkheadInputError
from ..io.audio import SAMPLE_RATE, load_audio
from ..io.outputs import OutputGuard, write_json
from .common import AUDIO_HELP, NO_VISEMES_HELP

PACES = ("realtime", "fast")
FEED_SECONDS = 0.02  # a file is pushed in chunks this long (a microphone's usual buffer)


def add_avatar(subparsers) -> None:
    parser = subparsers.add_parser(
        "avatar",
        help="prepare a video once as a live avatar (for talkhead live)",
        description="Track the face in VIDEO, pool its mouths, find its shut mouth and a seamless idle loop, and save "
        "them as an avatar folder (safetensors + JSON + a card) that `talkhead live` drives with speech as it arrives.",
    )
    parser.add_argument("video", help="video with a face in most frames (25 fps is used)")
    parser.add_argument("--output", "-o", required=True, help="the avatar folder to write")
    parser.add_argument(
        "--live-mouth-model",
        default=defaults.LIVE_MOUTH_MOTION,
        metavar="MODEL",
        help=f"streamable mouth-motion checkpoint the avatar speaks with (default {defaults.LIVE_MOUTH_MOTION})",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=defaults.POOL_SIZE,
        help=f"at most this many mouths (default {defaults.POOL_SIZE})",
    )
    parser.add_argument("--face", default=defaults.FACE, help="with several faces: which (as in talkhead lip-sync)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing avatar folder")
    parser.add_argument("--json", help="also write what was prepared to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_avatar)


def _live():
    """The live pipeline package, imported when a command runs (``talkhead --help`` stays light)."""
    from ..pipelines import live

    return live


def run_avatar(args) -> int:
    guard = OutputGuard([args.video, args.live_mouth_model])
    folder = guard.claim(args.output, "--output", folder=True, overwrite=args.overwrite)
    report = guard.claim(args.json, "--json", ".json")
    avatar = _live().LipSyncAvatar.from_video(
        args.video, mouth_model=args.live_mouth_model, pool_size=args.pool_size, face=args.face, progress=not args.quiet
    )
    avatar.save_pretrained(folder)
    loop = avatar.loop
    print(
        f"{folder}: a {loop.length / avatar.fps:.1f} s idle loop ({'bounced' if loop.bounce else 'seamless'}), "
        f"{len(avatar.pool)} mouths, prepared in {avatar.config['prepared_seconds']} s"
    )
    if report:
        write_json({**avatar.config, "avatar": str(folder)}, report)
    return 0


def add_live(subparsers) -> None:
    parser = subparsers.add_parser(
        "live",
        help="lip-sync a prepared avatar to speech as it arrives (a file paced in real time, or PCM on stdin)",
        description="Drive AVATAR (made by `talkhead avatar`) with speech: each 40 ms frame comes out a few frames "
        "after its speech arrives, paired with that speech, so frames and sound stay in sync. Without speech the "
        "avatar idles with its mouth shut.",
    )
    parser.add_argument("--avatar", required=True, help="avatar folder written by `talkhead avatar`")
    parser.add_argument(
        "--audio",
        required=True,
        help=f"{AUDIO_HELP}; '-' reads raw 16 kHz mono 16-bit little-endian PCM from standard input as it arrives",
    )
    parser.add_argument("--output", "-o", help="the .mp4 to write as frames are made (H.264 + AAC)")
    parser.add_argument(
        "--raw-video",
        metavar="PATH",
        help="write raw RGB24 frames to PATH ('-': standard output), for ffmpeg or a virtual camera",
    )
    parser.add_argument("--raw-audio", metavar="PATH", help="with --raw-video: the delayed speech as s16le PCM")
    parser.add_argument(
        "--pace",
        choices=PACES,
        default="realtime",
        help="a speech file is pushed as if spoken now (realtime, default) or as fast as frames render (fast)",
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=0.0, help="idle (mouth shut) this long after the speech ends"
    )
    parser.add_argument("--no-visemes", action="store_true", help=NO_VISEMES_HELP)
    parser.add_argument("--json", help="also write the run's report to this JSON file")
    parser.set_defaults(func=run_live)


def run_live(args) -> int:
    live = _live()
    if not args.output and not args.raw_video:
        raise TalkheadInputError("talkhead live needs --output FILE.mp4 or --raw-video PATH ('-' for stdout)")
    if args.raw_audio and not args.raw_video:
        raise TalkheadInputError("--raw-audio goes with --raw-video (an --output mp4 carries its own sound)")
    inputs = [args.avatar] + ([args.audio] if args.audio != "-" else [])
    guard = OutputGuard(inputs)
    output = guard.claim(args.output, "--output", ".mp4")
    report = guard.claim(args.json, "--json", ".json")
    avatar = live.LipSyncAvatar.from_pretrained(args.avatar)
    realtime = args.audio == "-" or args.pace == "realtime"  # fast: phones decoded inline, no frame outruns them
    stream = avatar.stream(visemes=not args.no_visemes, realtime=realtime)
    started = time.perf_counter()
    with live.FrameSink(avatar, output, args.raw_video, args.raw_audio) as sink:
        for chunk in _speech_chunks(args.audio, args.pace):
            sink.write(stream.push(chunk))
        sink.write(stream.end())
        if args.idle_seconds > 0:
            sink.write(stream.idle(args.idle_seconds))
    seconds = time.perf_counter() - started
    summary = {
        "avatar": args.avatar,
        "frames": sink.frames,
        "seconds": round(seconds, 2),
        "latency_frames": stream.latency_frames,
        "output": str(output) if output else args.raw_video,
    }
    print(
        f"{summary['output']}: {sink.frames} frames in {seconds:.1f} s, "
        f"{stream.latency_frames} frames behind the speech",
        file=sys.stderr if args.raw_video == "-" else sys.stdout,  # standard output carries the frames then
    )
    if report:
        write_json(summary, report)
    return 0


def _speech_chunks(audio: str, pace: str):
    """16 kHz chunks of ``audio`` ('-': raw s16le from stdin as it arrives; a file: FEED_SECONDS at a time, paced)."""
    step = int(FEED_SECONDS * SAMPLE_RATE)
    if audio == "-":
        source, odd = sys.stdin.buffer, b""
        while chunk := source.read1(2 * step) if hasattr(source, "read1") else source.read(2 * step):
            whole = odd + bytes(chunk)
            cut = len(whole) - len(whole) % 2  # a pipe may split a sample between two reads
            odd = whole[cut:]
            yield whole[:cut]
        return
    wave = load_audio(audio)
    started = time.perf_counter()
    for index, start in enumerate(range(0, len(wave), step)):
        if pace == "realtime":
            time.sleep(max(0.0, started + index * FEED_SECONDS - time.perf_counter()))
        yield wave[start : start + step]
