"""Every metric of the package on one video: what ``talkhead evaluate video VIDEO`` and the Space call.

:func:`evaluate_video` decodes the video at 25 fps (any source rate) and its audio (or ``audio``) at
16 kHz mono (any rate, any channels), tracks the face once (:func:`~talkhead.processing.tracked_clip.track_clip`)
and hands the same :class:`~talkhead.processing.tracked_clip.TrackedClip` to every metric
(:class:`~talkhead.evaluation.video_metrics.VideoMetrics`):

* ``expert_sync``: our SyncNet expert (``hub_configs/syncnet-eval``) with the SyncNet protocol
  (:func:`talkhead.metrics.face_sync.face_sync`): offset, confidence, distance;
* ``syncnet_v2``: LSE-D / LSE-C / offset with the Oxford SyncNet v2 (:mod:`talkhead.metrics.lse`),
  only with converted weights (``syncnet_v2=DIR``);
* ``ms_sync``: MS-Sync's multi-scale |AV-Off_i| / AV-Conf_i of the landmark motion against speech with
  the evaluation syncers (:func:`talkhead.metrics.landmarks.multiscale_sync`), landmarks normalised in
  one fixed crop per clip as the datasets are (``talkhead preprocess``), audio as logfbank26;
* ``mouth_sync``: the mouth-sync expert's offset and confidence (:func:`talkhead.data.mouth_sync.mouth_sync_video`,
  1 s of tracked mouth shapes against phones and mel), the one the report's verdict judges
  (:mod:`talkhead.evaluation.verdict`);
* ``avs_u`` / ``avs_m`` / ``avs_v``: AV-HuBERT synchrony (:mod:`talkhead.metrics.avs`), only with
  converted weights (``av_hubert=DIR``); AVS_m and AVS_v also need the ground-truth video;
* ``ssim``, ``psnr``, ``lmd``, ``ifc``, ``identity``: image metrics (:mod:`talkhead.metrics.image`)
  on 96x96 face crops of the video and of the ground-truth video, frames paired by index at 25 fps
  and cut to the shorter one.

With ``options.speaker_video`` the report also holds the lip-follow of the video against the speaker's,
from the same tracked clip.

A metric that cannot be computed (no speech, a clip too short for it, no weights) is reported as
``{"status": "unavailable", "reason": ...}`` and the others still count. The report holds the verdict (in sync,
offset by N frames, or cannot tell and why; :mod:`talkhead.evaluation.verdict`) and is a JSON-ready dict
(:func:`talkhead.evaluation.report.write_json` writes it atomically), :func:`~talkhead.evaluation.report.format_table`
prints it, verdict first, and
:func:`~talkhead.evaluation.report.plot_confidence` draws the per-window confidences over time with the audio envelope.
A video with no face at all raises :class:`~talkhead.errors.NoFaceError`.

Memory: evaluate holds every decoded frame of the video (and of the reference) in memory at once,
downscaled to at most ``max_side`` (``--max-side``, default 640) pixels on the longest side: about
0.7 MB a frame at 640x360, so 5 minutes at 25 fps take some 5 GB (twice that with a reference of the
same length). Give a smaller ``max_side`` (at least 96) for long or many inputs.

Resolution: every metric, SyncNet v2's LSE-D / LSE-C included, crops the face from these downscaled
frames, whereas ``syncnet_python`` crops from the full-resolution video; on HD inputs LSE numbers can
therefore differ somewhat from the original pipeline's.

No number from randomly initialised SyncNet v2 or AV-HuBERT weights means anything: the official
weights cannot be fetched here, so those two are tested with random weights only.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from ..errors import NoFaceError, TalkheadInputError
from ..io.inputs import check_input_file
from ..metrics.lip_follow import lip_follow, std_ratio
from ..processing import audio as audio_lib
from ..processing.tracked_clip import TrackedClip, track_clip
from . import inputs
from .metric_names import GROUPS, METRICS
from .verdict import report_verdict
from .video_metrics import EvaluateOptions, VideoMetrics, unavailable

REFERENCE_METRICS = ("avs_m", "avs_v", "ssim", "psnr", "lmd", "ifc", "identity")
NEEDS_A_FACE = "; every metric needs a visible face"
MIN_MAX_SIDE = 96  # smaller frames cannot hold a 96x96 face crop (the detector finds nothing in them)


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
        raise TalkheadInputError(
            f"unknown metric(s) {', '.join(repr(n) for n in unknown)}; known: {', '.join(METRICS)} "
            f"(groups: {', '.join(GROUPS)})"
        )
    if not items:
        raise TalkheadInputError(f"no metric selected; known: {', '.join(METRICS)}")
    chosen = {m for n in items for m in GROUPS.get(n, (n,))}
    return [m for m in METRICS if m in chosen]


def check_options(options: EvaluateOptions, names: Mapping[str, str] | None = None) -> None:
    """Numeric settings that cannot work: :class:`TalkheadInputError` (the CLI's exit 2) before anything is decoded."""
    names = inputs.input_names(names)
    if (
        isinstance(options.max_side, bool)
        or not isinstance(options.max_side, (int, np.integer))
        or options.max_side < MIN_MAX_SIDE
    ):
        raise TalkheadInputError(
            f"{names['max_side']} must be an integer of at least {MIN_MAX_SIDE} (pixels of the "
            f"longest side of the decoded frames), got {options.max_side!r}"
        )
    if options.ms_sync_padding not in ("valid", "zeros"):
        raise TalkheadInputError(f"ms_sync_padding must be 'valid' or 'zeros', got {options.ms_sync_padding!r}")


def evaluate_video(
    video: str | os.PathLike,
    audio: str | os.PathLike | None = None,
    reference: str | os.PathLike | None = None,
    metrics: str | Iterable[str] | None = None,
    options: EvaluateOptions | None = None,
    log: Callable[[str], None] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict:
    """Every selected metric of ``video`` as a JSON-ready report.

    Args:
        video: the talking-face video (any container and frame rate, or a folder of frames).
        audio: speech to score the video against; the video's own track by default.
        reference: the ground-truth video, for AVS_m, AVS_v and the image metrics.
        metrics: names or groups (:func:`select_metrics`); all by default.
        options: models and settings, :class:`EvaluateOptions`.
        log: called with one status line per stage and computed metric (the unavailable ones and their reasons are
            in the report) and enables a tracking progress bar; ``None``: quiet.
        names: how messages name the inputs (:func:`talkhead.evaluation.inputs.input_names`; the CLI passes its flags).

    Returns:
        ``{"video", "audio", "reference", "frames", "fps": 25, "seconds", "source_fps", "face_found_rate",
        "audio_frames", "reference_frames", "verdict": {"kind", "offset", "confidence", "expert", "reason"},
        "metrics": {name: {"status": "computed", "values": {...}} or {"status": "unavailable", "reason": "..."}},
        "audio_envelope"}``. Sync metrics with a per-window confidence carry it as
        ``"curve": {"label", "seconds", "values"}`` when ``options.curves``.

    Raises:
        NoFaceError: no face in any frame of ``video``.
        FileNotFoundError, TalkheadInputError: an input or model that cannot be used as given.
    """
    options, names = options or EvaluateOptions(), inputs.input_names(names)
    check_options(options, names)
    selected = select_metrics(metrics)
    say = log or (lambda message: None)
    video = str(video)
    if not Path(video).is_dir():  # a folder of frames is a video too
        check_input_file(video, "video")
    for key, given in (("audio", audio), ("reference", reference), ("speaker_video", options.speaker_video)):
        if given is not None and not Path(given).is_dir():
            check_input_file(given, f"file for {names[key]}")
    # weights that are needed and missing are decided before the slow part
    v2_folder, v2_reason = (
        inputs.weights_folder(options.syncnet_v2, inputs.syncnet_v2_missing(names), inputs.SYNCNET_V2_CONVERTER)
        if "syncnet_v2" in selected
        else (None, None)
    )
    hubert_folder, hubert_reason = (
        inputs.weights_folder(options.av_hubert, inputs.av_hubert_missing(names), inputs.AV_HUBERT_CONVERTER)
        if any(m.startswith("avs_") for m in selected)
        else (None, None)
    )
    models = inputs.load_models(
        selected, options, v2_folder, hubert_folder
    )  # a bad model name fails before the slow part
    wave, audio_source, audio_reason = inputs.speech_or_reason(video, None if audio is None else str(audio), names)

    start = time.perf_counter()
    main = _track(video, options, log)
    main.check_face(NEEDS_A_FACE)
    say(
        f"tracked {main.num_frames} frames in {time.perf_counter() - start:.1f} s "
        f"(face found in {100 * main.found_rate:.1f} %)"
    )
    if wave is not None and audio_lib.num_video_frames(len(wave)) < 1:
        wave, audio_reason = None, f"the audio of '{audio_source}' is shorter than one video frame (40 ms)"
    if wave is not None:
        main = main.with_audio(wave)
    ref, ref_reason = _track_reference(reference, selected, options, log, names)

    report: dict = {
        "video": video,
        "audio": audio_source,
        "reference": None if reference is None else str(reference),
        "frames": main.num_frames,
        "fps": audio_lib.VIDEO_FPS,
        "max_side": options.max_side,
        "seconds": round(main.num_frames / audio_lib.VIDEO_FPS, 3),
        "source_fps": None if main.source_fps is None else round(float(main.source_fps), 3),
        "face_found_rate": round(main.found_rate, 4),
        "audio_frames": main.audio_frames,
        "reference_frames": min(main.num_frames, ref.num_frames) if ref is not None else None,
        "verdict": None,
        "metrics": {},
    }
    scorer = VideoMetrics(main, audio_reason, ref, ref_reason, options, models, names)
    report["metrics"] = _run_metrics(scorer, selected, (v2_folder, v2_reason), (hubert_folder, hubert_reason), say)
    report["verdict"] = report_verdict(report["metrics"], names).to_dict()
    if options.curves and main.wave is not None:
        report["audio_envelope"] = [round(float(v), 5) for v in audio_lib.frame_rms(main.wave, main.audio_frames)]
    if options.speaker_video:
        report["lip_follow"] = lip_follow_videos(main, options.speaker_video)
    return report


def lip_follow_videos(video: str | os.PathLike | TrackedClip, speaker_video: str | os.PathLike | TrackedClip) -> dict:
    """Lip-follow of ``video``'s mouth against ``speaker_video``'s, the video of whoever spoke its audio (paths
    tracked at 25 fps, or tracked clips), frame by frame from their starts with no lag
    (:mod:`talkhead.metrics.lip_follow`)."""
    clips = [v if isinstance(v, TrackedClip) else track_clip(v) for v in (video, speaker_video)]
    opening, reference = (clip.mouth_opening() for clip in clips)
    return {
        "lip_follow": lip_follow(opening, reference),
        "std_ratio": std_ratio(opening, reference),
        "frames": int(min(len(opening), len(reference))),
        "speaker_video": str(clips[1].path),
    }


def _track(video: str, options: EvaluateOptions, log) -> TrackedClip:
    return track_clip(
        video, max_side=options.max_side, keep_frames=True, progress_label=Path(video).name if log else None
    )


def _track_reference(
    reference, selected: list[str], options: EvaluateOptions, log, names: Mapping[str, str]
) -> tuple[TrackedClip | None, str | None]:
    """(the tracked reference, None) or (None, why there is none)."""
    if reference is None:
        return None, inputs.needs_reference(names)
    if not any(m in REFERENCE_METRICS for m in selected):
        return None, None
    ref = _track(str(reference), options, log)
    try:
        ref.check_face(NEEDS_A_FACE)
    except NoFaceError as err:
        return None, f"the reference video has no face: {err}"
    return ref, None


def _run_metrics(scorer: VideoMetrics, selected: list[str], syncnet_v2: tuple, av_hubert: tuple, say) -> dict:
    """Each selected metric's report entry, in report order, with a status line for each computed one (the report's
    table gives the unavailable ones with their reasons: saying them here too would print each twice)."""
    avs_names = [m for m in selected if m.startswith("avs_")]
    runners = {
        "expert_sync": scorer.expert_sync,
        "syncnet_v2": lambda: scorer.syncnet_v2(*syncnet_v2),
        "ms_sync": scorer.ms_sync,
        "mouth_sync": scorer.mouth_sync,
        **{name: (lambda name=name: scorer.image(name)) for name in ("ssim", "psnr", "lmd", "ifc", "identity")},
    }
    entries: dict[str, dict] = {}
    avs: dict[str, dict] | None = None
    for name in selected:
        began = time.perf_counter()
        try:
            if name.startswith("avs_"):
                if avs is None:  # the three share one pass of the model
                    avs = scorer.av_hubert(*av_hubert, avs_names)
                entry = avs[name]
            else:
                entry = runners[name]()
        except TalkheadInputError as err:  # too short, and the like: the other metrics still count
            entry = unavailable(str(err))
            if name.startswith("avs_"):  # the other AVS share the pass that failed
                avs = {m: unavailable(str(err)) for m in avs_names}
        if not scorer.options.curves:
            entry.pop("curve", None)
        entries[name] = entry
        if entry["status"] == "computed":
            say(f"{name}: computed ({time.perf_counter() - began:.1f} s)")
    return entries


__all__ = ["GROUPS", "METRICS", "EvaluateOptions", "check_options", "evaluate_video", "select_metrics"]
