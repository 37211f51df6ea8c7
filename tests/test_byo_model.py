"""Your model and your images from the command line: ``model = "package.module:factory"``,
``weights = "*.safetensors"``, ``input_shape`` and ``datasets = ["imagefolder:<root>"]``.

Real data: an ImageFolder tree of 4 × 40 digits written as PNGs from the embedded MNIST
sample, and small models trained on it here; every run goes through ``advcompare.cli.main``.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from advcompare.cli import main
from advcompare.data.datasets import load_dataset

CLASSES = 4
PER_CLASS = 40
MODULE = "advcompare_byo_models"  # the factory module, written to a temp dir on sys.path

FACTORIES = """
import torch
from torch import nn


def rgb():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 16 * 16, 4))


def grey():
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Linear(32, 4))


def grey_ten():
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Linear(32, 10))


def probabilities():
    return nn.Sequential(*grey(), nn.Softmax(dim=1))


def not_a_module():
    return "a string"


def broken():
    raise RuntimeError("boom")


not_callable = 3
"""


@pytest.fixture(scope="module")
def factories(tmp_path_factory):
    folder = tmp_path_factory.mktemp("factories")
    (folder / f"{MODULE}.py").write_text(FACTORIES)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        yield __import__(MODULE)


@pytest.fixture(scope="module")
def image_root(tmp_path_factory):
    """root/c<digit>/<n>.png: the first 40 MNIST-sample digits of each of classes 0-3."""
    from PIL import Image

    root = tmp_path_factory.mktemp("images") / "digits4"
    mnist = load_dataset("mnist-sample")
    x = torch.cat([mnist.train.x, mnist.test.x])
    y = torch.cat([mnist.train.y, mnist.test.y])
    for digit in range(CLASSES):
        (root / f"c{digit}").mkdir(parents=True)
        for n, image in enumerate(x[y == digit][:PER_CLASS]):
            pixels = (image[0] * 255).round().to(torch.uint8).numpy()
            Image.fromarray(pixels).save(root / f"c{digit}" / f"{n}.png")
    return root


def _train(model, dataset, steps=150):
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(dataset.train.x), dataset.train.y).backward()
        optimizer.step()
    return model.eval()


@pytest.fixture(scope="module")
def weights(factories, image_root, tmp_path_factory):
    """Trained weights of the RGB 3×32×32 and grey 1×28×28 models, and random ones of the
    10-class model, as safetensors files."""
    folder = tmp_path_factory.mktemp("weights")
    files = {}
    for name, shape in (("rgb", (3, 32, 32)), ("grey", (1, 28, 28))):
        data = load_dataset(f"imagefolder:{image_root}", input_shape=shape)
        model = _train(getattr(factories, name)(), data)
        accuracy = (model(data.test.x).argmax(1) == data.test.y).float().mean()
        assert accuracy > 0.8, (name, accuracy)
        files[name] = folder / f"{name}.safetensors"
        save_file(model.state_dict(), str(files[name]))
    files["grey_ten"] = folder / "grey_ten.safetensors"
    save_file(factories.grey_ten().state_dict(), str(files["grey_ten"]))
    files["pickle"] = folder / "pickled.safetensors"
    torch.save(factories.grey().state_dict(), files["pickle"])
    files["pt"] = folder / "model.pt"
    torch.save(factories.grey().state_dict(), files["pt"])
    return files


ATTACKS = """
[attacks.ifgsm]
backend = "torchattacks"
eps = 0.1
step_size = 0.02
steps = 10

[attacks.deepfool]
backend = "foolbox"
steps = 20

