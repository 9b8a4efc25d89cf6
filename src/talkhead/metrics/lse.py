"""LSE-D and LSE-C: lip-sync error with SyncNet v2.

The metrics of Prajwal et al. (Wav2Lip, 2020) computed with the pretrained SyncNet of Chung & Zisserman
("Out of time", 2016; ``joonson/syncnet_python``, :class:`talkhead.models.syncnet_v2.SyncNetV2Model`),
the way ``SyncNetInstance.evaluate`` computes them:

1. 224x224 face crops at 25 fps; video window t is crops t..t+4 as BGR floats on [0, 255].
2. 13-d MFCCs at 100 Hz of the 16 kHz audio on the 16-bit scale
   (:func:`talkhead.processing.audio.mfcc13`); audio window t is rows 4t..4t+19.
3. Windows t = 0 .. L - 6 with L = min(frames, ⌊samples / 640⌋): the original's count, which stops
   one window short of the last full one.
4. :func:`talkhead.metrics.sync.expert_offset` over :class:`SyncNetV2Expert` (vshift 15, Euclidean distance, zero
   padding): offset = vshift - argmin of the mean distance curve, **LSE-D** = its minimum, **LSE-C** = its
   median minus its minimum; per-window confidence = the curve's median minus each window's distance
   at the best shift, median-filtered over 9 windows.

:func:`syncnet_v2_face_crops` cuts the crops from whole frames and a face track with syncnet_python's
``run_pipeline.crop_video`` geometry; ``talkhead evaluate video --syncnet-v2-model`` tracks the face with
:func:`talkhead.processing.tracked_clip.track_clip`.

Where we differ from syncnet_python:

* face boxes come from our dlib tracker (:class:`talkhead.processing.faces.FaceTracker` and
  :func:`~talkhead.processing.face_crops.face_crop_boxes`), not S3FD, whose weights we cannot ship or
  fetch; one face is followed through the whole clip (no shot detection, no minimum track length)
  and frames where it is lost take interpolated boxes. dlib boxes are not S3FD boxes, so crops are
  framed a little differently: scores are close to, not identical with, the original pipeline's.
* the crops are not round-tripped through an XVID video and JPEG frames as the original does.
* distances are plain Euclidean; torch's ``pairwise_distance`` adds 1e-6 to each difference
  (at most 3e-5 on a 1024-d distance).
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.signal

from ..errors import EmptyAudioError, NoFaceError
from ..io.audio import SAMPLE_RATE
from ..processing.audio import SAMPLES_PER_FRAME, VIDEO_WINDOW, mfcc13
from ..processing.face_crops import face_crop_boxes
from ..processing.faces import fill_all_gaps
from .sync import VSHIFT, SyncResult, expert_offset

AUDIO_WINDOW = 20
MFCC_PER_FRAME = 4
CROP_SCALE = 0.4  # run_pipeline.py --crop_scale
BOX_SMOOTHING = 13  # run_pipeline.py median-filters box centres and sizes over 13 frames
BORDER_VALUE = 110  # grey the original pads frames with where a crop leaves the image


class SyncNetV2Expert:
    """SyncNet v2 as a :class:`~talkhead.metrics.sync.SyncExpert`: visual = (T, 224, 224, 3) uint8 RGB face crops,
    audio = 16 kHz wave; Euclidean distances, zero padding (syncnet_python's), windows of 5 frames."""

    window = VIDEO_WINDOW
    metric = "euclidean"

    def __init__(self, model, batch_size: int = 20, sample_rate: int = SAMPLE_RATE, padding: str = "zeros"):
        self.model, self.batch_size, self.sample_rate, self.padding = model, batch_size, sample_rate, padding

    def num_windows(self, faces, wave) -> int:
        return num_windows(len(faces), len(wave))

    def embed_visual(self, faces: np.ndarray, count: int) -> np.ndarray:
        """(count, D) embeddings of windows of five crops, as BGR floats on [0, 255] (what cv2.imread gives the
        original)."""
        import torch

        faces = np.asarray(faces)
        size = self.model.config.image_size
        if faces.ndim != 4 or faces.shape[1:] != (size, size, 3) or faces.dtype != np.uint8:
            raise ValueError(
                f"expected (T, {size}, {size}, 3) uint8 RGB face crops, got {faces.shape} {faces.dtype}; "
                "cut them with syncnet_v2_face_crops"
            )

        def embed(start: int, stop: int):
            clip = torch.from_numpy(np.ascontiguousarray(faces[start : stop + VIDEO_WINDOW - 1, ..., ::-1]))
            clip = clip.permute(3, 0, 1, 2).float()  # (3, frames, S, S), unnormalised
            return self.model.embed_video(
                self._on_model(torch.stack([clip[:, t : t + VIDEO_WINDOW] for t in range(stop - start)]))
            )

        return self._batched(embed, count)

    def embed_audio(self, wave: np.ndarray, count: int) -> np.ndarray:
        """(count, D) embeddings of 20 MFCC rows (200 ms) from row 4t."""
        import torch

        mfcc = torch.from_numpy(mfcc13(np.asarray(wave, np.float32), self.sample_rate).T.copy())  # (13, N)

        def embed(start: int, stop: int):
            rows = [mfcc[:, MFCC_PER_FRAME * t : MFCC_PER_FRAME * t + AUDIO_WINDOW] for t in range(start, stop)]
            return self.model.embed_audio(self._on_model(torch.stack(rows)[:, None]))

        return self._batched(embed, count)

    def _on_model(self, tensor):
        parameter = next(self.model.parameters())
        return tensor.to(parameter.device, parameter.dtype)

    def _batched(self, embed, count: int) -> np.ndarray:
        """``embed(start, stop)`` over batches of windows in eval mode (batch norm on running statistics, as the
        original)."""
        import torch

        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                chunks = [
                    embed(start, min(count, start + self.batch_size)).float().cpu()
                    for start in range(0, count, self.batch_size)
                ]
        finally:
            self.model.train(was_training)
        return torch.cat(chunks).numpy()


def num_windows(num_frames: int, num_samples: int) -> int:
    """SyncNet windows of a clip: min(frames, ⌊samples / 640⌋) - 5, as ``SyncNetInstance.evaluate`` counts."""
    return min(num_frames, num_samples // SAMPLES_PER_FRAME) - VIDEO_WINDOW


def syncnet_v2_scores(
    model,
    faces: np.ndarray,
    wave: np.ndarray,
    vshift: int = VSHIFT,
    batch_size: int = 20,
    sample_rate: int = SAMPLE_RATE,
    padding: str = "zeros",
) -> SyncResult:
    """Offset, LSE-D (``min_distance``), LSE-C (``confidence``) and per-window confidence of a talking face.

    Args:
        model: a :class:`talkhead.models.syncnet_v2.SyncNetV2Model` (the converted ``syncnet_v2.model``).
        faces: (T, 224, 224, 3) uint8 RGB face crops at 25 fps (:func:`syncnet_v2_face_crops` cuts them).
        wave: mono 16 kHz audio in [-1, 1], sample 0 at frame 0.
        vshift: offsets searched on each side, in frames (15 in syncnet_python's scripts).
        batch_size: windows per forward pass (20 in syncnet_python).
        sample_rate: must be 16 kHz.
        padding: ``"zeros"`` (syncnet_python) or ``"valid"`` (only overlapping windows; a constant sequence
            then scores a confidence of exactly 0).

    Raises:
        EmptyAudioError: fewer than 6 frames or 0.24 s of audio.
    """
    if num_windows(len(faces), len(wave)) < 1:
        raise EmptyAudioError(
            f"SyncNet needs at least {VIDEO_WINDOW + 1} frames and as much audio "
            f"({(VIDEO_WINDOW + 1) * SAMPLES_PER_FRAME} samples); got {len(faces)} frames and {len(wave)} samples"
        )
    return expert_offset(SyncNetV2Expert(model, batch_size, sample_rate, padding), faces, wave, vshift)


def syncnet_v2_face_crops(
    frames, landmarks: np.ndarray, found: np.ndarray, size: int = 224, crop_scale: float = CROP_SCALE
) -> np.ndarray:
    """SyncNet's (T, size, size, 3) uint8 crops of RGB ``frames`` around a tracked face.

    ``landmarks`` (T, 68, 2) and ``found`` (T,) are a face track in the frames' pixels
    (:class:`talkhead.processing.faces.FaceTrack`); its boxes
    (:func:`~talkhead.processing.face_crops.face_crop_boxes`, in place of S3FD's) are interpolated where the face
    is lost.
    """

    if not np.asarray(found).any():
        raise NoFaceError("no face found in any frame; SyncNet scores need a visible, roughly frontal face")
    boxes = fill_all_gaps(face_crop_boxes(landmarks), found)
    centres_x, centres_y, halves = syncnet_crop_geometry(boxes)
    return np.stack(
        [
            _syncnet_crop(frame, x, y, half, crop_scale, size)
            for frame, x, y, half in zip(frames, centres_x, centres_y, halves, strict=False)
        ]
    )


def syncnet_crop_geometry(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box centres x, y and half sizes (half the longer side), median-filtered over 13 frames as run_pipeline.py.

    scipy's median filter pads with zeros, as in the original; tracks shorter than 13 frames use the
    longest odd window that fits, so the zeros cannot outvote the boxes.
    """
    boxes = np.asarray(boxes, np.float64)
    halves = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / 2
    centres_x, centres_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    kernel = min(BOX_SMOOTHING, len(boxes) - 1 + len(boxes) % 2)
    return tuple(scipy.signal.medfilt(values, kernel) for values in (centres_x, centres_y, halves))


def _syncnet_crop(
    frame: np.ndarray, centre_x: float, centre_y: float, half: float, crop_scale: float, size: int
) -> np.ndarray:
    """run_pipeline.crop_video's crop: from the box top to 1 + 2·scale half-sizes below its centre, as wide.

    The original pads the frame by ⌊half·(1 + 2·scale)⌋ grey pixels and slices with int(); the same
    integer bounds are computed here in padded coordinates and the outside filled with that grey.
    """
    pad = int(half * (1 + 2 * crop_scale))
    top = int(centre_y + pad - half) - pad
    bottom = int(centre_y + pad + half * (1 + 2 * crop_scale)) - pad
    left = int(centre_x + pad - half * (1 + crop_scale)) - pad
    right = int(centre_x + pad + half * (1 + crop_scale)) - pad
    region = np.full((max(bottom - top, 1), max(right - left, 1), 3), BORDER_VALUE, np.uint8)
    height, width = frame.shape[:2]
    y0, y1, x0, x1 = max(top, 0), min(bottom, height), max(left, 0), min(right, width)
    if y1 > y0 and x1 > x0:
        region[y0 - top : y1 - top, x0 - left : x1 - left] = frame[y0:y1, x0:x1]
    return cv2.resize(region, (size, size))  # bilinear, cv2's default, as the original


__all__ = ["SyncNetV2Expert", "num_windows", "syncnet_v2_scores", "syncnet_v2_face_crops", "syncnet_crop_geometry"]
