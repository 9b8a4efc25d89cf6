"""``talkhead preprocess``: folders of talking videos -> a ``datasets`` dataset (the ``[data]`` extra)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .. import defaults
from ..errors import TalkheadInputError
from ..io import outputs
from ..io.audio import MIN_AUDIO_SECONDS
from ..io.outputs import OutputGuard
from ..processing.phones import PHONE_DECODERS, PHONE_LOOP_DECODER


def add_preprocess(subparsers) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="turn folders of talking videos into a `datasets` dataset",
        description=(
            "Walk INPUT folders (or files), pair silent videos and frame folders with same-name audio, "
            "track 68 face landmarks at 25 fps, compute audio features, and save a dataset: Parquet shards under "
            "OUTPUT/data/ with a dataset card (`datasets.load_dataset(OUTPUT)` reads it, sharded or not) and the "
            "Arrow files of `save_to_disk` that training memory-maps. Unusable inputs (unreadable, no face, no "
            f"audio, audio shorter than {MIN_AUDIO_SECONDS:g} s, ...) are skipped and listed with the reason."
        ),
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="folders or video files")
    parser.add_argument(
        "--output", "-o", required=True, help="folder to write the dataset to (not an input, and holding none)"
    )
    parser.add_argument("--faces", action="store_true", help="also store 96x96 face crops (needed by the image models)")
    parser.add_argument(
        "--mouths",
        action="store_true",
        help="also store 64x64 mouth crops (what the mouth-interior generator trains on)",
    )
    parser.add_argument(
        "--phones",
        action="store_true",
        help="also store the phones heard per frame (pocketsphinx; what the mouth-motion model reads)",
    )
    parser.add_argument(
        "--phone-decoder",
        default=PHONE_LOOP_DECODER,
        choices=PHONE_DECODERS,
        help="how --phones are decoded: the phone loop (default) or the phones of recognised words "
        "(words: what the shipped mouth-motion model reads; about 4x real time)",
    )
    parser.add_argument(
        "--test-sources", default=None, help="comma-separated source folders (or globs) that form the `test` split"
    )
    parser.add_argument(
        "--num-proc", type=int, default=min(4, os.cpu_count() or 1), help="worker processes (default: %(default)s)"
    )
    parser.add_argument("--min-frames", type=int, default=25, help="drop face segments shorter than this (default 25)")
    parser.add_argument(
        "--max-side",
        type=int,
        default=defaults.TRACK_SIDE,
        help="decode frames at most this large for tracking and crops (default %(default)s)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --output")
    parser.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="process only the I-th of N slices of the clips (a stable hash of each file's path below its input "
        "folder) into Parquet files and a manifest under --output, which the other shards share; a re-run of "
        "a shard rewrites only that shard; a shard another run is writing, or one that disagrees with the "
        "folder's other shards (N, options, input files), is refused. `load_dataset('parquet', "
        "data_dir=OUTPUT)` reads the whole folder once every shard is complete (before: no data files)",
    )
    filters = parser.add_argument_group("filters (each counted in the summary and the shard manifests)")
    filters.add_argument(
        "--min-face-size",
        type=float,
        default=0.0,
        metavar="PX",
        help="drop stretches whose median face is smaller than PX source pixels (default: keep all)",
    )
    filters.add_argument(
        "--max-face-jump",
        type=float,
        default=0.0,
        metavar="SIZES",
        help="split clips where the face jumps by more than SIZES face sizes in one frame: a scene "
        "cut (0.3 finds cuts between shots; default 0: never split)",
    )
    filters.add_argument(
        "--av-offset-model",
        default=None,
        metavar="MODEL",
        help="measure each clip's audio-video offset with this mouth-sync expert (e.g. mouth-sync); "
        "offsets up to --max-av-shift frames are undone, larger ones dropped",
    )
    filters.add_argument(
        "--max-av-shift",
        type=int,
        default=3,
        metavar="FRAMES",
        help="largest offset undone; a clip further off is dropped (default %(default)s)",
    )
    filters.add_argument(
        "--min-av-confidence",
        type=float,
        default=0.0,
        help="act on an offset only when the expert's confidence reaches this (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", default=None, help="also write the summary to this .json file")
    parser.add_argument(
        "--parquet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Parquet shards under OUTPUT/data/ beside the Arrow files training memory-maps, as --shard writes them "
        "(default: yes; `load_dataset(OUTPUT)` reads either folder); --no-parquet keeps the Arrow files alone",
    )
    parser.add_argument(
        "--push-to-hub",
        default=None,
        metavar="REPO_ID",
        help="upload the dataset card and Parquet shards as this Hub dataset (not with --no-parquet)",
    )
    parser.set_defaults(func=run_preprocess)


def run_preprocess(args) -> int:
    from ..data.build import PreprocessOptions, build_dataset

    if args.num_proc < 1:
        raise TalkheadInputError(f"--num-proc must be at least 1, got {args.num_proc}")
    options = PreprocessOptions(
        faces=args.faces,
        min_frames=args.min_frames,
        max_side=args.max_side,
        phones=args.phones,
        mouths=args.mouths,
        phone_decoder=args.phone_decoder,
        min_face_size=args.min_face_size,
        max_face_jump=args.max_face_jump,
        av_offset_model=args.av_offset_model,
        max_av_shift=args.max_av_shift,
        min_av_confidence=args.min_av_confidence,
    )
    test_sources = [s.strip() for s in args.test_sources.split(",") if s.strip()] if args.test_sources else None
    if args.shard is not None:
        return run_shard(args, options, test_sources)
    if args.push_to_hub and args.parquet is False:
        raise TalkheadInputError("--push-to-hub uploads the Parquet shards that --no-parquet leaves out: drop one")
    guard = OutputGuard(args.inputs)
    guard.claim(args.output, "--output", folder=True, overwrite=args.overwrite)
    report = guard.claim(args.json, "--json", ".json")
    summary = build_dataset(
        args.inputs,
        args.output,
        options=options,
        test_sources=test_sources,
        num_proc=args.num_proc,
        overwrite=args.overwrite,
        progress=not args.quiet,
        parquet=args.parquet is not False or bool(args.push_to_hub),
    )
    print(format_preprocess_summary(summary))
    if report:
        outputs.write_json(summary.to_dict(), report, default=str)
    if args.push_to_hub:  # a failure is one `error:` line saying whether it was authentication or the network
        from ..hub.dataset_export import push_dataset

        print(f"pushed the dataset to {args.push_to_hub} ({push_dataset(args.output, args.push_to_hub)})")
    return 0


def run_shard(args, options, test_sources) -> int:
    """``--shard I/N``: one shard into the shared folder (see :mod:`talkhead.data.build_shard`)."""
    from ..data.build import filter_totals
    from ..data.build_shard import build_shard
    from ..data.shards import Shard, merged_manifest

    shard = Shard.parse(args.shard)
    for flag, given in (
        ("--overwrite", args.overwrite),
        ("--parquet" if args.parquet else "--no-parquet", args.parquet is not None),
        ("--push-to-hub", args.push_to_hub),
    ):
        if given:
            raise TalkheadInputError(
                f"--shard writes Parquet shards into a shared folder, which {flag} does not apply to: drop {flag} "
                "(a re-run of a shard replaces only that shard; upload the finished folder with `huggingface-cli "
                "upload --repo-type dataset`)"
            )
    report = OutputGuard(args.inputs).claim(args.json, "--json", ".json")
    summary = build_shard(
        args.inputs,
        args.output,
        shard,
        options=options,
        test_sources=test_sources,
        num_proc=args.num_proc,
        progress=not args.quiet,
    )
    merged = merged_manifest(args.output)
    splits = ", ".join(f"{name} {count}" for name, count in summary.splits.items()) or "none"
    lines = [
        f"shard {shard} written to {summary.output} (manifest {summary.manifest})",
        "",
        f"  rows            {summary.rows} ({splits})",
        f"  frames          {summary.frames:,}",
        f"  wall time       {summary.wall_seconds:.1f} s",
    ]
    skipped = [(r.video, r.skipped) for r in summary.reports if r.skipped] + summary.skipped_files
    if skipped:
        lines += ["", f"skipped ({len(skipped)}):"] + [f"  {path}: {reason}" for path, reason in skipped]
    filters = filter_totals(summary.reports)
    if filters:
        lines += ["", "filters:"] + [f"  {name}: {counts}" for name, counts in filters.items()]
    done = merged["shards"]
    lines += [
        "",
        f"{done} of {merged['count']} shards complete in {args.output}"
        + (f"; missing: {', '.join(map(str, merged['missing_shards']))}" if merged["missing_shards"] else ""),
    ]
    print("\n".join(lines))
    if report:
        outputs.write_json(json.loads(Path(summary.manifest).read_text()), report)
    return 0


def format_preprocess_summary(summary) -> str:
    """The table printed at the end of ``talkhead preprocess``."""
    splits = ", ".join(f"{name} {count}" for name, count in summary.splits.items())
    used = [r for r in summary.reports if not r.skipped]
    rows = [
        ("clips (rows)", f"{summary.rows} ({splits})"),
        ("input videos used", f"{len(used)} of {len(summary.reports)}"),
        ("minutes", f"{summary.minutes:.2f}"),
        ("frames (25 fps)", f"{summary.frames:,}"),
        ("face-found rate", f"{100 * summary.face_found_rate:.2f} %"),
        ("wall time", f"{summary.wall_seconds:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"dataset saved to {summary.output}", ""]
    lines += [f"  {key:<{width}}  {value}" for key, value in rows]
    skipped = summary.skipped()
    if skipped:
        lines += ["", f"skipped ({len(skipped)}):"]
        lines += [f"  {path}: {reason}" for path, reason in skipped]
    if summary.filters:
        lines += ["", "filters:"] + [f"  {name}: {counts}" for name, counts in summary.filters.items()]
    notes = [(r.video, note) for r in summary.reports for note in r.notes]
    if notes:
        lines += ["", "notes:"] + [f"  {path}: {note}" for path, note in notes]
    if summary.unused_audio or summary.stills:
        lines += [
            "",
            f"not clips (usable as inference inputs): {len(summary.unused_audio)} speech-only audio files, "
            f"{len(summary.stills)} still images",
        ]
    return "\n".join(lines)
