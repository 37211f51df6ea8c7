"""Backends behind one interface: same results as the library called directly, and the
caller's model left exactly as it was."""

from __future__ import annotations

import copy

import pytest
import torch
import torchattacks
from torch import nn

from advcompare.adapters import backends_supporting, get_backend, known_backends
from advcompare.analysis.metrics import PassCounter
from advcompare.attacks.spec import AttackSpec
from advcompare.errors import UnknownNameError, UnsupportedSpecError
from advcompare.models.cnn import predict

FAST_SPECS = {
    "ifgsm": AttackSpec.create("ifgsm", eps=0.1, step_size=0.02, steps=5),
    "deepfool": AttackSpec.create("deepfool", steps=3),
    "cw": AttackSpec.create("cw", steps=5, binary_search_steps=2),
    "pixel_swap": AttackSpec.create("pixel_swap", max_swaps=10),
    "one_pixel": AttackSpec.create("one_pixel", steps=1),
    "pixle": AttackSpec.create("pixle", restarts=1, max_iterations=2),
    "fmn": AttackSpec.create("fmn", steps=5),
    "ddn": AttackSpec.create("ddn", steps=5),
    "fmn_l1": AttackSpec.create("fmn_l1", steps=5),
    "fmn_l0": AttackSpec.create("fmn_l0", steps=5),
    "fgsm": AttackSpec.create("fgsm", eps=0.1),
    "pgd": AttackSpec.create("pgd", eps=0.1, step_size=0.02, steps=3),
    "pgd_l2": AttackSpec.create("pgd_l2", eps=1.0, step_size=0.3, steps=3),
    "apgd": AttackSpec.create("apgd", eps=0.1, steps=3),
    "autoattack": AttackSpec.create("autoattack", eps=0.3),
    "square": AttackSpec.create("square", eps=0.1, queries=10),
    "ead": AttackSpec.create("ead", steps=10, binary_search_steps=1),
    "jsma": AttackSpec.create("jsma", gamma=0.003),
    "newtonfool": AttackSpec.create("newtonfool", steps=3),
    "hopskipjump": AttackSpec.create("hopskipjump", steps=1, initial_evals=5, max_evals=10),
    "boundary": AttackSpec.create("boundary", steps=3),
}

# The attacks whose FAST_SPECS fool at least 2 of the batch's first 8 images (7 classified
# right) on every backend that has them, at 1, 2 and 4 threads and several seeds: the contract
# test asks each to fool one, so an adapter that hands back its input fails it. The others are
# too cheap here to be sure of fooling any (DeepFool's 3 steps, Square's 10 queries, EAD's one
# round of c, JSMA's 0.3% of the features, ART's NewtonFool, the pixel attacks); each is held
# to fooling something by its own tests (tests/test_atlas.py, test_consistency.py and others).
MUST_FOOL = frozenset(
    {"ifgsm", "fgsm", "pgd", "apgd", "autoattack", "cw", "fmn", "ddn", "hopskipjump", "boundary"}
)


def assert_same_up_to_contract(model, x, y, ours, direct):
    """``ours`` is the library's ``direct`` output where it fools the model, and exactly the
    input where it does not (the adapter contract)."""
    fooled = predict(model, direct) != y
    assert torch.equal(ours[fooled], direct[fooled])
    assert torch.equal(ours[~fooled], x[~fooled])


def test_registry_knows_its_backends_and_rejects_others():
    assert known_backends() == ["torchattacks", "art", "foolbox", "native"]
    with pytest.raises(
        UnknownNameError, match="known backends: torchattacks, art, foolbox, native"
    ):
        get_backend("cleverhans")
    assert backends_supporting("pixel_swap") == ["native"]
    assert backends_supporting("cw") == ["torchattacks", "art", "foolbox"]
    assert backends_supporting("one_pixel") == ["torchattacks", "art"]


@pytest.mark.parametrize("decay,cls", [(1.0, "MIFGSM"), (0.0, "BIM")])
def test_ifgsm_equals_a_direct_torchattacks_call(model, batch, decay, cls):
    x, y = batch
    spec = AttackSpec.create("ifgsm", eps=0.1, step_size=0.01, steps=10, decay=decay)
    ours = get_backend("torchattacks").run(model, x, y, spec)
    kwargs = {"decay": decay} if cls == "MIFGSM" else {}
    direct = getattr(torchattacks, cls)(model, eps=0.1, alpha=0.01, steps=10, **kwargs)(x, y)
    assert_same_up_to_contract(model, x, y, ours, direct)