[attacks.cw]
backend = "torchattacks"
binary_search_steps = 1
steps = 20
lr = 0.05
"""


def _config(tmp_path, body: str) -> str:
    path = tmp_path / "byo.toml"
    path.write_text(textwrap.dedent(body))
    return str(path)


def _run(tmp_path, monkeypatch, config: str, *flags: str) -> tuple[int, pd.DataFrame | None]:
    monkeypatch.setenv("ADVCOMPARE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    code = main(["run", "--config", config, "--out", str(out), *flags])
    csv = out / "results.csv"
    return code, pd.read_csv(csv) if csv.is_file() else None


def test_imagefolder_is_read_at_the_model_shape_with_seeded_stratified_splits(image_root):
    name = f"imagefolder:{image_root}"
    grey = load_dataset(name, input_shape=(1, 28, 28), seed=3)
    rgb = load_dataset(name, seed=3)
    assert grey.name == rgb.name == "imagefolder:digits4"
    assert grey.num_classes == CLASSES
    assert tuple(grey.test.x.shape[1:]) == (1, 28, 28)
    assert tuple(rgb.test.x.shape[1:]) == (3, 32, 32)
    assert 0.0 <= float(rgb.train.x.min()) and float(rgb.train.x.max()) <= 1.0
    total = CLASSES * PER_CLASS
    assert len(grey.test) == total // 5  # 80:20, then 20% of train for validation
    assert len(grey.val) == round(0.2 * (total - total // 5))
    assert torch.bincount(grey.test.y).tolist() == [PER_CLASS // 5] * CLASSES  # stratified
    assert torch.equal(grey.test.y, rgb.test.y)  # the same seeded split at any shape
    built_in = load_dataset("digits", input_shape=(1, 28, 28))  # built-ins are converted too
    assert tuple(built_in.train.x.shape[1:]) == (1, 28, 28)
    again = load_dataset(name, input_shape=(1, 28, 28), seed=3)
    assert grey.fingerprint() == again.fingerprint()
    assert load_dataset(name, input_shape=(1, 28, 28), seed=4).fingerprint() != grey.fingerprint()


def test_your_model_on_your_images_gives_the_usual_report(
    tmp_path, monkeypatch, capsys, factories, image_root, weights
):
    config = _config(
        tmp_path,
        f"""
        name = "byo"
        datasets = ["imagefolder:{image_root}"]
        model = "{MODULE}:rgb"
        weights = "{weights["rgb"]}"
        input_shape = [3, 32, 32]
        samples = 0
        """
        + ATTACKS,
    )
    code, frame = _run(tmp_path, monkeypatch, config)
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "report.md").is_file()
    assert frame is not None and len(frame) == 5  # the three attacks, FMN and DDN (reference)
    frame = frame[frame["role"] == "main"]
    assert sorted(frame["label"]) == ["cw", "deepfool", "ifgsm"]
    assert set(frame["dataset"]) == {"imagefolder:digits4"}
    row = frame.set_index("label").loc["ifgsm"]
    assert row["clean_f1"] > 0.8
    assert row["adv_f1"] < row["clean_f1"]
    assert row["success_rate"] > 0.3
    report = (tmp_path / "run" / "report.md").read_text()
    assert "## imagefolder:digits4" in report
    assert f"Model: `{MODULE}:rgb` with weights `{weights['rgb']}`" in " ".join(report.split())
    log = capsys.readouterr().out
    assert f"{MODULE}:rgb loaded from" in log
    # loaded, not trained: the weights cache holds no model
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(p.is_dir() for p in cache.iterdir())
    # the Python API on the same model, images and seed gives the same figures
    import advcompare
    from advcompare.models.user_model import build_model, load_state, read_weights

    model = build_model(f"{MODULE}:rgb")
    load_state(model, read_weights(weights["rgb"]), "rgb", str(weights["rgb"])).eval()
    test = load_dataset(f"imagefolder:{image_root}").test
    api = pd.concat(
        [
            advcompare.evaluate(
                model,
                test.x,
                test.y,
                backends=e.backend,
                attacks=[{"label": e.label, **e.spec.as_dict()}],
            )
            for e in _entries(config)
        ]
    )
    columns = ["label", "backend", "clean_f1", "adv_f1", "success_rate", "l2_median"]
    pd.testing.assert_frame_equal(
        api[columns].sort_values("label").reset_index(drop=True),
        frame[columns].sort_values("label").reset_index(drop=True),
        check_exact=False,
        rtol=1e-6,
    )


def _entries(config: str):
    from advcompare.config.experiment import load_config

    return load_config(config).attacks


def test_a_grey_28x28_model_with_trained_defenses(
    tmp_path, monkeypatch, capsys, factories, image_root, weights
):
    """input_shape = [1, 28, 28]; distillation and adversarial training train copies of the
    user's model (its factory, the [train] settings), preprocessing defenses wrap it."""
    config = _config(
        tmp_path,
        f"""
        name = "byo-grey"
        model = "{MODULE}:grey"
        weights = "{weights["grey"]}"
        input_shape = [1, 28, 28]
        defenses = ["none", "defensive_distillation", "adversarial_training",
                    "feature_smoothing"]

        [train]
        epochs = 10
        batch_size = 32
        lr = 0.01

        [defense.adversarial_training]
        epochs = 1

        [attacks.ifgsm]
        backend = "torchattacks"
        eps = 0.1
        step_size = 0.02
        steps = 10
        """,
    )
    code, frame = _run(tmp_path, monkeypatch, config, "--dataset", f"imagefolder:{image_root}")
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert frame is not None
    assert set(frame["defense"]) == {
        "none",
        "defensive_distillation",
        "adversarial_training",
        "feature_smoothing",
    }
    undefended = frame[frame["defense"] == "none"].iloc[0]
    assert undefended["adv_f1"] < undefended["clean_f1"]
    clean = frame.groupby("defense")["clean_f1"].min()
    assert clean["defensive_distillation"] > 0.7  # a student of the user's model learned
    assert clean["adversarial_training"] > 0.7
    records = list((tmp_path / "cache").glob("*/record.json"))
    assert len(records) == 2  # the two trained defenses, kept with their factory
    assert all(f'"factory": "{MODULE}:grey"' in r.read_text() for r in records)
    # a second run resumes: every cell stored, both defenses loaded from the cache
    code, again = _run(tmp_path, monkeypatch, config, "--dataset", f"imagefolder:{image_root}")
    assert code == 0
    assert "0 cells computed" in capsys.readouterr().out
    pd.testing.assert_frame_equal(frame, again)


