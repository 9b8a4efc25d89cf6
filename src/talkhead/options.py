"""The options of the two video pipelines, light to import: the CLI builds its parsers from these defaults.

:class:`LipSyncOptions` (:func:`talkhead.pipelines.lip_sync.lip_sync`) and :class:`TalkingHeadOptions`
(:func:`talkhead.pipelines.talking_head.talking_head`) are what a caller, ``pipeline(...)(..., **options)``, the
``talkhead`` commands and the Space set; each default is the field's (from :mod:`talkhead.defaults` where the
package shares it), and the commands read their flags' defaults from these classes, so a flag's default is the
field's. The module imports no model, so ``talkhead --help`` does not load torch models or transformers' pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import defaults
from .errors import TalkheadInputError
from .processing.face_choice import FaceChoice
from .processing.phones import check_language

MISSING_FACE_POLICIES = defaults.MISSING_FACE_POLICIES
AUDIO_LONGER_POLICIES = defaults.AUDIO_LONGER_POLICIES


@dataclass
class LipSyncOptions:
    """How :func:`lip_sync` treats its inputs.

    Args:
        on_missing_face: frames where no face is found are copied unchanged (``passthrough``, the
            ranges are reported), get a face pasted at a box interpolated from the neighbouring frames
            (``interpolate``), or stop the run (``error``).
        audio_longer: when the audio outlasts the video, replay it from the start (``loop``), play it
            backwards and forwards (``bounce``: no jump cut), or cut the audio at the video's end (``trim``).
        batch_size: frames rendered at once, fewer where that many would pass :data:`BATCH_BYTES` (4K frames
            go two at a time: memory stays near that of 1080p, benchmarks/lipsync_memory.py).
        track_side: longest side of the frames the face tracker sees (full size is used for the output).
        references: identity frames spread over the video (generator renderer).
        feather: width of the paste-back seam, as a fraction of the face box (generator renderer).
        pool_size: at most this many of the video's frames lend their mouths (retrieval renderer).
        exclude_within: for benchmarks that dub a clip with its own speech: a frame may not take its mouth
            from a source frame this close to it (0: any frame).
        crf: x264 quality of the output (lower is better).
        language: the speech's language for the phone recogniser, which knows English only: ``auto`` (default)
            takes its words where its own confidence says it understood and the phone loop elsewhere; ``en``
            always takes its words; any other code (``fr``, ``zh``, ...) the phone loop alone.
        face: which face to dub when there are several (:mod:`talkhead.processing.face_choice`): ``largest``
            (default), ``leftmost``, ``rightmost``, an index from the left (``"0"``) or a point ``"X,Y"``.
        renderer: how the predicted mouth is painted: ``retrieval`` (default) reuses the video's own mouths, warped
            to the shapes the mouth-motion model predicts; ``generator`` repaints every face with the paper's G_L.
        visemes: impose the lip shapes the phones need on the predicted mouth (:mod:`talkhead.processing.visemes`:
            the video's own shut mouth on P, B and M, the lower lip at the teeth on F and V, rounding on O, U and W;
            retrieval renderer).
        progress: show tqdm bars.
    """

    renderer: str = defaults.RENDERER
    on_missing_face: str = defaults.ON_MISSING_FACE
    audio_longer: str = defaults.AUDIO_LONGER
    batch_size: int = defaults.RENDER_BATCH_SIZE
    track_side: int = defaults.TRACK_SIDE
    references: int = 8
    feather: float = defaults.FEATHER
    pool_size: int = defaults.POOL_SIZE
    exclude_within: int = 0
    crf: int = defaults.CRF
    language: str = defaults.LANGUAGE
    face: str = defaults.FACE
    visemes: bool = True
    progress: bool = True

    def __post_init__(self):
        self.language = check_language(self.language)
        FaceChoice.parse(self.face)
        if self.renderer not in defaults.RENDERERS:
            raise TalkheadInputError(f"renderer must be one of {defaults.RENDERERS}, got '{self.renderer}'")
        if self.on_missing_face not in MISSING_FACE_POLICIES:
            raise TalkheadInputError(
                f"on_missing_face must be one of {MISSING_FACE_POLICIES}, got '{self.on_missing_face}'"
            )
        if self.audio_longer not in AUDIO_LONGER_POLICIES:
            raise TalkheadInputError(f"audio_longer must be one of {AUDIO_LONGER_POLICIES}, got '{self.audio_longer}'")
        if (
            self.batch_size < 1
            or self.references < 1
            or self.pool_size < 1
            or self.track_side < 64
            or self.exclude_within < 0
        ):
            raise TalkheadInputError(
                f"batch_size, references and pool_size must be at least 1, track_side at least 64 and exclude_within "
                f"at least 0; got {self.batch_size}, {self.references}, {self.pool_size}, {self.track_side}, "
                f"{self.exclude_within}"
            )


@dataclass
class TalkingHeadOptions:
    """How :func:`talking_head` renders.

    Args:
        head_motion_scale: 0 keeps the head still, 1 is the generated motion, above 1 exaggerates it.
        lip_scale: the same for the mouth and jaw movement. With the mouth-motion model (the default) 1 is its
            prediction at a typical training speaker's amplitude, scaled up by what the rendered mouth loses as a
            tracker reads it, so the video's mouth moves about as much as a real one. Without it
            (``mouth_model=None``, MS-Sync's own mouth) use 2: that generator's mouth moves half as much as
            real ones (std of the mouth opening 0.030 against 0.059 on the held-out clips).
        fps: output frame rate (the motion is generated at 25 fps and interpolated).
        output_size: longest side of the output video in pixels (larger photos are downscaled).
        repaint: let the stabilized-sync face generator repaint the mouth. Off by default: the shipped
            ``stable-sync-face`` (9 MB, trained on 11 minutes) renders the mouth as a blur at photo
            resolution, while the warp keeps the photo's own lips moving with the generated landmarks.
            Turn it on with a better-trained generator.
        expression_scale: the same for the rest of the face's own movement (brows, eyes). Off by default:
            the shipped generator's eye and brow points jitter, and a warp through them folds the eyes.
        lip_detrend_seconds: removes the slow drift of MS-Sync's mouth (see :func:`rescale_motion`) when it is
            used (``mouth_model=None``); 0 keeps the generator's motion as it is.
        mouth_interior: fill the mouth where it opens wider than in the photo: with the mouth-interior generator
            when one is loaded (the default ``mouth-interior``: teeth, tongue and throat), else, for a photo with
            closed lips, a dark cavity and a band of upper teeth.
        keep_open_mouth: a photo whose lips are apart keeps its open mouth as the rest pose, and the lips never
            meet (off, the default: such a photo is driven from its mouth closed, so it closes between words).
        blinks: blink every 2-6 s (a seeded schedule, :mod:`talkhead.pipelines.talking_head.blinks`; never in the
            first 0.8 s).
        seed: fixes the generator's optional noise.
        feather: width of the mouth paste-back seam, as a fraction of the face box.
        crf: x264 quality.
        batch_size: frames warped (and repainted) at once.
        language: the speech's language for the phone recogniser, which knows English only: ``auto`` (default)
            takes its words where its own confidence says it understood and the phone loop elsewhere; ``en``
            always takes its words; any other code (``fr``, ``zh``, ...) the phone loop alone.
        visemes: impose the lip shapes the phones need on the mouth-motion model's mouth
            (:mod:`talkhead.processing.visemes`: the photo's shut mouth on P, B and M, the lower lip at the teeth on F
            and V, rounding on O, U and W).
        progress: show a tqdm bar.
    """

    head_motion_scale: float = 1.0
    lip_scale: float = 1.0
    expression_scale: float = 0.0
    fps: float = float(defaults.VIDEO_FPS)
    output_size: int = 720
    repaint: bool = False
    lip_detrend_seconds: float = 2.0
    mouth_interior: bool = True
    keep_open_mouth: bool = False
    blinks: bool = True
    seed: int = 0
    feather: float = defaults.FEATHER
    crf: int = defaults.CRF
    batch_size: int = defaults.RENDER_BATCH_SIZE
    language: str = defaults.LANGUAGE
    visemes: bool = True
    progress: bool = True

    def __post_init__(self):
        self.language = check_language(self.language)
        scales = {
            "head_motion_scale": self.head_motion_scale,
            "lip_scale": self.lip_scale,
            "expression_scale": self.expression_scale,
        }
        if not all(0 <= value <= defaults.MAX_MOTION_SCALE for value in scales.values()):
            raise TalkheadInputError(f"motion scales must be in [0, {defaults.MAX_MOTION_SCALE:g}]; got {scales}")
        if self.batch_size < 1:
            raise TalkheadInputError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 1 <= self.fps <= 120:
            raise TalkheadInputError(f"fps must be between 1 and 120, got {self.fps}")
        if self.output_size < 96:
            raise TalkheadInputError(f"output_size must be at least 96 pixels, got {self.output_size}")
