"""Every hyper-parameter of the built-in model's training, in one dataclass.

Contract: the same :class:`Recipe` and seed on the same machine give the same weights (one
thread, fixed step counts). ``max_minutes`` only caps wall time: a run it cuts short records
the steps it reached, and re-running with those step counts reproduces it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """Training settings.

    Data: ``n_scenes`` procedural scenes at ``size`` px, ``captions_per_scene`` wordings each.
    Autoencoder (AutoencoderKL, 4x downsampling): ``ae_channels``, ``latent_channels``,
    ``ae_steps`` x ``ae_batch`` at ``ae_lr``, KL weight ``ae_kl``.
    Decoder fine-tuning before the UNet (encoder frozen and its own generator, so neither the
    latents nor the UNet's batches depend on it):
    ``decoder_steps`` x ``ae_batch`` at a constant ``decoder_lr``.
    UNet (UNet2DConditionModel on the latents): ``unet_channels``, ``unet_steps`` x
    ``unet_batch`` at ``unet_lr`` (linear warm-up ``warmup`` steps, cosine decay to 10%),
    ``cfg_dropout`` (fraction of captions replaced by ""), ``ema_decay``, min-SNR ``snr_gamma``.
    ``unet_stop``: stop after that many UNet steps (the learning-rate schedule still spans
    ``unet_steps``): how a run cut short by ``max_minutes`` is reproduced exactly.
    ``unet_cross_only_levels``: the top (highest-resolution) levels whose transformer blocks use
    cross-attention only (their self-attention becomes a second attention to the caption): at
    16x16 latents self-attention over 256 positions is ~17% of a training step, and the
    convolutions already see the whole 16x16 grid two levels down.
    ``bf16``: UNet and decoder fine-tuning forward passes under bfloat16 autocast (weights,
    optimizer and loss stay fp32); ~15% faster per sample on this CPU (AVX512-BF16).
    ``unet_dtype``: the dtype the UNet is saved in ("float16" halves the folder; the backend
    computes in fp32).
    Sampling defaults written to the model folder: ``default_steps``.
    """

    n_scenes: int = 8000
    size: int = 64
    captions_per_scene: int = 2
    landscape_fraction: float = 0.3
    ae_channels: tuple[int, ...] = (16, 32, 64)
    latent_channels: int = 8
    ae_steps: int = 400
    ae_batch: int = 16
    ae_lr: float = 2e-3
    ae_kl: float = 1e-6
    decoder_steps: int = 2200
    decoder_lr: float = 5e-4
    unet_channels: tuple[int, ...] = (48, 96, 192)
    unet_steps: int = 3900
    unet_batch: int = 64
    unet_lr: float = 1e-3
    unet_cross_only_levels: int = 1
    warmup: int = 100
    cfg_dropout: float = 0.1
    ema_decay: float = 0.995
    snr_gamma: float = 5.0
    default_steps: int = 24
    unet_stop: int | None = None
    bf16: bool = True
    unet_dtype: str = "float16"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def micro(cls) -> Recipe:
        """A few-second configuration for smoke tests (same code paths, tiny sizes)."""
        return cls(
            n_scenes=48,
            size=32,
            ae_channels=(8, 16),
            latent_channels=4,
            ae_steps=10,
            ae_batch=4,
            unet_channels=(16, 32),
            unet_steps=30,
            unet_batch=8,
            warmup=5,
            decoder_steps=0,
            default_steps=4,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
