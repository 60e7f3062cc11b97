"""Sampling the motion flow in 1–4 Euler steps, from seeded noise, with one signature.

A sampler integrates dx/dt = velocity(x, t) from t = 0 (noise) to t = 1 (motion) over the
times a schedule gives. Schedules are separate functions so a caller can change where the
steps fall without touching the integrator; the callback lets tests and tools watch every
step. The same generator state gives the same noise, so a seed fixes the result.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

MAX_STEPS = 4  # the streaming budget allows at most this many denoiser evaluations per chunk

Velocity = Callable[[Tensor, Tensor], Tensor]  # (x, t of shape (B,)) → dx/dt, same shape as x
StepCallback = Callable[[int, Tensor, Tensor], None]  # (step index, t, x after the step)


def linear_schedule(steps: int) -> Tensor:
    """Flow times 0, 1/steps, …, 1: equal steps."""
    return torch.linspace(0.0, 1.0, steps + 1)


def early_dense_schedule(steps: int, power: float = 2.0) -> Tensor:
    """Flow times bunched near the noise end (t = 0), where the flow bends most."""
    return torch.linspace(0.0, 1.0, steps + 1) ** power


def check_steps(steps: int) -> int:
    """`steps` if it is a supported count (1 … MAX_STEPS), else ValueError."""
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"sampling steps must be 1 … {MAX_STEPS}, got {steps}")
    return steps


def draw_noise(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Standard normal noise from `generator` (CPU), the sampler's starting point."""
    return torch.randn(shape, generator=generator)


def sample_euler(velocity: Velocity, noise: Tensor, times: Tensor,
                 callback: StepCallback | None = None) -> Tensor:
    """Integrate the flow from `noise` at times[0] to times[-1] with Euler steps."""
    x = noise
    batch = x.shape[0]
    for i in range(times.numel() - 1):
        t, t_next = float(times[i]), float(times[i + 1])
        x = x + (t_next - t) * velocity(x, torch.full((batch,), t, dtype=x.dtype, device=x.device))
        if callback is not None:
            callback(i, times[i + 1], x)
    return x
