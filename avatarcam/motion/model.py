"""The audio-to-motion denoiser: a small causal network that predicts the flow velocity of a
window of motion frames from speech features, live voice activity and a preset.

A window holds `context` frames already produced (clean, marked known) followed by the chunk
being generated (noisy, at flow time `t`). Every layer is causal in time, so a frame depends
only on earlier frames and on audio up to `lookahead_frames` after it; this lets the same
weights serve any chunk size and lets streamed chunks join onto the frames before them.

Flow convention (rectified flow): x_t = (1 - t) * noise + t * data, t = 0 is pure noise and
t = 1 the data; the network predicts the velocity data - noise in normalised units. The
normalisation statistics of motion and features are buffers of the module, so they travel in
the weights file with the parameters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from avatarcam.constants import (
    FEATURES_PER_MOTION_FRAME,
    HOP_LENGTH,
    LOG_MEL_FLOOR,
    N_MELS,
    WIN_LENGTH,
)
from avatarcam.motion.space import NUM_FIELDS

FRAME_FEATURES = FEATURES_PER_MOTION_FRAME * N_MELS  # log-mel values per motion frame
# Motion frame k takes log-mel windows 4k - feature_lag … 4k - feature_lag + 3. With this
# default they are the windows that END inside its 40 ms span, so its audio is complete when
# its span is, 35 ms after the instant it depicts; each window more moves that 10 ms sooner.
DEFAULT_FEATURE_LAG = (WIN_LENGTH - 1) // HOP_LENGTH
SILENCE_FEATURE = math.log10(LOG_MEL_FLOOR)  # the log-mel value of digital silence
CLEAN_TIME = 1.0  # flow time of a known (context) frame: fully denoised


@dataclass(frozen=True)
class ModelConfig:
    """The shape of the denoiser; stored in the weights file so loading rebuilds it exactly."""

    fields: int = NUM_FIELDS  # motion values per frame
    frame_features: int = FRAME_FEATURES  # log-mel values per motion frame
    # further motion frames of audio each frame sees (1 = 40 ms more, on top of the 35 ms its
    # own span's audio reaches past the instant it depicts); a model trained with 0 scored
    # r 0.60 against 0.76 with 1 on the held-out voices, so 1 it is
    lookahead_frames: int = 1
    # how many log-mel windows before its span a frame's audio starts (see DEFAULT_FEATURE_LAG)
    feature_lag: int = DEFAULT_FEATURE_LAG
    audio_channels: int = 96  # width of the audio encoder
    audio_dilations: tuple[int, ...] = (1, 2, 4, 8)  # causal conv layers of the audio encoder
    channels: int = 96  # width of the denoiser
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2)  # causal conv layers of the denoiser
    kernel: int = 3  # taps of every causal convolution
    time_channels: int = 64  # sinusoidal embedding width of the per-frame flow time
    preset_channels: int = 64  # hidden width of the preset encoder
    # log-mel windows (10 ms each) over which each band's noise floor is its running minimum;
    # 0: off. On, the audio encoder also sees every band's level above that floor, which
    # stationary noise, gain and microphone colour change far less than the level itself.
    floor_rows: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "audio_dilations", tuple(self.audio_dilations))
        object.__setattr__(self, "dilations", tuple(self.dilations))
        if min(self.lookahead_frames, self.floor_rows, self.feature_lag) < 0:
            raise ValueError("lookahead_frames, feature_lag and floor_rows must be ≥ 0")

    @property
    def receptive_frames(self) -> int:
        """How many frames (itself included) one denoiser output depends on."""
        return 1 + (self.kernel - 1) * sum(self.dilations)

    @property
    def audio_receptive_frames(self) -> int:
        """How many frames of audio features one audio embedding depends on."""
        return 1 + (self.kernel - 1) * sum(self.audio_dilations)

    @property
    def context_frames(self) -> int:
        """Past frames a chunk's first frame needs to see its whole receptive field."""
        return self.receptive_frames - 1

    def to_json(self) -> dict[str, object]:
        """The config as JSON-ready values."""
        values = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    @classmethod
    def from_json(cls, values: dict[str, object]) -> ModelConfig:
        """A config from `to_json` output."""
        return cls(**values)  # type: ignore[arg-type]


class CausalConv(nn.Module):
    """A 1-D convolution over time that sees only the present and the past."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, dilation=dilation)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, T) → (B, C_out, T)."""
        return self.conv(F.pad(x, (self.pad, 0)))


class FrameNorm(nn.Module):
    """RMS normalisation over channels, frame by frame (so it stays causal in time)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, T) → (B, C, T)."""
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-5) * self.gain


