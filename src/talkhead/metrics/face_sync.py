"""Sync of 96x96 face crops against the mel with our SyncNet-style experts (``syncnet-eval``, AVSyncNet).

The LSE-style protocol of the stabilized-sync paper (Yaman et al., stabilized sync, §4) with our own expert in
place of the Oxford SyncNet: window t is faces t..t+4 against the 16-frame mel window that starts at the same
video frame; the experts' L2-normalised embeddings go through :func:`talkhead.metrics.sync.expert_offset`
(Euclidean distance, zero padding, as SyncNet).
"""

from __future__ import annotations

import numpy as np
import torch

from ..processing.audio import VIDEO_WINDOW, mel_tensor
from .sync import VSHIFT, SyncResult, expert_offset


class FaceSyncExpert:
    """A :class:`~talkhead.models.syncnet_expert.SyncNetExpert` or :class:`~talkhead.models.avsyncnet.AVSyncNet` as a
    :class:`~talkhead.metrics.sync.SyncExpert`: visual = (T, 3, 96, 96) faces in [0, 1], audio = ``(mel, first_frame)``,
    the clip's (M, 80) mel and the clip frame the faces start at."""

    window = VIDEO_WINDOW
    metric = "euclidean"
    padding = "zeros"

    def __init__(self, model, batch_size: int = 64):
        self.model, self.batch_size = model, batch_size

    def num_windows(self, faces, audio) -> int:
        return len(faces) - VIDEO_WINDOW + 1

    @torch.no_grad()
    def embed_visual(self, faces, count: int) -> np.ndarray:
        faces = torch.as_tensor(faces, dtype=torch.float32)
        return self._batched(
            lambda index: self.model.embed_faces(torch.stack([faces[t : t + VIDEO_WINDOW] for t in index])), count
        )

    @torch.no_grad()
    def embed_audio(self, audio: tuple[np.ndarray, int], count: int) -> np.ndarray:
        mel, first_frame = audio
        return self._batched(
            lambda index: self.model.embed_audio(torch.stack([mel_tensor(mel, first_frame + t) for t in index])), count
        )

    def _batched(self, embed, count: int) -> np.ndarray:
        chunks = [
            embed(range(start, min(count, start + self.batch_size))) for start in range(0, count, self.batch_size)
        ]
        return torch.nn.functional.normalize(torch.cat(chunks), dim=-1).numpy()


def face_sync(expert, faces, mel: np.ndarray, first_frame: int = 0, vshift: int = VSHIFT) -> SyncResult:
    """Offset / confidence / distance (``min_distance``) of a face track against its audio with a sync expert.

    ``faces``: (T, 3, 96, 96) in [0, 1] (tensor or array), frames ``first_frame``.. of a clip whose mel is
    ``mel`` (M, 80).

    Raises:
        ValueError: fewer than 5 faces.
    """
    if len(faces) < VIDEO_WINDOW:
        raise ValueError(f"a sync score needs at least {VIDEO_WINDOW} frames, got {len(faces)}")
    return expert_offset(FaceSyncExpert(expert), faces, (mel, first_frame), vshift)
