"""The one weights cache: atomic writes, integrity checks, keys that cover the training code."""

from __future__ import annotations

import math

import pytest
import torch

from advcompare.errors import AdvCompareError
from advcompare.models.cnn import PaperCNN
from advcompare.models.train import TrainConfig, cache_key, train_or_load
from advcompare.models.weights import Weights, WeightsCache


def _weights(key: str = "k", fill: float = 0.5) -> Weights:
    model = PaperCNN(10)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(fill)
    return Weights.of(key, model, 10, [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0}])


def test_saved_weights_load_back_exactly(tmp_path):
    cache = WeightsCache(tmp_path)
    cache.save(_weights())
    loaded = cache.load("k", 10, PaperCNN(10))
    assert loaded is not None and loaded.from_cache
    assert all(torch.equal(loaded.state[k], v) for k, v in _weights().state.items())
    assert not list(tmp_path.glob("k/.*"))  # no temporary file left behind


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong shape", "nan", "no record"])
def test_a_damaged_entry_is_set_aside_never_loaded(tmp_path, damage, capsys):
    cache = WeightsCache(tmp_path)
    cache.save(_weights())
    weights_file = cache.weights_file("k")
    if damage == "truncated":
        weights_file.write_bytes(weights_file.read_bytes()[:100])
    elif damage == "garbage":
        weights_file.write_bytes(b"\x00garbage" * 50)
    elif damage == "wrong shape":
        WeightsCache(tmp_path).save(Weights.of("k", PaperCNN(43), 43, []))
    elif damage == "nan":
        from safetensors.torch import save_file

        state = dict(_weights().state)
        state["classifier.1.weight"] = torch.full_like(state["classifier.1.weight"], math.nan)
        save_file(state, str(weights_file))
    else:
        cache.record_file("k").write_text("")
    assert cache.load("k", 10, PaperCNN(10)) is None
    assert not cache.has("k") and (tmp_path / "k.corrupt").is_dir()
    assert "unusable" in capsys.readouterr().err


def test_non_finite_weights_are_never_cached(tmp_path):
    with pytest.raises(AdvCompareError, match="NaN or infinite weights"):
        WeightsCache(tmp_path).save(_weights(fill=math.nan))
    assert not WeightsCache(tmp_path).has("k")


def test_an_unwritable_cache_is_found_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(AdvCompareError, match="is not writable"):
        WeightsCache(blocker / "cache").check_writable()


def test_a_corrupt_cached_model_is_retrained(digits, tmp_path):
    config = TrainConfig(epochs=1)
    first = train_or_load(digits, config, tmp_path, torch.device("cpu"))
    WeightsCache(tmp_path).weights_file(first.key).write_bytes(b"broken")
    again = train_or_load(digits, config, tmp_path, torch.device("cpu"))
    assert not again.from_cache
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values())
    )


def test_the_weights_key_covers_the_training_code(digits, monkeypatch):
    import advcompare.models.train as train

    before = cache_key(digits, TrainConfig())
    monkeypatch.setattr(train, "TRAINING_CODE_VERSION", "fit-v2")
    assert cache_key(digits, TrainConfig()) != before
