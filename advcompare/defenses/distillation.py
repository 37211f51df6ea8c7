"""Defensive distillation (paper §2.3.4, Papernot et al. 2016): a teacher trained at
temperature T labels the training data with soft labels softmax(z / T); a student of the same
architecture is trained on them at T and deployed at T = 1.

Deployed at T = 1 its soft-max saturates, so cross-entropy gradients vanish (the preflight's
``zero_gradients``): a weak attack, not a strong defense. The adaptive attack (Carlini &
Wagner 2016, "Defensive Distillation is Not Robust to Adversarial Examples") gives the
gradient attacks whose loss reads the soft-max (I-FGSM, PGD, FGSM, DDN) a margin loss on the
logits divided by T (:class:`MarginOverT`); CW, DeepFool and FMN already work on logit
margins and attack the deployed logits. Either way, the deployed model (T = 1) grades the
examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from advcompare.attacks.record import BOUNDED, AttackRecord
from advcompare.data.datasets import Dataset
from advcompare.defenses.defended import AdaptiveView, Views, trained_model
from advcompare.models.cnn import PaperCNN, channel_stats
from advcompare.models.train import TrainConfig, fit
from advcompare.models.user_model import LogProbabilities, instantiate


@dataclass
class Distilled:
    """The deployed student (T = 1), its teacher, and both loss histories."""

    student: nn.Module  # the paper CNN, or a user's model (``factory``)
    teacher: nn.Module
    temperature: float
    teacher_history: list[dict[str, float]]
    student_history: list[dict[str, float]]


@torch.no_grad()
def soft_labels(
    teacher: nn.Module,
    x: torch.Tensor,
    temperature: float,
    device: torch.device,
    batch_size: int = 512,
) -> torch.Tensor:
    """softmax(z / T) of the teacher for every image of ``x`` (rows sum to 1)."""
    teacher.eval()
    return torch.cat(
        [
            F.softmax(teacher(x[i : i + batch_size].to(device)) / temperature, dim=1).cpu()
            for i in range(0, len(x), batch_size)
        ]
    )


def distill(
    dataset: Dataset,
    config: TrainConfig,
    temperature: float,
    device: torch.device,
    factory: str = "",
) -> Distilled:
    """Train teacher and student at ``temperature``; the student is returned for T = 1.

    ``factory`` (``package.module:factory``): teacher and student are fresh modules of the
    user's model instead of the paper CNN."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if factory:

        def fresh() -> nn.Module:  # log_softmax on top: fit reads log-probabilities
            return LogProbabilities(instantiate(factory))
    else:
        mean, std = channel_stats(dataset.train.x)

        def fresh() -> nn.Module:
            return PaperCNN(dataset.num_classes, mean, std)

    torch.manual_seed(config.seed)
    teacher = fresh().to(device)
    teacher_history = fit(
        teacher, dataset, config, device, desc="distill: teacher", temperature=temperature
    )
    targets = (
        soft_labels(teacher, dataset.train.x, temperature, device),
        soft_labels(teacher, dataset.val.x, temperature, device),
    )
    torch.manual_seed(config.seed + 1)
    student = fresh().to(device)
    student_history = fit(
        student,
        dataset,
        config,
        device,
        desc="distill: student",
        temperature=temperature,
        targets=targets,
    )
    if isinstance(student, LogProbabilities) and isinstance(teacher, LogProbabilities):
        student, teacher = student.inner, teacher.inner
    return Distilled(student.eval(), teacher.eval(), temperature, teacher_history, student_history)


def train(
    params: dict[str, Any],
    base: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    device: torch.device,
    attacks: Sequence[Any] = (),
    factory: str = "",
) -> tuple[nn.Module, list[dict[str, float]]]:
    """The registry's training step: a fresh teacher and student (the base model is not
    used: distillation trains from scratch), the student and its history kept."""
    result = distill(dataset, config, params["temperature"], device, factory=factory)
    return result.student, result.student_history


class MarginOverT(nn.Module):
    """The deployed model's logits divided by ``temperature``, with every class but the top
    two pushed far below them (a constant, no gradient). Cross-entropy on these outputs is
    softplus(−margin / T), margin = logit of the predicted class − its strongest rival's:
    the direction of Carlini & Wagner's margin loss, without the saturation of soft-max at
    T = 1. The top class stays the top class, so predictions are the deployed model's.
    (The paper CNN's log-probabilities differ from logits by a per-sample constant, which
    the margin ignores.)"""

    #: How far below the rival (after division by T) the other classes are put.
    GAP = 50.0

    def __init__(self, model: nn.Module, temperature: float) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.model = model
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.model(x) / self.temperature
        top = z.detach().topk(min(2, z.shape[1]), dim=1)
        keep = torch.zeros_like(z, dtype=torch.bool).scatter_(1, top.indices, True)
        floor = top.values[:, -1:] - self.GAP
        return torch.where(keep, z, floor.expand_as(z))


#: Minimum-norm attacks whose loss reads the soft-max (DDN: cross-entropy; NewtonFool: the
#: class probability) rather than a logit margin, and so saturates like the bounded ones.
SOFTMAX_MINIMUM_NORM = ("ddn", "newtonfool")


def softmax_loss_attacks(record: AttackRecord) -> bool:
    """Gradient attacks whose loss saturates with the soft-max: the bounded ones (I-FGSM,
    PGD, FGSM: cross-entropy) and :data:`SOFTMAX_MINIMUM_NORM`. CW, EAD, DeepFool and FMN
    work on logit margins already, and attack the deployed logits."""
    return record.gradient and (record.kind == BOUNDED or record.name in SOFTMAX_MINIMUM_NORM)


def build(params: dict[str, Any], base: nn.Module, trained: nn.Module | None) -> Views:
    """The deployed student (T = 1): graded, attacked white-box; gradient attacks with a
    soft-max loss run on its margin over T (adaptive); the base model crafts oblivious
    examples."""
    views = trained_model(params, base, trained)
    t = float(params["temperature"])
    note = (
        f"margin of the logits / T (T = {t:g}) instead of saturated soft-max "
        "(Carlini & Wagner 2016); graded at T = 1"
    )
    margin = MarginOverT(views.classifier, t).eval()
    return views._replace(adaptive=(AdaptiveView(margin, softmax_loss_attacks, note),))
