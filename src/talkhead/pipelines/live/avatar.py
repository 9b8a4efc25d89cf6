"""A live avatar: a video prepared once (tracked, its mouths pooled, a seamless idle loop cut), then driven by speech
as it arrives (:meth:`LipSyncAvatar.stream`).

Preparing is the slow part of lip-sync (tracking every frame, cutting the mouth pool); done once and saved, a live
stream only predicts a mouth shape, picks a pooled mouth and pastes it, frame by frame. The saved folder:

* ``avatar_config.json``: the frame rate, the size, the idle loop, the mouth-motion model it speaks with;
* ``avatar.safetensors``: the loop frames' landmarks, the mouth pool (patches, shapes, poses, how their mouths
  look to each other, their teeth), the speaker's mean and shut mouth;
* ``loop.mp4``: the loop's frames (H.264, near lossless);
* ``README.md``: a card saying where it came from.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ... import defaults
from ...errors import TalkheadInputError
from ...hub import upload as hub_upload
from ...io.video import VideoReader
from ...io.video_probe import probe_video, refuse_still_image
from ...io.video_writer import VideoWriter
from ...models.mouth_motion import MouthMotionModel
from ...options import LipSyncOptions
from ...processing.mouth import closed_shape, mouth_shapes
from .. import mouth_retrieval as retrieval
from ..lip_sync.face_plan import track_faces
from ..lip_sync.retrieval_renderer import build_pool_from
from ..pipeline_utils import load_component
from ..stages import StageTimes
from .avatar_card import avatar_card
from .idle_loop import IdleLoop, choose_loop
from .stream import AvatarStream

AVATAR_FORMAT = "talkhead-avatar"
AVATAR_VERSION = 1
CONFIG_NAME, ARRAYS_NAME, LOOP_NAME, CARD_NAME = "avatar_config.json", "avatar.safetensors", "loop.mp4", "README.md"
LOOP_SECONDS = (2.0, 6.0)  # shortest and longest idle loop: long enough not to look repeated, short to hold
LOOP_CRF = 12  # near lossless: the loop is every frame the avatar shows


def _read_frames(video, fps: float):
    def read_frames(indices, regions=None):
        reader = VideoReader(video, fps=fps)
        yield from reader.frames_at(indices, None if regions is None else regions(reader.size))

    return read_frames


class LipSyncAvatar:
    """A prepared avatar (see the module docstring). Make one with :meth:`from_video`, keep it with
    :meth:`save_pretrained`, load it with :meth:`from_pretrained`, drive it with :meth:`stream`."""

    def __init__(
        self,
        config: dict,
        frames: np.ndarray,
        landmarks: np.ndarray,
        pool: retrieval.MouthPool,
        mean: np.ndarray,
        closed: np.ndarray,
        mouth_model: MouthMotionModel | None = None,
    ):
        self.config = config
        self.frames = frames  # (L, H, W, 3) uint8: the idle loop
        self.landmarks = landmarks  # (L, 68, 2) image pixels of the loop frames
        self.pool = pool
        self.mean, self.closed = mean, closed
        self.mouth_model = mouth_model
        self.loop = IdleLoop(**config["loop"])
        self.poses = retrieval.pose_descriptors(landmarks)

    @property
    def fps(self) -> float:
        return float(self.config["fps"])

    @classmethod
    def from_video(
        cls,
        video: str | os.PathLike,
        *,
        mouth_model: str | MouthMotionModel = defaults.LIVE_MOUTH_MOTION,
        loop_seconds: tuple[float, float] = LOOP_SECONDS,
        pool_size: int = defaults.POOL_SIZE,
        face: str = defaults.FACE,
        progress: bool = False,
    ) -> LipSyncAvatar:
        """Prepare ``video`` (a file with a face in most frames): track it, pool its mouths, choose its idle loop."""
        started = time.perf_counter()
        name = str(video)
        if not Path(name).is_file():
            raise TalkheadInputError(f"video '{name}' does not exist; give the path of a video file of the avatar")
        refuse_still_image(probe_video(name))
        fps = float(defaults.VIDEO_FPS)
        options = LipSyncOptions(face=face, progress=progress, on_missing_face="passthrough")
        plan = track_faces(VideoReader(name, fps=fps, max_side=options.track_side), options, StageTimes(), name)
        valid = ~np.isnan(plan.pixels).any((1, 2))
        shapes = mouth_shapes(plan.pixels[valid])
        loop = choose_loop(plan.pixels, valid, int(loop_seconds[0] * fps), int(loop_seconds[1] * fps))
        ppu = retrieval.choose_pixels_per_unit(plan.pixels[valid])
        indices = retrieval.pool_frame_indices(valid, pool_size)
        pool = build_pool_from(_read_frames(name, fps), indices, plan.pixels, ppu)
        pool.__dict__.update(looks=pool.looks, teeth=pool.teeth)  # computed now, not at the first stream
        wanted = np.arange(loop.start, loop.stop)
        frames = np.stack([frame for _, frame in VideoReader(name, fps=fps).frames_at(wanted)])
        model = load_component(MouthMotionModel, mouth_model)
        config = {
            "format": AVATAR_FORMAT,
            "version": AVATAR_VERSION,
            "fps": fps,
            "size": [int(frames.shape[2]), int(frames.shape[1])],
            "loop": loop.to_dict(),
            "pool_frames": len(pool),
            "pixels_per_unit": float(pool.pixels_per_unit),
            "mouth_model": mouth_model if isinstance(mouth_model, str) else model.name_or_path,
            "source": Path(name).name,
            "source_frames": int(len(valid)),
            "prepared_seconds": round(time.perf_counter() - started, 2),
        }
        return cls(
            config, frames, plan.pixels[wanted].astype(np.float32), pool, shapes.mean(0), closed_shape(shapes), model
        )

    def _arrays(self) -> dict[str, np.ndarray]:
        pool = self.pool
        return {
            "loop_landmarks": np.asarray(self.landmarks, np.float32),
            "pool_patches": pool.patches,
            "pool_landmarks": np.asarray(pool.landmarks, np.float32),
            "pool_shapes": np.asarray(pool.shapes, np.float32),
            "pool_poses": np.asarray(pool.poses, np.float32),
            "pool_frame_indices": np.asarray(pool.frame_indices, np.int64),
            "pool_looks": np.asarray(pool.looks, np.float16),
            "pool_teeth": np.asarray(pool.teeth, np.float32),
            "mean_mouth": np.asarray(self.mean, np.float32),
            "closed_mouth": np.asarray(self.closed, np.float32),
        }

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write the avatar to ``folder`` (created; replaced whole, never left half-written)."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            save_file({k: np.ascontiguousarray(v) for k, v in self._arrays().items()}, str(staging / ARRAYS_NAME))
            with VideoWriter(staging / LOOP_NAME, fps=self.fps, crf=LOOP_CRF) as writer:
                for frame in self.frames:
                    writer.write(frame)
            (staging / CONFIG_NAME).write_text(json.dumps(self.config, indent=2) + "\n")
            (staging / CARD_NAME).write_text(avatar_card(self.config))
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder

    @classmethod
    def from_pretrained(
        cls, folder: str | os.PathLike, mouth_model: str | MouthMotionModel | None = None
    ) -> LipSyncAvatar:
        """Load an avatar folder; its mouth-motion model is the one it names unless ``mouth_model`` is given."""
        from safetensors.numpy import load_file

        folder = Path(folder)
        config_path = folder / CONFIG_NAME
        if not config_path.is_file():
            raise TalkheadInputError(
                f"'{folder}' is not an avatar folder (no {CONFIG_NAME}); make one with "
                "`talkhead avatar VIDEO -o FOLDER` or LipSyncAvatar.from_video(VIDEO).save_pretrained(FOLDER)"
            )
        config = json.loads(config_path.read_text())
        if config.get("format") != AVATAR_FORMAT or config.get("version", 0) > AVATAR_VERSION:
            raise TalkheadInputError(
                f"'{folder}' holds no avatar this talkhead can read (format {config.get('format')!r}, version "
                f"{config.get('version')!r}); prepare it again with `talkhead avatar`"
            )
        arrays = load_file(str(folder / ARRAYS_NAME))
        frames = np.stack(list(VideoReader(folder / LOOP_NAME, fps=config["fps"])))
        pool = retrieval.MouthPool(
            arrays["pool_patches"],
            arrays["pool_landmarks"].astype(np.float64),
            arrays["pool_shapes"].astype(np.float64),
            arrays["pool_poses"].astype(np.float64),
            arrays["pool_frame_indices"],
            float(config["pixels_per_unit"]),
        )
        pool.__dict__.update(looks=arrays["pool_looks"].astype(np.float32), teeth=arrays["pool_teeth"])
        model = load_component(MouthMotionModel, mouth_model or config["mouth_model"])
        mean, closed = arrays["mean_mouth"].astype(np.float64), arrays["closed_mouth"].astype(np.float64)
        return cls(config, frames, arrays["loop_landmarks"].astype(np.float64), pool, mean, closed, model)

    def push_to_hub(self, repo_id: str, *, private: bool | None = None, token: str | None = None) -> str:
        """Save to a temporary folder and upload it to the Hub repository ``repo_id``; returns the commit URL."""
        with tempfile.TemporaryDirectory() as tmp:
            folder = self.save_pretrained(Path(tmp) / "avatar")
            return hub_upload.upload_folder(folder, repo_id, private=private, token=token)

    def stream(
        self,
        visemes: bool = True,
        exclude_within: int = 0,
        retrieval_options: dict | None = None,
        realtime: bool = True,
    ):
        """A new :class:`~talkhead.pipelines.live.stream.AvatarStream` of this avatar (see there)."""
        return AvatarStream(self, visemes, exclude_within, retrieval_options, realtime)