class ResidualBlock(nn.Module):
    """Causal dilated conv, with per-frame conditioning added before the nonlinearity."""

    def __init__(self, channels: int, kernel: int, dilation: int, cond_channels: int) -> None:
        super().__init__()
        self.norm = FrameNorm(channels)
        self.conv = CausalConv(channels, channels, kernel, dilation)
        self.cond = nn.Conv1d(cond_channels, channels, 1) if cond_channels else None
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        """(B, C, T), optional (B, cond, T) → (B, C, T)."""
        h = self.conv(self.norm(x))
        if self.cond is not None and cond is not None:
            h = h + self.cond(cond)
        return x + self.out(F.gelu(h))

    def forward_tail(self, x: Tensor, x_start: int, out_start: int, cond: Tensor | None = None) -> Tensor:
        """What `forward` gives at frames out_start … T-1 of a window, from `x` holding its
        frames x_start … T-1 and `cond` (B, cond, T) the whole window's: the same numbers
        for a fraction of the work when only the newest frames are wanted."""
        need = out_start - self.conv.pad  # the first input frame the outputs reach back to
        if need >= x_start:
            normed = self.norm(x[:, :, need - x_start :])
        else:  # frames before the window are zeros, as `forward` pads them
            normed = F.pad(self.norm(x), (x_start - need, 0))
        h = self.conv.conv(normed)
        if self.cond is not None and cond is not None:
            h = h + self.cond(cond[:, :, out_start:])
        return x[:, :, out_start - x_start :] + self.out(F.gelu(h))


def time_embedding(t: Tensor, channels: int) -> Tensor:
    """Sinusoidal features of flow times `t` (any shape) → shape (*t.shape, channels)."""
    half = channels // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=t.dtype, device=t.device) / half)
    angles = t.unsqueeze(-1) * 1000.0 * freqs
    return torch.cat((torch.sin(angles), torch.cos(angles)), dim=-1)


