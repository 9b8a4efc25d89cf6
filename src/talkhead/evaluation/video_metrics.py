"""Each metric of ``talkhead evaluate`` on one :class:`~talkhead.processing.tracked_clip.TrackedClip`: a report entry.

An entry is ``{"status": "computed", "values": {...}, ...}`` or ``{"status": "unavailable", "reason": ...}``.
Sync metrics score the frames that have audio; image metrics and AVS_v the frames both videos have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import defaults
from ..data.mouth_sync import mouth_sync_video
from ..errors import TalkheadInputError
from ..hub import checkpoint_path
from ..metrics import image
from ..metrics.avs import AVHubertExpert, avs_scores
from ..metrics.face_sync import face_sync
from ..metrics.landmarks import multiscale_sync
from ..metrics.lse import syncnet_v2_face_crops, syncnet_v2_scores
from ..models.av_hubert.feature_extraction_av_hubert import stacked_logfbank
from ..processing.audio import VIDEO_FPS, VIDEO_WINDOW
from ..processing.face_crops import faces_to_tensor
from ..processing.landmarks import smooth_landmarks
from ..processing.tracked_clip import TrackedClip
from .inputs import needs_reference

IDENTITY_EVERY = 5  # dlib's face embedding takes ~0.1 s a crop: identity on every 5th frame, as benchmark lipsync


def window_seconds(count: int, window: int = VIDEO_WINDOW) -> list[float]:
    """Centre times (s) of ``count`` windows of ``window`` frames starting at frames 0, 1, ... (at 25 fps)."""
    return [round((t + window / 2) / VIDEO_FPS, 4) for t in range(count)]


def curve(label: str, values, window: int) -> dict:
    """A per-window series for the report's plot: ``{"label", "seconds", "values"}`` (NaN as ``None``)."""
    values = np.asarray(values, np.float64)
    return {
        "label": label,
        "seconds": window_seconds(len(values), window),
        "values": [None if not np.isfinite(v) else round(float(v), 5) for v in values],
    }


def computed(values: dict, **extra) -> dict:
    return {"status": "computed", "values": values, **extra}


def unavailable(reason: str) -> dict:
    return {"status": "unavailable", "reason": reason}


@dataclass
class EvaluateOptions:
    """Models and settings of :func:`evaluate_video` (the defaults are the shipped checkpoints)."""

    expert: str = defaults.SYNC_EXPERT  # our SyncNet expert: folder, model id or short name
    eval_syncers: str = defaults.EVAL_SYNCERS  # MS-Sync evaluation syncers
    syncnet_v2: str | None = None  # folder written by convert_syncnet_v2
    av_hubert: str | None = None  # folder written by convert_av_hubert
    ms_sync_padding: str = "valid"  # offset search padding of MS-Sync (see metrics.landmarks.multiscale_sync)
    max_side: int = defaults.TRACK_SIDE  # frames are decoded at most this large (tracking and crops)
    curves: bool = True  # keep per-window confidences and the audio envelope in the report (for the plot)
    speaker_video: str | None = None  # the video of whoever spoke the audio: adds "lip_follow" to the report
    mouth_sync: str = defaults.MOUTH_SYNC  # the mouth-sync expert, the one whose offset gives the verdict


