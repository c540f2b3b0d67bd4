"""Cross-modal VAE with distributed latent spaces and associators ("Cross-modal variational
auto-encoder with distributed latent spaces and associators", Sec. 3.3, Eq. 6-7), on frozen features."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.errors import NonFiniteError, XmbenchError
from xmbench.methods.base import METHODS, CrossModalMethod
from xmbench.methods.standardise import StandardisedFeatures, positive_int, shape_problems
from xmbench.methods.vae_assoc_nets import MODALITIES, OTHER, VAE, GaussianMLP, loss_terms, sample, shuffled_batches
from xmbench.options import Modality, Profile
from xmbench.seeding import derive_seed, seeded_init, torch_generator


class _Job(NamedTuple):
    """One network trained in a phase: its rows, the loss terms of a batch, its optimiser and RNG."""

    n_rows: int
    n_updates: int  # per epoch; batches cycle through reshuffled passes over the rows
    terms: Callable[[torch.Tensor, torch.Generator], torch.Tensor]
    optimizer: torch.optim.Optimizer
    generator: torch.Generator


def _direction(source: str, target: str) -> str:
    return f"{source}->{target}"


@METHODS.register("vae-assoc")
class VAEAssociator(StandardisedFeatures, CrossModalMethod):
    """One VAE per modality, each with its own latent space, linked by two variational associators.

    Features are standardised per modality with the mean and std of all its training rows (paired
    and unpaired; a constant feature keeps std 1); the networks work in that space and ``translate``
    / ``reconstruct`` return de-standardised features, comparable with real ones.

    Phase 1, intra-modal (Eq. 6). Per modality a VAE: encoder MLP d -> ``hidden`` -> (mu, logvar)
    of size ``latent_dim`` (modality b: ``latent_dim_b`` if given, the paper's "ours-flex"), decoder
    MLP latent -> reversed ``hidden`` -> d with a linear output. Loss per sample
    ||x - x_hat||^2 - ``lambda_int`` * sum_k (1 + log s_k^2 - m_k^2 - s_k^2), batch mean, with
    z = m + s * eps. Each VAE trains on every training row of its modality: the pairs plus
    ``unpaired`` rows (the paper's semi-supervised setting, Sec. 4.6), with its own optimiser and
    seeded generator, so one modality's data never changes the other's VAE.

    Phase 2, cross-modal (Eq. 7). Both VAEs are frozen (no gradients, eval mode). Associator
    ``associators_["a->b"]`` maps a sample z_a of a's posterior to (m, log s^2) in b's latent space;
    z_ab = m + s * eps is decoded by b's frozen decoder; loss ||x_b - D_b(z_ab)||^2 - ``lambda_crs`` *
    sum_k (1 + log s_k^2 - m_k^2 - s_k^2). ``"b->a"`` is symmetric. Only paired rows are used, but
    a phase-2 epoch makes as many updates as a phase-1 epoch (batches cycle through reshuffled
    passes over the pairs): with 1% of 6,800 pairs, one pass would be a single update per epoch and
    the associators would stay untrained, so the paired fraction would be confounded with the budget.
    Outputs are deterministic (means, no sampling). ``embed_in(space, m, X)``: the encoder mean of
    m when ``space == m``, else the associator ``m->space``'s mean of it, i.e. a point in ``space``'s
    latent space. ``embed(m, X)`` is the "product" space [embed_in(a, m, X), embed_in(b, m, X)]
    (width latent_a + latent_b for both modalities); retrieval compares items in one latent space
    through ``embed_in`` (``Task.space``). ``translate(m, X)``: encoder mean -> associator mean ->
    other decoder; ``reconstruct(m, X)``: encoder mean -> own decoder.

    xmbench defaults (no public code; the paper's Appendix C with the architectures is not
    available): ``hidden=(512, 256)`` and ``associator_hidden=(256, 256)``, ReLU MLPs about as wide
    as the CM-GANs networks (512) on the same features; ``latent_dim=64`` (paper, Table 2).
    ``lambda_int = lambda_crs = 0.5``: with the sum-of-squares reconstruction (a Gaussian likelihood
    of variance 1/2) this is KL weight 1, the plain ELBO. Adam ``lr=1e-3``, ``batch_size=128`` (a
    pass's last batch may be smaller); ``intra_epochs`` and ``cross_epochs`` per phase.

    Profiles (our choice, only epochs change): ``smoke`` 2 + 2; ``quick`` 20 + 20, 19-29 s for 6,800
    pairs of 196-d features on one thread of a shared 2-core CPU (phase 1 0.6-0.9 s, phase 2
    0.35-0.5 s per epoch),
    and on planted 10-class ReLU features as good as 40 + 40 (translation recognition 0.93 vs 0.94);
    ``paper`` 100 + 100 (the paper trains phase 1 "until convergence"; its epochs are not given).

    ``history_`` has one record per epoch; ``epoch`` runs across both phases (phase 2 continues
    after ``intra_epochs``). Phase-1 records hold phase1_{recon,kl,loss}_{a,b}, phase-2 records
    phase2_{recon,kl,loss}_{a_to_b,b_to_a}: means over the epoch's updates of the batch-mean
    reconstruction error, KL divergence to N(0, I) and weighted loss. A non-finite loss raises
    ``NonFiniteError`` naming the phase, the epoch and the network.
    """

    name: ClassVar[str] = "vae-assoc"
    can_translate: ClassVar[bool] = True
    can_reconstruct: ClassVar[bool] = True
    shared_space: ClassVar[bool] = False
    uses_unpaired: ClassVar[bool] = True
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"intra_epochs": 2, "cross_epochs": 2},
        Profile.QUICK: {"intra_epochs": 20, "cross_epochs": 20},
        Profile.PAPER: {"intra_epochs": 100, "cross_epochs": 100},
    }

    def __init__(
        self,
        *,
        hidden: tuple[int, ...] = (512, 256),
        associator_hidden: tuple[int, ...] = (256, 256),
        latent_dim: int = 64,
        latent_dim_b: int | None = None,
        lambda_int: float = 0.5,
        lambda_crs: float = 0.5,
        lr: float = 1e-3,
        batch_size: int = 128,
        intra_epochs: int = 100,
        cross_epochs: int = 100,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.hidden = hidden
        self.associator_hidden = associator_hidden
        self.latent_dim = latent_dim
        self.latent_dim_b = latent_dim_b
        self.lambda_int = lambda_int
        self.lambda_crs = lambda_crs
        self.lr = lr
        self.batch_size = batch_size
        self.intra_epochs = intra_epochs
        self.cross_epochs = cross_epochs
        self.seed = seed
        self.device = device

    # ----------------------------------------------------------------------------------- fit
    def _check_params(self) -> None:
        problems = shape_problems(self, ("latent_dim", "batch_size", "intra_epochs", "cross_epochs"), ("hidden", "associator_hidden"))
        if self.latent_dim_b is not None and not positive_int(self.latent_dim_b):
            problems.append(f"latent_dim_b must be None or a positive integer, got {self.latent_dim_b!r}")
        for name in ("lambda_int", "lambda_crs"):
            if not getattr(self, name) >= 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not self.lr > 0:
            problems.append(f"lr must be positive, got {self.lr!r}")
        if problems:
            raise XmbenchError(f"{self.name}: " + "; ".join(problems))

    def _fit(self, train: PairedSplit, unpaired: UnpairedFeatures | None = None) -> None:
        self._check_params()
        device = torch.device(self.device)
        rows = self._fit_standardiser(train, unpaired)
        latent = {"a": self.latent_dim, "b": self.latent_dim if self.latent_dim_b is None else self.latent_dim_b}
        with seeded_init(self.seed):
            self.vaes_ = nn.ModuleDict({m: VAE(rows[m].shape[1], self.hidden, latent[m]) for m in MODALITIES})
            self.associators_ = nn.ModuleDict(
                {_direction(m, OTHER[m]): GaussianMLP(latent[m], self.associator_hidden, latent[OTHER[m]])
                 for m in MODALITIES}
            ).to(device)
            self.vaes_.to(device)
        self.history_: list[dict[str, float]] = []
        self._fit_intra({m: self._to_model(m, rows[m]) for m in MODALITIES})
        self._fit_cross({m: self._to_model(m, train.x(m)) for m in MODALITIES}, max(map(len, rows.values())))
        self.associators_.eval()

    def _fit_intra(self, X: dict[str, torch.Tensor]) -> None:
        """Phase 1: each VAE on all rows of its modality; then freeze both."""
        jobs = {}
        for m in MODALITIES:
            vae = self.vaes_[m].train()

            # default arguments bind this iteration's tensors and modules (closures would see the last)
            def terms(idx: torch.Tensor, gen: torch.Generator, x: torch.Tensor = X[m], vae: VAE = vae) -> torch.Tensor:
                mu, logvar = vae.encoder(x[idx])
                return loss_terms(x[idx], vae.decoder(sample(mu, logvar, gen)), mu, logvar)

            jobs[m] = self._job(len(X[m]), len(X[m]), terms, vae, "intra", m)
        self._train_phase(1, jobs, self.intra_epochs, self.lambda_int)
        self.vaes_.requires_grad_(False).eval()

    def _fit_cross(self, X: dict[str, torch.Tensor], epoch_rows: int) -> None:
        """Phase 2: the associators on the paired rows, through the frozen VAEs; an epoch is as
        many updates as a pass over ``epoch_rows`` rows (a phase-1 epoch)."""
        with torch.no_grad():  # frozen encoders: their posteriors are fixed, compute them once
            posterior = {m: self.vaes_[m].encoder(X[m]) for m in MODALITIES}
        jobs = {}
        for src in MODALITIES:
            dst = OTHER[src]
            assoc, decoder = self.associators_[_direction(src, dst)].train(), self.vaes_[dst].decoder
            mu_src, logvar_src = posterior[src]

            # default arguments bind this iteration's tensors and modules (closures would see the last)
            def terms(idx: torch.Tensor, gen: torch.Generator, mu_src: torch.Tensor = mu_src,
                      logvar_src: torch.Tensor = logvar_src, assoc: GaussianMLP = assoc,
                      decoder: nn.Module = decoder, x_dst: torch.Tensor = X[dst]) -> torch.Tensor:
                mu, logvar = assoc(sample(mu_src[idx], logvar_src[idx], gen))
                return loss_terms(x_dst[idx], decoder(sample(mu, logvar, gen)), mu, logvar)

            jobs[f"{src}_to_{dst}"] = self._job(len(X[src]), epoch_rows, terms, assoc, "cross", src)
        self._train_phase(2, jobs, self.cross_epochs, self.lambda_crs)

    def _job(self, n_rows: int, epoch_rows: int, terms: Callable, module: nn.Module, phase: str, key: str) -> _Job:
        generator = torch_generator(derive_seed(self.seed, self.name, phase, key), torch.device(self.device))
        n_updates = -(-epoch_rows // min(self.batch_size, n_rows))
        return _Job(n_rows, n_updates, terms, torch.optim.Adam(module.parameters(), lr=self.lr), generator)

    def _train_phase(self, phase: int, jobs: dict[str, _Job], epochs: int, weight: float) -> None:
        """Runs ``epochs`` epochs of every job (``n_updates`` Adam steps each); one history record per epoch."""
        first = len(self.history_)
        for epoch in range(1, epochs + 1):
            record: dict[str, float] = {"epoch": first + epoch}
            for key, job in jobs.items():
                sums = torch.zeros(3, device=job.generator.device)  # on device: no host sync per step
                for idx in shuffled_batches(job.n_rows, job.n_updates, self.batch_size, job.generator):
                    recon, prior = job.terms(idx, job.generator)
                    loss = recon - weight * prior
                    job.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    job.optimizer.step()
                    sums += torch.stack([recon, -0.5 * prior, loss]).detach()
                values = (sums / job.n_updates).tolist()
                names = [f"phase{phase}_{what}_{key}" for what in ("recon", "kl", "loss")]
                bad = [f"{n} = {v}" for n, v in zip(names, values, strict=True) if not np.isfinite(v)]
                if bad:
                    stage = "intra-modal VAE" if phase == 1 else "cross-modal associator"
                    raise NonFiniteError(
                        f"{self.name}: non-finite loss in phase {phase} ({stage} {key}) at epoch {epoch}: "
                        f"{', '.join(bad)} (training diverged; try a lower lr)"
                    )
                record.update(zip(names, values, strict=True))
            self.history_.append(record)

    # ------------------------------------------------------------------- embed / translate
    def _latent_mean(self, space: str, modality: str, X: np.ndarray) -> torch.Tensor:
        mu = self.vaes_[modality].encoder(self._to_model(modality, X))[0]
        return mu if space == modality else self.associators_[_direction(modality, space)](mu)[0]

    @torch.no_grad()
    def _embed_in(self, space: Modality, modality: Modality, X: np.ndarray) -> np.ndarray:
        return self._latent_mean(space.value, modality.value, X).cpu().numpy()

    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return np.concatenate([self._embed_in(space, modality, X) for space in Modality], axis=1)

    @torch.no_grad()
    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        target = source.other.value
        return self._from_model(target, self.vaes_[target].decoder(self._latent_mean(target, source.value, X)))

    @torch.no_grad()
    def _reconstruct(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        m = modality.value
        return self._from_model(m, self.vaes_[m].decoder(self._latent_mean(m, m, X)))
