"""One streaming chunk of the motion model as a single module.

A chunk is the audio and preset encodings followed by the Euler steps of the flow from the
starting noise, with the frames already produced fixed as context. Holding all of it in one
module lets the same computation run eagerly in torch or be exported as one ONNX graph, which
ONNX Runtime runs in a single call: on a CPU that is a few times cheaper than the hundreds of
small eager operations, and it leaves the interpreter lock to the render thread meanwhile.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from avatarcam.motion.model import MotionDenoiser
from avatarcam.motion.sampler import check_steps, linear_schedule, sample_euler

INPUT_NAMES = ("history", "noise", "mel", "vad", "preset_target", "preset_weight")
OUTPUT_NAME = "motion"


class ChunkSampler(nn.Module):
    """The next chunk of motion (normalised units) from its conditions, in `steps` Euler steps.

    Inputs, batch of one, for `context` past frames and a chunk of `chunk` frames:
    - `history` (1, context, fields): the frames already produced, normalised;
    - `noise` (1, chunk, fields): the flow's starting point (zeros: the most likely motion);
    - `mel` (1, context + chunk + lookahead, frame_features) and `vad` (1, same): the audio;
    - `preset_target`, `preset_weight` (1, fields): the preset, as `MotionDenoiser` takes it.
    """

    def __init__(self, network: MotionDenoiser, steps: int) -> None:
        super().__init__()
        self.network = network
        self.register_buffer("times", linear_schedule(check_steps(steps)))

    def forward(self, history: Tensor, noise: Tensor, mel: Tensor, vad: Tensor,
                preset_target: Tensor, preset_weight: Tensor) -> Tensor:
        """(1, chunk, fields): the chunk's motion, normalised."""
        net = self.network
        context = history.shape[1]
        known = torch.cat((torch.ones_like(history[:, :, 0]), torch.zeros_like(noise[:, :, 0])), dim=1)
        audio = net.encode_audio(mel, vad)
        preset = net.encode_preset(preset_target, preset_weight)

        kept: list[Tensor] = []  # the context's part of every layer: the same at every step

        def velocity(chunk: Tensor, t: Tensor) -> Tensor:
            return net.velocity_tail(torch.cat((history, chunk), dim=1), known, t, audio, preset, context, kept)

        return sample_euler(velocity, noise, self.times)
