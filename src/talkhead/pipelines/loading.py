"""Loading the pipelines' models by name, in one place so that every caller checks them the same way.

``talkhead lip-sync`` / ``talking-head``, the Space, the benchmarks and ``pipeline(...)`` all load through these
functions: a checkpoint's kind is checked against the argument it is given for (a one-line error names both),
and a model object passes through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import AutoConfig

from .. import defaults
from ..errors import TalkheadInputError
from ..hub import checkpoint_path, load_pretrained, refuse_checkpoint_code
from ..models.mouth_interior import MouthInteriorGenerator
from ..models.mouth_motion import MouthMotionModel
from ..models.stable_sync import StableSyncFaceGenerator
from ..processing import phone_worker
from .lip_sync.pipeline_lip_sync import LipSyncModels
from .pipeline_utils import load_component
from .talking_head.speech_to_landmarks import SpeechToLandmarks


def load_lip_sync_models(
    mouth_model: str | None = defaults.MOUTH_MOTION,
    renderer: str = defaults.RENDERER,
    face_generator: str | None = defaults.FACE_GENERATOR,
    silent_lip: str | None = defaults.SILENT_LIP,
) -> LipSyncModels:
    """The :class:`~talkhead.pipelines.lip_sync.LipSyncModels` of :func:`~talkhead.pipelines.lip_sync.lip_sync`, by
    name: what ``renderer`` needs is loaded, the rest is ``None`` (``retrieval``: the mouth-motion model;
    ``generator``: G_L and, unless ``silent_lip`` is ``None``, the G_S that closes its identity references)."""
    if renderer not in defaults.RENDERERS:
        raise TalkheadInputError(f"renderer must be one of {defaults.RENDERERS}, got '{renderer}'")
    if renderer == "retrieval":
        phone_worker.warm_up()  # the worker process starts while the model loads
        return LipSyncModels(mouth_model=_load_checked(MouthMotionModel, mouth_model, "mouth_model"))
    generator = _load_checked(StableSyncFaceGenerator, face_generator, "face_generator")
    return LipSyncModels(face_generator=generator, silent_lip=load_component(StableSyncFaceGenerator, silent_lip))


def _checkpoint_kind(name: str, argument: str = "") -> str:
    """The ``model_type`` of the checkpoint ``name`` (a model name or a folder), read from its config alone;
    ``argument`` names what gave it, for the error."""
    folder = checkpoint_path(name)
    refuse_checkpoint_code(name, folder, argument)
    try:
        return AutoConfig.from_pretrained(folder, trust_remote_code=False).model_type
    except (OSError, ValueError) as err:
        raise TalkheadInputError(
            f"cannot read the checkpoint '{name}': give a model name (talkhead/<name> or "
            f"<name>) or a folder with config.json ({type(err).__name__})"
        ) from err


def _load_checked(model_class, name, argument: str):
    """``model_class`` from the checkpoint ``name``, with a one-line error when the checkpoint is of another kind."""
    if name is None:
        raise TalkheadInputError(f"{argument} is needed by this renderer; give a checkpoint name or folder")
    kind = _checkpoint_kind(name, argument)
    if kind != model_class.config_class.model_type:
        raise TalkheadInputError(
            f"{argument} '{name}' is a {kind} checkpoint; it must be a {model_class.config_class.model_type} checkpoint"
        )
    return load_pretrained(model_class, name).eval()


def renderer_of_checkpoint(name: str) -> str:
    """The renderer a lip-sync checkpoint serves, read from its config: ``retrieval`` for a mouth-motion model,
    ``generator`` for a stabilized-sync face generator (a benchmark row given one checkpoint name)."""
    kind = _checkpoint_kind(name, "model")
    kinds = {
        MouthMotionModel.config_class.model_type: "retrieval",
        StableSyncFaceGenerator.config_class.model_type: "generator",
    }
    if kind not in kinds:
        raise TalkheadInputError(
            f"'{name}' is a {kind} checkpoint; lip-sync takes a mouth-motion model or a stabilized-sync face generator"
        )
    return kinds[kind]


# here, not beside talking_head: its module imports this one (its pipeline class loads through
# load_talking_head_models), so this one cannot import it
@dataclass
class TalkingHeadModels:
    """The models :func:`~talkhead.pipelines.talking_head.talking_head` takes, as :func:`load_talking_head_models`
    loads them."""

    head_model: SpeechToLandmarks  # MS-Sync: the head's motion
    mouth_model: MouthMotionModel | None = None  # the mouth and jaw (None: MS-Sync's own mouth)
    face_generator: StableSyncFaceGenerator | None = None  # G_L, repaints the mouth with ``repaint``
    silent_lip: StableSyncFaceGenerator | None = None  # G_S, closes the photo's mouth for G_L
    mouth_interior: MouthInteriorGenerator | None = None  # fills the opened mouth (None: a painted interior)


def load_talking_head_models(
    head_model=defaults.HEAD_MOTION,
    mouth_model=defaults.MOUTH_MOTION,
    face_generator=defaults.FACE_GENERATOR,
    silent_lip=defaults.SILENT_LIP,
    seed: int = 0,
    repaint: bool = True,
    mouth_interior=defaults.MOUTH_INTERIOR,
) -> TalkingHeadModels:
    """The models of ``talkhead talking-head``, the Space and ``pipeline("talking-head")``, each a checkpoint name, a
    folder, a loaded model, or ``None`` (``mouth_model``: MS-Sync moves the mouth; the generators: no repaint;
    ``mouth_interior``: a painted interior). ``repaint=False`` skips loading the two face generators."""
    if mouth_model is not None:
        phone_worker.warm_up()  # the worker processes start while the models load
    head = head_model if isinstance(head_model, SpeechToLandmarks) else SpeechToLandmarks(head_model, seed=seed)
    generators = (face_generator, silent_lip) if repaint else (None, None)
    return TalkingHeadModels(
        head,
        load_component(MouthMotionModel, mouth_model),
        *(load_component(StableSyncFaceGenerator, g) for g in generators),
        load_component(MouthInteriorGenerator, mouth_interior),
    )
