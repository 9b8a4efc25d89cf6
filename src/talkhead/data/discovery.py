"""Find talking-face clips in folders: videos, frame folders, and the audio that goes with them.

Pairing rule: a video uses its own audio track when it has one. A silent video, or a folder of
frames, takes the audio file with the same stem that sits closest to it in the folder tree (the
most leading path components in common). That covers the layouts public repositories use:
``video/x.mp4`` + ``wav/x.wav``, ``x.mp4`` + ``x.wav`` side by side, and
``Mouth_Source/x/000000.jpg`` + ``Audio_Source/x.mp3``.

Each clip has a ``key``: its path below the input folder (a file given as an input: its name). It names the clip
the same way on every machine, in every listing order and whatever the folder is called or wherever it is mounted
(a link to it included), so a sharded run (``owns``, :mod:`talkhead.data.shards`) can pick its clips before probing
any file: on a million files, each shard opens only its own.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TalkheadInputError
from ..io.inputs import check_input_file
from ..io.video_probe import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_frame_files, probe_video

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus")


@dataclass(frozen=True)
class ClipSpec:
    """One clip to preprocess: frames from ``video``, speech from ``audio`` (``None``: the video's own track)."""

    video: Path
    audio: Path | None
    clip_id: str
    source: str
    key: str = ""  # the path below the input folder: what a shard's ownership is decided on


@dataclass(frozen=True)
class Skipped:
    """An input rejected while pairing (unreadable, no audio): listed with the clips skipped later."""

    path: Path
    reason: str


@dataclass
class Discovery:
    clips: list[ClipSpec] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unused_audio: list[Path] = field(default_factory=list)  # speech without a video: inference inputs
    stills: list[Path] = field(default_factory=list)  # face photos: inference inputs
    ignored: int = 0  # files that are not media at all
    sources: list[str] = field(default_factory=list)  # every source with a video, owned or not
    input_keys: list[str] = field(default_factory=list)  # the key of every video, frame folder and audio file found


@dataclass
class _Found:
    path: Path
    root: Path
    source: str


def _source_of(path: Path, root: Path) -> str:
    """The first folder below the input root (used for identity-disjoint splits)."""
    if root.is_file():
        return root.parent.name or root.name
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else root.name


def _walk(root: Path) -> tuple[list[_Found], list[_Found], list[_Found], list[_Found], int]:
    """Videos, frame folders, audio files and stills below ``root``; and the count of other files."""
    videos, folders, audio, stills = [], [], [], []
    ignored = 0
    if root.is_file():
        entries = [(root.parent, [], [root.name])]
    else:
        entries = ((Path(d), dirs, files) for d, dirs, files in os.walk(root, followlinks=True))
    for directory, dirs, files in entries:
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        images = []
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = directory / name
            found = _Found(path, root, _source_of(path, root))
            suffix = path.suffix.lower()
            if suffix in VIDEO_SUFFIXES:
                videos.append(found)
            elif suffix in AUDIO_SUFFIXES:
                audio.append(found)
            elif suffix in IMAGE_SUFFIXES:
                images.append(found)
            else:
                ignored += 1
        # a folder of numbered images is a video; other images are stills
        if _is_numbered_sequence([f.path for f in images]) and root.is_dir() and directory != root:
            folders.append(_Found(directory, root, _source_of(directory, root)))
        else:
            stills.extend(images)
    return videos, folders, audio, stills, ignored


def _is_numbered_sequence(images: list[Path]) -> bool:
    """At least two images whose names differ only in their digits (000001.jpg, frame_0002.png, ...)."""
    if len(images) < 2:
        return False
    patterns = {re.sub(r"\d+", "#", p.stem) for p in images}
    return len(patterns) == 1 and "#" in next(iter(patterns))


def _common_depth(a: Path, b: Path) -> int:
    depth = 0
    for x, y in zip(a.resolve().parts, b.resolve().parts, strict=False):
        if x != y:
            break
        depth += 1
    return depth


def _stem(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


def clip_key(found: _Found) -> str:
    """The path below the input folder (posix), not the folder's own name: the same wherever the folder is mounted
    and whatever it or a link to it is called."""
    if found.root.is_dir():
        return found.path.relative_to(found.root).as_posix()
    return found.path.name


def discover(inputs: list[str | os.PathLike], owns=None) -> Discovery:
    """Walk ``inputs`` (folders or files) and pair videos with their audio.

    ``owns(key) -> bool`` keeps only the clips it accepts (a shard's), before any file is probed; clip ids and
    ``sources`` are still those of the whole input, so every shard names a clip as an unsharded run does.

    Raises:
        FileNotFoundError: an input does not exist.
        TalkheadInputError: the inputs hold no video at all.
    """
    result = Discovery()
    videos, folders, audio, stills = [], [], [], []
    for item in inputs:
        root = Path(item)
        if not root.exists():
            raise FileNotFoundError(f"input '{root}' does not exist")
        v, f, a, s, ignored = _walk(root)
        videos += v
        folders += f
        audio += a
        stills += s
        result.ignored += ignored
    if not videos and not folders:
        raise TalkheadInputError(
            f"no videos found in {', '.join(map(str, inputs))}; give folders holding "
            f"{'/'.join(VIDEO_SUFFIXES[:4])} files or folders of numbered frames"
        )
    result.sources = sorted({found.source for found in videos + folders})
    result.input_keys = sorted(clip_key(found) for found in videos + folders + audio)
    stem_counts: dict[str, int] = {}
    for found in videos + folders:
        stem_counts[_stem(found.path)] = stem_counts.get(_stem(found.path), 0) + 1
    if owns is not None:
        videos = [found for found in videos if owns(clip_key(found))]
        folders = [found for found in folders if owns(clip_key(found))]
    audio_by_stem: dict[str, list[Path]] = {}
    for found in audio:
        audio_by_stem.setdefault(found.path.stem, []).append(found.path)
    used_audio: set[Path] = set()
    pending = []
    for found in videos + folders:
        has_track = False
        if not found.path.is_dir():
            try:
                has_track = probe_video(check_input_file(found.path, "video")).has_audio
            except (TalkheadInputError, OSError) as err:
                result.skipped.append(Skipped(found.path, str(err)))
                continue
        elif len(list_frame_files(found.path)) < 2:
            result.skipped.append(Skipped(found.path, "a frame folder needs at least 2 frames"))
            continue
        pair = None
        if not has_track:
            candidates = audio_by_stem.get(_stem(found.path), [])
            if not candidates:
                result.skipped.append(Skipped(found.path, "no audio track and no audio file with the same name"))
                continue
            pair = max(candidates, key=lambda c: (_common_depth(c, found.path), -len(str(c))))
            used_audio.add(pair)
        pending.append((found, pair))
    result.clips = _assign_clip_ids(pending, stem_counts)
    # an audio file beside a same-name video that has its own track is a copy of that track, not an extra input
    beside_videos = {(f.path.parent, _stem(f.path)) for f, _ in pending}
    result.unused_audio = [
        a.path for a in audio if a.path not in used_audio and (a.path.parent, a.path.stem) not in beside_videos
    ]
    result.stills = [s.path for s in stills]
    return result


def _assign_clip_ids(pending: list[tuple[_Found, Path | None]], counts: dict[str, int]) -> list[ClipSpec]:
    """Clip ids are file stems; where stems collide among every video found (``counts``), the path below the input
    root disambiguates."""
    clips = []
    for found, pair in pending:
        clip_id = _stem(found.path)
        if counts[clip_id] > 1:
            relative = found.path.relative_to(found.root) if found.root.is_dir() else Path(found.path.name)
            clip_id = relative.with_suffix("").as_posix() if found.path.is_file() else relative.as_posix()
        clips.append(ClipSpec(found.path, pair, clip_id, found.source, clip_key(found)))
    return clips
