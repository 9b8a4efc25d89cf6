"""The paper's mouth renderer: the stabilized-sync face generator G_L repaints each 96x96 face (Yaman et al., ECCV).

Inference of the stabilized-sync face generator as the paper's Wav2Lip-style protocol (Yaman et al.,
stabilized sync, §3.1-3.3): every frame's 96x96 face crop, lower half masked, is the pose input; a
silent-lip reference face (an identity frame closed by G_S) is the identity input; the 16-frame mel
window centred on the frame is the audio. The generated mouth region is pasted back with a feathered mask.

Where we differ: identity references are a handful of frames spread over the video (the one whose
head pose is nearest each frame is used), not a random frame per window, so the video streams. It is
kept as a benchmark row and for the talking head's optional repaint; the lip-sync default is the
retrieval renderer (:mod:`talkhead.pipelines.lip_sync.retrieval_renderer`), which measured better (RESULTS.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..models.stable_sync import mask_lower_half
from ..processing import audio as audio_lib
from ..processing.face_crops import crop_face, faces_to_tensor, feather_mask, paste_face
from .stages import StageTimes

POSE_POINTS = slice(0, 48)  # jaw, brows, nose, eyes: the head pose without the mouth


def pose_descriptor(box_landmarks: np.ndarray) -> np.ndarray:
    """(..., 68, 2) in box units -> (..., 96): the non-mouth points, the head pose without the mouth."""
    points = box_landmarks[..., POSE_POINTS, :]
    return points.reshape(*points.shape[:-2], -1)


def mouth_mask(box_landmarks: np.ndarray, size: int = 96, feather: float = 0.1) -> np.ndarray:
    """(size, size) paste-back weights: a soft ellipse over the mouth and the chin it moves.

    Pasting the mouth region only (not the whole lower half, as the generator's mask does) keeps the
    source's jaw line and skin, which a small generator renders worse than it renders lips.
    """

    mouth = box_landmarks[48:68] * size
    center = (mouth.min(0) + mouth.max(0)) / 2
    width, height = np.ptp(mouth, axis=0)
    axes = (0.7 * width, 0.3 * width + 0.6 * height)
    mask = np.zeros((size, size), np.float32)
    cv2.ellipse(
        mask,
        (center * 16).round().astype(int).tolist(),
        (np.array(axes) * 16).round().astype(int).tolist(),
        0,
        0,
        360,
        1.0,
        -1,
        cv2.LINE_AA,
        4,
    )
    sigma = max(feather * size / 3, 0.5)
    return cv2.GaussianBlur(mask, (0, 0), sigma) * feather_mask(size, feather)


class FaceRenderer:
    """Generates and pastes back batches of faces; the models and references are fixed per video."""

    def __init__(
        self,
        generator,
        references: torch.Tensor,
        reference_poses: np.ndarray,
        mel: np.ndarray,
        fps: float,
        feather: float,
    ):
        self.generator = generator
        self.references = references  # (K, 3, 96, 96) in [0, 1], mouths closed
        self.reference_poses = reference_poses
        self.mel = mel
        self.fps = fps
        self.feather = feather

    def mel_windows(self, output_indices: list[int]) -> torch.Tensor:
        """(N, 1, 80, 16): the window centred on each output frame (training used frames t-2..t+2)."""
        shift = 2 * self.fps / audio_lib.VIDEO_FPS
        windows = [audio_lib.mel_window(self.mel, index - shift, self.fps).T for index in output_indices]
        return torch.from_numpy(np.ascontiguousarray(np.stack(windows)))[:, None]

    def __call__(
        self,
        frames: list[np.ndarray],
        boxes: np.ndarray,
        box_landmarks: np.ndarray,
        output_indices: list[int],
        times: StageTimes,
    ) -> list[np.ndarray]:

        with times.stage("render"):
            crops = np.stack([crop_face(f, b) for f, b in zip(frames, boxes, strict=False)])
            faces = faces_to_tensor(crops)
            poses = pose_descriptor(box_landmarks)
            nearest = np.argmin(((poses[:, None] - self.reference_poses[None]) ** 2).sum(-1), axis=1)
            mels = self.mel_windows(output_indices)
        with times.stage("generator"), torch.no_grad():
            device = self.generator.device  # the pipeline may have put the models on an accelerator
            images = self.generator(
                self.references[nearest].to(device), mask_lower_half(faces).to(device), mels.to(device)
            ).images.cpu()
        with times.stage("render"):
            generated = images.permute(0, 2, 3, 1).numpy() * 255
            pasted = []
            for frame, face, crop, box, points in zip(frames, generated, crops, boxes, box_landmarks, strict=False):
                mask = mouth_mask(points, feather=self.feather)
                face = match_colour(face, crop, mask)
                pasted.append(paste_face(frame, face, box, mask))
            return pasted


def match_colour(generated: np.ndarray, source: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``generated`` (float, 0-255) shifted to the source crop's mean colour along the seam of ``mask``; uint8.

    The small generator drifts in skin tone; a mean shift measured where the two images blend (weight
    mask·(1 − mask), away from the mouth whose shape differs) hides the patch without touching the lips.
    """
    seam = mask * (1 - mask)
    weights = seam[..., None] / max(float(seam.sum()), 1e-6)
    shift = (source.astype(np.float32) * weights).sum((0, 1)) - (generated * weights).sum((0, 1))
    return (generated + shift + 0.5).clip(0, 255).astype(np.uint8)


def close_mouths(silent_lip, faces: np.ndarray) -> torch.Tensor:
    """Identity references with closed lips: G_S on the face with the mel of silence.

    (Yaman et al., stabilized sync, §3.2.)
    """

    tensor = faces_to_tensor(faces)
    if silent_lip is None:
        return tensor
    silence = torch.full((len(tensor), 1, audio_lib.MEL_BANDS, audio_lib.MEL_WINDOW), audio_lib.MEL_SILENCE)
    with torch.no_grad():
        return silent_lip(*(x.to(silent_lip.device) for x in (tensor, mask_lower_half(tensor), silence))).images.cpu()
