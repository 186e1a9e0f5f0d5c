"""A large model built only from torch's own modules: a stack of ``nn.TransformerEncoderLayer``.

The defaults (32 layers, d_model 4096, 32 heads, feed-forward 16384) give about 6.4B parameters,
too big to build for real on a small machine and the reason the meta device exists.
``enable_nested_tensor=False`` keeps the padding-free nested-tensor path off, and on the meta
device the fused inference kernel (``torch._transformer_encoder_layer_fwd``) is never taken (it
needs a CPU or CUDA tensor), so every matmul, softmax and norm reaches the dispatcher as an aten op.
"""

from __future__ import annotations

from torch import nn

__all__ = ["transformer_encoder"]


def transformer_encoder(
    d_model: int = 4096,
    nhead: int = 32,
    num_layers: int = 32,
    dim_feedforward: int = 16384,
) -> nn.TransformerEncoder:
    """Pre-norm GELU encoder, batch first (``[B, T, d_model]`` in and out), with a final LayerNorm."""
    layer = nn.TransformerEncoderLayer(
        d_model, nhead, dim_feedforward, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