class MotionDenoiser(nn.Module):
    """Predicts the flow velocity of a motion window (normalised units) from its conditions.

    Inputs, all batch-first, for a window of T frames:
    - `x` (B, T, fields): normalised motion, known frames clean, the rest at flow time `t`;
    - `known` (B, T): 1 for context frames, 0 for frames being generated;
    - `t` (B,): flow time of the frames being generated;
    - `mel` (B, T + lookahead, frame_features): raw log-mel per frame (normalised inside);
    - `vad` (B, T + lookahead): the live voice-activity state per frame (0/1);
    - `preset_target`, `preset_weight` (B, fields): preset values (motion units) and how
      strongly each field follows them (0..1).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.register_buffer("motion_mean", torch.zeros(c.fields))
        self.register_buffer("motion_std", torch.ones(c.fields))
        self.register_buffer("mel_mean", torch.zeros(c.frame_features))
        self.register_buffer("mel_std", torch.ones(c.frame_features))
        audio_inputs = c.frame_features * (2 if c.floor_rows else 1) + 1
        self.audio_in = nn.Conv1d(audio_inputs, c.audio_channels, 1)
        self.audio_blocks = nn.ModuleList(
            ResidualBlock(c.audio_channels, c.kernel, d, 0) for d in c.audio_dilations
        )
        self.time_mlp = nn.Sequential(
            nn.Linear(c.time_channels, c.channels), nn.GELU(), nn.Linear(c.channels, c.channels)
        )
        self.preset_mlp = nn.Sequential(
            nn.Linear(2 * c.fields, c.preset_channels), nn.GELU(),
            nn.Linear(c.preset_channels, c.channels),
        )
        cond_channels = c.audio_channels + c.channels
        self.motion_in = nn.Conv1d(c.fields + 1, c.channels, 1)
        self.blocks = nn.ModuleList(
            ResidualBlock(c.channels, c.kernel, d, cond_channels) for d in c.dilations
        )
        self.head = nn.Sequential(FrameNorm(c.channels), nn.GELU(),
                                  nn.Conv1d(c.channels, c.fields, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def set_statistics(self, motion_mean: Tensor, motion_std: Tensor,
                       mel_mean: Tensor, mel_std: Tensor) -> None:
        """Store the training data's normalisation statistics (saved with the weights)."""
        self.motion_mean.copy_(motion_mean)
        self.motion_std.copy_(motion_std)
        self.mel_mean.copy_(mel_mean)
        self.mel_std.copy_(mel_std)

    def normalise(self, motion: Tensor) -> Tensor:
        """Motion units → the unit-variance space the flow runs in."""
        return (motion - self.motion_mean) / self.motion_std

    def denormalise(self, x: Tensor) -> Tensor:
        """The flow's space → motion units."""
        return x * self.motion_std + self.motion_mean

    def encode_audio(self, mel: Tensor, vad: Tensor) -> Tensor:
        """Per-frame audio conditioning (B, audio_channels, T) for a window of T frames,
        each from features up to `lookahead_frames` after it; depends on neither `x` nor
        `t`, so a sampler computes it once per chunk."""
        h = torch.cat((self._audio_features(mel), vad.unsqueeze(-1)), dim=-1)
        h = self.audio_in(h.transpose(1, 2))
        for block in self.audio_blocks:
            h = block(h)
        return h[:, :, self.config.lookahead_frames:]

    def _audio_features(self, mel: Tensor) -> Tensor:
        """Normalised log-mel per frame, followed, with `floor_rows`, by each value's height
        above its band's running minimum over the last `floor_rows` windows (a causal
        minimum-statistics noise floor)."""
        normalised = (mel - self.mel_mean) / self.mel_std
        window = self.config.floor_rows
        if not window:
            return normalised
        batch, frames, _ = mel.shape
        rows = mel.reshape(batch, frames * FEATURES_PER_MOTION_FRAME, -1).transpose(1, 2)
        padded = F.pad(rows, (window - 1, 0), mode="replicate")
        floor = -F.max_pool1d(-padded, window, stride=1)
        above = (rows - floor).transpose(1, 2).reshape(batch, frames, -1)
        return torch.cat((normalised, above / self.mel_std), dim=-1)

    def encode_preset(self, preset_target: Tensor, preset_weight: Tensor) -> Tensor:
        """Preset conditioning (B, channels) from target values and per-field weights."""
        pulled = self.normalise(preset_target) * preset_weight
        return self.preset_mlp(torch.cat((pulled, preset_weight), dim=-1))

    def velocity(self, x: Tensor, known: Tensor, t: Tensor, audio: Tensor, preset: Tensor) -> Tensor:
        """The velocity (B, T, fields) given precomputed audio and preset conditioning."""
        cond = self._block_conditioning(known, t, audio, preset)
        h = self.motion_in(torch.cat((x, known.unsqueeze(-1)), dim=-1).transpose(1, 2))
        for block in self.blocks:
            h = block(h, cond)
        return self.head(h).transpose(1, 2)

    def _block_conditioning(self, known: Tensor, t: Tensor, audio: Tensor, preset: Tensor) -> Tensor:
        """What every denoiser block adds per frame (B, cond, T): audio, flow time, preset."""
        frame_t = known * CLEAN_TIME + (1.0 - known) * t.unsqueeze(-1)
        steps = self.time_mlp(time_embedding(frame_t, self.config.time_channels))
        return torch.cat((audio, (steps + preset.unsqueeze(1)).transpose(1, 2)), dim=1)

    def velocity_tail(self, x: Tensor, known: Tensor, t: Tensor, audio: Tensor, preset: Tensor,
                      first: int, kept: list[Tensor] | None = None) -> Tensor:
        """`velocity(...)[:, first:]`, computing each layer only at the frames that the
        outputs from `first` on depend on: a streamed chunk wants only its newest frames.

        `kept`, an empty list, is filled with each layer's input before `first`; passed
        filled to a later call in which only frames from `first` on have changed (the next
        Euler step of the same chunk), it spares recomputing them: layers are causal."""
        reuse = bool(kept)
        starts = [first]  # per layer from the top, the first frame it must output
        for block in reversed(self.blocks):
            starts.insert(0, max(0, starts[0] - block.conv.pad))
        cond = self._block_conditioning(known, t, audio, preset)
        begin = first if reuse else starts[0]
        h = self.motion_in(torch.cat((x, known.unsqueeze(-1)), dim=-1)[:, begin:].transpose(1, 2))
        for layer, (block, x_start, out_start) in enumerate(zip(self.blocks, starts, starts[1:])):
            if kept is not None and reuse:
                h, out_start = torch.cat((kept[layer], h), dim=2), first
            elif kept is not None:
                kept.append(h[:, :, : first - x_start])
            h = block.forward_tail(h, x_start, out_start, cond)
        return self.head(h).transpose(1, 2)

    def forward(self, x: Tensor, known: Tensor, t: Tensor, mel: Tensor, vad: Tensor,
                preset_target: Tensor, preset_weight: Tensor) -> Tensor:
        """One denoiser evaluation: the velocity (B, T, fields) of window `x` at time `t`."""
        audio = self.encode_audio(mel, vad)
        preset = self.encode_preset(preset_target, preset_weight)
        return self.velocity(x, known, t, audio, preset)


FORMAT = "avatarcam-motion-model"
VERSION = 1


def weights_payload(model: MotionDenoiser, info: dict[str, object]) -> dict[str, object]:
    """The dict `torch.save` writes: tensors plus JSON-ready config and info, so it loads
    back with `torch.load(weights_only=True)`."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {"format": FORMAT, "version": VERSION, "config": model.config.to_json(),
            "info": info, "state": state}


def model_from_payload(payload: object) -> tuple[MotionDenoiser, dict[str, object]]:
    """Rebuild the model from a loaded payload; ValueError when it is not one."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not an avatarcam motion model")
    if payload.get("version") != VERSION:
        raise ValueError(f"motion model version {payload.get('version')!r}, expected {VERSION}")
    config = ModelConfig.from_json(dict(payload["config"]))
    model = MotionDenoiser(config)
    model.load_state_dict(payload["state"])
    model.eval()
    return model, dict(payload.get("info", {}))
