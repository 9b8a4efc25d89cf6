"""Speech as it arrives -> one target mouth shape per video frame, a fixed few frames behind the speech.

The offline renderer (:mod:`talkhead.pipelines.lip_sync.retrieval_renderer`) reads a whole utterance at once. Here
each frame is made from what a stream can know when it is due: the mel of the frames so far with a running mean
(:class:`~talkhead.models.mouth_motion.feature_extraction_mouth_motion.RunningMelMean`), the phones the live decoder
has heard (:class:`~talkhead.processing.live_phones.LivePhoneDecoder`, what the model was trained on; the visemes read
:class:`~talkhead.processing.live_phones.WindowPhoneDecoder`'s, which finds twice the p, b and m), and a mouth-motion
model whose predictions read at most ``config.look_ahead`` future frames. Frame t is made once frame t +
:attr:`MouthShapeStream.delay_frames` is heard; the visemes, the silence closing and the mel are then the offline
stages' own functions run on a short window around t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import TalkheadInputError
from ...models.mouth_motion.feature_extraction_mouth_motion import RunningMelMean
from ...processing import audio as audio_lib
from ...processing import phone_worker
from ...processing.live_phones import LivePhoneDecoder, WindowPhoneDecoder
from ...processing.mouth import keep_lips_apart, shape_inner_lip_opening
from ...processing.phones import PhoneSegment, segments_to_frames
from ...processing.visemes import (
    ANTICIPATION,
    BILABIALS,
    NASALS,
    VisemeTargets,
    articulate,
    nasals_heard_as_m,
    phone_coverage,
    viseme_weights,
)

CONTEXT_FRAMES = 50  # past frames the viseme stage sees (its vowel reference is the mean of the speech in them)
KEPT_SECONDS = 4.0  # audio, features and shapes kept: enough for the model's past and the viseme context
SILENCE_REACH = audio_lib.SILENCE_CLOSING_MARGIN + 1  # frames either side a frame's silence closing reads
BACKGROUND_REDECODE_SECONDS = 0.1  # a worker on a core of its own decodes a window in about 0.1 s
# the background decoding's newest phones reach 0.1-0.2 s behind the speech where decoding in push reaches 0-0.2 s:
# one more frame of delay gives the visemes the same look past a frame
BACKGROUND_DELAY_FRAMES = 1
# a nasal heard where the model's lips are at or below this percentile of their opening over the last
# NASAL_HISTORY_FRAMES voiced frames is taken as an M (chosen on training clips: 35-50 close the most bilabials)
NASAL_SHUT_PERCENTILE = 40
NASAL_HISTORY_FRAMES = 100
MIN_NASAL_HISTORY = 20  # voiced frames needed before the percentile means anything


@dataclass
class MouthFrame:
    """One video frame's target: ``shape`` (20, 2) in the face frame and ``shut`` in [0, 1] (how far it must be shut:
    silence or a p, b, m), for frame ``index`` of the stream."""

    index: int
    shape: np.ndarray
    shut: float


class MouthShapeStream:
    """Pushed 16 kHz chunks -> :class:`MouthFrame` per 25 fps frame, ``delay_frames`` after the frame's own audio.

    ``model`` is a streamable :class:`~talkhead.models.mouth_motion.MouthMotionModel` (``config.look_ahead`` set);
    ``mean`` and ``closed`` (20, 2) are the avatar's mean and shut mouth (face frame). Not thread-safe: one stream,
    one thread at a time. ``background_phones``: the visemes' window decoding runs in the phone worker processes
    (no frame waits for it: for speech that arrives in real time; the first such stream of a process waits for
    the workers to start); without it, in :meth:`push` (the frames a pure function of the speech).
    """

    fps = audio_lib.VIDEO_FPS

    def __init__(
        self, model, mean: np.ndarray, closed: np.ndarray, visemes: bool = True, background_phones: bool = False
    ):
        config = model.config
        if getattr(config, "look_ahead", None) is None or config.mel_normalization != "running":
            raise TalkheadInputError(
                "a live stream needs a streamable mouth-motion model (look_ahead set, running mel normalisation), "
                "such as 'mouth-motion-live'"
            )
        self.model = model.eval()
        self.mean, self.closed = np.asarray(mean, np.float64), np.asarray(closed, np.float64)
        self.visemes = visemes
        self.delay_frames = max(config.look_ahead, SILENCE_REACH, len(ANTICIPATION))
        self._before = config.frames_before
        self._phones = LivePhoneDecoder() if config.use_phones else None  # what the model was trained on
        self._viseme_phones = None  # finds twice the p, b and m
        if visemes and background_phones:
            phone_worker.warm_up(block=True)
            self._viseme_phones = WindowPhoneDecoder(BACKGROUND_REDECODE_SECONDS, phone_worker.start_phone_loop)
            self.delay_frames += BACKGROUND_DELAY_FRAMES
        elif visemes:
            self._viseme_phones = WindowPhoneDecoder()
        self._running = RunningMelMean(config.mel_prior)
        self._audio = np.zeros(0, np.float32)
        self._audio_origin = 0  # stream sample index of self._audio[0]
        self._mel: dict[int, np.ndarray] = {}  # frame -> normalised mel row
        self._level: dict[int, float] = {}  # frame -> level, dB full scale
        self._shapes: dict[int, np.ndarray] = {}  # frame -> shape before the visemes
        self._voiced_openings: dict[int, float] = {}  # voiced frame -> inner-lip opening of its shape before visemes
        self._shut_nasals: set[int] = set()  # frames whose nasal is taken as an M
        self._heard_frames = 0  # frames whose mel and level are final
        self.next_frame = 0  # the next frame to make

    @property
    def heard(self) -> int:
        """Samples pushed so far."""
        return self._audio_origin + len(self._audio)

    def push(self, wave: np.ndarray) -> list[MouthFrame]:
        """Take ``wave`` (1-D float32 16 kHz) and return the frames it completes, in order."""
        self._audio = np.concatenate([self._audio, wave])
        for decoder in (self._phones, self._viseme_phones):
            if decoder is not None:
                decoder.push(wave)
        self._hear_frames()
        made = []
        while self.next_frame + self.delay_frames < self._heard_frames:
            made.append(self._make(self.next_frame))
            self.next_frame += 1
        self._forget()
        return made

    def _mel_edges(self, frame: int) -> tuple[int, int]:
        start = int(round(frame * audio_lib.MEL_PER_SECOND / self.fps))
        stop = int(round((frame + 1) * audio_lib.MEL_PER_SECOND / self.fps))
        return start, max(stop, start + 1)

    def _hear_frames(self) -> None:
        """Finalise the mel and level of every frame whose audio (and the mel's window past it) has arrived."""
        first = self._heard_frames
        last = first
        while (self._mel_edges(last)[1] + 2) * audio_lib.MEL_HOP <= self.heard:
            last += 1
        if last == first:
            return
        begin = max(0, (self._mel_edges(first)[0] - 3) * audio_lib.MEL_HOP)  # rows whose window the slice holds whole
        end = (self._mel_edges(last - 1)[1] + 2) * audio_lib.MEL_HOP
        mel = audio_lib.mel80(self._slice(begin, end))
        row0 = begin // audio_lib.MEL_HOP
        spf = audio_lib.SAMPLES_PER_FRAME
        for frame in range(first, last):
            start, stop = self._mel_edges(frame)
            level = float(audio_lib.frame_level_db(self._slice(frame * spf, (frame + 1) * spf), 1)[0])
            self._level[frame] = level
            self._mel[frame] = self._running.normalize(
                mel[start - row0 : stop - row0].mean(0), level > audio_lib.SILENCE_FLOOR_DBFS
            )
        self._heard_frames = last

    def _slice(self, begin: int, end: int) -> np.ndarray:
        return self._audio[begin - self._audio_origin : end - self._audio_origin]

    def audio_of(self, frame: int) -> np.ndarray:
        """(640,) float32: the speech of ``frame`` (kept for :data:`KEPT_SECONDS` after the frame is made)."""
        spf = audio_lib.SAMPLES_PER_FRAME
        return self._slice(frame * spf, (frame + 1) * spf).copy()

    def _phone_window(self, decoder, first: int, count: int) -> np.ndarray:
        """(count, NUM_PHONES) phone features of frames ``first`` on, as ``decoder`` has heard them so far."""
        offset = first / self.fps
        segments = decoder.segments() if decoder is not None else []
        shifted = [
            PhoneSegment(s.phone, s.start - offset, s.end - offset)
            for s in segments
            if s.end > offset and s.start < offset + count / self.fps
        ]
        return segments_to_frames(shifted, count, self.fps)

    def _make(self, t: int) -> MouthFrame:
        config = self.model.config
        first, last = max(0, t - max(CONTEXT_FRAMES, self._before)), t + self.delay_frames + 1
        parts = [self._phone_window(self._phones, first, last - first)] if config.use_phones else []
        if config.use_mel:
            parts.append(np.stack([self._mel[f] for f in range(first, last)]))
        displacement = self.model.predict_frame(np.concatenate(parts, axis=1), t - first)
        quiet_first = max(0, t - SILENCE_REACH)
        quiet = [self._level[f] < audio_lib.SILENCE_FLOOR_DBFS for f in range(quiet_first, t + SILENCE_REACH + 1)]
        closing = float(audio_lib.closing_weights(np.array(quiet))[t - quiet_first])
        shape = self.mean + (1 - closing) * displacement + closing * self.model.rest_displacement()
        shape = (1 - closing) * shape + closing * self.closed
        self._shapes[t] = shape
        shut = closing
        if self.visemes:
            if closing < 0.5:
                self._voiced_openings[t] = float(shape_inner_lip_opening(shape[None])[0])
            phones = self._lip_read_nasals(self._phone_window(self._viseme_phones, first, last - first), t, first)
            past = np.stack([self._shapes.get(f, shape) for f in range(first, t + 1)])
            window = np.concatenate([past, np.repeat(shape[None], last - t - 1, 0)])
            loudness = np.array([self._level[f] for f in range(first, last)])
            shape = articulate(window, phones, VisemeTargets(self.closed, self.mean), loudness)[t - first]
            shut = max(shut, float(viseme_weights(phones, BILABIALS)[t - first]))
        return MouthFrame(t, keep_lips_apart(shape[None])[0], shut)

    def _lip_read_nasals(self, phones: np.ndarray, t: int, first: int) -> np.ndarray:
        """``phones`` (frames ``first`` on) with the nasals of frame ``t`` and before heard as M where the model's
        lips were near shut: the phone loop hears many an M as N or NG, the sound alone barely tells them apart."""
        opening = self._voiced_openings.get(t)
        if opening is not None and phone_coverage(phones[t - first : t - first + 1], NASALS)[0] >= 0.5:
            past = range(t - NASAL_HISTORY_FRAMES, t)
            history = [self._voiced_openings[f] for f in past if f in self._voiced_openings]
            if len(history) >= MIN_NASAL_HISTORY and opening <= np.percentile(history, NASAL_SHUT_PERCENTILE):
                self._shut_nasals.add(t)
        frames = np.array([f in self._shut_nasals for f in range(first, first + len(phones))])
        return nasals_heard_as_m(phones, frames) if frames.any() else phones

    def _forget(self) -> None:
        """Drop what no later frame reads, so an hour's stream holds a few seconds."""
        keep_from = self.next_frame - int(KEPT_SECONDS * self.fps)
        for table in (self._mel, self._level, self._shapes, self._voiced_openings):
            for frame in [f for f in table if f < keep_from]:
                del table[frame]
        self._shut_nasals = {f for f in self._shut_nasals if f >= keep_from}
        drop = (max(keep_from, 0) * audio_lib.SAMPLES_PER_FRAME - self._audio_origin) - 4 * audio_lib.MEL_HOP
        if drop > 0:
            self._audio = self._audio[drop:]
            self._audio_origin += drop

    def end_utterance(self) -> None:
        """The speaker stopped: the live phone decoder's utterance ends (its phones become final)."""
        if self._phones is not None:
            self._phones.end_utterance()
