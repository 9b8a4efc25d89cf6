"""The shared ConvNeXt-1D block: its matrix-product path equals the plain convolutions."""

import pytest
import torch
from torch import nn

from talkhead.models.blocks import ConvNeXt1DBlock, pointwise_conv


@pytest.mark.parametrize(
    "in_ch, out_ch, kernel, stride, groups",
    [(8, 16, 3, 2, 1), (8, 8, 3, 1, 1), (16, 16, 1, 1, 4), (16, 32, 1, 1, 4), (12, 24, 1, 2, 1)],
)
def test_block_matches_its_convolutions(in_ch, out_ch, kernel, stride, groups):
    torch.manual_seed(0)
    block = ConvNeXt1DBlock(in_ch, out_ch, kernel, stride, expansion=2, groups=groups)
    x = torch.randn(3, in_ch, 9)
    reference = block.activation(
        block.project(block.activation(block.expand(block.norm(block.depthwise(x))))) + block.shortcut(x)
    )
    torch.testing.assert_close(block(x), reference, atol=1e-5, rtol=1e-5)


def test_pointwise_conv_of_a_single_step_and_gradients():
    torch.manual_seed(0)
    conv = nn.Conv1d(12, 8, 1, groups=4)
    x = torch.randn(5, 12, 1, requires_grad=True)
    torch.testing.assert_close(pointwise_conv(conv, x), conv(x))
    pointwise_conv(conv, x).sum().backward()
    assert x.grad is not None and conv.weight.grad.abs().sum() > 0
