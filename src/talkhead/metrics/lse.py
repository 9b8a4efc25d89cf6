"""LSE-D and LSE-C: lip-sync error with SyncNet v2 (spec §5.5, §6.9).

The metrics of Prajwal et al. (Wav2Lip, 2020) computed with the pretrained SyncNet of Chung & Zisserman
("Out of time", 2016; ``joonson/syncnet_python``, :class:`talkhead.models.syncnet_v2.SyncNetV2Model`),
the way ``SyncNetInstance.evaluate`` computes them:

1. 224x224 face crops at 25 fps; video window t is crops t..t+4 as BGR floats on [0, 255].
2. 13-d MFCCs at 100 Hz of the 16 kHz audio on the 16-bit scale
   (:func:`talkhead.processing.audio.mfcc13`); audio window t is rows 4t..4t+19.
3. Windows t = 0 .. L - 6 with L = min(frames, ⌊samples / 640⌋): the original's count, which stops
   one window short of the last full one.
4. :func:`talkhead.metrics.sync.offset_search` with vshift 15, Euclidean distance and zero padding:
   offset = vshift - argmin of the mean distance curve, **LSE-D** = its minimum, **LSE-C** = its
   median minus its minimum; per-window confidence = the curve's median minus each window's distance
   at the best shift, median-filtered over 9 windows.

Two ways in: pre-cropped faces, or whole video frames with ``track_faces=True``, which tracks one face
and cuts the crops with syncnet_python's ``run_pipeline.crop_video`` geometry (:func:`syncnet_v2_face_crops`).

Where we differ from syncnet_python:

* face boxes come from our dlib tracker (:class:`talkhead.processing.faces.FaceTracker` and
  :func:`~talkhead.processing.faces.face_crop_boxes`), not S3FD, whose weights we cannot ship or
  fetch; one face is followed through the whole clip (no shot detection, no minimum track length)
  and frames where it is lost take interpolated boxes. dlib boxes are not S3FD boxes, so crops are
  framed a little differently: scores are close to, not identical with, the original pipeline's.
* the crops are not round-tripped through an XVID video and JPEG frames as the original does.
* distances are plain Euclidean; torch's ``pairwise_distance`` adds 1e-6 to each difference
  (at most 3e-5 on a 1024-d distance).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import scipy.signal

from ..errors import EmptyAudioError, NoFaceError
from ..processing.audio import SAMPLE_RATE, SAMPLES_PER_FRAME, mfcc13
from .sync import VSHIFT, offset_search

VIDEO_WINDOW = 5
AUDIO_WINDOW = 20
MFCC_PER_FRAME = 4
CROP_SCALE = 0.4  # run_pipeline.py --crop_scale
BOX_SMOOTHING = 13  # run_pipeline.py median-filters box centres and sizes over 13 frames
BORDER_VALUE = 110  # grey the original pads frames with where a crop leaves the image


@dataclass
class LSEResult:
    """SyncNet v2 scores of one face track.

    Attributes:
        offset: audio-visual offset in frames (vshift - argmin of ``distances``; positive: audio leads).
        lse_d: minimum of the mean distance curve (LSE-D, lower is better).
        lse_c: median minus minimum of the curve (LSE-C, higher is better).
        frame_confidence: (W,) per-window confidence; entry t covers frames t..t+4.
        distances: (2·vshift + 1,) mean distance at each offset of ``offsets``.
        offsets: (2·vshift + 1,) the offsets, vshift down to -vshift.
    """

    offset: int
    lse_d: float
    lse_c: float
    frame_confidence: np.ndarray
    distances: np.ndarray
    offsets: np.ndarray

    def to_dict(self, curves: bool = False) -> dict:
        data = {"offset": int(self.offset), "lse_d": float(self.lse_d), "lse_c": float(self.lse_c)}
        if curves:
            data["offsets"] = self.offsets.tolist()
            data["distances"] = [round(float(d), 6) for d in self.distances]
            data["frame_confidence"] = [round(float(c), 6) for c in self.frame_confidence]
        return data


def lse_from_embeddings(video_embeddings, audio_embeddings, vshift: int = VSHIFT, padding: str = "zeros") -> LSEResult:
    """LSE scores of two aligned (W, D) embedding sequences (window t of each stands for frames t..t+4).

    ``padding="zeros"`` is syncnet_python's; ``"valid"`` averages only overlapping windows (then a
    constant sequence scores a confidence of exactly 0).
    """
    result = offset_search(video_embeddings, audio_embeddings, vshift=vshift, metric="euclidean", padding=padding)
    return LSEResult(offset=result.offset, lse_d=result.min_distance, lse_c=result.confidence,
                     frame_confidence=result.frame_confidence, distances=result.distances, offsets=result.offsets)


def num_windows(num_frames: int, num_samples: int) -> int:
    """SyncNet windows of a clip: min(frames, ⌊samples / 640⌋) - 5, as ``SyncNetInstance.evaluate`` counts."""
    return min(num_frames, num_samples // SAMPLES_PER_FRAME) - VIDEO_WINDOW


def syncnet_v2_embeddings(model, faces: np.ndarray, wave: np.ndarray, batch_size: int = 20,
                          sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """(W, D) video and audio embeddings of 224x224 RGB uint8 face crops (T, S, S, 3) and 16 kHz audio."""
    import torch

    faces = np.asarray(faces)
    size = model.config.image_size
    if faces.ndim != 4 or faces.shape[1:] != (size, size, 3) or faces.dtype != np.uint8:
        raise ValueError(f"expected (T, {size}, {size}, 3) uint8 RGB face crops, got {faces.shape} {faces.dtype}; "
                         "cut them with syncnet_v2_face_crops or pass track_faces=True")
    wave = np.asarray(wave, dtype=np.float32)
    count = num_windows(len(faces), len(wave))
    if count < 1:
        raise EmptyAudioError(f"SyncNet needs at least {VIDEO_WINDOW + 1} frames and as much audio "
                              f"({(VIDEO_WINDOW + 1) * SAMPLES_PER_FRAME} samples); got {len(faces)} frames and {len(wave)} samples")
    mfcc = torch.from_numpy(mfcc13(wave, sample_rate).T.copy())  # (13, N)
    parameter = next(model.parameters())
    was_training = model.training
    model.eval()  # batch norm on running statistics, as the original
    video, audio = [], []
    try:
        with torch.no_grad():
            for start in range(0, count, batch_size):
                stop = min(count, start + batch_size)
                # BGR floats on [0, 255], (3, frames, S, S): what cv2.imread gives the original, unnormalised
                clip = torch.from_numpy(np.ascontiguousarray(faces[start : stop + VIDEO_WINDOW - 1, ..., ::-1]))
                clip = clip.permute(3, 0, 1, 2).float()
                windows = torch.stack([clip[:, t : t + VIDEO_WINDOW] for t in range(stop - start)])
                video.append(model.embed_video(windows.to(parameter.device, parameter.dtype)).float().cpu())
                rows = [mfcc[:, MFCC_PER_FRAME * t : MFCC_PER_FRAME * t + AUDIO_WINDOW] for t in range(start, stop)]
                audio.append(model.embed_audio(torch.stack(rows)[:, None].to(parameter.device, parameter.dtype)).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(video).numpy(), torch.cat(audio).numpy()


def syncnet_v2_scores(model, faces, wave: np.ndarray, vshift: int = VSHIFT, batch_size: int = 20, *,
                      track_faces: bool = False, tracker=None, sample_rate: int = SAMPLE_RATE,
                      padding: str = "zeros") -> LSEResult:
    """Offset, LSE-D, LSE-C and per-window confidence of a talking face with SyncNet v2.

    Args:
        model: a :class:`talkhead.models.syncnet_v2.SyncNetV2Model` (the converted ``syncnet_v2.model``).
        faces: (T, 224, 224, 3) uint8 RGB face crops at 25 fps; with ``track_faces`` (or a ``tracker``),
            whole RGB video frames at 25 fps (an array, a list or a re-iterable such as
            :class:`talkhead.processing.video.VideoReader`), tracked and cropped by :func:`syncnet_v2_face_crops`.
        wave: mono 16 kHz audio in [-1, 1], sample 0 at frame 0.
        vshift: offsets searched on each side, in frames (15 in syncnet_python's scripts).
        batch_size: windows per forward pass (20 in syncnet_python).
        track_faces: ``faces`` are whole frames.
        tracker: the :class:`talkhead.processing.faces.FaceTracker` to use (implies ``track_faces``).
        sample_rate: must be 16 kHz.
        padding: ``"zeros"`` (syncnet_python) or ``"valid"`` (see :func:`lse_from_embeddings`).

    Raises:
        NoFaceError: tracking found no face in any frame.
        EmptyAudioError: fewer than 6 frames or 0.24 s of audio.
    """
    if track_faces or tracker is not None:
        faces, _ = syncnet_v2_face_crops(faces, tracker, size=model.config.image_size)
    video, audio = syncnet_v2_embeddings(model, faces, wave, batch_size, sample_rate)
    return lse_from_embeddings(video, audio, vshift, padding)


def syncnet_v2_face_crops(frames, tracker=None, size: int = 224, crop_scale: float = CROP_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """Track one face through RGB ``frames`` and cut SyncNet's crops: (T, size, size, 3) uint8 and (T,) found.

    Boxes come from the tracker's dlib landmarks (:func:`~talkhead.processing.faces.face_crop_boxes`, in
    place of S3FD's); frames where the face is lost take boxes interpolated from its neighbours.
    """
    from ..processing.faces import FaceTracker, face_crop_boxes, fill_all_gaps

    if iter(frames) is frames:  # a one-shot iterator: tracking and cropping each need a pass
        frames = list(frames)
    track = (tracker or FaceTracker()).track(frames)
    if not track.found.any():
        raise NoFaceError("no face found in any frame; SyncNet scores need a visible, roughly frontal face")
    boxes = fill_all_gaps(face_crop_boxes(track.landmarks), track.found)
    centres_x, centres_y, halves = syncnet_crop_geometry(boxes)
    crops = [_syncnet_crop(frame, x, y, half, crop_scale, size)
             for frame, x, y, half in zip(frames, centres_x, centres_y, halves)]
    return np.stack(crops), track.found


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


def _syncnet_crop(frame: np.ndarray, centre_x: float, centre_y: float, half: float, crop_scale: float, size: int) -> np.ndarray:
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


__all__ = ["LSEResult", "lse_from_embeddings", "num_windows", "syncnet_v2_embeddings", "syncnet_v2_scores",
           "syncnet_v2_face_crops", "syncnet_crop_geometry"]
