"""The syncers' validation (``examples/train_syncers.py``): the held-out clips read one at a time, only their
window embeddings held.

Validation groups mix windows of every held-out clip, so a validation that grouped the windows themselves would hold
every held-out window in memory for the whole run (landmark windows of the top level are tens of kB each). Each
window's embedding depends on that window alone (the syncers are in eval mode), so the clips are embedded one after
another and the groups are formed from the embeddings: the same groups, the same losses, a few hundred bytes a
window, and nothing held between validations. The windows of clip ``n`` are cut at offsets drawn from
``(seed, n)`` without augmentation, and the groups are shuffled by generators of ``seed``: every validation of a run,
streamed or in memory, scores the same groups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch

from ..data.windows import PyramidClip, group_windows, syncer_item
from ..losses import info_nce_loss, syncnet_contrastive_loss
from ..metrics.sync import retrieval_accuracy

RETRIEVAL_GROUP = 48


@torch.no_grad()
def validation_embeddings(syncer, clips: Iterable[PyramidClip], levels: list[int], seed: int = 1234) -> dict:
    """Per level: a list with, for each clip that has windows there, its (N, D) landmark and audio embeddings in
    time order."""
    embedded: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {level: [] for level in levels}
    for number, clip in enumerate(clips):
        item = syncer_item(clip, np.random.default_rng([seed, number]), levels, augment=False)
        for index, level in enumerate(levels):
            x, a = item["landmarks"][index], item["audio"][index]
            if len(x):
                embedded[level].append(syncer.embed_windows(x, a, level))
    return embedded


def embedding_groups(embeddings: list[tuple[torch.Tensor, torch.Tensor]], size: int, same_clip: bool, seed: int):
    """The (landmark, audio) groups of ``size`` that :func:`~talkhead.data.windows.group_windows` cuts from the
    windows, cut from their embeddings (one clip's in time order, or every clip's pooled and shuffled)."""
    if not embeddings:
        return []
    items = [{"landmarks": [x], "audio": [a]} for x, a in embeddings]
    x, a = group_windows(items, size, same_clip, torch.Generator().manual_seed(seed))[0]
    return list(zip(x, a, strict=True))


def validate_syncers(
    syncer,
    clips: Iterable[PyramidClip],
    levels: list[int],
    group_size: int,
    objective: str,
    temperature: float,
    margin: float,
    seed: int = 1234,
) -> dict:
    """Per level: ``loss_L`` (the training objective on fixed groups of ``group_size``), ``retrieval_accuracy_L``
    (the aligned window found among 48 mixed windows, or among all of them when there are fewer) and ``groups_L``;
    NaN where a level has no group."""
    was_training = syncer.training
    syncer.eval()
    contrastive = objective == "contrastive"
    results = {}
    for level, embeddings in validation_embeddings(syncer, clips, levels, seed).items():
        groups = embedding_groups(embeddings, group_size, contrastive, seed)
        losses = [
            float(
                syncnet_contrastive_loss(e_x, e_a, margin) if contrastive else info_nce_loss(e_a, e_x, 0.0, temperature)
            )
            for e_x, e_a in groups
        ]
        available = sum(len(x) for x, _ in embeddings)
        retrieval = embedding_groups(embeddings, max(min(RETRIEVAL_GROUP, available), 2), False, seed)
        accuracies = [retrieval_accuracy(e_a, e_x, euclidean=contrastive) for e_x, e_a in retrieval]
        results[f"loss_{level}"] = float(np.mean(losses)) if losses else math.nan
        results[f"retrieval_accuracy_{level}"] = float(np.mean(accuracies)) if accuracies else math.nan
        results[f"groups_{level}"] = len(losses)
    syncer.train(was_training)
    return results
