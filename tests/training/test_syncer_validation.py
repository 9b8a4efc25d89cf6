"""The syncers' validation from embeddings, clip by clip: the losses of grouping the windows themselves, from a list
or a stream of clips."""

import numpy as np
import pytest
import torch

from talkhead.data.windows import group_windows, pyramid_clip, syncer_item
from talkhead.losses import info_nce_loss, syncnet_contrastive_loss
from talkhead.models.ms_sync import MSSyncSyncerConfig, MSSyncSyncerModel
from talkhead.training.syncer_validation import validate_syncers

LEVELS = [1, 2]


def noisy_clip(frames: int, number: int):
    from tests.data.test_windows import make_clip

    clip = make_clip(frames, f"c{number}")
    rng = np.random.default_rng(number)
    clip.landmarks[:] += rng.normal(0, 0.01, clip.landmarks.shape).astype(np.float32)
    clip.logfbank[:] = rng.normal(0, 1, clip.logfbank.shape).astype(np.float32)
    return pyramid_clip(clip, 2, smooth=False)


@pytest.fixture(scope="module")
def syncer():
    torch.manual_seed(0)
    return MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).eval()


@pytest.fixture(scope="module")
def clips():
    return [noisy_clip(frames, number) for number, frames in enumerate([120, 90, 150])]


def level_only(item: dict, index: int) -> dict:
    return {"landmarks": [item["landmarks"][index]], "audio": [item["audio"][index]]}


@pytest.mark.parametrize("objective", ["infonce", "contrastive"])
def test_the_losses_are_those_of_the_grouped_windows(syncer, clips, objective):
    contrastive, size, seed = objective == "contrastive", 6, 1234
    items = [syncer_item(c, np.random.default_rng([seed, n]), LEVELS, augment=False) for n, c in enumerate(clips)]
    # each level's groups drawn by a generator of its own
    grouped = [
        group_windows(
            [level_only(item, index) for item in items], size, contrastive, torch.Generator().manual_seed(seed)
        )[0]
        for index in range(len(LEVELS))
    ]
    result = validate_syncers(syncer, clips, LEVELS, size, objective, 1.0, 10.0, seed)
    with torch.no_grad():
        for level, (x, a) in zip(LEVELS, grouped, strict=True):
            losses = []
            for group_x, group_a in zip(x, a, strict=True):
                e_x, e_a = syncer.embed_windows(group_x, group_a, level)
                loss = syncnet_contrastive_loss(e_x, e_a, 10.0) if contrastive else info_nce_loss(e_a, e_x, 0.0, 1.0)
                losses.append(float(loss))
            assert result[f"groups_{level}"] == len(losses) > 0
            assert result[f"loss_{level}"] == pytest.approx(np.mean(losses), rel=1e-5)
            assert 0.0 <= result[f"retrieval_accuracy_{level}"] <= 1.0


def test_a_stream_read_again_gives_the_same_result(syncer, clips):
    listed = validate_syncers(syncer, clips, LEVELS, 6, "infonce", 1.0, 10.0)
    streamed = validate_syncers(syncer, iter(clips), LEVELS, 6, "infonce", 1.0, 10.0)
    assert streamed == listed


def test_a_level_without_windows_reads_nan(syncer):
    short = [noisy_clip(12, 0)]
    result = validate_syncers(syncer, short, LEVELS, 6, "infonce", 1.0, 10.0)
    assert result["groups_2"] == 0 and np.isnan(result["loss_2"])


def test_the_syncer_trains_again_after_a_validation(clips):
    torch.manual_seed(0)
    syncer = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).train()
    validate_syncers(syncer, clips, LEVELS, 6, "infonce", 1.0, 10.0)
    assert syncer.training
