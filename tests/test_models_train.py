"""The paper CNN's shapes and the training loop with its weight cache."""

from __future__ import annotations

import json

import pytest
import torch

from advcompare.models.cnn import PaperCNN, predict
from advcompare.models.train import TrainConfig, cache_key, train_or_load


@pytest.mark.parametrize("num_classes", [10, 43])
def test_cnn_outputs_log_probabilities_per_class(num_classes):
    model = PaperCNN(num_classes).eval()
    out = model(torch.rand(5, 3, 32, 32))
    assert out.shape == (5, num_classes)
    assert torch.allclose(out.exp().sum(1), torch.ones(5), atol=1e-5)
    assert float(out.max()) <= 0.0


def test_cnn_has_the_papers_blocks_and_normalises_inside():
    model = PaperCNN(10, mean=torch.tensor([0.5] * 3), std=torch.tensor([0.25] * 3))
    kinds = [type(m).__name__ for m in model.features[0]]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Dropout"]
    assert len(model.features) == 2
    assert type(model.classifier[-1]).__name__ == "LogSoftmax"
    x = torch.full((1, 3, 1, 1), 0.75)
    assert torch.allclose(model.normalize(x), torch.ones(1, 3, 1, 1))


def test_training_beats_chance_by_a_wide_margin(trained_digits, digits):
    accuracy = float((predict(trained_digits.model, digits.test.x) == digits.test.y).float().mean())
    assert accuracy > 0.8  # chance is 0.1
    history = trained_digits.history
    assert len(history) == 5
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_trained_weights_are_cached_and_load_back_exactly(trained_digits, digits, model_cache):
    folder = trained_digits.path
    assert (folder / "model.safetensors").is_file()
    assert (folder / "loss.csv").is_file() and (folder / "loss.png").is_file()
    record = json.loads((folder / "record.json").read_text())
    assert record["data"]["fingerprint"] == digits.fingerprint()
    again = train_or_load(digits, TrainConfig(epochs=5), model_cache, torch.device("cpu"))
    assert again.from_cache and again.key == trained_digits.key
    for (name, a), b in zip(
        trained_digits.model.state_dict().items(), again.model.state_dict().values()
    ):
        assert torch.equal(a.cpu(), b.cpu()), name
    assert again.history == trained_digits.history


def test_cache_key_changes_with_what_determines_the_weights(digits):
    base = cache_key(digits, TrainConfig())
    assert base == cache_key(digits, TrainConfig())
    assert base != cache_key(digits, TrainConfig(epochs=3))
    assert base != cache_key(digits, TrainConfig(lr=0.01))
    assert base != cache_key(digits, TrainConfig(seed=1))


@pytest.mark.parametrize("keep_best,kept_epoch", [(True, 2), (False, 4)])
def test_the_best_validation_epoch_is_kept(digits, monkeypatch, keep_best, kept_epoch):
    """The best-epoch rule on a scripted validation-loss sequence (0.9, 0.5, 0.7, 0.6): the
    model ends with epoch 2's weights (the lowest loss, paper §3.3), or with the last
    epoch's when ``keep_best`` is off; the history records the scripted losses."""
    import copy

    from torch import nn

    import advcompare.models.train as train

    scripted, states = iter([0.9, 0.5, 0.7, 0.6]), []

    def scripted_loss(model, *args, **kwargs):
        states.append(copy.deepcopy(model.state_dict()))  # the weights this epoch ends with
        return next(scripted)

    monkeypatch.setattr(train, "_epoch_loss", scripted_loss)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10), nn.LogSoftmax(dim=1))
    history = train.fit(
        model, digits, TrainConfig(epochs=4), torch.device("cpu"), keep_best=keep_best
    )
    assert [h["val_loss"] for h in history] == [0.9, 0.5, 0.7, 0.6]
    final = model.state_dict()
    for epoch, state in enumerate(states, start=1):
        same = all(torch.equal(final[k], state[k]) for k in final)
        assert same == (epoch == kept_epoch), epoch


def test_deterministic_cudnn_sets_and_restores_the_callers_settings():
    from advcompare.models.train import deterministic_cudnn

    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = False, True
    try:
        with deterministic_cudnn():
            assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert not torch.backends.cudnn.deterministic and torch.backends.cudnn.benchmark
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


@pytest.mark.gpu  # runs wherever torch sees CUDA, skipped elsewhere (tests/conftest.py)
def test_one_seed_trains_the_same_weights_twice_on_the_gpu(digits):
    from advcompare.models.train import train_model

    first, _ = train_model(digits, TrainConfig(epochs=2), "cuda")
    second, _ = train_model(digits, TrainConfig(epochs=2), "cuda")
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
    assert predict(first, digits.test.x).equal(predict(second, digits.test.x))
