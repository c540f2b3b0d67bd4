"""MFCC "images" of short spoken clips (librosa), fixed to one second, and their standardisation.

Settings (module constants; all of them are recorded in a dataset's provenance, hence in the
feature cache key): 8 kHz audio, every clip fixed to exactly 1 s (8,000 samples) by centring it
(zero padding split evenly before and after a shorter clip; a centre crop of a longer one), a
32 ms window (``n_fft`` 256) every 10 ms (``hop_length`` 80, frames centred by librosa) ->
101 frames, 40 mel bands, log power in dB clipped 80 dB below each clip's own peak, and 40
DCT-II coefficients: a 40 x 101 matrix per clip, the size used for 1 s of audio in the
cross-modal VAE paper (Sec. 4.1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SAMPLE_RATE = 8000
CLIP_SAMPLES = SAMPLE_RATE  # 1 s
N_FFT = 256  # 32 ms
HOP_LENGTH = 80  # 10 ms
N_MELS = 40
N_MFCC = 40
TOP_DB = 80.0
N_FRAMES = 1 + CLIP_SAMPLES // HOP_LENGTH  # 101
CHUNK = 256  # clips per librosa call: bounds the memory of the batched STFT
INT16_SCALE = 32768.0


def mfcc_settings() -> dict[str, object]:
    """The MFCC settings and librosa version, for a dataset's provenance."""
    import librosa

    return {
        "sample_rate": SAMPLE_RATE,
        "clip_samples": CLIP_SAMPLES,
        "fix_length": "centre (zero-pad evenly / centre-crop)",
        "n_fft": N_FFT,
        "hop_length": HOP_LENGTH,
        "n_mels": N_MELS,
        "n_mfcc": N_MFCC,
        "top_db": TOP_DB,
        "standardise": "per coefficient, train-split mean/std",
        "librosa": librosa.__version__,
    }


def fix_length(clip: np.ndarray, length: int = CLIP_SAMPLES) -> np.ndarray:
    """``clip`` centred in ``length`` samples: zero-padded evenly (extra sample at the end), or centre-cropped."""
    excess = len(clip) - length
    if excess >= 0:
        start = excess // 2
        return clip[start : start + length]
    before = -excess // 2
    return np.pad(clip, (before, -excess - before))


def mfcc_images(clips: Sequence[np.ndarray]) -> np.ndarray:
    """int16 8 kHz clips -> (n, 1, N_MFCC, N_FRAMES) float32 MFCCs, each clip independent of the others."""
    import librosa

    out = np.empty((len(clips), 1, N_MFCC, N_FRAMES), dtype=np.float32)
    for start in range(0, len(clips), CHUNK):
        batch = np.stack([fix_length(clip) for clip in clips[start : start + CHUNK]])
        power = librosa.feature.melspectrogram(
            y=batch.astype(np.float32) / INT16_SCALE,
            sr=SAMPLE_RATE,
            n_fft=N_FFT,
            hop_length=HOP_LENGTH,
            n_mels=N_MELS,
        )
        # power_to_db clips relative to the maximum of the array it is given: one clip at a time
        log_power = np.stack([librosa.power_to_db(clip_power, top_db=TOP_DB) for clip_power in power])
        out[start : start + len(batch), 0] = librosa.feature.mfcc(S=log_power, n_mfcc=N_MFCC)
    return out


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both splits scaled per coefficient (axis 2) with the mean and std of the training split only."""
    axes = (0, 1, 3)
    mean = train.mean(axis=axes, keepdims=True, dtype=np.float64)
    std = train.std(axis=axes, keepdims=True, dtype=np.float64)
    std[std == 0] = 1.0
    return ((train - mean) / std).astype(np.float32), ((test - mean) / std).astype(np.float32)
