"""The mouth-motion model's feature extractor: a 16 kHz waveform -> per-video-frame phones and mel.

Not from a paper: the mouth-motion model (:mod:`.modeling_mouth_motion`) is this library's own. Its
input is, per video frame, the phone soft one-hots that ``pocketsphinx`` hears
(:func:`talkhead.processing.phones.phone_features`) and the 80-band mel averaged over the frame, mean-normalised per
band over the clip.

This code sits in its own ``feature_extraction_*.py`` beside the model, not in the modeling file, as transformers
keeps the code that turns raw input into a model's features: the model takes features, the extractor makes them,
and either can be used (and tested) without the other. The mouth-sync expert (:mod:`talkhead.models.mouth_sync`)
reads the same features, made by this extractor from its config. ``pocketsphinx`` stays an optional dependency,
imported only when phones are decoded (:mod:`talkhead.processing.phones`).
"""

from __future__ import annotations

import numpy as np
from transformers import FeatureExtractionMixin

from ...io import audio as audio_io
from ...processing import audio as audio_lib
from ...processing.heard import HeardSpeech
from ...processing.phones import DEFAULT_LANGUAGE, NUM_PHONES, PHONE_LOOP_DECODER, heard_phone_features
from .configuration_mouth_motion import MEL_BANDS, MouthMotionConfig