@dataclass
class VideoMetrics:
    """What the metrics share: the tracked video with its fitted speech, the tracked reference, the models."""

    main: TrackedClip  # with_audio when there is speech
    audio_reason: str | None  # why there is no speech
    ref: TrackedClip | None
    ref_reason: str | None
    options: EvaluateOptions
    models: dict
    names: Mapping[str, str]

    @property
    def audio_frames(self) -> int:
        return self.main.audio_frames

    @property
    def ref_frames(self) -> int:
        return 0 if self.ref is None else min(self.main.num_frames, self.ref.num_frames)

    def _check_frames(self, needed: int, what: str) -> None:
        if self.audio_frames < needed:
            raise TalkheadInputError(
                f"{what} needs at least {needed} frames ({needed / VIDEO_FPS:.2f} s) of video with "
                f"audio; got {self.audio_frames}"
            )

    def expert_sync(self) -> dict:

        if self.main.wave is None:
            return unavailable(self.audio_reason)
        self._check_frames(VIDEO_WINDOW + 1, "the expert's offset search")
        n = self.audio_frames
        result = face_sync(self.models["expert_sync"], faces_to_tensor(self.main.faces[:n]), self.main.mel)
        folder = checkpoint_path(self.options.expert)
        values = {
            "offset": int(result.offset),
            "confidence": float(result.confidence),
            "distance": float(result.min_distance),
            "face_found_rate": float(self.main.found[:n].mean()),
        }
        return computed(
            values,
            model=folder,
            curve=curve(f"expert ({Path(folder).name}) confidence", result.frame_confidence, VIDEO_WINDOW),
        )

    def syncnet_v2(self, folder: str | None, reason: str | None) -> dict:

        if folder is None:
            return unavailable(reason)
        if self.main.wave is None:
            return unavailable(self.audio_reason)
        self._check_frames(VIDEO_WINDOW + 1, "SyncNet v2's offset search")
        n, model = self.audio_frames, self.models["syncnet_v2"]
        faces = syncnet_v2_face_crops(
            self.main.frames[:n], self.main.track_landmarks[:n], self.main.found[:n], size=model.config.image_size
        )
        result = syncnet_v2_scores(model, faces, self.main.wave)
        values = {
            "offset": int(result.offset),
            "lse_d": float(result.min_distance),
            "lse_c": float(result.confidence),
            "face_found_rate": round(float(self.main.found[:n].mean()), 4),
        }
        return computed(
            values,
            model=folder,
            curve=curve("SyncNet v2 confidence", result.frame_confidence, VIDEO_WINDOW),
            note=f"face crops from frames decoded at {self.names['max_side']} {self.options.max_side}, not at "
            "full resolution as syncnet_python: LSE-D / LSE-C can differ from the original pipeline on HD "
            "inputs",
        )

    def ms_sync(self) -> dict:

        if self.main.wave is None:
            return unavailable(self.audio_reason)
        syncer = self.models["ms_sync"]
        syncer.check_length(self.audio_frames, range(1, syncer.config.num_levels + 1))
        # the dataset's convention on the frames with audio, smoothed over 3 frames as the syncers saw in training
        spoken = self.main.cut(self.audio_frames)
        result = multiscale_sync(
            syncer, smooth_landmarks(spoken.landmarks), spoken.logfbank, padding=self.options.ms_sync_padding
        )
        return computed(
            result.summary(),
            model=checkpoint_path(self.options.eval_syncers),
            padding=self.options.ms_sync_padding,
            levels=result.to_dict(curves=False),
        )

    def mouth_sync(self) -> dict:
        """The mouth-sync expert's offset over the frames with audio (its module raises on a clip too short for the
        search or with a face in too few frames)."""
        if self.main.wave is None:
            return unavailable(self.audio_reason)
        found = mouth_sync_video(self.main, self.main.wave, self.models["mouth_sync"])
        values = {"offset": found["offset"], "confidence": found["confidence"], "frames": found["frames"]}
        return computed(
            values,
            model=checkpoint_path(self.options.mouth_sync),
            max_lag=found["max_lag"],
            windows=found["windows"],
            scores=found["scores"],
        )

    def image(self, name: str) -> dict:

        if self.ref is None:
            return unavailable(self.ref_reason or needs_reference(self.names))
        n = self.ref_frames
        fake, real = self.main.faces[:n], self.ref.faces[:n]
        if name == "ifc" and n < 2:
            return unavailable(f"IFC needs at least two frames in both videos; got {n}")
        if name == "identity":
            value = image.identity_similarity(fake[::IDENTITY_EVERY], real[::IDENTITY_EVERY])
            return computed({"identity": value, "frames": len(fake[::IDENTITY_EVERY])})
        function = {
            "ssim": image.ssim,
            "psnr": image.psnr,
            "lmd": image.mouth_landmark_distance,
            "ifc": image.inter_frame_consistency,
        }[name]
        return computed({name: function(fake, real), "frames": n})

    def av_hubert(self, folder: str | None, reason: str | None, names: list[str]) -> dict[str, dict]:
        """AVS_u on the video and its audio; AVS_v against the reference on min(video, reference) frames;
        AVS_m on the frames that have both a reference and audio. Each reports the frames it scored."""
        if folder is None:
            return {name: unavailable(reason) for name in names}
        entries = self._avs_unavailable(names)
        if all(name in entries for name in names):
            return entries

        audio = None if self.main.wave is None else stacked_logfbank(self.main.wave, self.audio_frames)
        if "avs_u" in names and "avs_u" not in entries:
            entries["avs_u"] = self._avs_u(folder, audio)
        if "avs_v" in names and "avs_v" not in entries:  # video against video: the audio does not limit it
            entries["avs_v"] = self._avs_against_reference("avs_v", folder, self.ref_frames, None)
        if "avs_m" in names and "avs_m" not in entries:  # audio is not None here (else unavailable)
            entries["avs_m"] = self._avs_against_reference(
                "avs_m", folder, min(self.ref_frames, self.audio_frames), audio
            )
        return entries

    def _avs_unavailable(self, names: list[str]) -> dict[str, dict]:
        entries: dict[str, dict] = {}
        if self.main.wave is None and "avs_u" in names:
            entries["avs_u"] = unavailable(self.audio_reason)
        if "avs_m" in names and (self.ref is None or self.main.wave is None):
            entries["avs_m"] = unavailable(
                " and ".join(r for r in (self.ref_reason if self.ref is None else None, self.audio_reason) if r)
            )
        if "avs_v" in names and self.ref is None:
            entries["avs_v"] = unavailable(self.ref_reason or needs_reference(self.names))
        return entries

    def _avs_u(self, folder: str, audio: np.ndarray) -> dict:

        import torch

        model, n = self.models["av_hubert"], self.audio_frames
        scores = avs_scores(model, self.main.mouth_rois[:n], audio)
        entry = computed({"avs_u": scores["avs_u"], "frames": scores["frames"]}, model=folder)
        if self.options.curves:  # the per-frame cosine behind AVS_u, for the plot
            expert = AVHubertExpert(model)
            seen, heard = expert.embed_visual(self.main.mouth_rois, n), expert.embed_audio(audio, n)
            cosine = torch.nn.functional.cosine_similarity(torch.from_numpy(seen), torch.from_numpy(heard), dim=-1)
            entry["curve"] = curve("AV-HuBERT AVS_u per-frame cosine", cosine.numpy(), 1)
        return entry

    def _avs_against_reference(self, name: str, folder: str, frames: int, audio: np.ndarray | None) -> dict:

        rois, ref_rois = self.main.mouth_rois[:frames], self.ref.mouth_rois[:frames]
        scores = avs_scores(self.models["av_hubert"], rois, None if audio is None else audio[:frames], ref_rois)
        return computed({name: scores[name], "frames": scores["frames"]}, model=folder)
