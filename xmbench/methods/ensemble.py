"""Several runs of one method trained as one ensemble: their networks' weights stacked along a new
first axis, one vmapped loss and gradient for all of them per update (``torch.func``), one
optimiser step over the stacked weights. On a GPU that turns K small matrix products into one
batched product; on a CPU it saves little and may cost (tested there for its numbers only).

Everything but the training step stays each run's own: data, seeded batches, validation, model
selection, early stopping and scoring. Each member runs its ordinary ``fit`` in its own thread; a
method that supports ensembles (``supports_ensemble``) hands its batch to ``EnsembleMember.step``
instead of stepping its own optimiser, and the step returns once every member still training has
handed in its batch for that update. A member's parameters are views into the stacked weights
while it trains, so its validation reads its current state and model selection's restore writes
into it; when its training ends it takes its own copy and leaves. The optimiser is the method's
own (``_optimizer``) over the stacked tensors: Adam and RMSprop are elementwise, so each member's
slice follows exactly its own optimiser's arithmetic; only the batched products round differently
from separate ones: in float64 every member equals its separate run to 1e-5
(``tests/test_ensemble.py``), in float32 it differs as a run on another thread count does.

``run_as_ensemble`` runs the members' tasks (the harness: ``run_one``; ``executors.ensembles``
groups the runs); a method's ``fit`` finds its member with ``current_member()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from xmbench.errors import XmbenchError

Batch = dict[str, torch.Tensor]
Losses = dict[str, torch.Tensor]
# fitted state a method's ``_losses`` may read (acmr: the budget; supervised methods: the class count)
SHARED_STATE = ("budget_", "n_classes_")


class _LossModule(nn.Module):
    """A method's ``_losses`` as a module whose parameters are its networks', for ``functional_call``."""

    def __init__(self, method: Any) -> None:
        super().__init__()
        self.nets = method.nets_
        self._method = (method,)  # a tuple, so the method is not registered as a submodule

    def forward(self, batch: Batch, update: int) -> Losses:
        return self._method[0]._losses(batch, update)


class Ensemble:
    """The shared step of ``size`` members (threads), in lockstep: see the module docstring."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Condition()
        self._methods: dict[int, Any] = {}
        self._active: set[int] = set()
        self._pending: dict[int, tuple[Batch, int]] = {}
        self._results: dict[int, Losses | BaseException] = {}
        self._ready = False
        self._error: BaseException | None = None

    def member(self, index: int) -> EnsembleMember:
        return EnsembleMember(self, index)

    # ------------------------------------------------------------------ called by the members
    def join(self, index: int, method: Any) -> None:
        """Wait until every member has built its networks; the last to come stacks them."""
        with self._lock:
            self._methods[index] = method
            self._active.add(index)
            if len(self._methods) == self.size:
                self._stack_or_fail()
            while not self._ready:
                self._lock.wait()
            if self._error is not None:
                raise XmbenchError(f"ensemble: {self._error}") from self._error

    def step(self, index: int, batch: Batch, update: int) -> Losses:
        with self._lock:
            self._pending[index] = (batch, update)
            self._compute_if_complete()
            while index not in self._results:
                self._lock.wait()
            result = self._results.pop(index)
        if isinstance(result, BaseException):
            raise result
        return result

    def leave(self, index: int) -> None:
        """The member's training has ended: its parameters become its own, and the others go on."""
        with self._lock:
            if index not in self._active:
                return
            self._active.discard(index)
            if index in self._methods and self._ready and self._error is None:
                for parameter in self._methods[index].nets_.parameters():
                    parameter.data = parameter.data.clone()
            self._compute_if_complete()

    def drop(self, index: int) -> None:
        """A member that failed before it joined: the others must not wait for it."""
        with self._lock:
            if index in self._methods or self._ready:
                return
            self.size -= 1
            if self.size and len(self._methods) == self.size:
                self._stack_or_fail()

    # ------------------------------------------------------------------------------ internals
    def _stack_or_fail(self) -> None:
        """Stack the members' weights (under the lock); a failure reaches every member, none waits forever."""
        try:
            self._stack()
        except BaseException as error:  # noqa: BLE001
            self._error = error
        self._ready = True
        self._lock.notify_all()

    def _stack(self) -> None:
        self._row = {index: row for row, index in enumerate(sorted(self._methods))}  # member -> its slice
        methods = [self._methods[index] for index in sorted(self._methods)]
        template = methods[0]
        settings = {k: v for k, v in template.get_params().items() if k != "seed"}
        # what ``_losses`` reads besides the parameters is the template's: the members must agree on it
        shared = {name: getattr(template, name, None) for name in SHARED_STATE}
        for other in methods[1:]:
            if (type(other) is not type(template) or {k: v for k, v in other.get_params().items() if k != "seed"} != settings
                    or {name: getattr(other, name, None) for name in SHARED_STATE} != shared):
                raise XmbenchError("the members of an ensemble must be one method with one set of parameters (seeds "
                                   "aside) and one budget and class count")
        self._module = _LossModule(template)
        if any(True for _ in self._module.buffers()):
            raise XmbenchError(f"{template.name} keeps buffers (e.g. BatchNorm statistics); it cannot train as an ensemble")
        names = [name for name, _ in self._module.named_parameters()]
        per_member = [dict(_LossModule(m).named_parameters()) for m in methods]
        self._params = {name: torch.stack([p[name].detach() for p in per_member]).requires_grad_(True) for name in names}
        for k, parameters in enumerate(per_member):
            for name, parameter in parameters.items():
                parameter.data = self._params[name].data[k]  # a view: the member reads and restores its own slice
        self._optimizer = template._optimizer(list(self._params.values()))

    def _compute_if_complete(self) -> None:
        if not self._active or set(self._pending) != self._active:
            return
        members = sorted(self._active)
        updates = {self._pending[k][1] for k in members}
        try:
            if len(updates) != 1:
                raise XmbenchError(f"ensemble members out of step (updates {sorted(updates)})")
            losses = self._vmapped_step(members, [self._pending[k][0] for k in members], updates.pop())
            for position, k in enumerate(members):
                self._results[k] = {key: value[position] for key, value in losses.items()}
        except BaseException as error:  # noqa: BLE001 (each waiting member raises it in its own thread)
            for k in members:
                self._results[k] = error
        self._pending.clear()
        self._lock.notify_all()

    def _vmapped_step(self, members: Sequence[int], batches: Sequence[Batch], update: int) -> Losses:
        rows = torch.tensor([self._row[k] for k in members], device=next(iter(self._params.values())).device)
        stacked = {key: torch.stack([batch[key] for batch in batches]) for key in batches[0]}

        def loss(params: dict[str, torch.Tensor], batch: Batch) -> tuple[torch.Tensor, Losses]:
            terms = functional_call(self._module, params, (batch, update))
            return terms["loss"], {key: value.detach() for key, value in terms.items()}

        chosen = {name: stacked_param.detach()[rows] for name, stacked_param in self._params.items()}
        gradients, terms = vmap(grad(loss, has_aux=True))(chosen, stacked)
        for name, stacked_param in self._params.items():
            full = torch.zeros_like(stacked_param)
            full[rows] = gradients[name]
            stacked_param.grad = full
        self._optimizer.step()
        self._optimizer.zero_grad(set_to_none=True)
        return terms


