"""The paper's CNN (§2.1, Figure 1), the same architecture for every dataset.

Two convolutional blocks (conv, batch norm, ReLU, max pool, dropout) and a fully connected
sequential block ending in log-softmax. Normalisation is the model's first layer, so inputs
and every attack budget (eps) are in pixel units [0, 1].

Figure 1's channel counts are not legible in the text we have; we use 32 and 64 channels,
3×3 kernels with padding 1, 2×2 max pooling and a 128-unit hidden layer. Log-softmax outputs
differ from logits by a per-sample constant, so logit margins (CW, DeepFool) and
cross-entropy (I-FGSM) computed on them equal those on the logits.
"""

from __future__ import annotations

import torch
from torch import nn

ARCHITECTURE_VERSION = "paper-cnn-v1"  # part of the trained-weights cache key


class Normalize(nn.Module):
    """Per-channel standardisation inside the model: (x - mean) / std."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ConvBlock(nn.Sequential):
    """conv 3×3 → batch norm → ReLU → max pool 2×2 → dropout (paper Figure 1), computed in
    a cheaper order that is the same function: max pooling before the ReLU (both monotone,
    so max(relu(a)) = relu(max(a)) bit for bit, and the gradient reaches the same element),
    and in eval mode the batch norm folded into the convolution (an affine map of an affine
    map; ~1e-7 apart in float32). Attacks run in eval mode: ~1.9x per pass here
    (benchmarks/default_run.py). Hooks on the block fire; in eval mode those on its
    convolution and batch norm do not."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        conv, norm, relu, pool, dropout = self
        assert isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d)
        if self.training or norm.running_mean is None:
            h = norm(conv(x))
        else:
            weight, bias = folded_batch_norm(conv, norm)
            h = conv._conv_forward(x, weight, bias)
        return dropout(relu(pool(h)))


def folded_batch_norm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` followed by ``norm`` with its running statistics."""
    assert norm.running_mean is not None and norm.running_var is not None
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    shift = (bias - norm.running_mean) * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return conv.weight * scale.view(-1, 1, 1, 1), shift


def conv_block(c_in: int, c_out: int, dropout: float) -> ConvBlock:
    """conv 3×3 → batch norm → ReLU → max pool 2×2 → dropout (paper Figure 1)."""
    return ConvBlock(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
    )


class PaperCNN(nn.Module):
    """Input (N, 3, 32, 32) in [0, 1] → (N, num_classes) log-probabilities."""

    def __init__(
        self,
        num_classes: int,
        mean: torch.Tensor | None = None,
        std: torch.Tensor | None = None,
        channels: tuple[int, int] = (32, 64),
        hidden: int = 128,
        conv_dropout: float = 0.25,
        fc_dropout: float = 0.5,
    ) -> None:
        super().__init__()
        mean = torch.zeros(3) if mean is None else mean
        std = torch.ones(3) if std is None else std
        self.num_classes = num_classes
        self.normalize = Normalize(mean, std)
        self.features = nn.Sequential(
            conv_block(3, channels[0], conv_dropout),
            conv_block(channels[0], channels[1], conv_dropout),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels[1] * 8 * 8, hidden),
            nn.ReLU(),
            nn.Dropout(fc_dropout),
            nn.Linear(hidden, num_classes),
            nn.LogSoftmax(dim=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.normalize(x)
        if not self.training and h.device.type == "cpu" and h.ndim == 4:
            h = ChannelsLast.apply(h)
        return self.classifier(self.features(h))


class ChannelsLast(torch.autograd.Function):
    """Identity that lays activations out channels-last for the convolutions (oneDNN's faster
    CPU kernels, ~1.4x per pass here: benchmarks/default_run.py) and hands the gradient back in
    the caller's contiguous layout, so an attack library that views its gradient still can."""

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.contiguous(memory_format=torch.channels_last)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
        pass

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad.contiguous()

    @staticmethod
    def vmap(info, in_dims, x):  # type: ignore[no-untyped-def]
        """Under ``torch.func.vmap`` the layout cannot be asked for: pass the input through."""
        return x, in_dims[0]


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of training images, for the model's Normalize layer."""
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return mean, std


def model_device(model: nn.Module) -> torch.device:
    """Where ``model`` computes: its first parameter's or buffer's device (CPU if it has none)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def predict(
    model: nn.Module,
    x: torch.Tensor,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Predicted labels for ``x`` (on the CPU), in eval mode, batch by batch, computed on
    ``device`` (default: the model's own); restores the model's mode."""
    device = model_device(model) if device is None else device
    was_training = model.training
    model.eval()
    try:
        out = [
            model(x[i : i + batch_size].to(device)).argmax(1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)
