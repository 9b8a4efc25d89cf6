import pytest
import torch

from talkhead.losses import multiscale_sync_loss
from talkhead.models.ms_sync import (
    MSSyncDiscriminatorConfig,
    MSSyncDiscriminators,
    MSSyncGenerator,
    MSSyncGeneratorConfig,
    MSSyncSyncerConfig,
    MSSyncSyncerModel,
)


def tiny_generator(**overrides) -> MSSyncGenerator:
    torch.manual_seed(0)
    generator = MSSyncGenerator(MSSyncGeneratorConfig.from_preset("tiny", **overrides))
    generator.set_input_statistics(torch.full((136,), 0.5), torch.full((136,), 0.05), torch.zeros(26), torch.ones(26))
    return generator


def inputs(batch=2, frames=20, n_obs=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    warmup = 0.5 + 0.05 * torch.randn(batch, n_obs, 68, 2, generator=generator)
    return warmup, torch.randn(batch, 4 * frames, 26, generator=generator)


def test_branch_weights_are_tied_per_landmark_and_sum_to_one():
    generator = tiny_generator()
    captured = []
    generator.branches.register_forward_hook(lambda module, args, out: captured.append(out))
    warmup, audio = inputs()
    out = generator(warmup, audio)
    assert out.branch_weights.shape == (2, 19, 4, 68)
    torch.testing.assert_close(out.branch_weights.sum(dim=2), torch.ones(2, 19, 68))
    # the merged velocity is the softmax-weighted sum of the branch velocities, x and y sharing one weight
    velocities, logits = captured[5]
    weights = torch.softmax(logits, dim=1)
    merged = (weights.repeat_interleave(2, dim=-1) * velocities).sum(1) * generator.landmark_std
    torch.testing.assert_close(out.velocities[:, 5].flatten(1), merged)


@pytest.mark.parametrize("n_obs", [1, 3])
def test_positions_integrate_the_velocities(n_obs):
    generator = tiny_generator(num_warmup_frames=n_obs)
    warmup, audio = inputs(n_obs=n_obs)
    out = generator(warmup, audio)
    assert out.positions.shape == (2, 20, 68, 2)
    torch.testing.assert_close(out.positions[:, :n_obs], warmup)  # the warm-up is ground truth
    start = n_obs - 1
    integrated = out.positions[:, start : start + 1] + torch.cumsum(out.velocities[:, start:], dim=1)
    torch.testing.assert_close(out.positions[:, start + 1 :], integrated, atol=1e-5, rtol=1e-5)
    if n_obs > 1:  # warm-up reconstructions come from the ground-truth frame before
        torch.testing.assert_close(out.warmup_reconstructions[:, 0], warmup[:, 0] + out.velocities[:, 0])


def test_generate_any_length_from_one_frame_with_no_graph():
    generator = tiny_generator().eval()
    x0 = 0.5 + 0.05 * torch.randn(1, 68, 2)
    for frames in (7, 120):
        motion = generator.generate(x0, torch.randn(1, 4 * frames, 26))
        assert motion.shape == (1, frames, 68, 2) and not motion.requires_grad and torch.isfinite(motion).all()
    history = x0[:, None].repeat(1, 3, 1, 1)
    torch.testing.assert_close(
        generator.generate(x0, torch.ones(1, 40, 26)), generator.generate(None, torch.ones(1, 40, 26), history=history)
    )


def test_the_positions_alone_train_every_branch():
    """Every parameter gets a gradient from some output (tests/models/test_modeling_common.py); here the positions
    alone, the input of every generator loss, reach each branch's slice of the grouped audio trunk."""
    generator = tiny_generator()
    warmup, audio = inputs()
    generator(warmup, audio).positions.pow(2).sum().backward()
    per_branch = generator.trunk_audio.weight.grad.view(4, -1).abs().sum(1)
    assert (per_branch > 0).all()


@pytest.mark.parametrize(
    "overrides", [{"num_branches": 1}, {"temporal_module": "transformer", "transformer_heads": 2}, {"merge": "sigmoid"}]
)
def test_ablation_and_option_configs_run(overrides):
    generator = tiny_generator(**overrides)
    warmup, audio = inputs()
    out = generator(warmup, audio)
    assert out.positions.shape == (2, 20, 68, 2) and out.branch_weights.shape[2] == overrides.get("num_branches", 4)


def test_generator_config_validation():
    with pytest.raises(ValueError, match="temporal_module='gru'"):
        MSSyncGeneratorConfig(temporal_module="gru")
    with pytest.raises(ValueError, match="num_warmup_frames=0"):
        MSSyncGeneratorConfig(num_warmup_frames=0)


def test_discriminators_score_frames_sequences_and_pairs():
    torch.manual_seed(0)
    critics = MSSyncDiscriminators(MSSyncDiscriminatorConfig.from_preset("tiny"))
    warmup, continuation = 0.5 + 0.05 * torch.randn(4, 3, 68, 2), 0.5 + 0.05 * torch.randn(4, 40, 68, 2)
    out = critics(warmup, continuation)
    assert out.frame_scores.shape == (4, 40) and out.sequence_scores.shape == (4,) and out.pair_scores.shape == (2,)
    starts = {
        w: s.tolist()
        for (s, _), w in zip(critics.sequence_critic.chunks(torch.zeros(1, 43, 16), 3), (5, 10, 20, 40), strict=False)
    }
    assert starts[5] == list(range(-3, 36, 2)) and starts[40] == [-3]
    with pytest.raises(ValueError, match="even batch"):
        critics(warmup[:3], continuation[:3])
    with torch.no_grad():  # the critics read the continuation: another one scores differently
        critics.eval()  # (no power iteration of the spectral norms between the two calls)
        same, moved = critics(warmup, continuation), critics(warmup, continuation + 0.1)
    assert not torch.allclose(same.sequence_scores, moved.sequence_scores)
    assert not torch.allclose(same.frame_scores, moved.frame_scores)


def test_multiscale_sync_loss_backpropagates_into_generated_positions():
    torch.manual_seed(0)
    syncers = MSSyncSyncerModel(MSSyncSyncerConfig.from_preset("tiny")).eval().requires_grad_(False)
    generator = tiny_generator()
    warmup, audio = inputs(frames=40)
    positions = generator(warmup, audio).positions
    loss, terms = multiscale_sync_loss(syncers, positions, audio)
    assert set(terms) == {1, 2, 3, 4}
    with torch.no_grad():  # each level's term is minus its mean window cosine; the loss is their mean
        scores = syncers(positions, audio).scores
    for level, term in terms.items():
        torch.testing.assert_close(term.detach(), -scores[level - 1].mean())
    torch.testing.assert_close(loss, torch.stack(list(terms.values())).mean())
    loss.backward()
    assert generator.trunk_state.weight.grad.abs().sum() > 0
    single, terms = multiscale_sync_loss(syncers, positions.detach(), audio, levels=[1])
    assert list(terms) == [1]


@pytest.mark.parametrize(
    "overrides", [{}, {"num_branches": 1}, {"merge": "sigmoid", "num_warmup_frames": 1}, {"branch_blocks": 0}]
)
def test_compiled_rollout_matches_the_pytorch_path(overrides):
    generator = tiny_generator(**overrides).eval()
    x0 = 0.5 + 0.05 * torch.randn(2, 68, 2)
    audio = torch.randn(2, 4 * 60, 26)
    generator.compiled_rollout = False
    reference = generator.generate(x0, audio)
    generator.compiled_rollout = True
    compiled = generator.generate(x0, audio)
    assert compiled.shape == reference.shape == (2, 60, 68, 2)
    torch.testing.assert_close(compiled, reference, atol=2e-5, rtol=1e-4)
