"""Per-stage wall time of the video pipelines, for progress reports and ``talkhead benchmark speed``.

The stages are the ones the speed benchmark reports: ``decode``, ``detect``, ``landmarks``,
``generator``, ``render`` (crops, warps, paste-back) and ``encode``. Timing wraps the objects a
pipeline already uses (an iterator of frames, a face detector, a landmark predictor), so the
pipeline code stays free of timing calls.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

STAGES = ("decode", "detect", "landmarks", "generator", "render", "encode")


class StageTimes:
    """Accumulated seconds per stage. Stages timed in render threads (:mod:`talkhead.pipelines.concurrency`) add up
    the seconds of every thread, so the stages of a pipeline can sum to more than its wall time."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self._add(name, time.perf_counter() - start)

    def iterate(self, name: str, iterable: Iterable) -> Iterator:
        """``iterable``, with the time spent producing each item counted under ``name``."""
        iterator = iter(iterable)
        while True:
            start = time.perf_counter()
            try:
                item = next(iterator)
            except StopIteration:
                self._add(name, time.perf_counter() - start)
                return
            self._add(name, time.perf_counter() - start)
            yield item

    def _add(self, name: str, seconds: float) -> None:
        with self._lock:  # iterate() may run in a read-ahead thread beside stage() in the caller's
            self.seconds[name] += seconds

    def to_dict(self) -> dict[str, float]:
        return {name: round(self.seconds.get(name, 0.0), 4) for name in STAGES} | {
            name: round(value, 4) for name, value in self.seconds.items() if name not in STAGES
        }


class TimedDetector:
    """A :class:`~talkhead.processing.faces.FaceDetector` whose calls count as the ``detect`` stage."""

    def __init__(self, detector, times: StageTimes):
        self.detector, self.times = detector, times

    def detect(self, image):
        with self.times.stage("detect"):
            return self.detector.detect(image)

    def detect_near(self, image, box, *args, **kwargs):
        with self.times.stage("detect"):
            return self.detector.detect_near(image, box, *args, **kwargs)


class TimedPredictor:
    """A landmark predictor whose calls count as the ``landmarks`` stage."""

    def __init__(self, predictor, times: StageTimes):
        self.predictor, self.times = predictor, times

    def __call__(self, image, box):
        with self.times.stage("landmarks"):
            return self.predictor(image, box)
