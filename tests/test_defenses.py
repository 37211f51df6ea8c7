"""The paper's four defenses (§2.3): each changes what it should and nothing else."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import transforms

from advcompare.adapters import get_backend
from advcompare.adapters.entry import AttackEntry
from advcompare.attacks.spec import AttackSpec
from advcompare.defenses.adversarial_training import adversarially_train
from advcompare.defenses.distillation import MarginOverT, distill, soft_labels
from advcompare.defenses.eot import ExpectationOverTransformation
from advcompare.defenses.gradient_masking import GradientMasked, bpda_view
from advcompare.defenses.smoothing import GaussianBlur, smoothed
from advcompare.grid.runner import attack_subset
from advcompare.models.cnn import PaperCNN, predict
from advcompare.models.preflight import preflight, raised
from advcompare.models.train import TrainConfig

IFGSM = AttackSpec.create("ifgsm", eps=0.1, step_size=0.02, steps=10)


@pytest.fixture(autouse=True)
def seeded_noise():
    """Every test here draws its gradient noise and random starts from the same seeds,
    whatever ran before it (the defenses' noise comes from torch's and NumPy's generators)."""
    torch.manual_seed(0)
    np.random.seed(0)


def _input_grad(model, x, y):
    xg = x.clone().requires_grad_(True)
    F.nll_loss(model(xg), y).backward()
    return xg.grad


def test_smoothing_equals_torchvisions_blur_and_only_blurs(model, batch):
    x, _ = batch
    blur = GaussianBlur(kernel_size=5, sigma=1.5)
    assert torch.allclose(blur(x), transforms.GaussianBlur(5, sigma=1.5)(x))
    defended = smoothed(model, 5, 1.5).eval()
    assert torch.equal(defended(x), model(blur(x)))
    x_req = x.clone().requires_grad_(True)
    defended(x_req).sum().backward()  # differentiable: an adaptive attack can see through it
    assert x_req.grad is not None and x_req.grad.abs().sum() > 0


def test_gradient_masking_keeps_outputs_and_adds_noise_of_the_configured_scale(model, batch):
    x, y = batch
    eps = 0.5
    masked = GradientMasked(model, epsilon=eps).eval()
    assert torch.equal(masked(x), model(x))
    clean = _input_grad(model, x, y)
    noise = _input_grad(masked, x, y) - clean
    assert noise.std().item() == pytest.approx(eps, rel=0.05)
    assert noise.mean().abs().item() < 0.05 * eps
    assert torch.equal(_input_grad(GradientMasked(model, 0.0), x, y), clean)


def test_bpda_view_keeps_the_masked_outputs_and_gives_the_undefended_gradient(model, batch):
    """BPDA with the identity backward (Athalye et al. 2018 §4.1) through the noise layer:
    the outputs are the masked pipeline's, the input gradient the undefended model's."""
    x, y = batch
    masked = GradientMasked(model, epsilon=5.0).eval()
    view = bpda_view(masked).eval()
    assert torch.equal(view(x), masked(x))
    assert torch.equal(_input_grad(view, x, y), _input_grad(model, x, y))


def test_the_distillation_view_keeps_predictions_and_the_margins_direction(model, batch):
    """MarginOverT: arg-max unchanged; cross-entropy on it follows the margin of the top two
    logits divided by T (not the saturated soft-max)."""
    x, y = batch
    saturated = nn.Sequential(model, _Times(50.0)).eval()  # logits × 50: soft-max saturates
    view = MarginOverT(saturated, 50.0).eval()
    assert torch.equal(view(x).argmax(1), saturated(x).argmax(1))
    kept = (view(x) > view(x).max(1, keepdim=True).values - MarginOverT.GAP / 2).sum(1)
    assert (kept <= 2).all()

    def ce_grad(m):  # the loss I-FGSM uses
        xg = x.clone().requires_grad_(True)
        F.cross_entropy(m(xg), y).backward()
        return xg.grad.flatten(1).abs().sum(1)

    assert (ce_grad(saturated) == 0).any()  # saturated: some images give no gradient
    assert (ce_grad(view) > 0).all()


class _Times(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return v * self.factor


def test_eot_averages_the_noise_away(model, batch):
    x, y = batch
    masked = GradientMasked(model, epsilon=0.5).eval()
    clean = _input_grad(model, x, y)
    single = (_input_grad(masked, x, y) - clean).std().item()
    averaged = (_input_grad(ExpectationOverTransformation(masked, k=16), x, y) - clean).std()
    assert averaged.item() == pytest.approx(single / 4, rel=0.15)  # 1/sqrt(16)


def test_eot_restores_ifgsm_against_gradient_masking(model, digits):
    x, y = digits.test.x[:32], digits.test.y[:32]
    typical = _input_grad(model, x, y).abs().mean().item()
    # noise 5x the typical gradient entry drowns the signal; 25 draws cut it to 1x
    masked = GradientMasked(model, epsilon=5 * typical).eval()
    attack = get_backend("torchattacks")
    fooled = lambda adv: (predict(model, adv) != y).float().mean().item()  # noqa: E731
    plain = fooled(attack.run(model, x, y, IFGSM))
    oblivious_to_noise = fooled(attack.run(masked, x, y, IFGSM))
    with_eot = fooled(attack.run(ExpectationOverTransformation(masked, k=25), x, y, IFGSM))
    assert oblivious_to_noise < plain - 0.2  # the noisy gradient hurts the attack
    assert with_eot > oblivious_to_noise + 0.2  # averaging the noise away brings it back


def test_preflight_flags_randomness_and_stays_silent_on_the_plain_cnn(model, batch):
    x, y = batch
    assert raised(preflight(model, x, y)) == []

    class Noisy(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, v):
            return self.inner(v + 0.05 * torch.randn_like(v))

    assert "randomized" in raised(preflight(Noisy(model), x, y))
    assert raised(preflight(GradientMasked(model, 0.1), x, y)) == ["randomized_gradients"]
    probs = nn.Sequential(model, nn.Softmax(dim=1))
    assert "outputs_are_probabilities" in raised(preflight(probs, x, y))


def test_distilled_student_matches_the_teachers_soft_labels(digits):
    temperature = 20.0
    result = distill(digits, TrainConfig(epochs=4), temperature, torch.device("cpu"))
    targets = soft_labels(result.teacher, digits.test.x, temperature, torch.device("cpu"))
    student = soft_labels(result.student, digits.test.x, temperature, torch.device("cpu"))
    fresh = soft_labels(PaperCNN(10).eval(), digits.test.x, temperature, torch.device("cpu"))
    kl = lambda p: F.kl_div(p.log(), targets, reduction="batchmean").item()  # noqa: E731
    assert kl(student) < 0.1  # nats: close to the teacher's soft labels
    assert kl(student) < 0.25 * kl(fresh)  # and far closer than an untrained network
    assert (predict(result.student, digits.test.x) == digits.test.y).float().mean() > 0.8
    assert torch.allclose(targets.sum(1), torch.ones(len(targets)), atol=1e-5)


def test_adversarial_training_raises_accuracy_under_ifgsm(digits, trained_digits):
    """Two epochs of I-FGSM training (paper §2.3.1) on the session's digits CNN."""
    base = trained_digits.model.eval()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    entry = AttackEntry(
        "ifgsm", AttackSpec.create("ifgsm", eps=0.1, step_size=0.02, steps=5), "torchattacks"
    )
    data = replace(digits, train=attack_subset(digits.train, 640, 0))  # 10 batches of 64
    defended = adversarially_train(
        base, data, [entry], TrainConfig(), torch.device("cpu"), epochs=2, clean_share=0.0
    )
    batches = -(-len(data.train) // TrainConfig().batch_size)
    assert defended.attacks_used == {"ifgsm/torchattacks": 2 * batches}
    x, y = digits.test.x[:200], digits.test.y[:200]
    attack = get_backend("torchattacks")
    accuracy = lambda m: (predict(m, attack.run(m, x, y, IFGSM)) == y).float().mean()  # noqa
    assert accuracy(defended.model) > accuracy(base) + 0.2
    assert (predict(defended.model, x) == y).float().mean() > 0.85  # clean accuracy kept
    assert not torch.equal(defended.model.classifier[1].weight, base.classifier[1].weight)
    assert all(torch.equal(v, before[k]) for k, v in base.state_dict().items())  # a copy


def test_the_retraining_control_is_another_network_that_transfer_attacks_miss(
    digits, trained_digits
):
    """The retrained control (issue 28, item 6): the base architecture from another seed,
    as accurate as the base, and I-FGSM crafted on the base fools it less than the base
    itself (plain transfer loss, the yardstick for a defense's oblivious gain)."""
    from advcompare.defenses.retrained import train as retrain

    base = trained_digits.model.eval()
    before = {k: v.clone() for k, v in base.state_dict().items()}
    control, history = retrain({"seed": 1}, base, digits, TrainConfig(epochs=5), "cpu")
    assert len(history) == 5
    assert not torch.equal(control.classifier[1].weight, base.classifier[1].weight)
    assert torch.equal(control.normalize.mean, base.normalize.mean)  # same data statistics
    assert all(torch.equal(v, before[k]) for k, v in base.state_dict().items())  # a copy
    x, y = digits.test.x[:200], digits.test.y[:200]
    assert (predict(control, x) == y).float().mean() > 0.85
    x_adv = get_backend("torchattacks").run(base, x, y, IFGSM)
    on_base = (predict(base, x_adv) == y).float().mean()
    on_control = (predict(control, x_adv) == y).float().mean()
    assert on_control > on_base + 0.2


def test_the_retraining_control_refuses_the_base_models_seed(digits, trained_digits):
    from advcompare.defenses.retrained import train as retrain
    from advcompare.errors import ConfigError

    with pytest.raises(ConfigError, match="retrained.seed': 0 is a training seed"):
        retrain({"seed": 0}, trained_digits.model, digits, TrainConfig(epochs=1), "cpu")
