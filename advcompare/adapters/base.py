"""The backend contract: what every attack library adapter provides and promises.

Following Foolbox 3's split of attack and criterion, an adapter only *produces* adversarial
inputs; :mod:`advcompare.analysis.metrics` decides success and computes every metric, so no library
grades itself. Adapters must leave the caller's model as they found it (train/eval mode of
every module, ``requires_grad`` of every parameter, hooks and weights); :func:`model_guard`
enforces the first three and the tests check all four.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Mapping, Protocol, final, runtime_checkable

import torch
from torch import nn

from advcompare.attacks.record import BOX_TOLERANCE
from advcompare.attacks.spec import AttackSpec
from advcompare.errors import UnsupportedSpecError

# Support: the library's own implementation of the canonical attack, or advcompare composes or
# corrects it (a binary search, a missing sub-attack); `advcompare backends` prints both.
EXACT, EMULATED = "exact", "emulated"


@dataclass(frozen=True)
class Capability:
    """How a backend provides one attack: the library class and whether parts are emulated."""

    attack: str
    support: str  # EXACT or EMULATED
    library_class: str
    note: str = ""


@runtime_checkable
class Backend(Protocol):
    """An attack library behind advcompare's one interface."""

    @property
    def name(self) -> str: ...

    @property
    def library(self) -> str: ...

    def capabilities(self) -> dict[str, Capability]:
        """Attack name → how this backend provides it."""
        ...

    def check(self, spec: AttackSpec, num_classes: int) -> list[str]:
        """Raise UnsupportedSpecError if ``spec`` cannot be honoured; else return notes
        naming what is emulated or differs from the canonical meaning (empty if nothing)."""
        ...

    def run(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: AttackSpec
    ) -> torch.Tensor:
        """Adversarial versions of ``x`` (same shape, dtype, device; values in [0, 1])."""
        ...


# The library call of one attack: (model, x, y, canonical params) → the library's raw output.
LibraryCall = Callable[[nn.Module, torch.Tensor, torch.Tensor, Mapping[str, Any]], Any]
# One builder signature for every library's attack entry, as torchattacks gives every attack
# one ``forward``: (canonical params, model, the batch) → the library's attack object, which
# the backend's one runner calls (torchattacks: ``attack(x, y)``; ART: ``attack.generate``;
# Foolbox: ``attack(fmodel, x, y, epsilons=params.get("eps"))``).
Builder = Callable[[Mapping[str, Any], nn.Module, torch.Tensor], Any]
# What one backend's version of an attack differs in, for a complete spec and a class count:
# the notes the report shows; it may also refuse the spec (UnsupportedSpecError).
NotesFor = Callable[[AttackSpec, int], list[str]]


def no_notes(spec: AttackSpec, num_classes: int) -> list[str]:
    """An attack a backend provides exactly as the canonical spec means it."""
    return []


@dataclass(frozen=True)
class Control:
    """How to equalise a backend's documented cause of a difference: the spec parameters
    that, set on this backend, remove it (more steps for a backend that runs half of them,
    early abort off, the other library's start). A run adds a *control* cell with them
    beside every comparison, and the report says whether the difference then vanishes
    (the cause is *confirmed*) or persists (*unexplained*): :mod:`advcompare.analysis.controls`."""

    cause: str  # the documented cause, in a few words
    params: Callable[[Mapping[str, Any]], dict[str, Any]]  # the spec's params → overrides


@dataclass(frozen=True)
class AttackImpl:
    """One attack of one adapter, in one entry: what it advertises (``capability``), the
    library call that does it, the notes (or refusals) for a given spec, the builder of the
    library's attack object where there is one (benchmarks call the library through it
    directly), a rough cost for ordering work (seconds per image at the default
    parameters on the paper CNN, one CPU core; never a reported figure) and whether the
    library returns all-zero images for samples it never fooled (``restores_zeros``: the
    contract hands back the input for those, and counts them as repaired). ``repair_cause``
    names the library defect behind the repairs the contract makes for this attack (traced in
    the library's source, docs/backends.md "Library defects the contract repairs"); each cell
    that needed one carries it in its notes with the count (:func:`repair_note`).
    ``control``: the parameters that equalise this entry's documented cause of a difference
    (:class:`Control`), where a parameter can."""

    capability: Capability
    call: LibraryCall
    notes: NotesFor = no_notes
    builder: Builder | None = None
    seconds_per_image: float | None = None
    restores_zeros: bool = False
    repair_cause: str = ""
    control: Control | None = None


