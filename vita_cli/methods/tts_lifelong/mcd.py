"""Mel-cepstral distortion with DTW, as the official code computes it.

From a dB mel S (frames × mels): cepstra ``C = DCT-II_ortho(S / 10)``, keep c1..c12 (drop c0),
align the two sequences with fastdtw (Euclidean frame distance), average the frame distances
‖c_a − c_b‖₂ along the path. ``scale="db"`` multiplies by the usual constant 10·√2/ln 10.
"""

from __future__ import annotations

import math

import numpy as np
from fastdtw import fastdtw
from scipy.fft import dct

DB_CONSTANT = 10 * math.sqrt(2) / math.log(10)


def cepstra(db_mel: np.ndarray, n_mfcc: int = 13) -> np.ndarray:
    """(frames, 12): DCT-II (orthonormal) of dB-mel / 10, coefficients 1..n_mfcc-1."""
    return dct(np.asarray(db_mel, dtype=np.float64) / 10.0, type=2, axis=1, norm="ortho")[:, 1:n_mfcc]


def mcd_dtw(db_mel_a: np.ndarray, db_mel_b: np.ndarray, scale: str = "plain") -> float:
    """MCD between two dB mels of shape (frames, mels), aligned with DTW."""
    a, b = cepstra(db_mel_a), cepstra(db_mel_b)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("MCD needs at least one frame on each side")
    _, path = fastdtw(a, b, radius=len(a) + len(b), dist=2)
    path = np.asarray(path)
    value = float(np.linalg.norm(a[path[:, 0]] - b[path[:, 1]], axis=1).mean())
    return value * DB_CONSTANT if scale == "db" else value
