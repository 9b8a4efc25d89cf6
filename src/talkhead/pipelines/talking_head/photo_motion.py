"""The motion of a talking photo: MS-Sync's head motion rescaled, the mouth and jaw from the
mouth-motion model, and a photo taken mid-word closed first so that it can close between words.

:func:`~talkhead.pipelines.talking_head.pipeline_talking_head.talking_head` calls these in order: :func:`rescale_motion`
(the head's rigid motion and the lower face's own, each scaled), :func:`close_photo_mouth` for an open photo,
:func:`speak_with_mouth_model` (its phones started early with :func:`start_mouth_phones`), :func:`resample_motion` to
the output's frame rate.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from ...processing import audio as audio_lib
from ...processing.landmarks import apply_transform, close_mouth, similarity_transform
from ...processing.mouth import keep_lips_apart, mouth_shapes
from ...processing.phone_worker import start_phone_features
from ...processing.phones import DEFAULT_LANGUAGE
from ...processing.visemes import VisemeTargets, articulate
from ..mouth_retrieval import target_landmarks
from ..pipeline_utils import mouth_phones
from ..warp import border_anchors, piecewise_affine_warp

INNER_CORNER_SHARE = 0.08  # where an open photo's inner lip corners are taken, from the outer ones, for closing
NEUTRAL_UPPER_SHARE = 0.15  # of an open photo's lip gap, closed by the upper lip (the jaw closes the rest)
HEAD_POINTS = np.r_[17:48]  # brows, nose, eyes: rigid with the skull
LOWER_FACE = np.r_[4:13, 48:68]  # lower jaw and mouth: what speech moves
# a rendered photo's mouth opening, tracked in its frames, varies this share as much as the landmarks it was warped to
# (median of 14 training clips; RESULTS.md, "The photo's amplitude"): the mouth motion is divided by it, so that the
# video moves as much as the model asks
RENDERED_OPENING_SHARE = 0.78


def rescale_motion(
    motion: np.ndarray, head_scale: float, lip_scale: float, detrend_frames: int = 0, expression_scale: float = 1.0
) -> np.ndarray:
    """(T, 68, 2) pixels with the head's rigid motion scaled by ``head_scale`` and the lower face's own by
    ``lip_scale``.

    Frame t = H_t(start) + r_t, where H_t is the least-squares similarity transform of the head points from frame 0
    and r_t the rest. Returns H'_t(start) + s·r_t with H'_t = I + head_scale·(H_t − I) and s = ``lip_scale``
    on the jaw and mouth, ``expression_scale`` elsewhere (brows, eyes, nose). ``detrend_frames`` > 1 first
    subtracts the moving average over that many frames from the jaw and mouth residual: the autoregressive
    generator's mouth drifts open over seconds, while articulation lives at syllable rate (4-5 Hz) and passes
    through.
    """

    start = motion[0]
    last_row = np.array([[0.0, 0.0, 1.0]])  # 3x3, so the transforms scale linearly towards the identity
    heads = np.stack(
        [np.vstack([similarity_transform(start[HEAD_POINTS], frame[HEAD_POINTS]), last_row]) for frame in motion]
    )
    residual = motion - np.stack([apply_transform(head, start) for head in heads])
    if detrend_frames > 1:
        lower = residual[:, LOWER_FACE]
        residual[:, LOWER_FACE] = lower - uniform_filter1d(lower, detrend_frames, axis=0, mode="nearest")
    weights = np.full((68, 1), expression_scale, motion.dtype)
    weights[LOWER_FACE] = lip_scale
    scaled = np.eye(3) + head_scale * (heads - np.eye(3))
    return np.stack([apply_transform(head, start) for head in scaled]) + weights * residual


def speak_with_mouth_model(
    points: np.ndarray,
    photo_points: np.ndarray,
    mouth_model,
    wave: np.ndarray,
    lip_scale: float = 1.0,
    silent: bool = False,
    language: str = DEFAULT_LANGUAGE,
    phones: np.ndarray | None = None,
    visemes: bool = True,
) -> np.ndarray:
    """(T, 68, 2) head motion at 25 fps with the mouth (and chin) set by ``mouth_model`` from ``wave`` (its phone
    features ``phones`` when already decoded: :func:`start_mouth_phones` starts them early; else decoded here).
    With ``visemes`` the phones' lip shapes are imposed (:func:`~talkhead.processing.visemes.articulate`), the
    photo's rest mouth being the shut one.

    The photo's own mouth is the rest pose (a smiling photo talks with a smile); the model's displacement
    from it (:meth:`~talkhead.models.mouth_motion.MouthMotionModel.predict_photo`: from the utterance's most closed
    mouths, at a typical speaker's amplitude) is added in each frame's face frame, so the mouth moves with the head
    (:func:`talking_head` passes an open photo's closed version, :func:`close_photo_mouth`, so that it closes
    between words).
    """

    rest = mouth_shapes(photo_points[None])[0]
    if silent:
        return target_landmarks(points, np.repeat(rest[None], len(points), 0))
    phones = mouth_phones(mouth_model, wave, len(points), audio_lib.VIDEO_FPS, language, phones, visemes)
    displacements = mouth_model.predict_photo(wave, len(points), audio_lib.VIDEO_FPS, rest, phones, language)
    if visemes:  # the phones' shapes are part of the motion: lip_scale scales them too
        loudness = audio_lib.frame_level_db(wave, len(points))
        spoken = rest + displacements
        targets = VisemeTargets(rest, spoken.mean(0))
        displacements = articulate(spoken, phones[: len(points)], targets, loudness) - rest
    shapes = rest + lip_scale / RENDERED_OPENING_SHARE * displacements
    return target_landmarks(points, keep_lips_apart(shapes))


def start_mouth_phones(mouth_model, wave: np.ndarray, language: str):
    """The phones ``mouth_model`` reads, decoding in the worker processes from now on (None: it reads none)."""
    config = getattr(mouth_model, "config", None)
    if not getattr(config, "use_phones", False):
        return None
    frames = int(np.ceil(len(wave) / audio_lib.SAMPLES_PER_FRAME))
    return start_phone_features(wave, frames, audio_lib.VIDEO_FPS, config.phone_decoder, language)


def neutral_mouth_points(photo_points: np.ndarray) -> np.ndarray:
    """(68, 2): the photo's landmarks with the lips closed (the lower lip rises to the upper one, which comes down
    ``NEUTRAL_UPPER_SHARE`` of the gap, :func:`~talkhead.processing.landmarks.close_mouth`) and the chin risen with
    the lower lip as :func:`~talkhead.pipelines.mouth_retrieval.target_landmarks` moves it. Closing at the
    midpoint instead stretches the upper lip down from the nose."""
    closed = close_mouth(photo_points, NEUTRAL_UPPER_SHARE)[None]
    return target_landmarks(np.asarray(photo_points, np.float64)[None], mouth_shapes(closed))[0]


def close_photo_mouth(photo: np.ndarray, photo_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A photo taken mid-word with its mouth closed: (image, its landmarks :func:`neutral_mouth_points`).

    A piecewise-affine warp of the lower face (:func:`~talkhead.pipelines.warp.piecewise_affine_warp`) through the
    landmarks and a still ring around the face: the triangles inside the mouth collapse and its teeth vanish, where
    a thin-plate spline forced to close them folds the nose and chin. The closed photo is then animated like any
    other; the open one stays the mouth-interior generator's reference for teeth and colour.
    """
    neutral = neutral_mouth_points(photo_points)
    source, target = np.array(photo_points, np.float64, copy=True), neutral.copy()
    for inner, outer in ((60, 48), (64, 54)):
        # dlib puts an open mouth's inner corners inside the dark of the mouth, and what lies between them and the
        # outer corners stays as black notches beside the closed lips: close the mouth from (almost) the outer ones
        source[inner] = source[outer] + INNER_CORNER_SHARE * (source[inner] - source[outer])
        target[inner] = target[outer] + INNER_CORNER_SHARE * (target[inner] - target[outer])
    low, high = photo_points.min(0), photo_points.max(0)
    centre, radius = (low + high) / 2, (high - low) * 0.5 * 1.35
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = centre + radius * np.stack([np.cos(angles), np.sin(angles)], 1)
    height, width = photo.shape[:2]
    ring = np.clip(ring, 0, [width - 1, height - 1])
    # points along the inner lips keep the triangulation from crossing them: the mouth's inside then lies in
    # triangles of its own, which collapse whole
    along_source, along_target = _along_inner_lips(source), _along_inner_lips(target)
    warped = piecewise_affine_warp(
        photo,
        np.concatenate([source, along_source, ring, border_anchors(width, height)]),
        np.concatenate([target, along_target, ring, border_anchors(width, height)]),
    )
    return warped, neutral


def _along_inner_lips(points: np.ndarray, per_edge: int = 4) -> np.ndarray:
    """(8 * per_edge, 2) points evenly between consecutive inner-lip landmarks (60-67, closed), ends excluded."""
    loop = points[np.r_[60:68, 60]]
    steps = np.arange(1, per_edge + 1) / (per_edge + 1)
    return (loop[:-1, None] + steps[None, :, None] * (loop[1:] - loop[:-1])[:, None]).reshape(-1, 2)


def resample_motion(motion: np.ndarray, fps: float) -> np.ndarray:
    """(T, 68, 2) at 25 fps -> the same duration at ``fps``, by linear interpolation in time."""
    if fps == audio_lib.VIDEO_FPS:
        return motion
    frames = max(1, int(round(len(motion) * fps / audio_lib.VIDEO_FPS)))
    times = np.arange(frames) * audio_lib.VIDEO_FPS / fps
    index = np.clip(np.floor(times).astype(int), 0, len(motion) - 1)
    following = np.minimum(index + 1, len(motion) - 1)
    weight = (times - index)[:, None, None]
    return (1 - weight) * motion[index] + weight * motion[following]
