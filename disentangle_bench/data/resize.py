"""Image downscaling with the Lanczos filter that disentanglement_lib uses through PIL.

disentanglement_lib resizes SmallNORB (96 -> 64) and Cars3D (128 -> 64) with
``PIL.Image.ANTIALIAS``, i.e. Lanczos with a = 3, its support widened by the scale factor. This is
the same separable filter written as two matrix products (rows, then columns) with a rounding to
uint8 in between and at the end, as PIL's 8-bit path does. PIL also quantises the weights to
fixed point, so a pixel can differ from PIL's by 1/255 (tested against PIL).
"""

from __future__ import annotations

import numpy as np

LANCZOS_A = 3


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < LANCZOS_A, np.sinc(x) * np.sinc(x / LANCZOS_A), 0.0)


def lanczos_matrix(n_in: int, n_out: int) -> np.ndarray:
    """float64 (n_out, n_in): output pixel i is ``matrix[i] @ input``; rows sum to 1.

    Output pixel ``i`` is centred at input coordinate ``(i + 0.5) * n_in / n_out``; the kernel
    ``sinc(x) sinc(x / 3)`` is stretched by ``max(n_in / n_out, 1)`` (PIL's ``ImagingResample``).
    """
    scale = n_in / n_out
    stretch = max(scale, 1.0)
    support = LANCZOS_A * stretch
    matrix = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = (i + 0.5) * scale
        low = max(int(center - support + 0.5), 0)
        high = min(int(center + support + 0.5), n_in)
        x = np.arange(low, high)
        weights = _lanczos((x - center + 0.5) / stretch)
        matrix[i, low:high] = weights / weights.sum()
    return matrix


def _pass(images: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Resize float32 (n, H, W, C) along ``axis`` (1 or 2) and round to 8 bits."""
    moved = np.moveaxis(images, axis, -1)
    flat = moved.reshape(-1, moved.shape[-1]) @ lanczos_matrix(moved.shape[-1], size).T.astype(
        np.float32)
    out = np.clip(np.rint(flat), 0, 255).reshape(*moved.shape[:-1], size)
    return np.moveaxis(out, -1, axis)


def resize_uint8(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """uint8 (n, H, W[, C]) -> uint8 (n, h, w[, C]) with the Lanczos filter (``size`` is ``(h,
    w)`` or one int for both), one pass per axis, the axis reduced more first (PIL's order:
    horizontal first when both reduce equally), each pass one matrix product over all images,
    rounded to 8 bits after each."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    data = (images if images.ndim == 4 else images[..., None]).astype(np.float32)
    height, width = data.shape[1:3]
    order = ((1, out_h), (2, out_w)) if height / out_h > width / out_w else ((2, out_w), (1, out_h))
    for axis, length in order:
        data = _pass(data, axis, length)
    out = data.astype(np.uint8)
    return np.ascontiguousarray(out if images.ndim == 4 else out[..., 0])
