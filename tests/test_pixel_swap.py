"""The native iterative pixel swap (paper §2.2.4) on a trained CNN."""

from __future__ import annotations

import torch

from advcompare.analysis.metrics import PassCounter
from advcompare.attacks.pixel_swap import pixel_swap, swap_budget, swap_order
from advcompare.attacks.spec import AttackSpec
from advcompare.models.cnn import predict


def test_swap_order_pairs_darkest_with_lightest_most_dissimilar_first():
    x = torch.tensor([0.5, 0.1, 0.9, 0.0, 1.0, 0.3]).view(1, 1, 2, 3).repeat(1, 3, 1, 1)
    dark, light = swap_order(x)
    assert dark.tolist() == [[3, 1, 5]]  # 0.0, 0.1, 0.3
    assert light.tolist() == [[4, 2, 0]]  # 1.0, 0.9, 0.5
    flat = x[0, 0].flatten()
    gaps = flat[light[0]] - flat[dark[0]]
    assert torch.all(gaps[:-1] >= gaps[1:])


def test_pixel_swap_fools_the_trained_cnn_on_most_samples(model, digits):
    x, y = digits.test.x[:100], digits.test.y[:100]
    correct = predict(model, x) == y
    x_adv, _ = pixel_swap(model, x, y, max_swaps=100)
    fooled = predict(model, x_adv) != y
    assert fooled[correct].float().mean() > 0.5


def test_pixel_swap_respects_its_budget_and_only_swaps(model, digits):
    x, y = digits.test.x[:64], digits.test.y[:64]
    budget = 15
    x_adv, queries = pixel_swap(model, x, y, max_swaps=budget)
    changed = (x_adv != x).any(dim=1).flatten(1).sum(1)  # changed pixel positions
    assert int(changed.max()) <= 2 * budget
    assert int(queries.max()) <= budget + 1 and int(queries.min()) >= 1
    # swapping permutes pixels: every image keeps its multiset of pixel values
    for a, b in zip(x, x_adv):
        assert torch.equal(a.flatten(1).sort(dim=1).values, b.flatten(1).sort(dim=1).values)
    fooled = predict(model, x_adv) != y
    assert torch.equal(x_adv[~fooled], x[~fooled])  # failures come back unchanged


def test_pixel_swap_is_black_box_and_counts_its_queries(model, digits):
    x, y = digits.test.x[:32], digits.test.y[:32]
    counter = PassCounter(model)
    _, queries = pixel_swap(counter, x, y, max_swaps=20)
    assert counter.backward_samples == 0
    assert counter.forward_samples == int(queries.sum())


def test_already_misclassified_images_cost_one_query(model, digits):
    x = digits.test.x[:16]
    wrong = (predict(model, x) + 1) % 10  # labels the model never predicts
    x_adv, queries = pixel_swap(model, x, wrong, max_swaps=10)
    assert torch.equal(x_adv, x) and queries.tolist() == [1] * 16


def test_default_budget_is_every_pixel_pair():
    """Paper §2.2.4 swaps "until misclassification occurs": with no cap every one of the
    H·W // 2 dark/light pairs may be swapped; ``max_swaps`` only caps it lower."""
    assert AttackSpec.create("pixel_swap")["max_swaps"] is None
    assert swap_budget(32, 32) == 512 and swap_budget(28, 28) == 392
    assert swap_budget(32, 32, 100) == 100 and swap_budget(4, 4, 100) == 8


def test_uncapped_swap_gives_up_only_after_every_pair(model, digits):
    x, y = digits.test.x[:48], digits.test.y[:48]
    correct = predict(model, x) == y
    capped, _ = pixel_swap(model, x, y, max_swaps=20)
    x_adv, queries = pixel_swap(model, x, y)
    fooled = predict(model, x_adv) != y
    pairs = swap_budget(*x.shape[2:])
    assert int(queries.max()) <= pairs + 1
    # every image still correct afterwards spent the whole budget: all pairs were tried
    assert torch.all(queries[correct & ~fooled] == pairs + 1)
    assert torch.equal(x_adv[~fooled], x[~fooled])
    # a larger budget never fools fewer images (the swap order does not depend on it)
    assert fooled.sum() >= (predict(model, capped) != y).sum()
