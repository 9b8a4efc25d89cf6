"""``talkhead benchmark live``: live avatars of the test clips, timed and scored against offline lip-sync
(:mod:`talkhead.benchmarks.live`)."""

from __future__ import annotations

from ..io.outputs import OutputGuard, write_json


def add_live_benchmark(kinds, kind, finish) -> None:
    """The ``live`` KIND, made with the benchmark command's ``kind`` and ``finish`` helpers."""
    parser = kind(
        kinds,
        "live",
        help="live avatars: speech-to-frame latency, time to first frame, CPU, memory, and the streamed mouth "
        "against offline lip-sync",
        description="Prepare each test clip as an avatar, stream its own speech into it in real time, and report the "
        "latency from a sample's arrival to the frame that shows it (p50 / p95), the time to the first frame, avatar "
        "load and preparation times, CPU cores, and the streamed video's lip-follow and bilabial closures over those "
        "of `talkhead lip-sync` on the same audio and video. --long-seconds adds a long real-time run: sustained "
        "frame rate, late frames, memory.",
    )
    parser.add_argument("--limit", type=int, help="only the first N clips")
    parser.add_argument(
        "--pace",
        choices=("realtime", "fast"),
        default="realtime",
        help="push the speech in real time (default; latencies measured) or as fast as it renders",
    )
    parser.add_argument("--long-seconds", type=float, default=0.0, help="also a real-time run this long (e.g. 600)")
    finish(parser, run_live_benchmark)


def run_live_benchmark(args) -> int:
    from ..benchmarks.live import benchmark_live, live_table

    path = OutputGuard([args.data]).claim(args.json, "--json", ".json")
    report = benchmark_live(args.data, args.split, args.limit, args.pace == "realtime", args.long_seconds)
    write_json(report, path)
    print(f"{len(report['per_clip'])} clips of split '{report['split']}', pace {report['pace']}")
    print(live_table(report))
    return 0
