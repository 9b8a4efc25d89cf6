"""A compiled autoregressive rollout of :class:`MSSyncGenerator` for inference on a CPU.

Generating one stream is a chain of small matrix-vector products, one frame after the other: in
eager PyTorch each frame costs some seventy operator dispatches, which caps generation at a few
dozen frames per second. Here the whole rollout loop runs in one numba-compiled function over the
model's weights, so a frame costs only its arithmetic. The audio pyramid (convolutions over the
whole sequence) still runs in PyTorch, once. Only the LSTM temporal module is supported; the
it computes in float32, as the PyTorch path, and matches it to rounding (tests/models/test_ms_sync_generator.py).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit

from ..blocks import ChannelLayerNorm, ConvNeXt1DBlock


def _array(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().float().cpu().numpy())


def _norm_parameters(norm) -> tuple[np.ndarray, np.ndarray, float]:
    if isinstance(norm, ChannelLayerNorm):
        return _array(norm.norm.weight), _array(norm.norm.bias), float(norm.norm.eps)
    return _array(norm.weight), _array(norm.bias), float(norm.eps)


def _bias(conv: torch.nn.Conv1d) -> np.ndarray:
    assert conv.bias is not None  # ConvNeXt1DBlock builds every convolution with a bias
    return _array(conv.bias)


def _grouped(conv: torch.nn.Conv1d) -> np.ndarray:
    """Conv1d(k=1) weight (out, in / groups, 1) -> (groups, out / groups, in / groups)."""
    weight = conv.weight.detach()[..., 0]
    return _array(weight.view(conv.groups, weight.shape[0] // conv.groups, weight.shape[1]))


def _block(block: ConvNeXt1DBlock) -> tuple:
    gamma, beta, eps = _norm_parameters(block.norm)
    if isinstance(block.shortcut, torch.nn.Identity):
        short_w = np.zeros((1, 1, 1), np.float32)
        short_b = short_g = short_beta = np.zeros(1, np.float32)
        short_eps, projected = 1e-5, False
    else:
        conv, norm = block.shortcut
        assert isinstance(conv, torch.nn.Conv1d)  # ConvNeXt1DBlock's projecting shortcut: conv, then norm
        short_w, short_b = _grouped(conv), _bias(conv)
        short_g, short_beta, short_eps = _norm_parameters(norm)
        projected = True
    return (
        _array(block.depthwise.weight[:, 0, 0]),
        _bias(block.depthwise),
        gamma,
        beta,
        eps,
        _grouped(block.expand),
        _bias(block.expand),
        _grouped(block.project),
        _bias(block.project),
        projected,
        short_w,
        short_b,
        short_g,
        short_beta,
        short_eps,
    )


class FastRollout:
    """Weights of one generator, laid out for :func:`_rollout`."""

    def __init__(self, generator):
        config = generator.config
        if config.temporal_module != "lstm":
            raise ValueError("the compiled rollout supports the LSTM temporal module only")
        layers = generator.embedding.layers
        lstm = generator.temporal
        self.embedding = (
            _array(layers[0].weight),
            _array(layers[0].bias),
            _array(layers[1].weight),
            _array(layers[1].bias),
            float(layers[1].eps),
            _array(layers[2].weight),
            _array(layers[2].bias),
            _array(layers[4].weight),
            _array(layers[4].bias),
        )
        self.lstm = (_array(lstm.weight_ih), _array(lstm.weight_hh), _array(lstm.bias_ih + lstm.bias_hh))
        self.trunk = (_array(generator.trunk_state.weight), _array(generator.trunk_state.bias))
        self.heads = []
        for head in (generator.branches.velocity, generator.branches.mask):
            *blocks, final = head
            self.heads.append(([_block(b) for b in blocks], _grouped(final), _array(final.bias)))
        self.mean, self.std = _array(generator.landmark_mean), _array(generator.landmark_std)
        self.branches = config.num_branches
        self.softmax = config.merge == "softmax"
        self.hidden = config.temporal_hidden_dim

    def run(self, history: np.ndarray, audio_trunk: np.ndarray, num_frames: int) -> np.ndarray:
        """(n_obs, 136) warm-up positions, (T, b * width) audio trunk -> (T, 136) predictions.

        Row 0 is the first warm-up frame; row t + 1 is predicted from row t's input (the ground truth
        during the warm-up, the previous prediction after it), as in ``MSSyncGenerator.forward``.
        """
        velocity_head, mask_head = self.heads
        # mypy lets an unpacked tuple of unknown length fill every remaining parameter, so it miscounts the
        # arguments after the unpacked _stack(...) tuples
        return _rollout(  # type: ignore[call-arg]
            np.ascontiguousarray(history, np.float32),
            np.ascontiguousarray(audio_trunk, np.float32),
            num_frames,
            self.mean,
            self.std,
            *self.embedding,
            *self.lstm,
            *self.trunk,
            *_stack(velocity_head[0]),
            velocity_head[1],
            velocity_head[2],
            *_stack(mask_head[0]),
            mask_head[1],
            mask_head[2],
            self.branches,
            self.softmax,
            self.hidden,
        )


def _stack(blocks: list[tuple]) -> tuple:
    """A head's blocks as equal-shaped arrays: the identity blocks stacked, then the projecting last block."""
    identity = blocks[:-1]
    last = blocks[-1]
    if identity:
        stacked = tuple(np.stack([b[i] for b in identity]) for i in (0, 1, 2, 3, 5, 6, 7, 8))
        eps = np.array([b[4] for b in identity], np.float32)
    else:  # no identity block: empty stacks of the right rank
        width = last[0].shape[0]
        stacked = (np.zeros((0, width), np.float32),) * 4 + (
            np.zeros((0, 1, 1, 1), np.float32),
            np.zeros((0, 1), np.float32),
            np.zeros((0, 1, 1, 1), np.float32),
            np.zeros((0, width), np.float32),
        )
        eps = np.zeros(0, np.float32)
    return stacked + (eps,) + last


