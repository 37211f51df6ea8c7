"""The paper CNN's cheaper evaluation order and the frozen weights during crafting are the
same computation as the paper's (issue 31: the default run within 3 minutes): each checked
against the layer-by-layer order of Figure 1, on real digits."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import jacrev, vmap

from advcompare.adapters.entry import AttackEntry
from advcompare.attacks.spec import AttackSpec
from advcompare.grid.crafting import craft
from advcompare.models.cnn import ChannelsLast, PaperCNN


def _paper_order(model: PaperCNN, x: torch.Tensor) -> torch.Tensor:
    """Figure 1 as written: every layer of every block in turn (conv, batch norm, ReLU, max
    pool, dropout), in the layout the training loop uses."""
    h = model.normalize(x)
    if not model.training:
        h = ChannelsLast.apply(h)
    for block in model.features:
        for layer in block:
            h = layer(h)
    return model.classifier(h)


@pytest.fixture()
def cnn(trained_digits) -> PaperCNN:
    model = copy.deepcopy(trained_digits.model)
    for block in model.features:  # batch-norm statistics far from the identity
        block[1].weight.data.uniform_(0.5, 1.5)
        block[1].bias.data.uniform_(-0.2, 0.2)
    return model


def _input_gradient(forward, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = forward(x)
    (grad,) = torch.autograd.grad(out[:, 0].sum(), x)
    return out.detach(), grad


def test_eval_mode_folds_batch_norm_and_gives_the_papers_outputs_and_gradients(cnn, batch):
    cnn.eval()
    ours, grad = _input_gradient(cnn, batch[0])
    paper, paper_grad = _input_gradient(lambda t: _paper_order(cnn, t), batch[0])
    assert torch.allclose(ours, paper, atol=1e-5)
    assert grad.is_contiguous()  # the caller's layout: a library may .view() its gradient
    # a digit's flat background puts exact ties in max-pool windows, and a rounding apart
    # sends the gradient to another of the tied pixels (both are subgradients): the same
    # gradient on all but a few pixels, and exactly the same on images without ties
    close = (grad - paper_grad).abs() <= 1e-5 * float(paper_grad.abs().max())
    assert float(close.float().mean()) > 0.999
    noise = torch.rand(batch[0].shape, generator=torch.Generator().manual_seed(0))
    _, grad = _input_gradient(cnn, noise)
    _, paper_grad = _input_gradient(lambda t: _paper_order(cnn, t), noise)
    assert torch.allclose(grad, paper_grad, atol=1e-5 * float(paper_grad.abs().max()))


def test_training_mode_is_the_papers_order_bit_for_bit(cnn, batch):
    cnn.train()
    torch.manual_seed(3)
    ours = cnn(batch[0])
    torch.manual_seed(3)  # the same dropout masks
    assert torch.equal(ours, _paper_order(cnn, batch[0]))


def test_per_sample_jacobians_go_through_vmap(cnn, batch):
    cnn.eval()
    x = batch[0][:4]
    jac = vmap(jacrev(lambda t: cnn(t[None])[0]))(x)
    loop = torch.stack(
        [torch.autograd.functional.jacobian(lambda t: cnn(t[None])[0], xi) for xi in x]
    )
    assert jac.shape == (4, 10, 3, 32, 32) and torch.allclose(jac, loop, atol=1e-6)


def test_crafting_leaves_no_gradient_on_the_callers_weights(trained_digits, digits):
    """Foolbox back-propagates with ``loss.backward()``: with the weights frozen during
    crafting it computes input gradients only, and the weights keep their flags and ``.grad``."""
    model = copy.deepcopy(trained_digits.model).eval()
    marker = torch.full_like(model.classifier[1].weight, 0.5)
    model.classifier[1].weight.grad = marker
    entry = AttackEntry("deepfool", AttackSpec.create("deepfool", steps=5), "foolbox")
    data = digits.test
    data = type(data)(data.x[:16], data.y[:16])
    crafted = craft(model, entry, data, 16, torch.device("cpu"), 10, 0)
    assert crafted.backward_samples > 0  # it did back-propagate
    assert all(p.requires_grad for p in model.parameters())
    assert model.classifier[1].weight.grad is marker
    assert all(p.grad is None for n, p in model.named_parameters() if n != "classifier.1.weight")
