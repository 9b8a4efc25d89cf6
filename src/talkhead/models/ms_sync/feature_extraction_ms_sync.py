"""The MS-Sync temporal pyramid operator (Airale et al., MS-Sync, eq. 5; reflect padding from the MS-Sync code).

P(z)_t = (1 / 7) Σ_{τ=-3..3} z_{2t+τ}: a centred 7-tap box filter with reflect padding (index -1
maps to 1), keeping the even indices, so a length-T sequence becomes ⌈T/2⌉ long. Level 1 is the raw
signal and level i is P applied i - 1 times. The operator is linear, parameter-free and
differentiable: the syncers, the generator's sync loss and the metrics all call this one function,
for landmarks and audio features alike. It is MS-Sync's own input transform, so it sits beside the MS-Sync models
(``feature_extraction_*.py``, as transformers keeps a model's input code); the training windows
(:mod:`talkhead.data.windows`) precompute its levels.

Where we differ: reflect padding needs at least 4 samples; shorter sequences (which no syncer
window fits anyway) are edge-padded instead of failing.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

HALF_WIDTH = 3  # k in eq. 5: a 7-tap box


def blur_decimate(sequence: torch.Tensor, half_width: int = HALF_WIDTH) -> torch.Tensor:
    """One pyramid step along the time axis: (B, T, C) -> (B, ⌈T/2⌉, C). Also accepts (T, C)."""
    squeeze = sequence.dim() == 2
    if squeeze:
        sequence = sequence.unsqueeze(0)
    if sequence.dim() != 3:
        raise ValueError(f"expected (B, T, C) or (T, C), got shape {tuple(sequence.shape)}")
    channels_first = sequence.transpose(1, 2)  # (B, C, T)
    mode = "reflect" if sequence.shape[1] > half_width else "replicate"
    padded = F.pad(channels_first, (half_width, half_width), mode=mode)
    pooled = F.avg_pool1d(padded, kernel_size=2 * half_width + 1, stride=2)
    result = pooled.transpose(1, 2)
    return result.squeeze(0) if squeeze else result


def pyramid_level(sequence: torch.Tensor, level: int) -> torch.Tensor:
    """P applied ``level - 1`` times (level 1 is the input itself)."""
    if level < 1:
        raise ValueError(f"pyramid levels start at 1, got {level}")
    for _ in range(level - 1):
        sequence = blur_decimate(sequence)
    return sequence


def build_pyramid(sequence: torch.Tensor, num_levels: int = 4) -> list[torch.Tensor]:
    """[level 1, level 2, ...]: each level the blur-and-decimate of the one below."""
    levels = [sequence]
    for _ in range(num_levels - 1):
        levels.append(blur_decimate(levels[-1]))
    return levels


def level_length(length: int, level: int) -> int:
    """Length of a sequence of ``length`` samples at pyramid ``level``: ⌈length / 2^(level-1)⌉, step by step."""
    for _ in range(level - 1):
        length = (length + 1) // 2
    return length


def min_frames_for_level(level: int, window: int = 5) -> int:
    """Fewest video frames whose level-``level`` sequence holds one ``window``-frame window."""
    frames = window
    while level_length(frames, level) < window:
        frames += 1
    return frames


def numpy_pyramid(sequence: np.ndarray, num_levels: int = 4) -> list[np.ndarray]:
    """:func:`build_pyramid` for a (T, C) numpy array (float32 out)."""
    tensor = torch.as_tensor(np.asarray(sequence, np.float32))
    with torch.no_grad():
        return [level.numpy() for level in build_pyramid(tensor, num_levels)]