@njit(cache=True, fastmath=False)
def _gelu(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = 0.5 * x[i] * (1.0 + math.erf(x[i] / math.sqrt(2.0)))
    return out


@njit(cache=True)
def _group_norm(x, groups, gamma, beta, eps):
    out = np.empty_like(x)
    size = x.shape[0] // groups
    for g in range(groups):
        part = x[g * size : (g + 1) * size]
        mean = part.mean()
        var = ((part - mean) ** 2).mean()
        scale = 1.0 / math.sqrt(var + eps)
        for i in range(size):
            j = g * size + i
            out[j] = (x[j] - mean) * scale * gamma[j] + beta[j]
    return out


@njit(cache=True)
def _grouped_matvec(weight, bias, x):
    groups, out_size, in_size = weight.shape
    out = np.empty(groups * out_size, np.float32)
    for g in range(groups):
        out[g * out_size : (g + 1) * out_size] = np.dot(weight[g], x[g * in_size : (g + 1) * in_size])
    return out + bias


@njit(cache=True)
def _convnext(
    x, groups, dw_w, dw_b, gamma, beta, eps, ex_w, ex_b, pr_w, pr_b, projected, sh_w, sh_b, sh_g, sh_beta, sh_eps
):
    hidden = _group_norm(x * dw_w + dw_b, groups, gamma, beta, eps)
    hidden = _grouped_matvec(pr_w, pr_b, _gelu(_grouped_matvec(ex_w, ex_b, hidden)))
    if projected:
        shortcut = _group_norm(_grouped_matvec(sh_w, sh_b, x), groups, sh_g, sh_beta, sh_eps)
    else:
        shortcut = x
    return _gelu(hidden + shortcut)


@njit(cache=True)
def _head(
    x,
    groups,
    dw_w,
    dw_b,
    gamma,
    beta,
    ex_w,
    ex_b,
    pr_w,
    pr_b,
    eps,
    l_dw_w,
    l_dw_b,
    l_gamma,
    l_beta,
    l_eps,
    l_ex_w,
    l_ex_b,
    l_pr_w,
    l_pr_b,
    l_projected,
    l_sh_w,
    l_sh_b,
    l_sh_g,
    l_sh_beta,
    l_sh_eps,
    final_w,
    final_b,
):
    for k in range(dw_w.shape[0]):
        x = _convnext(
            x,
            groups,
            dw_w[k],
            dw_b[k],
            gamma[k],
            beta[k],
            eps[k],
            ex_w[k],
            ex_b[k],
            pr_w[k],
            pr_b[k],
            False,
            l_sh_w,
            l_sh_b,
            l_sh_g,
            l_sh_beta,
            l_sh_eps,
        )
    x = _convnext(
        x,
        groups,
        l_dw_w,
        l_dw_b,
        l_gamma,
        l_beta,
        l_eps,
        l_ex_w,
        l_ex_b,
        l_pr_w,
        l_pr_b,
        l_projected,
        l_sh_w,
        l_sh_b,
        l_sh_g,
        l_sh_beta,
        l_sh_eps,
    )
    return _grouped_matvec(final_w, final_b, x)


@njit(cache=True)
def _rollout(
    history,
    audio_trunk,
    num_frames,
    mean,
    std,
    e_w1,
    e_b1,
    e_g,
    e_beta,
    e_eps,
    e_w2,
    e_b2,
    e_w3,
    e_b3,
    w_ih,
    w_hh,
    b_lstm,
    t_w,
    t_b,
    v_dw_w,
    v_dw_b,
    v_gamma,
    v_beta,
    v_ex_w,
    v_ex_b,
    v_pr_w,
    v_pr_b,
    v_eps,
    v_l_dw_w,
    v_l_dw_b,
    v_l_gamma,
    v_l_beta,
    v_l_eps,
    v_l_ex_w,
    v_l_ex_b,
    v_l_pr_w,
    v_l_pr_b,
    v_l_projected,
    v_l_sh_w,
    v_l_sh_b,
    v_l_sh_g,
    v_l_sh_beta,
    v_l_sh_eps,
    v_final_w,
    v_final_b,
    m_dw_w,
    m_dw_b,
    m_gamma,
    m_beta,
    m_ex_w,
    m_ex_b,
    m_pr_w,
    m_pr_b,
    m_eps,
    m_l_dw_w,
    m_l_dw_b,
    m_l_gamma,
    m_l_beta,
    m_l_eps,
    m_l_ex_w,
    m_l_ex_b,
    m_l_pr_w,
    m_l_pr_b,
    m_l_projected,
    m_l_sh_w,
    m_l_sh_b,
    m_l_sh_g,
    m_l_sh_beta,
    m_l_sh_eps,
    m_final_w,
    m_final_b,
    branches,
    softmax,
    hidden_size,
):
    points = history.shape[1]
    landmarks = points // 2
    n_obs = history.shape[0]
    positions = np.empty((num_frames, points), np.float32)
    positions[0] = history[0]
    current = history[0].copy()
    h = np.zeros(hidden_size, np.float32)
    c = np.zeros(hidden_size, np.float32)
    for t in range(num_frames - 1):
        x = (current - mean) / std
        e = np.dot(e_w1, x) + e_b1
        mu = np.float32(e.mean())  # float32 scalars: a float64 one would turn every later array into float64
        var = np.float32(((e - mu) ** 2).mean())
        e = (e - mu) * np.float32(1.0 / math.sqrt(var + e_eps)) * e_g + e_beta
        e = np.dot(e_w2, e) + e_b2
        coords = np.dot(e_w3, _gelu(e)) + e_b3
        gates = np.dot(w_ih, coords) + np.dot(w_hh, h) + b_lstm
        for j in range(hidden_size):
            i_gate = 1.0 / (1.0 + math.exp(-gates[j]))
            f_gate = 1.0 / (1.0 + math.exp(-gates[hidden_size + j]))
            g_gate = math.tanh(gates[2 * hidden_size + j])
            o_gate = 1.0 / (1.0 + math.exp(-gates[3 * hidden_size + j]))
            c[j] = f_gate * c[j] + i_gate * g_gate
            h[j] = o_gate * math.tanh(c[j])
        trunk = np.dot(t_w, np.concatenate((h, coords))) + t_b + audio_trunk[t + 1]
        trunk = _gelu(trunk)
        velocities = _head(
            trunk,
            branches,
            v_dw_w,
            v_dw_b,
            v_gamma,
            v_beta,
            v_ex_w,
            v_ex_b,
            v_pr_w,
            v_pr_b,
            v_eps,
            v_l_dw_w,
            v_l_dw_b,
            v_l_gamma,
            v_l_beta,
            v_l_eps,
            v_l_ex_w,
            v_l_ex_b,
            v_l_pr_w,
            v_l_pr_b,
            v_l_projected,
            v_l_sh_w,
            v_l_sh_b,
            v_l_sh_g,
            v_l_sh_beta,
            v_l_sh_eps,
            v_final_w,
            v_final_b,
        )
        logits = _head(
            trunk,
            branches,
            m_dw_w,
            m_dw_b,
            m_gamma,
            m_beta,
            m_ex_w,
            m_ex_b,
            m_pr_w,
            m_pr_b,
            m_eps,
            m_l_dw_w,
            m_l_dw_b,
            m_l_gamma,
            m_l_beta,
            m_l_eps,
            m_l_ex_w,
            m_l_ex_b,
            m_l_pr_w,
            m_l_pr_b,
            m_l_projected,
            m_l_sh_w,
            m_l_sh_b,
            m_l_sh_g,
            m_l_sh_beta,
            m_l_sh_eps,
            m_final_w,
            m_final_b,
        )
        step = np.zeros(points, np.float32)
        for k in range(landmarks):
            if softmax:
                top = logits[k]
                for b in range(1, branches):
                    top = max(top, logits[b * landmarks + k])
                total = 0.0
                for b in range(branches):
                    total += math.exp(logits[b * landmarks + k] - top)
            for b in range(branches):
                z = logits[b * landmarks + k]
                weight = math.exp(z - top) / total if softmax else 1.0 / (1.0 + math.exp(-z))
                step[2 * k] += weight * velocities[b * points + 2 * k]
                step[2 * k + 1] += weight * velocities[b * points + 2 * k + 1]
        predicted = current + step * std
        positions[t + 1] = predicted
        current = history[t + 1].copy() if t + 1 < n_obs else predicted
    return positions
