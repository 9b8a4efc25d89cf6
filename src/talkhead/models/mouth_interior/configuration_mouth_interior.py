"""Configuration of the mouth-interior generator (teeth, tongue and throat for a photo that talks)."""

from __future__ import annotations

from transformers import PretrainedConfig

from ...processing.mouth_crops import MASK_GROW, MOUTH_BOX_SCALE, MOUTH_SIZE
from ..configuration_utils import PresetConfigMixin, raise_problems


class MouthInteriorConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MouthInteriorGenerator`.

    The stabilized-sync talking-face U-Net (G_L, Yaman et al.) re-purposed as an inpainter of mouth crops: two
    encoders of the same residual FE blocks, one for the crop with its inner-lip region masked (plus the mask),
    one for a reference mouth of the same person; a decoder of FD blocks with skips from the masked crop at every
    scale and from the reference at the two coarsest (the reference's lips are elsewhere, its colours and teeth
    are what it brings). No audio tower: the target landmarks (the mask) already say how far the mouth is open.

    Args:
        widths (`list[int]`, *optional*): channels of the stem and of each stride-2 block (default 16, 32, 64, 128:
            64 px down to 8 px).
        mouth_size (`int`, *optional*, defaults to 64): side of the mouth crops
            (:mod:`talkhead.processing.mouth_crops`); must be divisible by 2^(len(widths) - 1).
        box_scale (`float`, *optional*, defaults to 1.25): crop side over the inter-ocular distance (the crops the
            model was trained on).
        mask_grow (`float`, *optional*, defaults to 1.5): pixels the inner-lip polygon is grown by.
        use_reference (`bool`, *optional*, defaults to True): read the reference mouth.
        initializer_range (`float`, *optional*, defaults to 0.02): std of the linear layers' initialisation.
    """

    model_type = "mouth_interior"
    presets = {
        "small": {},
        "tiny": {"widths": [4, 8, 8, 16]},
    }

    def __init__(
        self,
        widths: list[int] | None = None,
        mouth_size: int = MOUTH_SIZE,
        box_scale: float = MOUTH_BOX_SCALE,
        mask_grow: float = MASK_GROW,
        use_reference: bool = True,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        self.widths = list(widths or [16, 32, 64, 128])
        self.mouth_size = mouth_size
        self.box_scale = box_scale
        self.mask_grow = mask_grow
        self.use_reference = use_reference
        self.initializer_range = initializer_range
        problems = []
        if len(self.widths) < 3 or any(w <= 0 for w in self.widths):
            problems.append(f"widths={self.widths} (at least three positive channel counts)")
        elif mouth_size % (2 ** (len(self.widths) - 1)):
            problems.append(f"mouth_size={mouth_size} (divisible by {2 ** (len(self.widths) - 1)} for {self.widths})")
        if box_scale <= 0:
            problems.append(f"box_scale={box_scale} (positive)")
        if mask_grow < 0:
            problems.append(f"mask_grow={mask_grow} (zero or more)")
        raise_problems("MouthInteriorConfig", problems)
        super().__init__(**kwargs)
