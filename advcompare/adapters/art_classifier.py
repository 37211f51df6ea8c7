"""ART's view of a torch model: the classifier every ART attack gets (Nicolae et al. 2018,
arXiv:1807.01069), on the batch's device, with the model's outputs as logits or, for the
attacks that read them so, as probabilities."""

from __future__ import annotations

import torch
from torch import nn

from advcompare.adapters.base import num_classes_of


class ArtView(nn.Module):
    """What ART is shown: inputs cast to ``x``'s dtype (ART's decision-based attacks pass
    float64 arrays, which a float32 model refuses) and, for attacks that read the outputs as
    probabilities (NewtonFool), the softmax of the model's outputs."""

    def __init__(self, model: nn.Module, dtype: torch.dtype, probabilities: bool) -> None:
        super().__init__()
        self.model = model
        self.dtype = dtype
        self.probabilities = probabilities

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x.to(self.dtype))
        return out.softmax(dim=1) if self.probabilities else out


def art_classifier(model: nn.Module, x: torch.Tensor, probabilities: bool = False):
    """An ART ``PyTorchClassifier`` around ``model`` for inputs shaped like ``x``
    (``probabilities``: ART sees softmax outputs, see :class:`ArtView`)."""
    from art.estimators.classification import PyTorchClassifier

    num_classes = num_classes_of(model, x)
    return PyTorchClassifier(
        model=ArtView(model, x.dtype, probabilities),
        loss=nn.CrossEntropyLoss(),
        input_shape=tuple(x.shape[1:]),
        nb_classes=num_classes,
        clip_values=(0.0, 1.0),
        device_type="gpu" if x.is_cuda else "cpu",
    )
