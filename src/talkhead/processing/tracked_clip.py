"""One video decoded once and tracked once: what every metric, benchmark and ``talkhead preprocess`` read.

:func:`track_clip` decodes a video at a fixed rate (25 fps by default, frames at most ``max_side`` pixels) and
follows its largest face with dlib; the :class:`TrackedClip` it returns derives everything else from that one
track, with the conventions of the dataset (:func:`talkhead.processing.face_crops.frame_clip`):

* ``pixels``: landmarks in decoded-frame pixels, every gap filled (interpolated inside, the nearest face at
  the ends); :meth:`TrackedClip.short_gaps_filled`: gaps of up to 2 frames filled, NaN elsewhere;
* ``framing``: the smoothed per-frame face boxes, the fixed clip crop around them and the landmarks
  normalised in it (``landmarks``: what the dataset's ``landmarks`` column holds);
* ``faces``: 96x96 crops at the smoothed boxes; ``mouth_rois``: AV-HuBERT's normalised mouth crops;
* with :meth:`TrackedClip.with_audio`: the speech fitted to the frames and its features at the video rate
  (``logfbank``: 4 rows a frame, ``mel``: the 80-band mel).

A clip is cut to the frames that have audio (:meth:`TrackedClip.cut`) before anything is derived from it, as
``talkhead preprocess`` trims a video to its audio before it frames the clip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from tqdm.auto import tqdm

from ..defaults import TRACK_SIDE
from ..errors import NoFaceError, NoVideoError
from ..io import audio as audio_io
from ..io.video import VideoReader
from . import audio as audio_lib
from .face_crops import ClipFraming, crop_faces, frame_clip
from .faces import FaceTracker, fill_all_gaps, fill_short_gaps
from .mouth import inner_lip_opening
from .mouth_crops import mouth_rois, normalize_rois

MAX_GAP = 2  # missing-face gaps up to this many frames are interpolated by the short-gap convention


class FrameBuffer:
    """Frames of one size appended into one preallocated (T, H, W, 3) array that grows geometrically.

    Unlike a list and ``np.stack`` it never holds the frames twice. The array is sized from the
    container's frame-count estimate (pages never written are never resident), grown by half in place
    (``ndarray.resize``: a realloc, no second copy on Linux) when the estimate was short, and trimmed
    to the frames read at the end.
    """

    def __init__(self, expected: int | None):
        self._expected = max(int(expected or 0), 1)
        self._data: np.ndarray | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if self._data is None:
            # a little headroom over the container's estimate, so an estimate one or two frames short does not copy
            self._data = np.empty((self._expected + 8, *frame.shape), frame.dtype)
        elif self._count == len(self._data):
            # no view of the buffer exists before array(), so resizing in place is safe
            self._data.resize((len(self._data) + max(len(self._data) // 2, 8), *self._data.shape[1:]), refcheck=False)
        self._data[self._count] = frame  # a frame of another size fails here, as np.stack would
        self._count += 1

    def array(self) -> np.ndarray:
        """The frames read, (T, H, W, 3): the buffer itself, trimmed in place; this object lets go of it."""
        data, self._data = self._data, None
        if data is None:
            raise ValueError("no frames")
        data.resize((self._count, *data.shape[1:]), refcheck=False)
        return data


@dataclass
class TrackedClip:
    """A decoded, tracked video (see the module docstring). Arrays are per frame at ``fps``."""

    path: str
    track_landmarks: np.ndarray  # (T, 68, 2) the tracker's landmarks in decoded-frame pixels, NaN where no face
    found: np.ndarray  # (T,) bool, the tracker's detections
    fps: float
    scale: float = 1.0  # decoded pixels per source pixel
    source_fps: float | None = None
    frames: np.ndarray | None = None  # (T, H, W, 3) uint8 decoded frames, when kept
    wave: np.ndarray | None = None  # 16 kHz speech, exactly audio_frames * SAMPLES_PER_FRAME samples (with_audio)

    @property
    def num_frames(self) -> int:
        return len(self.found)

    @property
    def found_rate(self) -> float:
        return float(self.found.mean()) if self.num_frames else 0.0

    @property
    def audio_frames(self) -> int:
        """Frames covered by the fitted speech (0 without it)."""
        return 0 if self.wave is None else len(self.wave) // audio_lib.SAMPLES_PER_FRAME

    def check_face(self, why: str = "") -> None:
        """:class:`NoFaceError` when no frame has a face (``why`` says what needed one)."""
        if not self.found.any():
            raise NoFaceError(f"no face found in any of the {self.num_frames} frames of '{self.path}'{why}")

    def cut(self, count: int) -> TrackedClip:
        """The first ``count`` frames (and their audio) as a clip of their own, everything derived anew."""
        wave = None if self.wave is None else self.wave[: min(count, self.audio_frames) * audio_lib.SAMPLES_PER_FRAME]
        return replace(
            self,
            track_landmarks=self.track_landmarks[:count],
            found=self.found[:count],
            frames=None if self.frames is None else self.frames[:count],
            wave=wave,
        )

    def with_audio(self, wave: np.ndarray) -> TrackedClip:
        """This clip with 16 kHz ``wave`` fitted to it: cut or padded to whole frames, at most the clip's length."""
        frames = min(self.num_frames, audio_lib.num_video_frames(len(wave)))
        return replace(
            self, wave=audio_io.fit_length(np.asarray(wave, np.float32), frames * audio_lib.SAMPLES_PER_FRAME)
        )

    @cached_property
    def pixels(self) -> np.ndarray:
        """(T, 68, 2) landmarks in decoded-frame pixels with every gap filled (a clip without a face raises)."""
        self.check_face()
        return fill_all_gaps(self.track_landmarks, self.found)

    def short_gaps_filled(self, max_gap: int = MAX_GAP) -> tuple[np.ndarray, np.ndarray]:
        """(landmarks with gaps of up to ``max_gap`` frames interpolated and NaN elsewhere, the mask of valid
        frames)."""
        filled, valid = fill_short_gaps(self.track_landmarks, self.found, max_gap)
        return np.where(valid[:, None, None], filled, np.nan).astype(np.float32), valid

    @cached_property
    def framing(self) -> ClipFraming:
        """Smoothed face boxes, the clip crop and the normalised landmarks: the dataset's convention."""
        return frame_clip(self.pixels)

    @property
    def landmarks(self) -> np.ndarray:
        """(T, 68, 2) landmarks in clip-crop units, as the dataset's ``landmarks`` column."""
        return self.framing.landmarks

    @cached_property
    def faces(self) -> np.ndarray:
        """(T, 96, 96, 3) uint8 face crops at the smoothed boxes (needs the frames)."""
        return crop_faces(self._frames("face crops"), self.framing.face_boxes)

    @cached_property
    def mouth_rois(self) -> np.ndarray:
        """(T, 88, 88) AV-HuBERT's normalised mouth crops (needs the frames)."""

        return normalize_rois(mouth_rois(self._frames("mouth crops"), self.pixels))

    def mouth_opening(self) -> np.ndarray:
        """(T,) inner-lip opening over the inter-ocular distance (NaN where no face, gaps of 2 frames filled)."""

        return inner_lip_opening(self.short_gaps_filled()[0])

    @cached_property
    def logfbank(self) -> np.ndarray:
        """(4 audio_frames, 26) MS-Sync features of the fitted speech."""
        return audio_lib.logfbank26(self._wave(), self.audio_frames)

    @cached_property
    def mel(self) -> np.ndarray:
        """(M, 80) Wav2Lip-style mel of the fitted speech."""
        return audio_lib.mel80(self._wave())

    def _frames(self, what: str) -> np.ndarray:
        if self.frames is None:
            raise ValueError(f"{what} need the decoded frames: track the clip with keep_frames=True")
        return self.frames

    def _wave(self) -> np.ndarray:
        if self.wave is None:
            raise ValueError("no speech: give it with with_audio(wave)")
        return self.wave


