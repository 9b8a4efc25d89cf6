"""Every metric of the package on one video: what ``talkhead evaluate VIDEO`` and the Space call.

:func:`evaluate_video` decodes the video at 25 fps (any source rate) and its audio (or ``audio``) at
16 kHz mono (any rate, any channels), tracks the face once and hands the same track to every metric:

* ``expert_sync``: our SyncNet expert (``hub_configs/syncnet-eval``) with the SyncNet protocol,
  :func:`talkhead.metrics.video_sync.expert_sync_video`: offset, confidence, distance;
* ``syncnet_v2``: LSE-D / LSE-C / offset with the Oxford SyncNet v2 (:mod:`talkhead.metrics.lse`),
  only with converted weights (``syncnet_v2=DIR``);
* ``ms_sync``: MS-Sync's multi-scale |AV-Off_i| / AV-Conf_i of the landmark motion against speech with
  the evaluation syncers (:func:`talkhead.metrics.landmarks.multiscale_sync`), landmarks normalised in
  one fixed crop per clip as the datasets are (``talkhead preprocess``), audio as logfbank26;
* ``avs_u`` / ``avs_m`` / ``avs_v``: AV-HuBERT synchrony (:mod:`talkhead.metrics.avs`), only with
  converted weights (``av_hubert=DIR``); AVS_m and AVS_v also need the ground-truth video;
* ``ssim``, ``psnr``, ``lmd``, ``ifc``, ``identity``: image metrics (:mod:`talkhead.metrics.image`)
  on 96x96 face crops of the video and of the ground-truth video, frames paired by index at 25 fps
  and cut to the shorter one.

A metric that cannot be computed is reported as ``{"status": "unavailable", "reason": ...}``; the
report is a JSON-ready dict (:func:`write_json` writes it atomically), :func:`format_table` prints it
and :func:`plot_confidence` draws the per-window confidences over time with the audio envelope.
A video with no face at all raises :class:`~talkhead.errors.NoFaceError`.

Memory: evaluate holds every decoded frame of the video (and of the reference) in memory at once,
downscaled to at most ``max_side`` (``--max-side``, default 640) pixels on the longest side: about
0.7 MB a frame at 640x360, so 5 minutes at 25 fps take some 5 GB (twice that with a reference of the
same length). Give a smaller ``--max-side`` (at least 96) for long or many inputs.

Resolution: every metric, SyncNet v2's LSE-D / LSE-C included, crops the face from these downscaled
frames, whereas ``syncnet_python`` crops from the full-resolution video; on HD inputs LSE numbers can
therefore differ somewhat from the original pipeline's.

No number from randomly initialised SyncNet v2 or AV-HuBERT weights means anything: the official
weights cannot be fetched here, so those two are tested with random weights only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EmptyAudioError, MediaDecodeError, NoAudioError, NoFaceError, TalkheadInputError
from ..processing import audio as audio_lib
from ..processing.faces import FaceTrack
from .report import write_json

FPS = audio_lib.VIDEO_FPS
SYNC_WINDOW = 5  # frames per window of the SyncNet-style experts: window t covers frames t..t+4
IDENTITY_EVERY = 5  # dlib's face embedding takes ~0.1 s a crop: identity on every 5th frame, as benchmark_lipsync

METRICS = ("expert_sync", "syncnet_v2", "ms_sync", "avs_u", "avs_m", "avs_v", "ssim", "psnr", "lmd", "ifc", "identity")
GROUPS = {"all": METRICS, "sync": ("expert_sync", "syncnet_v2", "ms_sync", "avs_u"), "avs": ("avs_u", "avs_m", "avs_v"),
          "image": ("ssim", "psnr", "lmd", "ifc", "identity")}
REFERENCE_METRICS = ("avs_m", "avs_v", "ssim", "psnr", "lmd", "ifc", "identity")

NEEDS_REFERENCE = "needs --reference (the ground-truth video)"
SYNCNET_V2_MISSING = ("SyncNet v2 weights not given: --syncnet-v2 DIR (convert syncnet_v2.model with "
                      "`python -m talkhead.models.syncnet_v2.convert_syncnet_v2 syncnet_v2.model DIR`)")
AV_HUBERT_MISSING = ("AV-HuBERT weights not given: --av-hubert DIR (convert a lip-reading checkpoint with "
                     "`python -m talkhead.models.av_hubert.convert_av_hubert base_lrs3_433h.pt DIR`)")
FOLDER_HAS_NO_AUDIO = "a frame folder has no audio; give --audio"
MIN_MAX_SIDE = 96  # smaller frames cannot hold a 96x96 face crop (the detector finds nothing in them)
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json", "pytorch_model.bin.index.json")


@dataclass
class EvaluateOptions:
    """Models and settings of :func:`evaluate_video` (the defaults are the shipped checkpoints)."""

    expert: str = "talkhead/syncnet-eval"  # our SyncNet expert: folder, model id or short name
    eval_syncers: str = "ms-sync-eval-syncers"  # MS-Sync evaluation syncers
    syncnet_v2: str | None = None  # folder written by convert_syncnet_v2
    av_hubert: str | None = None  # folder written by convert_av_hubert
    ms_sync_padding: str = "valid"  # offset search padding of MS-Sync (see metrics.landmarks.multiscale_sync)
    max_side: int = 640  # frames are decoded at most this large (tracking and crops)
    curves: bool = True  # keep per-window confidences and the audio envelope in the report (for the plot)


def select_metrics(names: str | Iterable[str] | None) -> list[str]:
    """Metric names (comma-separated or a list; group names ``all``, ``sync``, ``avs``, ``image`` too), in report order.

    Raises:
        TalkheadInputError: an unknown name; the message lists the known ones.
    """
    if names is None:
        return list(METRICS)
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else [str(n).strip() for n in names]
    items = [n for n in items if n]
    unknown = [n for n in items if n not in METRICS and n not in GROUPS]
    if unknown:
        raise TalkheadInputError(f"unknown metric(s) {', '.join(repr(n) for n in unknown)}; known: {', '.join(METRICS)} "
                                 f"(groups: {', '.join(GROUPS)})")
    if not items:
        raise TalkheadInputError(f"no metric selected; known: {', '.join(METRICS)}")
    chosen = {m for n in items for m in GROUPS.get(n, (n,))}
    return [m for m in METRICS if m in chosen]


class _TrackReplay:
    """A stand-in tracker that returns a track computed earlier, cut to the frames asked for: one tracking, many metrics."""

    def __init__(self, track: FaceTrack):
        self._track = track

    def track(self, frames) -> FaceTrack:
        count = len(frames) if hasattr(frames, "__len__") else sum(1 for _ in frames)
        return FaceTrack(self._track.landmarks[:count], self._track.found[:count], self._track.detections)


@dataclass
class _Video:
    path: str
    frames: np.ndarray  # (T, H, W, 3) uint8 at 25 fps
    track: FaceTrack
    source_fps: float | None
    tracked: object = None  # metrics.video_sync.TrackedFaces, 96x96 crops and gap-filled landmarks


class _FrameBuffer:
    """Frames of one size appended into one preallocated (T, H, W, 3) array that grows geometrically.

    Unlike a list and ``np.stack`` it never holds the frames twice. The array is sized from the
    container's frame-count estimate (pages never written are never resident), grown by half in place
    (``ndarray.resize``: a realloc, no second copy on Linux) when the estimate was short, and trimmed
    to the frames read at the end.
    """

    def __init__(self, expected: int | None):
        self._expected = max(int(expected or 0), 1)
        self._data: np.ndarray | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if self._data is None:
            # a little headroom over the container's estimate, so an estimate one or two frames short does not copy
            self._data = np.empty((self._expected + 8, *frame.shape), frame.dtype)
        elif self._count == len(self._data):
            # no view of the buffer exists before array(), so resizing in place is safe
            self._data.resize((len(self._data) + max(len(self._data) // 2, 8), *self._data.shape[1:]), refcheck=False)
        self._data[self._count] = frame  # a frame of another size fails here, as np.stack would
        self._count += 1

    def array(self) -> np.ndarray:
        """The frames read, (T, H, W, 3): the buffer itself, trimmed in place; this object lets go of it."""
        data, self._data = self._data, None
        if data is None:
            raise ValueError("no frames")
        data.resize((self._count, *data.shape[1:]), refcheck=False)
        return data


def _read_and_track(path: str | os.PathLike, max_side: int, progress: bool, label: str) -> _Video:
    """Decode at 25 fps and track the largest face in the same pass; no face at all is a :class:`NoFaceError`."""
    from tqdm.auto import tqdm

    from ..errors import NoVideoError
    from ..processing.faces import FaceTracker
    from ..processing.video import VideoReader
    from .video_sync import track_face_crops

    reader = VideoReader(path, max_side=max_side)
    frames = _FrameBuffer(reader.estimated_num_frames)

    def keep(source):
        for frame in source:
            frames.append(frame)
            yield frame

    bar = tqdm(keep(reader), total=reader.estimated_num_frames, desc=f"tracking the face in {label}", unit="frame",
               disable=not progress, leave=False)
    track = FaceTracker().track(bar)
    if not len(frames):
        raise NoVideoError(f"'{path}' holds no decodable frames")
    if not track.found.any():
        raise NoFaceError(f"no face found in any of the {len(frames)} frames of '{path}'; every metric needs a visible face")
    stacked = frames.array()
    video = _Video(str(path), stacked, track, reader.info.source_fps)
    video.tracked = track_face_crops(stacked, tracker=_TrackReplay(track))
    return video


def _load_wave(video: str, audio: str | None) -> tuple[np.ndarray | None, str | None, str | None]:
    """(16 kHz wave or None, its source, why there is none). A given ``audio`` that cannot be read is an error.

    Without ``audio``, a frame folder or a video whose track is missing, empty or undecodable makes the
    audio-based metrics unavailable (with the reason) instead of stopping the evaluation.
    """
    if audio is not None:
        wave = audio_lib.load_audio(audio)
        audio_lib.check_min_duration(wave, f"the audio '{audio}'")  # the rule every command shares
        source = str(audio)
    else:
        if Path(video).is_dir():
            return None, None, FOLDER_HAS_NO_AUDIO
        try:
            wave = audio_lib.load_audio(video)
            audio_lib.check_min_duration(wave, f"the audio of '{video}'")
        except (NoAudioError, EmptyAudioError) as err:
            return None, None, f"no audio: {err}; give --audio"
        except MediaDecodeError as err:
            return None, None, f"the audio of '{video}' cannot be decoded: {err}; give --audio"
        source = str(video)
    if audio_lib.silence_mask(wave).all():
        return None, source, f"the audio of '{source}' is silent: synchrony cannot be measured"
    return wave, source, None


def _has_weights(folder: str) -> bool:
    return any((Path(folder) / name).is_file() for name in WEIGHT_FILES)


def _weights_reason(given: str | None, missing: str, converter: str) -> tuple[str | None, str | None]:
    """(resolved folder, None) or (None, why not)."""
    from ..hub import checkpoint_path

    if given is None:
        return None, missing
    folder = checkpoint_path(given)
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"no such model folder: '{given}' (convert the weights with `{converter}`)")
    if not _has_weights(folder):
        return None, f"'{given}' holds no weights (model.safetensors): convert them with `{converter}`"
    return folder, None


def window_seconds(count: int, window: int = SYNC_WINDOW) -> list[float]:
    """Centre times (s) of ``count`` windows of ``window`` frames starting at frames 0, 1, ... (at 25 fps)."""
    return [round((t + window / 2) / FPS, 4) for t in range(count)]



def _curve(label: str, values, window: int) -> dict:
    values = np.asarray(values, np.float64)
    return {"label": label, "seconds": window_seconds(len(values), window),
            "values": [None if not np.isfinite(v) else round(float(v), 5) for v in values]}


def _computed(values: dict, **extra) -> dict:
    return {"status": "computed", "values": values, **extra}


def _unavailable(reason: str) -> dict:
    return {"status": "unavailable", "reason": reason}


def check_options(options: EvaluateOptions) -> None:
    """Numeric settings that cannot work: :class:`TalkheadInputError` (the CLI's exit 2) before anything is decoded."""
    if isinstance(options.max_side, bool) or not isinstance(options.max_side, (int, np.integer)) \
            or options.max_side < MIN_MAX_SIDE:
        raise TalkheadInputError(f"--max-side must be an integer of at least {MIN_MAX_SIDE} (pixels of the longest "
                                 f"side of the decoded frames), got {options.max_side!r}")
    if options.ms_sync_padding not in ("valid", "zeros"):
        raise TalkheadInputError(f"ms_sync_padding must be 'valid' or 'zeros', got {options.ms_sync_padding!r}")


def evaluate_video(video: str | os.PathLike, audio: str | os.PathLike | None = None,
                   reference: str | os.PathLike | None = None, metrics: str | Iterable[str] | None = None,
                   options: EvaluateOptions | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Every selected metric of ``video`` as a JSON-ready report.

    Args:
        video: the talking-face video (any container and frame rate, or a folder of frames).
        audio: speech to score the video against; the video's own track by default.
        reference: the ground-truth video, for AVS_m, AVS_v and the image metrics.
        metrics: names or groups (:func:`select_metrics`); all by default.
        options: models and settings, :class:`EvaluateOptions`.
        log: called with one status line per stage and metric (and enables a tracking progress bar); ``None``: quiet.

    Returns:
        ``{"video", "audio", "reference", "frames", "fps": 25, "seconds", "source_fps", "face_found_rate",
        "audio_frames", "reference_frames", "metrics": {name: {"status": "computed", "values": {...}} or
        {"status": "unavailable", "reason": "..."}}, "audio_envelope"}``. Sync metrics with a per-window
        confidence carry it as ``"curve": {"label", "seconds", "values"}`` when ``options.curves``.

    Raises:
        NoFaceError: no face in any frame of ``video``.
        FileNotFoundError, TalkheadInputError: an input or model that cannot be used as given.
    """
    options = options or EvaluateOptions()
    check_options(options)
    selected = select_metrics(metrics)
    say = log or (lambda message: None)
    video = str(video)
    if not Path(video).exists():
        raise FileNotFoundError(f"no such video: '{video}'")
    for name, given in (("--audio", audio), ("--reference", reference)):
        if given is not None and not Path(given).exists():
            raise FileNotFoundError(f"no such file for {name}: '{given}'")
    # weights that are needed and missing are decided before the slow part
    v2_folder, v2_reason = (_weights_reason(options.syncnet_v2, SYNCNET_V2_MISSING,
                                            "python -m talkhead.models.syncnet_v2.convert_syncnet_v2 syncnet_v2.model DIR")
                            if "syncnet_v2" in selected else (None, None))
    hubert_folder, hubert_reason = (_weights_reason(options.av_hubert, AV_HUBERT_MISSING,
                                                    "python -m talkhead.models.av_hubert.convert_av_hubert CHECKPOINT.pt DIR")
                                    if any(m.startswith("avs_") for m in selected) else (None, None))
    models = _load_models(selected, options, v2_folder, hubert_folder)  # a bad model name fails before the slow part
    wave, audio_source, audio_reason = _load_wave(video, None if audio is None else str(audio))  # so does bad --audio

    start = time.perf_counter()
    main = _read_and_track(video, options.max_side, log is not None, Path(video).name)
    frames = len(main.frames)
    say(f"tracked {frames} frames in {time.perf_counter() - start:.1f} s (face found in {100 * main.track.found_rate:.1f} %)")
    audio_frames = 0
    if wave is not None:
        audio_frames = min(frames, audio_lib.num_video_frames(len(wave)))
        wave = audio_lib.fit_length(wave, audio_frames * audio_lib.SAMPLES_PER_FRAME)
        if audio_frames < 1:
            wave, audio_reason = None, f"the audio of '{audio_source}' is shorter than one video frame (40 ms)"

    ref, ref_reason = None, None
    if reference is not None and any(m in REFERENCE_METRICS for m in selected):
        try:
            ref = _read_and_track(str(reference), options.max_side, log is not None, Path(reference).name)
        except NoFaceError as err:
            ref_reason = f"the reference video has no face: {err}"
    elif reference is None:
        ref_reason = NEEDS_REFERENCE
    ref_frames = min(frames, len(ref.frames)) if ref is not None else 0

    report: dict = {
        "video": video, "audio": audio_source, "reference": None if reference is None else str(reference),
        "frames": frames, "fps": FPS, "max_side": options.max_side, "seconds": round(frames / FPS, 3),
        "source_fps": None if main.source_fps is None else round(float(main.source_fps), 3),
        "face_found_rate": round(main.track.found_rate, 4), "audio_frames": audio_frames,
        "reference_frames": ref_frames if ref is not None else None, "metrics": {},
    }
    context = _Context(main, wave, audio_frames, audio_reason, ref, ref_frames, ref_reason, options, models)
    runners = {
        "expert_sync": context.expert_sync,
        "syncnet_v2": lambda: context.syncnet_v2(v2_folder, v2_reason),
        "ms_sync": context.ms_sync,
        "ssim": lambda: context.image("ssim"), "psnr": lambda: context.image("psnr"), "lmd": lambda: context.image("lmd"),
        "ifc": lambda: context.image("ifc"), "identity": lambda: context.image("identity"),
    }
    avs = None
    for name in selected:
        began = time.perf_counter()
        if name.startswith("avs_"):
            if avs is None:
                avs = context.av_hubert(hubert_folder, hubert_reason, [m for m in selected if m.startswith("avs_")])
            entry = avs[name]
        else:
            try:
                entry = runners[name]()
            except TalkheadInputError as err:  # too short, and the like: the other metrics still count
                entry = _unavailable(str(err))
        if not options.curves:
            entry.pop("curve", None)
        report["metrics"][name] = entry
        say(f"{name}: {entry['status']}" + (f" ({time.perf_counter() - began:.1f} s)" if entry["status"] == "computed"
                                            else f": {entry['reason']}"))
    if options.curves and wave is not None:
        report["audio_envelope"] = [round(float(v), 5) for v in audio_lib.frame_rms(wave, audio_frames)]
    return report


def _load_models(selected: list[str], options: EvaluateOptions, syncnet_v2: str | None, av_hubert: str | None) -> dict:
    """The models the selected metrics need, by metric (``av_hubert`` for the three AVS), in eval mode."""
    from ..hub import load_pretrained

    models = {}
    if "expert_sync" in selected:
        from ..models.avsyncnet import SyncNetExpert

        models["expert_sync"] = load_pretrained(SyncNetExpert, options.expert).eval()
    if "ms_sync" in selected:
        from ..models.ms_sync import MSSyncSyncerModel

        models["ms_sync"] = load_pretrained(MSSyncSyncerModel, options.eval_syncers).eval()
    if "syncnet_v2" in selected and syncnet_v2 is not None:
        from ..models.syncnet_v2 import SyncNetV2Model

        models["syncnet_v2"] = load_pretrained(SyncNetV2Model, syncnet_v2).eval()
    if av_hubert is not None:
        from ..models.av_hubert import AVHubertModel

        models["av_hubert"] = load_pretrained(AVHubertModel, av_hubert).eval()
    return models


@dataclass
class _Context:
    """What the metrics share: the tracked video, the fitted audio, the tracked reference."""

    main: _Video
    wave: np.ndarray | None  # 16 kHz, exactly audio_frames * 640 samples
    audio_frames: int
    audio_reason: str | None
    ref: _Video | None
    ref_frames: int
    ref_reason: str | None
    options: EvaluateOptions
    models: dict

    def _av(self):
        """(TrackedFaces cut to the audio, frames cut to the audio)."""
        from .video_sync import TrackedFaces

        n, tracked = self.audio_frames, self.main.tracked
        return TrackedFaces(tracked.crops[:n], tracked.landmarks[:n], tracked.found[:n]), self.main.frames[:n]

    def _check_frames(self, needed: int, what: str) -> None:
        if self.audio_frames < needed:
            raise TalkheadInputError(f"{what} needs at least {needed} frames ({needed / FPS:.2f} s) of video with "
                                     f"audio; got {self.audio_frames}")

    def expert_sync(self) -> dict:
        from ..hub import checkpoint_path
        from .video_sync import expert_sync_video

        if self.wave is None:
            return _unavailable(self.audio_reason)
        self._check_frames(SYNC_WINDOW + 1, "the expert's offset search")
        tracked, frames = self._av()
        score = expert_sync_video(self.models["expert_sync"], frames, self.wave, tracked)
        folder = checkpoint_path(self.options.expert)
        return _computed(score.to_dict(), model=folder,
                         curve=_curve(f"expert ({Path(folder).name}) confidence", score.frame_confidence, SYNC_WINDOW))

    def syncnet_v2(self, folder: str | None, reason: str | None) -> dict:
        from .lse import syncnet_v2_scores

        if folder is None:
            return _unavailable(reason)
        if self.wave is None:
            return _unavailable(self.audio_reason)
        self._check_frames(SYNC_WINDOW + 1, "SyncNet v2's offset search")
        _, frames = self._av()
        result = syncnet_v2_scores(self.models["syncnet_v2"], frames, self.wave, tracker=_TrackReplay(self.main.track))
        found_rate = round(float(self.main.track.found[: self.audio_frames].mean()), 4)
        return _computed({**result.to_dict(), "face_found_rate": found_rate},
                         model=folder, curve=_curve("SyncNet v2 confidence", result.frame_confidence, SYNC_WINDOW),
                         note=f"face crops from frames decoded at --max-side {self.options.max_side}, not at full "
                              "resolution as syncnet_python: LSE-D / LSE-C can differ from the original pipeline on HD "
                              "inputs")

    def ms_sync(self) -> dict:
        from ..data.build import PreprocessOptions
        from ..hub import checkpoint_path
        from ..processing.faces import clip_crop_box, face_crop_boxes, smooth_boxes
        from ..processing.landmarks import normalize_landmarks, smooth_landmarks
        from .landmarks import multiscale_sync

        if self.wave is None:
            return _unavailable(self.audio_reason)
        syncer = self.models["ms_sync"]
        n = self.audio_frames
        syncer.check_length(n, range(1, syncer.config.num_levels + 1))
        # the dataset's convention (talkhead preprocess): one square crop per clip around the smoothed face
        # boxes, enlarged by clip_enlarge per side; landmarks in its units, smoothed over 3 frames as the benchmarks do
        pixels = self.main.tracked.landmarks[:n]
        crop = clip_crop_box(smooth_boxes(face_crop_boxes(pixels)), PreprocessOptions().clip_enlarge)
        points = smooth_landmarks(normalize_landmarks(pixels, crop))
        features = audio_lib.logfbank26(self.wave, n)
        result = multiscale_sync(syncer, points, features, padding=self.options.ms_sync_padding)
        return _computed(result.summary(), model=checkpoint_path(self.options.eval_syncers),
                         padding=self.options.ms_sync_padding, levels=result.to_dict(curves=False))

    def image(self, name: str) -> dict:
        from . import image

        if self.ref is None:
            return _unavailable(self.ref_reason or NEEDS_REFERENCE)
        n = self.ref_frames
        fake, real = self.main.tracked.crops[:n], self.ref.tracked.crops[:n]
        if name == "ifc" and n < 2:
            return _unavailable(f"IFC needs at least two frames in both videos; got {n}")
        if name == "identity":
            value = image.identity_similarity(fake[::IDENTITY_EVERY], real[::IDENTITY_EVERY])
            return _computed({"identity": value, "frames": len(fake[::IDENTITY_EVERY])})
        function = {"ssim": image.ssim, "psnr": image.psnr, "lmd": image.mouth_landmark_distance,
                    "ifc": image.inter_frame_consistency}[name]
        return _computed({name: function(fake, real), "frames": n})

    def av_hubert(self, folder: str | None, reason: str | None, names: list[str]) -> dict[str, dict]:
        """AVS_u on the video and its audio; AVS_v against the reference on min(video, reference) frames;
        AVS_m on the frames that have both a reference and audio. Each reports the frames it scored."""
        import torch
        import torch.nn.functional as F

        from ..processing.av_hubert_inputs import mouth_rois, normalize_rois, stacked_logfbank
        from .avs import avs_scores

        if folder is None:
            return {name: _unavailable(reason) for name in names}
        entries: dict[str, dict] = {}
        if self.wave is None and "avs_u" in names:
            entries["avs_u"] = _unavailable(self.audio_reason)
        if "avs_m" in names and (self.ref is None or self.wave is None):
            entries["avs_m"] = _unavailable(" and ".join(r for r in (self.ref_reason if self.ref is None else None,
                                                                      self.audio_reason) if r))
        if "avs_v" in names and self.ref is None:
            entries["avs_v"] = _unavailable(self.ref_reason or NEEDS_REFERENCE)
        if all(name in entries for name in names):
            return entries
        model = self.models["av_hubert"]
        rois = normalize_rois(mouth_rois(self.main.frames, self.main.tracked.landmarks))
        audio = None if self.wave is None else stacked_logfbank(self.wave, self.audio_frames)
        if "avs_u" in names and "avs_u" not in entries:
            scores = avs_scores(model, rois[: self.audio_frames], audio)
            entry = _computed({"avs_u": scores["avs_u"], "frames": scores["frames"]}, model=folder)
            if self.options.curves:  # the per-frame cosine behind AVS_u, for the plot
                parameter = next(model.parameters())
                with torch.no_grad():
                    seen = torch.as_tensor(rois[None, : self.audio_frames], dtype=parameter.dtype)
                    visual = model(video=seen).last_hidden_state
                    heard = model(audio=torch.as_tensor(audio[None], dtype=parameter.dtype)).last_hidden_state
                cosine = F.cosine_similarity(visual, heard, dim=-1)[0].numpy()
                entry["curve"] = _curve("AV-HuBERT AVS_u per-frame cosine", cosine, 1)
            entries["avs_u"] = entry
        if self.ref is not None and any(n in names and n not in entries for n in ("avs_m", "avs_v")):
            ref_rois = normalize_rois(mouth_rois(self.ref.frames, self.ref.tracked.landmarks))
            if "avs_v" in names and "avs_v" not in entries:  # video against video: the audio does not limit it
                n = self.ref_frames
                scores = avs_scores(model, rois[:n], None, ref_rois[:n])
                entries["avs_v"] = _computed({"avs_v": scores["avs_v"], "frames": scores["frames"]}, model=folder)
            if "avs_m" in names and "avs_m" not in entries:  # audio is not None here (else unavailable above)
                n = min(self.ref_frames, self.audio_frames)
                scores = avs_scores(model, rois[:n], audio[:n], ref_rois[:n])
                entries["avs_m"] = _computed({"avs_m": scores["avs_m"], "frames": scores["frames"]}, model=folder)
        return entries


__all__ = [
    "GROUPS",
    "METRICS",
    "EvaluateOptions",
    "check_options",
    "evaluate_video",
    "select_metrics",
    "window_seconds",
    "write_json",
]
