"""The method interface: scikit-learn-style estimators over paired frozen features.

A method's constructor only stores hyper-parameters. ``fit`` validates the training pairs once
(here), trains, and returns self; learned state ends in ``_``. ``embed`` maps one modality's
features into the common space; methods that can generate the other modality's features also
implement ``translate`` (and ``reconstruct`` when they can regenerate a modality from itself).
Methods with one latent space per modality (``shared_space = False``) implement ``embed_in`` so
retrieval can compare items in one of those spaces. Methods that can learn from training samples
whose pairing was withheld (``--paired-fraction``) set ``uses_unpaired``. Methods never score
themselves: ``xmbench.eval`` does that, also for model selection, where ``fit`` gets the harness's
scorer of a validation split (``validation``) and a method calls it through ``_validate``.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import NonFiniteError, XmbenchError
from xmbench.methods.params import Range, range_problems
from xmbench.options import Modality, Profile
from xmbench.registry import Registry


# retrieval: mAP in a common space; translation: generated samples (translation retrieval, their
# recognition accuracy); synchrony: the synchronous rate of generated pairs; correlation: the total
# canonical correlation of the two modalities' embeddings
CLAIMS = ("retrieval", "translation", "synchrony", "correlation")


class NotFittedError(XmbenchError):
    """``embed`` or ``translate`` was called before ``fit``."""


@dataclass(frozen=True)
class Validation:
    """What ``fit`` may use for model selection: validation pairs carved from the training pairs
    (never test items) and the harness's scorer of a method's current state on them (retrieval
    task -> mAP, computed by ``xmbench.eval`` as on the test split)."""

    split: PairedSplit
    scorer: Callable[[CrossModalMethod], dict[str, float]]


class CrossModalMethod(ABC):
    """Base class of every registered method.

    Subclasses declare ``name`` (the registry key), ``profiles`` (constructor overrides for
    ``smoke``, ``quick`` and ``paper``) and implement ``_fit`` and ``_embed``; ``_translate`` when
    ``can_translate``, ``_reconstruct`` when ``can_reconstruct``, ``_embed_in`` when not
    ``shared_space``. ``_fit(train)`` gets the pairs; with ``uses_unpaired`` it is called as
    ``_fit(train, unpaired)``. Every constructor takes ``seed`` and ``device`` keywords.
    """

    name: ClassVar[str]
    # the implementation's version: bump it whenever a change moves the numbers (defaults, profiles,
    # the algorithm); it enters the run id and, for runs of another version, the label
    # (``RunKey.label_for``), so results of two implementations are never pooled or skipped as one.
    # tests/test_method_versions.py fails when a built-in's defaults or profiles change without it.
    version: ClassVar[int] = 1
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {}
    # each hyper-parameter's valid values (``xmbench.methods.params``), declared beside the defaults:
    # checked for --set before anything runs, and by ``fit``; shown by ``xmbench list --method``
    param_ranges: ClassVar[dict[str, Range]] = {}
    # several runs of it can train as one ensemble, one vmapped step (``--ensemble``, ``methods.ensemble``)
    supports_ensemble: ClassVar[bool] = False
    can_translate: ClassVar[bool] = False
    can_reconstruct: ClassVar[bool] = False
    shared_space: ClassVar[bool] = True
    uses_unpaired: ClassVar[bool] = False
    can_generate_pairs: ClassVar[bool] = False  # generate_pairs(n, seed): pairs from shared noise
    input_kind: ClassVar[str] = "features"  # or "images": raw (n, C, H, W) inputs instead of features
    # validation tasks whose mean mAP model selection maximises; () = the four retrieval tasks.
    # Translation tasks ("A=>B", "B=>A") are scored on the validation split only when named here.
    selection_tasks: ClassVar[tuple[str, ...]] = ()
    # the scores the method's paper reports, among CLAIMS; the report marks (§) a method's row in a
    # table whose score its paper makes no claim for (report/claims.py); None: undeclared, never marked
    paper_claims: ClassVar[tuple[str, ...] | None] = None
    _validation: Validation | None = None  # set only while fit runs
    _validating: bool = False  # embed may run before fit ends: the validation scorer is calling

    @classmethod
    def from_profile(cls, profile: Profile | str, **overrides: Any) -> CrossModalMethod:
        """Construct with the profile's hyper-parameters; ``overrides`` win (e.g. seed, device)."""
        settings = dict(cls.profiles.get(Profile.parse(profile), {}))
        settings.update(overrides)
        return cls(**settings)

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, read back from attributes of the same name (sklearn)."""
        signature = inspect.signature(type(self).__init__)
        names = [name for name, p in signature.parameters.items() if name != "self" and p.kind is not p.VAR_KEYWORD]
        lacking = [name for name in names if not hasattr(self, name)]
        if lacking:
            raise XmbenchError(f"{self.name}: the constructor does not store argument(s) {', '.join(lacking)} as "
                               "attributes of the same name (scikit-learn's rule: get_params reads them back)")
        return {name: getattr(self, name) for name in names}

    def fit(
        self, train: PairedSplit, unpaired: UnpairedFeatures | None = None, validation: Validation | None = None
    ) -> CrossModalMethod:
        """Learn the common space from paired training features (and, for methods that use them,
        unpaired ones); returns self. With ``validation`` (pairs carved from the training data,
        never the test split) trained methods record a validation curve and, with
        ``model_selection``, keep the best state; closed-form methods choose their components."""
        problems = range_problems(self.param_ranges, self.get_params())
        if problems:
            raise XmbenchError(f"{self.name}: " + "; ".join(problems))
        check_features("a", train.a)
        check_features("b", train.b)
        if len(train) < 2:
            raise XmbenchError(f"{self.name}: needs at least 2 training pairs, got {len(train)}")
        self.n_features_in_ = {Modality.A: train.a.shape[1:], Modality.B: train.b.shape[1:]}
        if unpaired is not None:
            for modality in Modality:
                self._check_width(modality, unpaired.x(modality), allow_empty=True)
        if validation is not None:
            for modality in Modality:
                self._check_width(modality, validation.split.x(modality))
        self.fitted_ = False
        self._validation = validation
        try:
            if self.uses_unpaired:
                self._fit(train, unpaired)
            else:
                self._fit(train)
        finally:
            self._validation = None
        self.fitted_ = True
        return self

    def _validate(self) -> tuple[float, dict[str, float]]:
        """The selection score of the current state, the mean of the validation mAPs of the
        ``selection_tasks`` (by default the four retrieval tasks), and the details recorded in the
        training curve: the retrieval tasks' mean (``val_map``) and each task's mAP
        (``val_map_<task>``). Only while ``fit`` runs with a ``validation``."""
        if self._validation is None:
            raise XmbenchError(f"{self.name}: no validation split was given to fit")
        self._forget_outputs()
        self._validating = True
        try:
            maps = self._validation.scorer(self)
        finally:
            self._validating = False
            self._forget_outputs()
        chosen = [maps[task] for task in self.selection_tasks if task in maps]
        retrieval = [value for task, value in maps.items() if "=>" not in task]
        score = float(np.mean(chosen or retrieval))
        return score, {"val_map": float(np.mean(retrieval)), "val_score": score,
                       **{f"val_map_{task}": value for task, value in maps.items()}}

    @property
    def validating(self) -> bool:
        """True while ``fit`` has a validation split and scorer."""
        return self._validation is not None

    @property
    def validation_split(self) -> PairedSplit | None:
        """The validation pairs while ``fit`` runs with them (for a phase scored on its own loss)."""
        return None if self._validation is None else self._validation.split

    def _forget_outputs(self) -> None:
        """Drop anything remembered about earlier outputs (the weights are about to change or just did)."""

    def embed(self, modality: Modality | str, X: np.ndarray) -> np.ndarray:
        """Map features of ``modality`` into the common space: (n, d_modality) -> (n, d_common)."""
        modality = self._check_input(modality, X)
        Z = np.asarray(self._embed(modality, np.asarray(X, dtype=np.float32)))
        check_output(self.name, f"embedding of modality {modality.value}", Z, len(X), forbid_zero_rows=True)
        return Z

    def embed_in(self, space: Modality | str, modality: Modality | str, X: np.ndarray) -> np.ndarray:
        """Map features of ``modality`` into the latent space of modality ``space``.

        Methods with one common space ignore ``space`` (this is ``embed``); methods with one latent
        space per modality map the other modality there through their cross-modal mapping.
        """
        if self.shared_space:
            return self.embed(modality, X)
        space = Modality.parse(space)
        modality = self._check_input(modality, X)
        Z = np.asarray(self._embed_in(space, modality, np.asarray(X, dtype=np.float32)))
        what = f"embedding of modality {modality.value} in the latent space of {space.value}"
        check_output(self.name, what, Z, len(X), forbid_zero_rows=True)
        return Z

    def translate(self, source: Modality | str, X: np.ndarray) -> np.ndarray:
        """Generate the other modality's features from ``source`` features."""
        return self._generate(self.can_translate, "translate between modalities", "translation from", self._translate, source, X)

    def reconstruct(self, modality: Modality | str, X: np.ndarray) -> np.ndarray:
        """Regenerate ``modality``'s features from themselves (an intra-modal auto-encoder pass)."""
        return self._generate(self.can_reconstruct, "reconstruct a modality", "reconstruction of", self._reconstruct, modality, X)

    def _generate(
        self, capable: bool, ability: str, what: str, generate, modality: Modality | str, X: np.ndarray
    ) -> np.ndarray:
        if not capable:
            raise XmbenchError(f"method {self.name!r} cannot {ability}")
        modality = self._check_input(modality, X)
        out = np.asarray(generate(modality, np.asarray(X, dtype=np.float32)))
        check_output(self.name, f"{what} modality {modality.value}", out, len(X), forbid_zero_rows=False)
        return out

    def training_log(self) -> list[dict[str, Any]]:
        """Per-epoch training records (e.g. GAN losses) for the results store; empty by default."""
        return list(getattr(self, "history_", []))

    def extra_results(self) -> dict[str, float]:
        """Facts about the fitted model worth a results row (e.g. an approximation's rank)."""
        return {}

    def trainable_parameters(self) -> int:
        """What the fitted model learned, in numbers, for the report's cost columns. A method with
        networks (``torch.nn.Module`` in its learned state, the attributes ending in ``_``): their
        parameters (not buffers), each counted once, every network trained included
        (a GAN's discriminators too: they cost compute though they never embed). A closed-form
        method: the size of every floating-point array it fitted (projections, means, a Nyström
        map's landmarks), since those are what it estimated. Override where that is wrong."""
        from torch import nn  # the base stays importable without loading torch's modules first

        learned = [value for name, value in vars(self).items() if name.endswith("_") and not name.startswith("_")]
        modules = [m for m in _walk(learned) if isinstance(m, nn.Module)]
        if modules:
            # every parameter, frozen or not: methods freeze their networks once fitted
            unique = {id(p): p for module in modules for p in module.parameters()}
            return int(sum(p.numel() for p in unique.values()))
        arrays = {id(a): a for a in _walk(learned) if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)}
        return int(sum(a.size for a in arrays.values()))

    def training_summary(self) -> list[Any]:
        """One ``training.PhaseSummary`` per training phase (updates, selection, convergence); empty
        for closed-form methods."""
        return list(getattr(self, "phases_", []))

    @abstractmethod
    def _fit(self, train: PairedSplit) -> None:
        """Train on the pairs; methods with ``uses_unpaired`` take ``(train, unpaired)`` instead."""

    @abstractmethod
    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray: ...

    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _reconstruct(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _embed_in(self, space: Modality, modality: Modality, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_input(self, modality: Modality | str, X: np.ndarray) -> Modality:
        if not (getattr(self, "fitted_", False) or self._validating):
            raise NotFittedError(f"method {self.name!r} is not fitted yet; call fit first")
        modality = Modality.parse(modality)
        self._check_width(modality, X)
        return modality

    def _check_width(self, modality: Modality, X: np.ndarray, *, allow_empty: bool = False) -> None:
        if not (allow_empty and len(X) == 0):
            check_features(modality.value, X)
        expected = self.n_features_in_[modality]
        if np.ndim(X) < 2 or X.shape[1:] != expected:
            got = X.shape[1] if np.ndim(X) == 2 and len(expected) == 1 else f"shape {np.shape(X)[1:]}"
            want = expected[0] if len(expected) == 1 else f"shape {expected}"
            raise XmbenchError(f"{self.name}: modality {modality.value} has {want} features at fit, got {got}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def check_features(modality: str, X: np.ndarray) -> None:
    """Features (n, d), or raw images (n, C, H, W) for ``input_kind = "images"`` methods."""
    X = np.asarray(X)
    if X.ndim < 2 or X.size == 0:
        raise XmbenchError(f"features of modality {modality} must be a non-empty 2-D array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise XmbenchError(f"features of modality {modality} contain NaN or inf")


def check_output(method: str, what: str, Z: np.ndarray, n_rows: int, *, forbid_zero_rows: bool) -> None:
    """A method's output must be finite and of the right length (embeddings also non-zero rows):
    never a silent NaN."""
    if Z.ndim < 2 or Z.shape[0] != n_rows or (forbid_zero_rows and Z.ndim != 2):  # embeddings are (n, d)
        raise XmbenchError(f"{method}: {what} has shape {Z.shape}, expected ({n_rows}, d)")
    if not np.isfinite(Z).all():
        raise NonFiniteError(f"{method}: {what} contains NaN or inf")
    zero_rows = int((np.abs(Z.reshape(len(Z), -1)).max(axis=1) == 0).sum()) if forbid_zero_rows else 0
    if zero_rows:
        raise NonFiniteError(f"{method}: {what} has {zero_rows} all-zero rows (cosine similarity undefined)")


METHODS: Registry[type[CrossModalMethod]] = Registry("method", group="xmbench.methods", base=CrossModalMethod)


def _walk(values: Any, depth: int = 0):
    """``values`` and what they hold: containers, and the fitted attributes (ending in ``_``) of
    scikit-learn estimators; networks are yielded whole (their parameters are counted by torch)."""
    for value in values if isinstance(values, (list, tuple)) else [values]:
        yield value
        if depth > 4:
            continue
        if isinstance(value, dict):
            yield from _walk(list(value.values()), depth + 1)
        elif isinstance(value, (list, tuple)):
            yield from _walk(list(value), depth + 1)
        elif hasattr(value, "get_params") and hasattr(value, "fit"):  # a scikit-learn estimator
            yield from _walk([v for k, v in vars(value).items() if k.endswith("_") and not k.startswith("_")], depth + 1)
