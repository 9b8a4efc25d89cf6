"""Phones heard as speech arrives: pocketsphinx's phone loop fed chunk by chunk.

:func:`~talkhead.processing.phones.decode_phones` decodes a whole recording at once, with the cepstral mean taken
over the whole utterance. A live avatar has only the speech so far, so its decoder runs pocketsphinx's live
mode: the cepstral mean runs, and the best phone path so far (:meth:`LivePhoneDecoder.segments`) is read at any
moment; its last tenth of a second may still change as more speech arrives. :func:`decode_as_stream` decodes a
recording the same way, so a model can be trained on the phones a stream will hear (``phone_decoder="live"``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .audio import SAMPLE_RATE
from .phone_loop import DECODER_FRAMES_PER_SECOND, PhoneSegment, _pcm, _phone_loop, _segment, phone_loop_decoder

FEED_SAMPLES = 640  # 40 ms, one 25 fps frame: how decode_as_stream feeds a recording
MAX_UTTERANCE_SECONDS = 15.0  # past this, a silent chunk ends the utterance: the decoder's memory grows with it
KEEP_SECONDS = 10.0  # finished phones older than this are forgotten: an hour's stream holds no hour of phones
QUIET_RMS = 10 ** (-60 / 20)  # talkhead.processing.audio.SILENCE_FLOOR_DBFS as an amplitude


class LivePhoneDecoder:
    """The phone loop over a stream of 16 kHz mono float chunks (:meth:`push`), readable at any time.

    One decoder per stream: pocketsphinx's decoder is not safe to share between threads. Long streams are cut
    into utterances at a silent chunk once one has lasted :data:`MAX_UTTERANCE_SECONDS`, so memory stays flat.
    """

    def __init__(self):
        self._decoder = phone_loop_decoder()
        self._decoder.reinit_feat()
        self._decoder.start_utt()
        self.heard = 0  # samples pushed since the stream began
        self._utterance_start = 0
        self._finished: list[PhoneSegment] = []

    def push(self, wave: np.ndarray) -> None:
        """Decode ``wave`` (1-D float in [-1, 1], any length) after what was pushed before."""
        wave = np.asarray(wave, np.float32)
        if not wave.size:
            return
        self._decoder.process_raw(_pcm(wave), False, False)
        self.heard += len(wave)
        long = (self.heard - self._utterance_start) / SAMPLE_RATE > MAX_UTTERANCE_SECONDS
        if long and float(np.sqrt(np.mean(wave.astype(np.float64) ** 2))) < QUIET_RMS:
            self.end_utterance()

    def _current(self) -> list[PhoneSegment]:
        offset = self._utterance_start * DECODER_FRAMES_PER_SECOND // SAMPLE_RATE
        path = self._decoder.seg() or ()  # None before the decoder has a path (an utterance just begun)
        return [_segment(s.word, offset + s.start_frame, s.end_frame + 1 - s.start_frame) for s in path]

    def segments(self) -> list[PhoneSegment]:
        """The phones heard so far (seconds from the stream's start), the last ones provisional."""
        return self._finished + self._current()

    def end_utterance(self) -> None:
        """Finish the utterance (its phones become final) and start the next one where it ended."""
        self._decoder.end_utt()
        forget_before = self.heard / SAMPLE_RATE - KEEP_SECONDS
        self._finished = [s for s in self._finished + self._current() if s.end > forget_before]
        self._utterance_start = self.heard
        self._decoder.start_utt()

    def close(self) -> list[PhoneSegment]:
        """End the stream: the final phones."""
        self._decoder.end_utt()
        segments = self._finished + self._current()
        self._finished = []
        return segments


def decode_as_stream(wave: np.ndarray, chunk: int = FEED_SAMPLES) -> list[PhoneSegment]:
    """The phones of a whole recording as :class:`LivePhoneDecoder` hears it, fed ``chunk`` samples at a time."""
    decoder = LivePhoneDecoder()
    wave = np.asarray(wave, np.float32)
    for start in range(0, len(wave), chunk):
        decoder.push(wave[start : start + chunk])
    return decoder.close()


WINDOW_SECONDS = 3.0  # the speech each window decoding reads: enough for the cepstral mean of a batch pass
REDECODE_SECONDS = 0.2  # a window is decoded again after this much new speech
SETTLED_SECONDS = 1.0  # phones further back than this from the newest speech are kept as they are


class WindowPhoneDecoder:
    """The phone loop over the last :data:`WINDOW_SECONDS` of a stream, decoded again every ``redecode_seconds``
    (default :data:`REDECODE_SECONDS`) as one utterance (the cepstral mean over the window, as :func:`decode_phones`
    takes it over a recording), the phones older than :data:`SETTLED_SECONDS` kept from the decoding that last saw
    them whole. On the 12 held-out clips it finds 39 of the 68 p, b and m the word aligner finds where the live
    decoder finds 19 (its running cepstral mean starts cold; RESULTS.md, "Live avatars"), for about 0.1 CPU seconds
    a decoding.

    ``start_decoding``: a function that starts decoding a window elsewhere and returns a future of its phones, or
    ``None`` where it cannot (such as :func:`~talkhead.processing.phone_worker.start_phone_loop`, a phone worker
    process). :meth:`push` then never waits for a decoding (pocketsphinx holds the GIL while it decodes: on any
    thread of this process a decoding holds back the caller); the next one starts at the first push after it came
    back with ``redecode_seconds`` of new speech, and :meth:`segments` is the newest one back. What is read then
    depends on how fast the worker ran (:meth:`wait` makes it the same as decoding here); where no decoding could
    start, or its worker died, the window is decoded here.
    """

    def __init__(self, redecode_seconds: float = REDECODE_SECONDS, start_decoding: Callable | None = None):
        self.redecode_samples = int(round(redecode_seconds * SAMPLE_RATE))
        self.start_decoding = start_decoding
        self.heard = 0
        self.decoded_at = 0  # samples heard when the window was last decoded (or sent to a worker)
        self._audio = np.zeros(0, np.float32)
        self._origin = 0  # stream sample of self._audio[0]
        self._settled: list[PhoneSegment] = []
        self._recent: list[PhoneSegment] = []
        self._pending: tuple | None = None  # (heard, origin, window, future) of the decoding in a worker

    def push(self, wave: np.ndarray) -> None:
        """Take ``wave`` (1-D float in [-1, 1]); decode the window again once enough new speech has come."""
        self._audio = np.concatenate([self._audio, np.asarray(wave, np.float32)])
        self.heard += len(wave)
        keep = int(WINDOW_SECONDS * SAMPLE_RATE)
        if len(self._audio) > keep:
            self._origin += len(self._audio) - keep
            self._audio = self._audio[-keep:]
        self._collect()
        if self._pending is None and self.heard - self.decoded_at >= self.redecode_samples:
            self._decode()

    def _decode(self) -> None:
        self.decoded_at = self.heard
        future = None if self.start_decoding is None else self.start_decoding(self._audio)
        if future is None:
            self._take(self.heard, self._origin, _phone_loop(_pcm(self._audio)))
        else:
            self._pending = (self.heard, self._origin, self._audio, future)

    def _collect(self, block: bool = False) -> None:
        """Take the worker's decoding once it is back (``block``: wait for it)."""
        if self._pending is None or not (block or self._pending[3].done()):
            return
        heard, origin, window, future = self._pending
        self._pending = None
        try:
            segments = future.result()
        except (OSError, EOFError, ValueError):  # the worker died: decode here, the next one starts a new worker
            segments = _phone_loop(_pcm(window))
        self._take(heard, origin, segments)

    def _take(self, heard: int, origin: int, window_segments: list[PhoneSegment]) -> None:
        """Settle and keep the phones of the window decoded when ``heard`` samples had come (``origin``: its
        first sample)."""
        offset, now = origin / SAMPLE_RATE, heard / SAMPLE_RATE
        window = [PhoneSegment(s.phone, s.start + offset, s.end + offset) for s in window_segments]
        settle = now - SETTLED_SECONDS
        last = self._settled[-1].end if self._settled else 0.0
        self._settled += [s for s in window if s.start >= last - 1e-6 and s.end <= settle]
        self._settled = [s for s in self._settled if s.end > now - KEEP_SECONDS]
        edge = self._settled[-1].end if self._settled else 0.0
        self._recent = [s for s in window if s.start >= edge - 1e-6]

    def wait(self) -> None:
        """Wait for the decoding in a worker, if one is out."""
        self._collect(block=True)

    def segments(self) -> list[PhoneSegment]:
        """The phones heard so far (seconds from the stream's start), the last second provisional."""
        self._collect()
        return self._settled + self._recent