class MouthMotionFeatureExtractor(FeatureExtractionMixin):
    r"""16 kHz mono waveform -> (num_frames, feature_size) float32 input of :class:`MouthMotionModel`.

    The features, in this order: the phone soft one-hots (``use_phones``; NUM_PHONES columns, decoded with
    ``phone_decoder`` unless given) and the per-frame 80-band mel (``use_mel``), minus its mean over the clip per
    band (``mel_normalization="mean"``, which removes most of the microphone's colour) and also divided by its
    standard deviation + 0.1 (``"mean_std"``: a quiet or monotone voice looks like a loud one).

    It subclasses :class:`transformers.FeatureExtractionMixin`, so it saves and loads as a
    ``preprocessor_config.json`` (``save_pretrained``/``from_pretrained``) like a transformers feature extractor;
    not :class:`~transformers.SequenceFeatureExtractor`, whose ``__call__`` pads a batch of variable-length
    sequences with an attention mask: these features are made one clip at a time, aligned to that clip's video
    frames (``num_frames`` at ``fps``), and a dataset cuts them into fixed windows itself. For the same reason
    ``__call__`` returns the plain (T, feature_size) array that :meth:`MouthMotionModel.predict` reads, not a
    :class:`~transformers.BatchFeature`.

    Args:
        use_phones (`bool`, *optional*, defaults to True): the phone features.
        use_mel (`bool`, *optional*, defaults to True): the per-frame mel.
        phone_decoder (`str`, *optional*, defaults to "allphone"): as in
            :func:`talkhead.processing.phones.decode_phones`.
        mel_normalization (`str`, *optional*, defaults to "mean"): ``mean``, ``mean_std`` (above) or ``running``
            (:class:`RunningMelMean`: the mean of the speech so far, what a stream can know).
        mel_prior (`list[float]`, *optional*): where ``running`` starts (80 values; zeros when not given).
        sampling_rate (`int`, *optional*, defaults to 16000): the rate the waveform must have.
    """

    model_input_names = ["audio_features"]

    def __init__(
        self,
        use_phones: bool = True,
        use_mel: bool = True,
        phone_decoder: str = PHONE_LOOP_DECODER,
        mel_normalization: str = "mean",
        sampling_rate: int = audio_io.SAMPLE_RATE,
        mel_prior: list[float] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.mel_prior = list(mel_prior) if mel_prior is not None else None
        self.use_phones = use_phones
        self.use_mel = use_mel
        self.phone_decoder = phone_decoder
        self.mel_normalization = mel_normalization
        self.sampling_rate = sampling_rate

    @classmethod
    def from_config(cls, config: MouthMotionConfig) -> MouthMotionFeatureExtractor:
        """The extractor of a model's config: a :class:`MouthMotionConfig` or another with the same feature
        fields (the mouth-sync expert's, which has no ``phone_decoder``: the phone loop it was trained with)."""
        return cls(
            use_phones=config.use_phones,
            use_mel=config.use_mel,
            phone_decoder=getattr(config, "phone_decoder", PHONE_LOOP_DECODER),
            mel_normalization=config.mel_normalization,
            mel_prior=getattr(config, "mel_prior", None),
        )

    @property
    def feature_size(self) -> int:
        """Columns of the features (``MouthMotionConfig.input_size``)."""
        return NUM_PHONES * self.use_phones + MEL_BANDS * self.use_mel

    def __call__(
        self,
        wave: np.ndarray,
        num_frames: int,
        fps: float,
        phones: np.ndarray | None = None,
        language: str = DEFAULT_LANGUAGE,
        mel: np.ndarray | None = None,
    ) -> np.ndarray:
        """(num_frames, feature_size) float32 features of 16 kHz mono ``wave`` at ``fps`` video frames per second.

        ``phones`` (num_frames, NUM_PHONES) may be given when already decoded (a dataset caches them); otherwise
        they are decoded here (needs ``pocketsphinx``; ``language`` as in
        :func:`~talkhead.processing.phones.decode_phones`). ``mel``: ``mel80(wave)`` when already computed (the
        dataset's ``mel`` column is).
        """
        parts = []
        if self.use_phones:
            if phones is None:
                phones = self.decode_phones(wave, num_frames, fps, language)
            parts.append(np.asarray(phones, np.float32)[:num_frames])
        if self.use_mel:
            parts.append(self.normalized_mel(wave, num_frames, fps, mel))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def decode_phones(
        self, wave: np.ndarray, num_frames: int, fps: float, language: str = DEFAULT_LANGUAGE
    ) -> np.ndarray:
        """(num_frames, NUM_PHONES) phone features of ``wave`` with this extractor's ``phone_decoder`` (what the model
        reads; the viseme stage of the pipelines reads them too, whether the model does or not)."""
        return self.decode_heard_phones(wave, num_frames, fps, language)[0]

    def decode_heard_phones(
        self, wave: np.ndarray, num_frames: int, fps: float, language: str = DEFAULT_LANGUAGE
    ) -> tuple[np.ndarray, HeardSpeech]:
        """(:meth:`decode_phones`, what was heard in the speech), from one decoding: the pipelines' reports say it."""
        return heard_phone_features(wave, num_frames, fps, self.phone_decoder, language)

    def normalized_mel(
        self, wave: np.ndarray, num_frames: int, fps: float, mel: np.ndarray | None = None
    ) -> np.ndarray:
        """(num_frames, 80): the mel averaged over each video frame, normalised over the clip per band."""
        mel = audio_lib.mel_per_frame(audio_lib.mel80(wave) if mel is None else mel, num_frames, fps)
        if self.mel_normalization == "running":
            running = RunningMelMean(self.mel_prior)
            speaking = audio_lib.frame_level_db(wave, num_frames, fps=fps) > audio_lib.SILENCE_FLOOR_DBFS
            return np.stack([running.normalize(row, bool(s)) for row, s in zip(mel, speaking, strict=True)])
        mel = mel - mel.mean(0, keepdims=True)
        if self.mel_normalization == "mean_std":
            mel = mel / (mel.std(0, keepdims=True) + 0.1)
        return mel


class RunningMelMean:
    """The per-band mean of the speech heard so far, subtracted frame by frame: the ``running`` normalisation.

    The clip-wide mean of ``mean`` needs the whole clip; a stream has only its past. The mean starts at ``prior``
    (worth :data:`PRIOR_FRAMES` frames), then follows the frames with speech (above the absolute silence floor, so
    an idle stream's silence does not drag it) with a memory of about :data:`MEMORY_FRAMES` frames. Frame by frame,
    so offline features and a stream's are the same numbers.
    """

    PRIOR_FRAMES = 10
    MEMORY_FRAMES = 100  # 4 s at 25 fps: long enough to average over phones, short enough to follow a new microphone

    def __init__(self, prior: list[float] | np.ndarray | None = None):
        self.mean = np.zeros(MEL_BANDS, np.float64) if prior is None else np.asarray(prior, np.float64).copy()
        self.count = self.PRIOR_FRAMES

    def normalize(self, row: np.ndarray, speaking: bool) -> np.ndarray:
        """One frame's (80,) mel minus the mean, after the mean has taken the frame in when it is speech."""
        if speaking:
            self.count += 1
            self.mean += (row - self.mean) / min(self.count, self.MEMORY_FRAMES)
        return (row - self.mean).astype(np.float32)


def mouth_audio_features(
    wave: np.ndarray,
    num_frames: int,
    fps: float,
    config: MouthMotionConfig,
    phones: np.ndarray | None = None,
    language: str = DEFAULT_LANGUAGE,
    mel: np.ndarray | None = None,
) -> np.ndarray:
    """(num_frames, config.input_size) float32: the model's input for 16 kHz mono ``wave`` at ``fps``.

    ``MouthMotionFeatureExtractor.from_config(config)(wave, num_frames, fps, phones, language, mel)``; see
    :class:`MouthMotionFeatureExtractor`.
    """
    return MouthMotionFeatureExtractor.from_config(config)(wave, num_frames, fps, phones, language, mel)