class EnsembleMember:
    """One member's handle: ``join`` once its networks exist, ``step`` per update, ``leave`` at the end."""

    def __init__(self, ensemble: Ensemble, index: int) -> None:
        self.ensemble, self.index = ensemble, index

    def join(self, method: Any) -> None:
        self.ensemble.join(self.index, method)

    def step(self, batch: Batch, update: int) -> Losses:
        return self.ensemble.step(self.index, batch, update)

    def leave(self) -> None:
        self.ensemble.leave(self.index)


_current = threading.local()  # the member whose thread this is (``run_as_ensemble``)


def current_member() -> EnsembleMember | None:
    """The ensemble member this thread trains, or None: a method that supports ensembles asks in its
    ``fit`` and then steps through the member instead of its own optimiser."""
    return getattr(_current, "member", None)


def run_as_ensemble(tasks: Sequence[Callable[[], Any]]) -> list[Any]:
    """Run ``tasks`` (each fits one member, e.g. one run of the harness) as one ensemble, one thread
    each; returns each task's result, or the exception it raised."""
    ensemble = Ensemble(len(tasks))
    results: list[Any] = [None] * len(tasks)

    def run(k: int) -> None:
        _current.member = ensemble.member(k)
        try:
            results[k] = tasks[k]()
        except BaseException as error:  # noqa: BLE001 (reported per member, like a run's failure)
            results[k] = error
        finally:
            _current.member = None
            ensemble.leave(k)
            ensemble.drop(k)

    # daemon threads: Ctrl-C in the main thread ends the process without waiting for them
    threads = [threading.Thread(target=run, args=(k,), name=f"ensemble-{k}", daemon=True)
               for k in range(len(tasks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