class Adapter:
    """The one adapter skeleton: every backend is a table ``attacks`` (attack name →
    :class:`AttackImpl`). :meth:`run` is the same for all: :func:`model_guard` → the
    library call → :func:`finish`."""

    name: ClassVar[str]
    library: ClassVar[str]
    attacks: ClassVar[dict[str, AttackImpl]]

    def capabilities(self) -> dict[str, Capability]:
        return {attack: impl.capability for attack, impl in self.attacks.items()}

    def impl(self, spec: AttackSpec) -> AttackImpl:
        """This backend's entry for ``spec.attack``; refused when it has none
        (:func:`advcompare.adapters.registry.check_spec` also names the backends that do)."""
        if spec.attack not in self.attacks:
            raise UnsupportedSpecError(
                f"backend '{self.name}' does not provide attack '{spec.attack}'; "
                f"it provides: {', '.join(self.attacks) or 'nothing'}"
            )
        return self.attacks[spec.attack]

    def check(self, spec: AttackSpec, num_classes: int) -> list[str]:
        """Refuse a spec this backend cannot honour; else the notes for the report."""
        return self.impl(spec).notes(spec, num_classes)

    def repair_cause(self, spec: AttackSpec) -> str:
        """The library defect behind this attack's repairs ('' where none is traced)."""
        return self.impl(spec).repair_cause

    @final
    def run(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: AttackSpec
    ) -> torch.Tensor:
        """Adversarial versions of ``x`` under the output contract (see :func:`finish`)."""
        return self.craft(model, x, y, spec)[0]

    @final
    def craft(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: AttackSpec
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`run`, and per sample whether the contract repaired the library's output
        (see :func:`repaired_samples`): the grader counts those images."""
        impl = self.impl(spec)
        with model_guard(model):
            raw = torch.as_tensor(impl.call(model, x, y, spec.params)).to(x.device)
            repaired = repaired_samples(raw, x)
            if impl.restores_zeros:
                zeros = zero_failures(x, raw)
                raw, repaired = restore_zero_failures(x, raw), repaired | zeros.cpu()
            return finish(model, x, y, raw), repaired


def repair_note(cause: str, repaired: torch.Tensor | None) -> list[str]:
    """The cell note that keeps a repair from being silent: the library defect (``cause``)
    and how many of the cell's images the output contract repaired; none if it repaired
    none."""
    if repaired is None or not bool(repaired.any()):
        return []
    count = f"the output contract repaired {int(repaired.sum())} of {len(repaired)} images"
    return [f"{cause}: {count}" if cause else f"{count} (cause not traced)"]


@contextlib.contextmanager
def model_guard(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode for an attack, then restore exactly what the caller had.

    Restores every module's training flag and every parameter's ``requires_grad``, and
    removes any hook a library registered and left behind.
    """
    modes = {m: m.training for m in model.modules()}
    grads = {p: p.requires_grad for p in model.parameters()}
    hook_dicts = (
        "_forward_hooks",
        "_forward_pre_hooks",
        "_backward_hooks",
        "_backward_pre_hooks",
        "_state_dict_hooks",
        "_load_state_dict_pre_hooks",
    )
    hooks = {
        (m, attr): set(getattr(m, attr, {}).keys()) for m in model.modules() for attr in hook_dicts
    }
    model.eval()
    try:
        yield model
    finally:
        for module, was_training in modes.items():
            module.training = was_training
        for param, flag in grads.items():
            param.requires_grad_(flag)
        for (module, attr), keys in hooks.items():
            registered = getattr(module, attr, None)
            if registered is None:
                continue
            for key in set(registered.keys()) - keys:
                del registered[key]


@contextlib.contextmanager
def uncounted(model: nn.Module) -> Iterator[nn.Module]:
    """The model without pass counting, for an adapter's own bookkeeping passes."""
    inner = getattr(model, "model", None)
    yield inner if inner is not None and hasattr(model, "forward_samples") else model


@torch.no_grad()
def num_classes_of(model: nn.Module, x: torch.Tensor) -> int:
    """How many classes ``model`` scores, from one uncounted forward pass on ``x[:1]``."""
    with uncounted(model) as plain:
        return int(plain(x[:1]).shape[1])


def jsma_targets(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """JSMA's target on every backend: the next class, (y + 1) mod C (torchattacks' own
    choice for its untargeted mode, which assumes C = 10)."""
    return (y + 1) % num_classes


@torch.no_grad()
def finish(model: nn.Module, x: torch.Tensor, y: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """The output contract for every backend: :func:`as_adversarial`, then every sample the
    model still labels ``y`` comes back exactly as it went in (Foolbox's CW returns zero
    images for them; others return their last iterate). Success itself is still graded by
    :mod:`advcompare.analysis.metrics`, never here."""
    out = as_adversarial(x_adv, x)
    with uncounted(model) as plain:
        still_correct = plain(out).argmax(1) == y
    out[still_correct] = x[still_correct].detach()
    return out


def zero_failures(x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """Per sample, an all-zero output where the input was not all zero: Foolbox's marker
    for a sample its C&W (and FMN, DDN) never fooled."""
    return (x_adv.flatten(1) == 0).all(1) & (x.flatten(1) != 0).any(1)


def restore_zero_failures(x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    """The input back for every :func:`zero_failures` sample: a zero image is often
    misclassified, so left alone it would count as a huge successful perturbation."""
    never_found = zero_failures(x, x_adv)
    out = x_adv.clone()
    out[never_found] = x[never_found].to(out.dtype)
    return out


@torch.no_grad()
def repaired_samples(raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per sample, whether :func:`finish` has to repair the library's output: non-finite
    values replaced or values outside [0, 1] (beyond float rounding) clipped. All-zero
    images are counted by :meth:`Adapter.craft` where the entry restores them."""
    try:
        out = torch.as_tensor(raw).detach().to(device=x.device, dtype=x.dtype).reshape(x.shape)
    except RuntimeError:
        return torch.ones(len(x), dtype=torch.bool)
    flat = out.flatten(1)
    finite = torch.isfinite(flat)
    bad = ~finite.all(1)
    inside = torch.where(finite, flat, torch.zeros_like(flat))
    bad |= (inside < -BOX_TOLERANCE).any(1) | (inside > 1 + BOX_TOLERANCE).any(1)
    return bad.cpu()


def as_adversarial(x_adv: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bring a library's output to the contract: ``x``'s shape, dtype and device, in [0, 1].

    Non-finite values (a library dividing by an all-zero gradient, say) are replaced by the
    clean input's, so a numerical failure reads as a failed attack, not as a NaN image.
    """
    out = torch.as_tensor(x_adv).detach().to(device=x.device, dtype=x.dtype).reshape(x.shape)
    out = torch.where(torch.isfinite(out), out, x.detach())
    return out.clamp(0.0, 1.0)


@contextlib.contextmanager
def parameters_frozen(model: nn.Module) -> Iterator[None]:
    """No parameter gradients during attacks: they need input gradients only, and a library
    that calls ``loss.backward()`` (Foolbox through EagerPy, ART) would otherwise compute
    every weight's gradient too (~1.3x per pass on the paper CNN: benchmarks/default_run.py).
    Restores every parameter's ``requires_grad`` and ``.grad`` afterwards (ART zeroes
    ``.grad``)."""
    state = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    for param, _, _ in state:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param, flag, grad in state:
            param.requires_grad_(flag)
            param.grad = grad