def test_the_model_key_covers_factory_and_weights(factories, image_root, weights):
    from advcompare.models.train import TrainConfig
    from advcompare.models.user_model import model_key, weights_digest

    data = load_dataset(f"imagefolder:{image_root}", input_shape=(1, 28, 28))
    sha = weights_digest(weights["grey"])
    key = model_key(data, f"{MODULE}:grey", sha, (1, 28, 28), TrainConfig())
    assert key.startswith("imagefolder-digits4-user-")
    assert key == model_key(data, f"{MODULE}:grey", sha, (1, 28, 28), TrainConfig())
    assert key != model_key(data, f"{MODULE}:probabilities", sha, (1, 28, 28), TrainConfig())
    other = weights_digest(weights["grey_ten"])
    assert key != model_key(data, f"{MODULE}:grey", other, (1, 28, 28), TrainConfig())


def test_two_image_folders_with_one_name_are_refused(tmp_path, monkeypatch, capsys, image_root):
    import shutil

    other = tmp_path / "copy" / image_root.name
    shutil.copytree(image_root, other)
    code, _ = _run(
        tmp_path,
        monkeypatch,
        _config(tmp_path, ""),
        "--dataset",
        f"imagefolder:{image_root}",
        "--dataset",
        f"imagefolder:{other}",
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "share the name 'imagefolder:digits4'" in err


# (case, config keys or "--dataset" flag, message); {root}, {tmp} and {w:<name>} are filled in
BAD_INPUTS = [
    (
        "model not module:factory",
        'model = "just_a_name"\nweights = "{w:grey}"',
        "config key 'model': expected \"package.module:factory\"",
    ),
    (
        "model module missing",
        'model = "no_such_module_xyz:grey"\nweights = "{w:grey}"',
        "config key 'model': cannot import module 'no_such_module_xyz'",
    ),
    (
        "model attribute missing",
        f'model = "{MODULE}:nothing"\nweights = "{{w:grey}}"',
        "has no attribute 'nothing'",
    ),
    (
        "model not callable",
        f'model = "{MODULE}:not_callable"\nweights = "{{w:grey}}"',
        "is a int, not a callable",
    ),
    (
        "factory returns no module",
        f'model = "{MODULE}:not_a_module"\nweights = "{{w:grey}}"',
        "returned a str, not a torch.nn.Module",
    ),
    (
        "factory raises",
        f'model = "{MODULE}:broken"\nweights = "{{w:grey}}"',
        "calling 'advcompare_byo_models:broken()' failed (RuntimeError: boom)",
    ),
    ("model without weights", f'model = "{MODULE}:grey"', "needs 'weights ="),
    ("weights without model", 'weights = "{w:grey}"', "config key 'weights': needs 'model"),
    (
        "weights pickled .pt",
        f'model = "{MODULE}:grey"\nweights = "{{w:pt}}"',
        "is not a .safetensors file",
    ),
    (
        "weights a renamed pickle",
        f'model = "{MODULE}:grey"\nweights = "{{w:pickle}}"',
        "is not a readable safetensors file",
    ),
    (
        "weights missing",
        f'model = "{MODULE}:grey"\nweights = "{{tmp}}/none.safetensors"',
        "config key 'weights': file",
    ),
    (
        "weights do not fit",
        f'model = "{MODULE}:grey"\nweights = "{{w:rgb}}"',
        "does not fit the module built by",
    ),
    (
        "input shape the model cannot take",
        f'model = "{MODULE}:rgb"\nweights = "{{w:rgb}}"\ninput_shape = [1, 28, 28]',
        "fails on inputs of shape (4, 1, 28, 28)",
    ),
    (
        "input shape channels",
        f'model = "{MODULE}:grey"\nweights = "{{w:grey}}"\ninput_shape = [2, 28, 28]',
        "channels must be 1 (grey) or 3 (RGB)",
    ),
    ("input shape without model", "input_shape = [1, 28, 28]", "the paper CNN takes"),
    (
        "probability outputs",
        f'model = "{MODULE}:probabilities"\nweights = "{{w:grey}}"',
        "outputs of 'advcompare_byo_models:probabilities' are probabilities",
    ),
    (
        "class count",
        f'model = "{MODULE}:grey_ten"\nweights = "{{w:grey_ten}}"',
        "scores 10 classes but dataset",
    ),
    ("image folder missing", "--dataset imagefolder:{tmp}/nowhere", "does not exist"),
    ("image folder without classes", "--dataset imagefolder:{tmp}/empty", "holds 0 class folders"),
    (
        "class without images",
        "--dataset imagefolder:{tmp}/noimages",
        "class folder '{tmp}/noimages/b' holds no image",
    ),
    ("unreadable image", "--dataset imagefolder:{tmp}/corrupt", "cannot read an image"),
]


@pytest.mark.parametrize("case,given,message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_model_weights_or_folder_is_one_line_exit_2(
    tmp_path, monkeypatch, capsys, factories, image_root, weights, case, given, message
):
    import shutil

    (tmp_path / "empty").mkdir()
    for name in ("a", "b"):
        (tmp_path / "noimages" / name).mkdir(parents=True)
    (tmp_path / "noimages" / "a" / "0.png").write_bytes((image_root / "c0" / "0.png").read_bytes())
    (tmp_path / "noimages" / "b" / "notes.txt").write_text("no image here")
    shutil.copytree(image_root, tmp_path / "corrupt")
    (tmp_path / "corrupt" / "c1" / "0.png").write_bytes(b"not a png" * 10)

    def fill(text: str) -> str:
        for name, path in weights.items():
            text = text.replace(f"{{w:{name}}}", str(path))
        return text.replace("{tmp}", str(tmp_path)).replace("{root}", str(image_root))

    given, message = fill(given), fill(message)
    flags: list[str] = []
    body = f'datasets = ["imagefolder:{image_root}"]\n'
    if given.startswith("--dataset"):
        flags = given.split(" ", 1)
        body += (
            f'model = "{MODULE}:grey"\nweights = "{weights["grey"]}"\ninput_shape = [1, 28, 28]\n'
        )
    else:
        body += given + "\n"
        if "model" in given and "input_shape" not in given and ":rgb" not in given:
            body += "input_shape = [1, 28, 28]\n"  # the grey models' input
    code, _ = _run(tmp_path, monkeypatch, _config(tmp_path, body + ATTACKS), *flags)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("advcompare: error: ")
    assert message in lines[0], lines[0]
    assert not (tmp_path / "cache").exists() or not any(
        p.is_dir() for p in (tmp_path / "cache").iterdir()
    )
