"""QR codes as 29×29 module arrays: generate (segno), locate the function patterns, decode (zxing-cpp).

A module array is a ``bool`` numpy array, ``True`` = dark module. Only the *data* modules carry the
payload; the function patterns (finders + separators, timing, alignment, format areas, dark module)
are the same for every payload of a given version/ECC/mask pattern, so the verifier paints them from
the owner's template before decoding.
"""

from __future__ import annotations

import hashlib

import numpy as np

from vita_cli.core.errors import UserError

QR_VERSION = 3
QR_SIZE = 29  # 17 + 4 * version
ECC_LEVELS = ("L", "M", "Q", "H")


def qr_size(version: int) -> int:
    return 17 + 4 * version


def make_qr(payload: str, version: int = QR_VERSION, ecc: str = "H") -> tuple[np.ndarray, int]:
    """The module array of ``payload`` as a QR code of exactly ``version``; returns (modules, mask pattern)."""
    import segno  # lazy: only signing and verification draw QR codes, not `vita --help`

    ecc = ecc.upper()
    if ecc not in ECC_LEVELS:
        raise UserError(f"QR error-correction level must be one of {', '.join(ECC_LEVELS)}, got {ecc!r}")
    if not payload:
        raise UserError("the QR payload is empty", "pass --payload TEXT")
    try:
        code = segno.make_qr(payload, version=version, error=ecc.lower(), boost_error=False)
    except Exception as exc:  # segno raises DataOverflowError for payloads that do not fit
        raise UserError(
            f"payload of {len(payload.encode())} bytes does not fit a version-{version} QR code at ECC {ecc}",
            "use a shorter payload (≤ 24 bytes at version 3, ECC H), or a lower error correction (sign.ecc=L) or a larger code (sign.qr_version=4)",
        ) from exc
    modules = np.array(code.matrix, dtype=bool)
    return modules, int(code.mask)


def function_pattern_mask(version: int = QR_VERSION) -> np.ndarray:
    """``True`` where a module belongs to a function pattern (no payload); version 2–6 layouts."""
    if not 2 <= version <= 6:
        # versions ≥ 7 add version-information blocks and more alignment patterns
        raise UserError(f"QR version {version} is not supported", "use a version between 2 and 6 (default 3)")
    n = qr_size(version)
    f = np.zeros((n, n), dtype=bool)
    # finder patterns with their separators (8×8 at three corners)
    f[0:8, 0:8] = True
    f[0:8, n - 8 : n] = True
    f[n - 8 : n, 0:8] = True
    # timing patterns
    f[6, 8 : n - 8] = True
    f[8 : n - 8, 6] = True
    # the single alignment pattern of versions 2-6, centred at (n-7, n-7)
    f[n - 9 : n - 4, n - 9 : n - 4] = True
    # format information (two copies) and the always-dark module
    f[8, 0:9] = True
    f[0:9, 8] = True
    f[8, n - 8 : n] = True
    f[n - 8 : n, 8] = True
    f[n - 8, 8] = True
    return f


def data_module_mask(version: int = QR_VERSION) -> np.ndarray:
    return ~function_pattern_mask(version)


def paint_function_patterns(
    modules: np.ndarray, template: np.ndarray, version: int = QR_VERSION
) -> np.ndarray:
    """Copy of ``modules`` whose function-pattern modules are taken from ``template``."""
    fmask = function_pattern_mask(version)
    out = modules.copy()
    out[fmask] = template[fmask]
    return out


def data_bit_error_rate(modules: np.ndarray, reference: np.ndarray, version: int = QR_VERSION) -> float:
    """Fraction of the data modules that differ from the reference code."""
    dmask = data_module_mask(version)
    return float(np.mean(modules[dmask] != reference[dmask]))


def render_modules(modules: np.ndarray, quiet_zone: int = 4, pixels_per_module: int = 8) -> np.ndarray:
    """Grey-scale image (uint8, dark = 0) of a module array with a quiet zone, as a scanner sees it."""
    padded = np.pad(modules.astype(np.uint8), quiet_zone)
    image = np.kron(padded, np.ones((pixels_per_module, pixels_per_module), dtype=np.uint8))
    return ((1 - image) * 255).astype(np.uint8)


def decode_modules(modules: np.ndarray) -> str | None:
    """Scan the rendered module array with zxing-cpp; the decoded text, or None when unreadable."""
    import zxingcpp  # lazy: the native decoder loads only when a code is scanned

    image = render_modules(modules)
    results = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormat.QRCode, try_rotate=False, try_invert=False
    )
    for result in results:
        if getattr(result, "valid", True):
            return result.text
    return None


def payload_sha256(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()
