"""Defensive distillation (paper §2.3.4, Papernot et al. 2016): a teacher trained at
temperature T labels the training data with soft labels softmax(z / T); a student of the same
architecture is trained on them at T and deployed at T = 1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from advcompare.data import Dataset
from advcompare.models import PaperCNN, channel_stats
from advcompare.train import TrainConfig, fit
from advcompare.user_model import LogProbabilities, instantiate


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
