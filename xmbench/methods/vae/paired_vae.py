"""What the VAE-associator paper's baselines share (its Table 1: VAE, VAE-CG, JMVAE, CVA, MVAE): one
training phase of every network on the pairs, on standardised features, in the shared loop.

Each baseline is one subclass in its own file that says which networks it has (``_networks``), its
loss on a batch of pairs (``_losses``), how a modality is encoded (``_encode``: the posterior mean,
no sampling) and how a latent code is decoded into a modality (``_decode``). This class does the
rest: standardisation (``StandardisedFeatures``, one scale per modality by default, as vae-assoc),
seeded initialisation and batches, one Adam optimiser over every network, the budget, validation
and model selection (``xmbench.methods.training``), and ``embed`` / ``translate`` / ``reconstruct``
from the two hooks.

Shared choices (the paper gives the compared models a 64-d latent space and nothing else): MLP
encoders and decoders with vae-assoc's widths (``hidden=(512, 256)``, mirrored in the decoder), a
Gaussian posterior, the sum-of-squares reconstruction, the KL to N(0, I) weighted by ``kl_weight``
(reached after ``kl_warmup`` updates of a linear rise from 0, MultiVae's warm-up; 0 by default, as the
VAE-associator paper mentions none)
(1: vae-assoc's default ``lambda = 0.5`` in the paper's notation, the plain ELBO), Adam 1e-3, batch
128. Profiles as vae-assoc's, one phase: ``smoke`` 20 updates; ``quick`` model selection on the
validation mAP every 50 updates, patience 3, at most 3,000 updates; ``paper`` 100 epochs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from xmbench.data.base import PairedSplit, UnpairedFeatures
from xmbench.methods.base import CrossModalMethod
from xmbench.methods.params import NON_NEGATIVE, OPTIONAL_POSITIVE_INT, POSITIVE, POSITIVE_INT, SCHEDULE, WIDTHS, Number, OneOf
from xmbench.methods.standardise import SCALINGS, StandardisedFeatures
from xmbench.methods.training import BatchStream, Phase, adam, budget, fit_phases, validation_score
from xmbench.methods.vae.vae_assoc_nets import MODALITIES, OTHER, GaussianMLP, mlp
from xmbench.options import Modality, Profile
from xmbench.seeding import derive_seed, seeded_init, torch_generator

Batch = dict[str, torch.Tensor]  # modality -> standardised rows


class PairedVAE(StandardisedFeatures, CrossModalMethod):
    """Base of the VAE-associator paper's baselines (not registered itself)."""

    paper_claims: ClassVar[tuple[str, ...]] = ("translation",)  # Table 1 scores generated samples only
    can_translate: ClassVar[bool] = True
    can_reconstruct: ClassVar[bool] = True
    profiles: ClassVar[dict[Profile, dict[str, Any]]] = {
        Profile.SMOKE: {"max_updates": 20, "eval_every": 10, "patience": 2, "model_selection": True},
        Profile.QUICK: {"max_updates": 3000, "eval_every": 50, "patience": 3, "model_selection": True},
        Profile.PAPER: {"epochs": 100},
    }
    param_ranges: ClassVar[dict[str, Any]] = {
        "hidden": WIDTHS, "latent_dim": POSITIVE_INT, "kl_weight": NON_NEGATIVE, "kl_warmup": Number(low=0, integer=True),
        "lr": POSITIVE,
        "batch_size": POSITIVE_INT, "epochs": POSITIVE_INT, "max_updates": OPTIONAL_POSITIVE_INT, **SCHEDULE,
        "scaling": OneOf(SCALINGS),
    }

    def __init__(
        self, *, hidden: tuple[int, ...] = (512, 256), latent_dim: int = 64, kl_weight: float = 1.0, kl_warmup: int = 0,
        lr: float = 1e-3, batch_size: int = 128, epochs: int = 100, max_updates: int | None = None,
        model_selection: bool = False, eval_every: int = 50, patience: int = 10, scaling: str = "modality",
        seed: int = 0, device: str = "cpu",
    ) -> None:
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.kl_warmup = kl_warmup
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.max_updates = max_updates
        self.model_selection = model_selection
        self.eval_every = eval_every
        self.patience = patience
        self.scaling = scaling
        self.seed = seed
        self.device = device

    # ------------------------------------------------------------------------------- hooks
    def _networks(self, widths: dict[str, int]) -> nn.ModuleDict:
        """Every network, by name (built under the method's seeded init)."""
        raise NotImplementedError

    def _losses(self, pairs: Batch, unpaired: Batch | None, generator: torch.Generator, update: int) -> dict[str, torch.Tensor]:
        """The loss terms of one update on a batch of pairs (and of unpaired rows, for methods that
        use them); ``"loss"`` is the one minimised."""
        raise NotImplementedError

    def _encode(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """The latent code of standardised rows of one modality (deterministic): by default the mean of
        its encoder ``encoder_<m>``."""
        return self.nets_[f"encoder_{modality}"](x)[0]

    def _decode(self, modality: str, z: torch.Tensor) -> torch.Tensor:
        """Standardised rows of ``modality`` generated from latent codes: by default its ``decoder_<m>``."""
        return self.nets_[f"decoder_{modality}"](z)

    def _modality_networks(self, widths: dict[str, int], decodes: dict[str, str] | None = None) -> dict[str, nn.Module]:
        """A Gaussian encoder ``encoder_<m>`` per modality and a decoder ``decoder_<t>``; ``decodes`` maps
        each encoder's modality to the modality its decoder's partner generates (default: itself)."""
        nets: dict[str, nn.Module] = {}
        for m in MODALITIES:
            target = (decodes or {}).get(m, m)
            nets[f"encoder_{m}"] = GaussianMLP(widths[m], self.hidden, self.latent_dim)
            nets[f"decoder_{target}"] = mlp(self.latent_dim, tuple(reversed(self.hidden)), widths[target])
        return nets

    def _kl(self, update: int) -> float:
        """The KL weight at ``update`` (from 0): ``kl_weight``, reached linearly over ``kl_warmup`` updates."""
        return self.kl_weight * min(1.0, (update + 1) / self.kl_warmup) if self.kl_warmup else self.kl_weight

    # --------------------------------------------------------------------------------- fit
    def _fit(self, train: PairedSplit, unpaired: UnpairedFeatures | None = None) -> None:
        device = torch.device(self.device)
        rows = self._fit_standardiser(train, unpaired)
        with seeded_init(self.seed):
            self.nets_ = self._networks({m: rows[m].shape[1] for m in MODALITIES}).to(device)
        pairs = {m: self._to_model(m, train.x(m)) for m in MODALITIES}
        generator = torch_generator(derive_seed(self.seed, self.name, "train"), device)
        stream = BatchStream(len(train), self.batch_size, generator)
        extra = None
        if unpaired is not None and len(unpaired.a):
            extra = {m: self._to_model(m, unpaired.x(m)) for m in MODALITIES}
            streams = {m: BatchStream(len(extra[m]), self.batch_size,
                                      torch_generator(derive_seed(self.seed, self.name, "unpaired", m), device))
                       for m in MODALITIES}
        optimizer = adam(self.nets_.parameters(), self.lr)

        def step(update: int) -> dict[str, torch.Tensor]:
            idx = stream.next()
            more = None if extra is None else {m: extra[m][streams[m].next()] for m in MODALITIES}
            losses = self._losses({m: pairs[m][idx] for m in MODALITIES}, more, generator, update)
            optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            optimizer.step()
            return {key: value.detach() for key, value in losses.items()}

        per_epoch = stream.per_pass
        fit_phases(self, [Phase("train", step, self.nets_, budget(self.epochs, self.max_updates, per_epoch), per_epoch,
                                validation_score(self))])
        self.nets_.requires_grad_(False).eval()

    # ------------------------------------------------------------------- embed / translate
    @torch.no_grad()
    def _embed(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        return self._encode(modality.value, self._to_model(modality.value, X)).cpu().numpy()

    @torch.no_grad()
    def _translate(self, source: Modality, X: np.ndarray) -> np.ndarray:
        target = OTHER[source.value]
        return self._from_model(target, self._decode(target, self._encode(source.value, self._to_model(source.value, X))))

    @torch.no_grad()
    def _reconstruct(self, modality: Modality, X: np.ndarray) -> np.ndarray:
        m = modality.value
        return self._from_model(m, self._decode(m, self._encode(m, self._to_model(m, X))))