def track_clip(
    video: str | os.PathLike,
    *,
    fps: float = audio_lib.VIDEO_FPS,
    max_side: int | None = TRACK_SIDE,
    keep_frames: bool = False,
    frames=None,
    reader=None,
    tracker: FaceTracker | None = None,
    progress_label: str | None = None,
) -> TrackedClip:
    """Decode ``video`` at ``fps`` (frames at most ``max_side`` pixels) and track its largest face, in one pass.

    Args:
        keep_frames: hold every decoded frame (``TrackedClip.frames``: face and mouth crops need them).
        frames: already decoded frames to track instead (then ``video`` only names them).
        reader: a :class:`~talkhead.io.video.VideoReader` of ``video`` already opened (``fps`` and
            ``max_side`` are its own), e.g. to check the file before the slow part.
        tracker: the :class:`~talkhead.processing.faces.FaceTracker` to use; a fresh default one otherwise.
        progress_label: show a progress bar with this label.

    Raises:
        NoVideoError: no decodable frame.
    """

    if reader is None and frames is None:
        reader = VideoReader(video, fps=fps, max_side=max_side)
    source = reader if reader is not None else frames
    total = reader.estimated_num_frames if reader is not None else len(frames)
    kept = FrameBuffer(total) if keep_frames and reader is not None else None

    def decoded():
        for frame in source:
            if kept is not None:
                kept.append(frame)
            yield frame

    bar = tqdm(
        decoded(),
        total=total,
        desc=f"tracking the face in {progress_label}",
        unit="frame",
        disable=progress_label is None,
        leave=False,
    )
    track = (tracker or FaceTracker()).track(bar)
    if not len(track.found):
        raise NoVideoError(f"'{video}' holds no decodable frames")
    if keep_frames:
        frames = kept.array() if kept is not None else np.asarray(frames)
    return TrackedClip(
        str(video),
        track.landmarks,
        track.found,
        reader.fps if reader is not None else fps,
        reader.scale if reader is not None else 1.0,
        reader.info.source_fps if reader is not None else None,
        frames if keep_frames else None,
    )