def test_deepfool_equals_a_direct_torchattacks_call(model, batch):
    x, y = batch[0][:8], batch[1][:8]
    spec = AttackSpec.create("deepfool", steps=10, overshoot=0.02)
    ours = get_backend("torchattacks").run(model, x, y, spec)
    direct = torchattacks.DeepFool(model, steps=10, overshoot=0.02)(x, y)
    assert_same_up_to_contract(model, x, y, ours, direct)


def test_direct_torchattacks_cw_cannot_move_on_log_probabilities(model, batch):
    """The library difference the CW adapter exists for: torchattacks masks outputs by
    multiplying with a one-hot, so with log-probabilities (all <= 0) its loss is flat."""
    x, y = batch
    correct = predict(model, x) == y
    direct = torchattacks.CW(model, c=10, steps=20, lr=0.05)(x, y)
    assert torch.equal(direct[correct], x[correct])  # not one correct sample moved
    spec = AttackSpec.create("cw", c=10, steps=20, lr=0.05, binary_search_steps=1)
    ours = get_backend("torchattacks").run(model, x, y, spec)
    fooled = predict(model, ours) != y
    assert fooled.float().mean() > 0.5
    # samples the attack did not fool come back exactly unchanged
    assert torch.equal(ours[~fooled], x[~fooled])


def _assert_output_contract(model, x, y, x_adv, attack):
    """The adapter contract on one output, graded as attacked (``model`` in eval mode):
    shape, dtype, device, finite, in [0, 1]; the images it did not fool returned exactly as
    they came; and, for an attack in :data:`MUST_FOOL`, some correctly classified image
    fooled (an output equal to its input keeps every other clause)."""
    assert x_adv.shape == x.shape and x_adv.dtype == x.dtype
    assert x_adv.device == x.device and torch.isfinite(x_adv).all()
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1
    not_fooled = predict(model, x_adv) == y
    assert torch.equal(x_adv[not_fooled], x[not_fooled])
    if attack in MUST_FOOL:
        correct = predict(model, x) == y
        assert (correct & ~not_fooled).any(), f"{attack} fooled none of {int(correct.sum())}"


def test_cw_binary_search_is_emulated_and_recorded(model, batch):
    x, y = batch
    backend = get_backend("torchattacks")
    one = AttackSpec.create("cw", c=0.01, steps=20, lr=0.05, binary_search_steps=1)
    four = AttackSpec.create("cw", c=0.01, steps=20, lr=0.05, binary_search_steps=4)
    assert any("binary search over c emulated" in n for n in backend.check(four, 10))
    fooled_one = (predict(model, backend.run(model, x, y, one)) != y).sum()
    fooled_four = (predict(model, backend.run(model, x, y, four)) != y).sum()
    assert fooled_four > fooled_one  # c grows ×10 per failed round, as in Carlini & Wagner


def test_deepfool_candidates_are_refused_not_ignored():
    with pytest.raises(UnsupportedSpecError, match="always uses all 10 classes"):
        get_backend("torchattacks").check(AttackSpec.create("deepfool", candidates=3), 10)
    assert get_backend("torchattacks").check(AttackSpec.create("deepfool", candidates=10), 10)


def test_backend_refuses_an_attack_it_does_not_provide():
    from advcompare.adapters import check_spec

    with pytest.raises(UnsupportedSpecError, match="backends that do: native"):
        check_spec("torchattacks", FAST_SPECS["pixel_swap"], 10)
    with pytest.raises(UnsupportedSpecError, match="it provides: ifgsm, deepfool"):
        get_backend("torchattacks").run(
            nn.Identity(), torch.zeros(1, 3, 2, 2), torch.zeros(1), FAST_SPECS["pixel_swap"]
        )


def _pairs():
    return [(b, a) for b in known_backends() for a in get_backend(b).capabilities()]


