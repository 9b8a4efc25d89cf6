"""Configuration of the mouth-motion model (audio and phones -> mouth shapes per video frame)."""

from __future__ import annotations

from transformers import PretrainedConfig

from ...processing.phones import NUM_PHONES, PHONE_DECODERS, PHONE_LOOP_DECODER
from ..configuration_utils import PresetConfigMixin, raise_problems

MEL_BANDS = 80
MEL_NORMALIZATIONS = ("mean", "mean_std", "running")


class MouthMotionConfig(PresetConfigMixin, PretrainedConfig):
    r"""Configuration of :class:`MouthMotionModel`.

    A non-causal stack of dilated residual 1D convolutions over per-video-frame audio features: the
    phone soft one-hots of :mod:`talkhead.processing.phones` (``use_phones``) and/or the 80-band mel
    averaged over each frame (``use_mel``). It predicts the mouth shape (points 48-67 in the face
    frame of :mod:`talkhead.processing.mouth`) as a displacement from the speaker's mean shape.

    Args:
        use_phones (`bool`, *optional*, defaults to True): read the phone features.
        use_mel (`bool`, *optional*, defaults to True): read the per-frame mel.
        phone_decoder (`str`, *optional*, defaults to "allphone"): how the phones are decoded
            (:func:`talkhead.processing.phones.decode_phones`): ``allphone`` (a phone loop, 20x real time) or
            ``words`` (recognised words' dictionary phones aligned to the audio, about 4x real time). The default is
            the phone loop that the dataset's stored phones were decoded with; `examples/train_mouth_motion.py`
            defaults to "words".
        hidden_size (`int`, *optional*, defaults to 128): channels of the convolution stack.
        num_blocks (`int`, *optional*, defaults to 6): residual blocks; block i has dilation ``dilations[i]``.
        dilations (`list[int]`, *optional*): dilation of each block (default 1, 2, 4, 1, 2, 1: about 0.9 s either
            side at 25 fps).
        kernel_size (`int`, *optional*, defaults to 5): temporal kernel of every convolution.
        dropout (`float`, *optional*, defaults to 0.1): dropout inside the blocks.
        input_dropout (`float`, *optional*, defaults to 0.1): dropout on the input features (a mel band or a phone
            fraction is dropped, so no single cue is trusted).
        mouth_points (`int`, *optional*, defaults to 20): points 48-67.
        mel_normalization (`str`, *optional*, defaults to "mean"): per clip and band, subtract the mean (``mean``)
            or also divide by the standard deviation (``mean_std``: a quiet or monotone voice looks like a loud one),
            or subtract a running mean of the speech heard so far (``running``: what a stream can know; see
            :class:`~.feature_extraction_mouth_motion.RunningMelMean`).
        mel_prior (`list[float]`, *optional*): ``running`` only: the 80-band mean the running mean starts from (the
            training clips' mean mel, set by the training script).
        look_ahead (`int`, *optional*): frames after a frame that may reach its prediction. ``None`` (the offline
            model): as many as before it, ``receptive_frames``. A number makes the model streamable: the
            convolutions read at most that much future in all, and each frame is predicted from its own window of
            ``frames_before`` past and ``look_ahead`` future frames (the normalisations inside pool that window
            alone), as a stream holds it. A per-frame normalisation instead followed held-out mouths less well
            (lip-follow 0.37 against 0.46; benchmarks/RESULTS.md, "Live avatars").
        opening_loss_weight (`float`, *optional*, defaults to 0.0): weight of an extra squared error on the
            inner-lip gap (mean of the vertical gaps 61-67, 62-66, 63-65), the part of the shape that speech
            moves most and lip-follow measures; the coordinate loss spreads its effort over all 40 values.
        correlation_loss_weight (`float`, *optional*, defaults to 0.0): weight of 1 - the Pearson correlation of
            predicted and real inner-lip gap over each training window (lip-follow itself, which ignores scale).
        output_gain (`float`, *optional*, defaults to 1.0): the predicted displacement is multiplied by this at
            inference. Regression to the mean shrinks the motion; the training script fits the gain on the
            validation split so that predicted and real mouth openings vary equally.
        ensemble_size (`int`, *optional*, defaults to 1): independently initialised stacks whose predictions are
            averaged (each trained on its own loss).
        silence_displacement (`list[float]`, *optional*): mean true displacement over silent training frames
            (40 values); subtracting it turns a displacement from the mean into one from the rest pose, which is
            what a single photo gives.
        speech_opening_std (`float`, *optional*): the median over the training clips of the standard deviation of
            the inner-lip opening (inter-ocular units): how much a typical speaker's mouth moves. A photo's motion
            (:meth:`MouthMotionModel.predict_photo`) is scaled to it, since the model's own prediction, hedged
            towards the mean, moves less; ``None``: not scaled.
    """

    model_type = "mouth_motion"
    presets = {
        "paper": {},
        "small": {},
        "tiny": {"hidden_size": 16, "num_blocks": 2, "dilations": [1, 2], "kernel_size": 3},
    }

    def __init__(
        self,
        use_phones: bool = True,
        use_mel: bool = True,
        phone_decoder: str = PHONE_LOOP_DECODER,
        hidden_size: int = 128,
        num_blocks: int = 6,
        dilations: list[int] | None = None,
        kernel_size: int = 5,
        dropout: float = 0.1,
        input_dropout: float = 0.1,
        mouth_points: int = 20,
        mel_normalization: str = "mean",
        opening_loss_weight: float = 0.0,
        correlation_loss_weight: float = 0.0,
        ensemble_size: int = 1,
        output_gain: float = 1.0,
        silence_displacement: list[float] | None = None,
        initializer_range: float = 0.02,
        speech_opening_std: float | None = None,
        look_ahead: int | None = None,
        mel_prior: list[float] | None = None,
        **kwargs,
    ):
        self.use_phones = use_phones
        self.use_mel = use_mel
        self.phone_decoder = phone_decoder
        self.hidden_size = hidden_size
        self.num_blocks = num_blocks
        self.dilations = list(dilations) if dilations is not None else [1, 2, 4, 1, 2, 1][:num_blocks]
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.mouth_points = mouth_points
        self.opening_loss_weight = opening_loss_weight
        self.correlation_loss_weight = correlation_loss_weight
        self.ensemble_size = ensemble_size
        self.mel_normalization = mel_normalization
        self.output_gain = output_gain
        self.silence_displacement = (
            list(silence_displacement) if silence_displacement is not None else [0.0] * (2 * mouth_points)
        )
        self.initializer_range = initializer_range
        self.speech_opening_std = speech_opening_std
        self.look_ahead = look_ahead
        self.mel_prior = list(mel_prior) if mel_prior is not None else None
        problems = []
        if not (use_phones or use_mel):
            problems.append("use_phones and use_mel are both False (the model needs an input)")
        if len(self.dilations) != num_blocks:
            problems.append(f"dilations has {len(self.dilations)} entries for num_blocks={num_blocks}")
        if phone_decoder not in PHONE_DECODERS:
            problems.append(f"phone_decoder={phone_decoder!r} (one of {', '.join(PHONE_DECODERS)})")
        if mel_normalization not in MEL_NORMALIZATIONS:
            problems.append(f"mel_normalization={mel_normalization!r} (one of {', '.join(MEL_NORMALIZATIONS)})")
        if mel_normalization == "running" and look_ahead is None:
            problems.append("mel_normalization='running' is for a streamable model: set look_ahead too")
        if look_ahead is not None and not 0 <= look_ahead <= self.centred_frames:
            problems.append(f"look_ahead={look_ahead} (0 to {self.centred_frames}, the frames a centred stack reaches)")
        if self.mel_prior is not None and len(self.mel_prior) != MEL_BANDS:
            problems.append(f"mel_prior has {len(self.mel_prior)} values, not {MEL_BANDS}")
        if kernel_size % 2 == 0:
            problems.append(f"kernel_size={kernel_size} (odd, so the output is centred on the frame)")
        if ensemble_size < 1:
            problems.append(f"ensemble_size={ensemble_size} (at least 1)")
        if len(self.silence_displacement) != 2 * mouth_points:
            problems.append(f"silence_displacement has {len(self.silence_displacement)} values, not {2 * mouth_points}")
        raise_problems("MouthMotionConfig", problems)
        super().__init__(**kwargs)

    @property
    def input_size(self) -> int:
        return NUM_PHONES * self.use_phones + MEL_BANDS * self.use_mel

    @property
    def mel_columns(self) -> slice | None:
        """Where the mel sits in the input features (after the phones; see ``mouth_audio_features``), or None."""
        return slice(self.input_size - MEL_BANDS, self.input_size) if self.use_mel else None

    @property
    def centred_frames(self) -> int:
        """Frames on each side of a frame that reach its prediction in the offline (centred) stack."""
        return sum(d * (self.kernel_size // 2) for d in self.dilations)

    @property
    def receptive_frames(self) -> int:
        """Frames on the wider side of a frame that reach its prediction."""
        return max(self.frames_before, self.frames_after)

    @property
    def frames_after(self) -> int:
        """Future frames that reach a frame's prediction."""
        return self.centred_frames if self.look_ahead is None else self.look_ahead

    @property
    def frames_before(self) -> int:
        """Past frames that reach a frame's prediction."""
        return sum(d * (self.kernel_size - 1) for d in self.dilations) - self.frames_after

    def right_padding(self) -> list[int]:
        """Future frames each block's convolution reads: centred, or ``look_ahead`` spent from the first block on."""
        left = self.frames_after
        padding = []
        for dilation in self.dilations:
            padding.append(min(left, dilation * (self.kernel_size // 2)))
            left -= padding[-1]
        return padding
