"""Traffic signs of ten GTSRB classes (A) paired class by class with spoken digits (B): the VAE-associator
paper's GTSRB <-> GSC scenario, with spoken digits (FSDD) standing in for Google Speech Commands."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from xmbench.data.base import DATASETS, LoadOptions
from xmbench.data.mnist_speech import SpokenPairs
from xmbench.data.sources import read_npz
from xmbench.errors import DataUnavailableError, XmbenchError

GTSRB_FILE = "GTSRB_subset/gtsrb_subset10_32x32.npz"
GTSRB_KEYS = ("x_train", "y_train", "x_test", "y_test", "class_ids", "class_names")
GTSRB_LAYOUT = ("an npz with x_train, x_test ((n, 32, 32, 3) uint8 RGB), y_train, y_test (GTSRB ClassIds), "
                "class_ids (the 10 ids) and class_names (their names)")
SIDE = 28  # what the thesis CNN extractor takes


def resize_images(x: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 RGB -> (n, 3, 28, 28) uint8: bilinear with antialiasing (torch), rounded."""
    tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float()
    resized = torch.nn.functional.interpolate(tensor, size=(SIDE, SIDE), mode="bilinear", antialias=True,
                                              align_corners=False)
    return resized.round().clamp(0, 255).to(torch.uint8).numpy()


@DATASETS.register("gtsrb-speech")
class GtsrbSpeech(SpokenPairs):
    """GTSRB signs (A) of class index i paired with spoken digit i (B, MFCCs): 2,700 train / 300 test pairs.

    The ten classes of ``GTSRB_subset`` (ClassIds 1, 9, 14, 15, 16, 17, 33, 34, 35, 40, in that order,
    are class indices 0-9) are paired with the digits 0-9 by index: an arbitrary but fixed pairing,
    as the paper pairs four signs with four command words ('Ahead only' with GO, ...) and adds other
    signs; spoken digits (FSDD) stand in for its Google Speech Commands, which are not available
    here. The images are full GTSRB frames already resized to 32 x 32 RGB by the subset's source;
    they are resized again to 28 x 28 (bilinear, antialiased, rounded to uint8) because the thesis
    CNN extractor takes 28 x 28 inputs; the paper resized to 52 x 52 for its own networks. Training
    partners come from GTSRB's training images, test partners from its test images; the pairing is
    drawn with the data seed (see ``SpokenPairs``).
    """

    name = "gtsrb-speech"
    description = "GTSRB sign class i x spoken digit i (ten GTSRB classes; FSDD recordings as MFCCs)"
    source = f"{GTSRB_FILE} and FSDD/fsdd_8k.npz under the data root"
    license = "GTSRB: see Stallkamp et al. (2012) for its terms; FSDD: CC BY-SA 4.0"
    citation = (
        "Stallkamp et al. (2012); Jackson et al., Free Spoken Digit Dataset (2018); "
        "Cross-modal Variational Auto-encoder with Distributed Latent Spaces and Associators (2019)"
    )
    image_modality = "gtsrb"
    image_shape = (3, SIDE, SIDE)
    images_source = f"{GTSRB_FILE} resized to {SIDE}x{SIDE}"
    class_names: ClassVar[tuple[str, ...]] = ("speed limit 30", "no passing", "stop", "no vehicles",
                                              "no vehicles over 3.5 t", "no entry", "turn right ahead",
                                              "turn left ahead", "ahead only", "roundabout")

    @classmethod
    def _images(cls, root: Path, options: LoadOptions) -> dict[str, np.ndarray]:
        path = root / GTSRB_FILE
        if not path.is_file():
            raise DataUnavailableError(f"dataset {cls.name!r}: no {GTSRB_FILE} under {root}; expected {GTSRB_LAYOUT}. "
                                       "--download cannot fetch it: place the file there or point --data-root at a "
                                       "folder that has it")
        arrays = read_npz(path, GTSRB_KEYS, GTSRB_LAYOUT, "it cannot be downloaded: place a valid copy there")
        ids = arrays["class_ids"].astype(np.int64)
        out = {}
        for part in ("train", "test"):
            x, y = arrays[f"x_{part}"], arrays[f"y_{part}"].astype(np.int64)
            if x.ndim != 4 or x.shape[3] != 3 or x.dtype != np.uint8 or len(x) != len(y) or not np.isin(y, ids).all():
                raise XmbenchError(f"{path} is inconsistent: x_{part} {x.dtype} {x.shape}, y_{part} {y.shape} with "
                                   f"ClassIds outside class_ids; expected {GTSRB_LAYOUT}")
            out[f"x_{part}"], out[f"y_{part}"] = resize_images(x), np.searchsorted(ids, y)
        if len(ids) != len(cls.class_names) or np.any(np.diff(ids) <= 0):
            raise XmbenchError(f"{path}: class_ids {ids.tolist()} are not 10 sorted GTSRB ClassIds; expected {GTSRB_LAYOUT}")
        return out