@pytest.mark.parametrize("backend_name,attack", _pairs())
def test_adapters_keep_the_contract_and_leave_the_model_unchanged(
    trained_digits, batch, backend_name, attack
):
    """Every backend × attack: the output contract (shape, dtype, device, finite, in [0, 1],
    unfooled images returned as they came, something fooled where the attack must) and the
    caller's model as it was (modes, grad flags, hooks, weights)."""
    model = copy.deepcopy(trained_digits.model)
    model.train()
    model.features[0].eval()  # a mixed mode that a blanket model.train() would not restore
    model.classifier[1].weight.requires_grad_(False)
    calls = []
    handle = model.features.register_forward_hook(lambda *a: calls.append(1))
    modes = {n: m.training for n, m in model.named_modules()}
    grads = {n: p.requires_grad for n, p in model.named_parameters()}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = {
        n: (dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
        for n, m in model.named_modules()
    }

    n = 2 if attack == "jsma" else 8  # torchattacks' JSMA: ~0.15 s per image and step
    x, y = batch[0][:n], batch[1][:n]
    x_adv = get_backend(backend_name).run(model, x, y, FAST_SPECS[attack])

    assert {n: m.training for n, m in model.named_modules()} == modes
    assert {n: p.requires_grad for n, p in model.named_parameters()} == grads
    assert {
        n: (dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
        for n, m in model.named_modules()
    } == hooks
    for name, value in model.state_dict().items():  # weights and batch-norm statistics
        assert torch.equal(value, state[name]), name
    assert calls  # the caller's own hook stayed registered and working
    handle.remove()
    _assert_output_contract(model.eval(), x, y, x_adv, attack)


@pytest.mark.gpu  # runs wherever torch sees CUDA, skipped elsewhere (tests/conftest.py)
@pytest.mark.parametrize("backend_name,attack", _pairs())
def test_adapters_keep_the_contract_on_the_gpu(trained_digits, batch, backend_name, attack):
    """Every backend × attack on CUDA: the output stays on the caller's device, and the rest
    of the contract holds (ART computes in NumPy on the CPU and must hand back a CUDA tensor)."""
    model = copy.deepcopy(trained_digits.model).to("cuda").eval()
    n = 2 if attack == "jsma" else 8
    x, y = batch[0][:n].to("cuda"), batch[1][:n].to("cuda")
    x_adv = get_backend(backend_name).run(model, x, y, FAST_SPECS[attack])
    assert x_adv.is_cuda, f"{backend_name}/{attack} returned a {x_adv.device} tensor"
    assert next(model.parameters()).is_cuda and not model.training
    _assert_output_contract(model, x.cpu(), y.cpu(), x_adv.cpu(), attack)  # predict: CPU labels


def test_an_adapter_that_returns_its_input_fails_the_contract(model, batch):
    """A stand-in adapter that hands back its input unchanged keeps every clause of the
    contract but one: on each attack that must fool, the contract test fails it."""
    x, y = batch[0][:8], batch[1][:8]
    correct = int((predict(model, x) == y).sum())
    assert correct >= 6 and MUST_FOOL <= set(FAST_SPECS)
    for attack in sorted(MUST_FOOL):
        with pytest.raises(AssertionError, match=f"{attack} fooled none of {correct}\\b"):
            _assert_output_contract(model, x, y, x.clone(), attack)


def test_foolbox_zero_images_for_failures_come_back_unchanged():
    from advcompare.adapters.base import restore_zero_failures

    x = torch.rand(3, 3, 4, 4)
    adv = x.clone()
    adv[1] = 0.0  # Foolbox's marker for "never found"
    adv[2] += 0.01
    out = restore_zero_failures(x, adv)
    assert torch.equal(out[1], x[1]) and torch.equal(out[2], adv[2])


def test_torchattacks_ead_below_ten_steps_is_refused_not_crashed():
    """torchattacks' EAD computes ``iteration % (steps // 10)``: below 10 steps a
    ZeroDivisionError; the adapter refuses the spec in one line instead."""
    from advcompare.adapters import check_spec

    spec = AttackSpec.create("ead", steps=9, abort_early=True)  # the abort is what divides
    with pytest.raises(UnsupportedSpecError, match="at least 10"):
        check_spec("torchattacks", spec, 10)
    assert check_spec("foolbox", spec, 10) == []


def test_one_pixel_popsize_is_refused_by_art_only():
    spec = AttackSpec.create("one_pixel", popsize=20)
    with pytest.raises(UnsupportedSpecError, match="fixes its population size"):
        get_backend("art").check(spec, 10)
    assert get_backend("torchattacks").check(spec, 10) == []


def test_pass_counter_sees_every_forward_and_backward(model, batch):
    counter = PassCounter(model)
    x, y = batch
    get_backend("torchattacks").run(counter, x, y, FAST_SPECS["ifgsm"])
    assert counter.forward_samples == 5 * len(x)
    assert counter.backward_samples == 5 * len(x)
