"""Encoder/decoder networks shared by every objective, and the FactorVAE discriminator.

``"conv"`` is the network of disentanglement_lib's *code* and of its released pretrained models
(``conv_encoder`` / ``deconv_decoder`` in ``methods/shared/architectures.py``), i.e. the setup of
Locatello et al. 2019 ("Challenging common assumptions ...", arXiv:1811.12359):

- encoder: conv 32 (4×4, s2) → conv 32 (4×4, s2) → conv 64 (**2×2**, s2) → conv 64 (**2×2**, s2)
  → FC 256 → FC ``latent_dim`` (means) and FC ``latent_dim`` (log-variances), ReLU between;
- decoder: FC 256 → FC 1024, reshaped to 64×4×4 → transposed convs 64, 32, 32, C (all 4×4, s2),
  ReLU between, the last one producing Bernoulli **logits**.

``"conv_paper"`` is the same network with 4×4 kernels in all four encoder convolutions, as the
Locatello et al. appendix (Table 2) states. The paper and the code disagree (disentanglement_lib
issues #23 and #37); ``"conv"`` follows the code because the published numbers come from it.

TensorFlow ``padding="same"`` is reproduced exactly: a 4×4 stride-2 convolution on an even input
pads one pixel on each side (``padding=1``), a 2×2 stride-2 one pads nothing, and a 4×4 stride-2
transposed convolution with ``padding=1`` doubles the size as TF's ``"same"`` does. Both conv
variants need 64×64 inputs (4 halvings to the 4×4×64 bottleneck).

``"mlp"`` is a small fully connected network (two hidden layers of 256); it accepts any image
size, and is the cpu preset's network (it trains 6–8× the images per second of ``"conv"`` on a
CPU, docs/recipes.md) as well as the tests'.

Weights are initialised like TF1 ``tf.layers`` (Glorot-uniform kernels, zero biases), from an
explicit ``torch.Generator``, so model construction never touches global random state.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ARCHITECTURES = ("conv", "conv_paper", "mlp")
MLP_HIDDEN = 256


class GaussianEncoder(nn.Module):
    """Maps images (n, C, H, W) to the posterior parameters ``(mean, logvar)``, each (n, d)."""

    def __init__(self, body: nn.Module, features: int, latent_dim: int):
        super().__init__()
        self.body = body
        self.mean = nn.Linear(features, latent_dim)
        self.logvar = nn.Linear(features, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mean(h), self.logvar(h)


class Decoder(nn.Module):
    """Maps codes (n, d) to Bernoulli logits (n, C, H, W)."""

    def __init__(self, body: nn.Module, observation_shape: tuple[int, int, int]):
        super().__init__()
        self.body = body
        self.observation_shape = tuple(observation_shape)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).reshape(-1, *self.observation_shape)


def conv_encoder(
    observation_shape: tuple[int, int, int], latent_dim: int, *, paper_kernels: bool = False
) -> GaussianEncoder:
    """disentanglement_lib ``conv_encoder`` (``paper_kernels=True``: 4×4 in layers 3–4 too)."""
    channels = _check_conv_shape(observation_shape)
    k, pad = (4, 1) if paper_kernels else (2, 0)
    body = nn.Sequential(
        nn.Conv2d(channels, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, k, stride=2, padding=pad), nn.ReLU(),
        nn.Conv2d(64, 64, k, stride=2, padding=pad), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 256), nn.ReLU(),
    )  # fmt: skip
    return GaussianEncoder(body, 256, latent_dim)


def deconv_decoder(observation_shape: tuple[int, int, int], latent_dim: int) -> Decoder:
    """disentanglement_lib ``deconv_decoder``: FC 256, FC 1024 → 64×4×4, four 4×4 s2 deconvs."""
    channels = _check_conv_shape(observation_shape)
    body = nn.Sequential(
        nn.Linear(latent_dim, 256), nn.ReLU(),
        nn.Linear(256, 1024), nn.ReLU(),
        nn.Unflatten(1, (64, 4, 4)),
        nn.ConvTranspose2d(64, 64, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, channels, 4, stride=2, padding=1),
    )  # fmt: skip
    return Decoder(body, observation_shape)


def mlp_encoder(observation_shape: tuple[int, int, int], latent_dim: int) -> GaussianEncoder:
    """Small encoder: flatten → FC 256 → FC 256 → means / log-variances."""
    pixels = math.prod(observation_shape)
    body = nn.Sequential(
        nn.Flatten(),
        nn.Linear(pixels, MLP_HIDDEN), nn.ReLU(),
        nn.Linear(MLP_HIDDEN, MLP_HIDDEN), nn.ReLU(),
    )  # fmt: skip
    return GaussianEncoder(body, MLP_HIDDEN, latent_dim)


def mlp_decoder(observation_shape: tuple[int, int, int], latent_dim: int) -> Decoder:
    """Small decoder: FC 256 → FC 256 → FC C·H·W logits."""
    body = nn.Sequential(
        nn.Linear(latent_dim, MLP_HIDDEN), nn.ReLU(),
        nn.Linear(MLP_HIDDEN, MLP_HIDDEN), nn.ReLU(),
        nn.Linear(MLP_HIDDEN, math.prod(observation_shape)),
    )  # fmt: skip
    return Decoder(body, observation_shape)


def fc_discriminator(latent_dim: int, width: int = 1000, depth: int = 6) -> nn.Sequential:
    """FactorVAE discriminator (Kim & Mnih 2018, App. A; disentanglement_lib ``fc_discriminator``):
    ``depth`` (6) fully connected layers of ``width`` (1000) units with leaky ReLU (slope 0.2,
    TF's default), then 2 logits: class 0 = "sample of q(z)", class 1 = "sample of the product
    of its marginals"."""
    layers: list[nn.Module] = []
    features = latent_dim
    for _ in range(depth):
        layers += [nn.Linear(features, width), nn.LeakyReLU(0.2)]
        features = width
    layers.append(nn.Linear(features, 2))
    return nn.Sequential(*layers)


def check_architecture(name: str, observation_shape: tuple[int, ...]) -> None:
    """Raise ``ValueError`` (one line) unless architecture ``name`` can take images of
    ``observation_shape`` (C, H, W): an unknown name, or a conv variant on images not 64×64.
    The sweep planner calls this so a mismatch fails before any training."""
    if name not in ARCHITECTURES:
        raise ValueError(
            f"unknown architecture {name!r}; known architectures: {', '.join(ARCHITECTURES)}"
        )
    if name in ("conv", "conv_paper"):
        _check_conv_shape(tuple(int(s) for s in observation_shape))


def build_architecture(
    name: str, observation_shape: tuple[int, int, int], latent_dim: int
) -> tuple[GaussianEncoder, Decoder]:
    """``(encoder, decoder)`` for architecture ``name`` (one of :data:`ARCHITECTURES`)."""
    observation_shape = tuple(int(s) for s in observation_shape)
    if len(observation_shape) != 3:
        raise ValueError(f"observation_shape must be (C, H, W), got {observation_shape}")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim}")
    if name == "conv":
        encoder = conv_encoder(observation_shape, latent_dim)
    elif name == "conv_paper":
        encoder = conv_encoder(observation_shape, latent_dim, paper_kernels=True)
    elif name == "mlp":
        encoder = mlp_encoder(observation_shape, latent_dim)
        return encoder, mlp_decoder(observation_shape, latent_dim)
    else:
        raise ValueError(
            f"unknown architecture {name!r}; known architectures: {', '.join(ARCHITECTURES)}"
        )
    return encoder, deconv_decoder(observation_shape, latent_dim)


def glorot_init_(module: nn.Module, generator: torch.Generator) -> None:
    """Initialise like TF1 ``tf.layers``: Glorot-uniform weights, zero biases (in place).

    Glorot's bound ``sqrt(6 / (fan_in + fan_out))`` is symmetric in the two fans, so PyTorch's
    ``(out, in, k, k)`` / transposed ``(in, out, k, k)`` layouts give TF's bound exactly.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(layer.weight, generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def _check_conv_shape(observation_shape: tuple[int, int, int]) -> int:
    channels, height, width = observation_shape
    if (height, width) != (64, 64):
        raise ValueError(
            f"the conv architectures need 64x64 images, got {height}x{width}; "
            "use architecture 'mlp' (or 'auto') for other sizes"
        )
    return channels
