"""The render graph: motion vectors in, RGB frames out, as one torch module.

Per frame: blend the rig's displacement bases into a forward warp (portrait → frame) at low
resolution, invert it by a few fixed-point steps into a backward warp, upsample it, sample
the portrait and its person mask, composite over the still background, and draw the mouth
interior inside the moved inner-lip contour. Only tensor operations run in `forward`, so the
same graph runs on CPU and CUDA and exports to ONNX (and from there to TensorRT).

Run by torch, the upsampling, sampling and compositing cover only the box where the person
can show (`active_area.py`; outside it the frame is the background, as the whole-frame warp
would make it) and layers that draw nothing are skipped; traced for export, every layer
covers the whole frame, since an exported graph cannot depend on the motion.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from avatarcam.motion.space import LOWER_BOUNDS, UPPER_BOUNDS, index_of
from avatarcam.render import landmark_sets as ls
from avatarcam.render.active_area import ActiveArea
from avatarcam.render.avatar import Avatar, Canvas
from avatarcam.render.crops import composite_in_crop, crop_around, crop_sides
from avatarcam.render.expression_basis import EXPRESSION_SLICE, MIN_SEALED_JAW
from avatarcam.render.eyelids import POINTS_PER_EYE, Eyelids
from avatarcam.render.feature_frame import FeatureFrame, perpendicular, soft_step
from avatarcam.render.lip_bands import INNER_LOWER, INNER_UPPER, LipBands
from avatarcam.render.mouth import (
    MOUTH_CORNER_LEFT,
    MOUTH_CORNER_RIGHT,
    TEXTURE_U,
    TEXTURE_V,
    UPPER_LIP_MID,
)
from avatarcam.render.rig import ANGLE_STEP_DEG, SIMILARITY_BASES

YAW, PITCH, ROLL, TX, TY, SCALE = range(6)
INVERSION_STEPS = 3  # Newton steps from forward to backward warp
MIN_JACOBIAN = 0.05  # where the warp folds or nearly so, Newton steps are held back
MAX_NEWTON_STEP = 0.1  # normalised units: a tenth of the frame per step at most
MOUTH_CROP_FACE_HEIGHTS = (0.75, 0.6)  # (width, height) of the mouth work area
BLINKS = (index_of("blink_l"), index_of("blink_r"))
JAW = index_of("jaw_open")
MAX_OWN_BLINK = 0.95  # a photo with its eyes (nearly) shut still gets a blink's worth of travel
FEATHER_PX = 1.0  # soft edge of the mouth opening
OPEN_PX = 1.5  # lip gap at which the interior is fully drawn; below it fades out
TONGUE_RISE = 0.3  # the tongue's top, as a share of the opening above the lower lip
TONGUE_HALF_WIDTH = 0.75  # half mouth widths
TONGUE_DEPTH = 0.2  # the tongue's half height beyond the opening, half mouth widths
TONGUE_EDGE_SHARPNESS = 6.0
TONGUE_SHADOW = 0.6  # brightness at the tongue's edge relative to its middle
# The lower teeth stand on the lower lip, in front of the tongue, narrower than the mouth
# and in the upper lip's shadow; they show more as the jaw drops, up to LOWER_TEETH_HEIGHT
# once the opening (in the middle) reaches LOWER_TEETH_FULL_OPENING. In half mouth widths.
LOWER_TEETH_HEIGHT = 0.14
LOWER_TEETH_FULL_OPENING = 0.8
LOWER_TEETH_HALF_WIDTH = 0.62
LOWER_TEETH_EDGE = 0.04  # soft edge of the tips and sides
LOWER_TEETH_SPACING = 0.21  # between tooth edges along u
LOWER_TEETH_SHADE = 0.9  # brightness relative to the teeth colour
LOWER_TEETH_GAP_DARK = 0.1  # how much darker the seams between teeth are
LOWER_TEETH_GAP_WIDTH = 0.25  # of a tooth's half width: how wide that darkening spreads
LOWER_TEETH_SIDE_SHADE = 0.4  # how much darker the outermost teeth are than the middle ones
LOWER_TEETH_TIP_ROUND = 0.1  # a tooth's tip is this much lower at its edges than its middle
# INNER_LIP_POLYGON positions of the upper and the lower inner lip, corner to corner.
UPPER_CONTOUR = list(range(MOUTH_CORNER_RIGHT + 1))
LOWER_CONTOUR = [MOUTH_CORNER_LEFT, *range(len(ls.INNER_LIP_POLYGON) - 1, MOUTH_CORNER_RIGHT, -1),
                 MOUTH_CORNER_RIGHT]


def _largest_face_px(canvas: Canvas) -> float:
    """Face height in pixels at the largest scale the motion space allows."""
    return canvas.rig.face_px * math.exp(float(UPPER_BOUNDS[SCALE]))


class RenderGraph(nn.Module):
    """Renders one avatar at one output size: `forward(motion (B, NUM_FIELDS))` returns
    frames (B, 3, H, W), float32 in 0..1."""

    def __init__(self, avatar: Avatar, size_name: str) -> None:
        super().__init__()
        canvas = avatar.canvas(size_name)
        rig = canvas.rig
        self.height, self.width = canvas.size.height, canvas.size.width
        grid_w, grid_h = canvas.size.flow_grid
        self.largest_face_px = _largest_face_px(canvas)
        count = rig.bases.shape[0]
        flat = torch.from_numpy(rig.bases).reshape(count, -1)
        self.register_buffer("deform_bases", flat[: count - SIMILARITY_BASES].contiguous())
        self.register_buffer("similarity_bases", flat[count - SIMILARITY_BASES:].contiguous())
        self.register_buffer("mouth_points", torch.from_numpy(rig.mouth_points))
        self.register_buffer("mouth_deltas", torch.from_numpy(
            rig.mouth_deltas[: count - SIMILARITY_BASES]).reshape(count - SIMILARITY_BASES, -1))
        self.register_buffer("eye_points", torch.from_numpy(rig.eye_points))
        self.register_buffer("eye_deltas", torch.from_numpy(
            rig.eye_deltas[: count - SIMILARITY_BASES]).reshape(count - SIMILARITY_BASES, -1))
        self.register_buffer("to_normalised", torch.tensor([2.0 / self.width, 2.0 / self.height]))
        self.lips = LipBands(self.mouth_points, UPPER_CONTOUR, LOWER_CONTOUR,
                             (MOUTH_CORNER_LEFT, MOUTH_CORNER_RIGHT), self.to_normalised)
        self.eyelids = Eyelids(torch.from_numpy(rig.eye_points), self.largest_face_px,
                               self.width, self.height)
        self.register_buffer("yaw_steps", torch.from_numpy(rig.yaw_offsets / ANGLE_STEP_DEG))
        self.register_buffer("pitch_steps", torch.from_numpy(rig.pitch_offsets / ANGLE_STEP_DEG))
        self.register_buffer("own_motion", torch.from_numpy(avatar.motion.copy()))
        self.register_buffer("low", torch.from_numpy(LOWER_BOUNDS.copy()))
        self.register_buffer("high", torch.from_numpy(UPPER_BOUNDS.copy()))
        self.register_buffer("centre", torch.from_numpy(rig.centre))
        self.face_px = rig.face_px
        self.grid_shape = (grid_h, grid_w)
        self.register_buffer("low_grid", self._identity(grid_h, grid_w))
        self.active = ActiveArea(canvas.person[..., 3], self.low_grid)
        # planar (1, 2, H, W): adding it to the upsampled flow reads both contiguously
        self.register_buffer("full_grid", self._identity(self.height, self.width).permute(0, 3, 1, 2)
                             .contiguous())
        person = torch.from_numpy(canvas.person).permute(2, 0, 1).float() / 255.0
        # premultiplied by its mask: compositing is then one pass, and bilinear sampling at
        # the mask's edge does not bleed the photo's own background into the frame
        person[:3] *= person[3:]
        # channels-last: grid_sample gathers all four channels of a pixel at once (about
        # 30 % faster on CPU than planar)
        self.register_buffer("person", person[None].contiguous(memory_format=torch.channels_last))
        background = torch.from_numpy(canvas.background).permute(2, 0, 1).float() / 255.0
        self.register_buffer("background", background[None].contiguous())
        texture = torch.from_numpy(canvas.mouth.texture).permute(2, 0, 1).float() / 255.0
        self.register_buffer("mouth_texture", texture[None].contiguous())
        self.register_buffer("tongue_rgb", torch.from_numpy(canvas.mouth.tongue_rgb).reshape(1, 3, 1))
        self.register_buffer("teeth_rgb", torch.from_numpy(canvas.mouth.teeth_rgb).reshape(1, 3, 1))
        largest_w, largest_h = crop_sides(self.largest_face_px, MOUTH_CROP_FACE_HEIGHTS, self.width, self.height)
        self.register_buffer("crop_cols", torch.arange(largest_w))
        self.register_buffer("crop_rows", torch.arange(largest_h))

    @staticmethod
    def _identity(height: int, width: int) -> torch.Tensor:
        """(1, H, W, 2) normalised pixel-centre coordinates, as grid_sample reads them."""
        xs = (torch.arange(width, dtype=torch.float32) * 2.0 + 1.0) / width - 1.0
        ys = (torch.arange(height, dtype=torch.float32) * 2.0 + 1.0) / height - 1.0
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        return torch.stack([gx, gy], -1)[None]

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        """Frames (B, 3, H, W) for motion vectors (B, NUM_FIELDS)."""
        m = torch.maximum(torch.minimum(motion, self.high), self.low)
        coefficients, similarity = self._coefficients(m)
        deform = (coefficients @ self.deform_bases).reshape(-1, 2, *self.grid_shape)
        moved = (similarity @ self.similarity_bases).reshape(-1, 2, *self.grid_shape)
        grow, turn = similarity[:, 0, None, None, None], similarity[:, 1, None, None, None]
        spun = torch.stack([-deform[:, 1], deform[:, 0]], 1)
        forward_px = deform + moved + grow * deform + turn * spun
        backward = self._invert(forward_px * self.to_normalised[None, :, None, None])
        frame = self._sample(backward)
        face_px = self._shown_face_px(m)
        blink = self._blink_amounts(m)
        if _whole_graph() or bool(blink.amax() > 0.0):  # at 0 the lid layer draws nothing
            eyes = self._moved(self.eye_points, self.eye_deltas, coefficients, similarity)
            frame = self.eyelids(frame, self.person, eyes.reshape(-1, 2, POINTS_PER_EYE, 2), blink, face_px)
        return self._draw_mouth(frame, self._moved(self.mouth_points, self.mouth_deltas,
                                                   coefficients, similarity), face_px)

    def _shown_face_px(self, m: torch.Tensor) -> float:
        """The height in pixels of the largest face in the batch (traced: the largest the
        motion space allows), which sizes the mouth's and the eyes' work areas."""
        if _whole_graph():
            return self.largest_face_px
        return min(self.largest_face_px, self.face_px * math.exp(float(m[:, SCALE].amax())))

    def _blink_amounts(self, m: torch.Tensor) -> torch.Tensor:
        """(B, 2) how far each eye's lids travel, 0 = as in the photo, 1 = shut."""
        own = torch.clamp(self.own_motion[list(BLINKS)], max=MAX_OWN_BLINK)
        return torch.clamp((m[:, list(BLINKS)] - own) / (1.0 - own), 0.0, 1.0)

    def _coefficients(self, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-basis weights: deformation (B, K) and similarity (B, 4) = (a - 1, b, tx, ty)."""
        expression = m[:, EXPRESSION_SLICE] - self.own_motion[EXPRESSION_SLICE]
        yaw = (m[:, YAW:YAW + 1] - self.own_motion[YAW]) / ANGLE_STEP_DEG
        pitch = (m[:, PITCH:PITCH + 1] - self.own_motion[PITCH]) / ANGLE_STEP_DEG
        yaw_hats = torch.relu(1.0 - torch.abs(yaw - self.yaw_steps))
        pitch_hats = torch.relu(1.0 - torch.abs(pitch - self.pitch_steps))
        roll = (m[:, ROLL] - self.own_motion[ROLL]) * (math.pi / 180.0)
        size = torch.exp(m[:, SCALE])
        similarity = torch.stack([size * torch.cos(roll) - 1.0, size * torch.sin(roll),
                                  m[:, TX], m[:, TY]], 1)
        own_jaw = torch.clamp(self.own_motion[JAW], min=MIN_SEALED_JAW)
        seal = torch.clamp((own_jaw - m[:, JAW:JAW + 1]) / own_jaw, 0.0, 1.0)
        return torch.cat([expression, yaw_hats, pitch_hats, seal], 1), similarity

    def _invert(self, forward: torch.Tensor) -> torch.Tensor:
        """Backward warp (B, H_low, W_low, 2) in normalised coordinates: for each output
        point p, the source x with x + forward(x) = p, by Newton steps (which, unlike plain
        fixed-point steps, also converge where the warp compresses, as on a turning cheek)."""
        fields = torch.cat([forward, self._jacobian(forward)], 1)
        target = self.low_grid.expand(forward.shape[0], -1, -1, -1)
        source = target - forward.permute(0, 2, 3, 1)
        for _ in range(INVERSION_STEPS):
            at = F.grid_sample(fields, source, mode="bilinear", padding_mode="border",
                               align_corners=False)
            rx = source[..., 0] + at[:, 0] - target[..., 0]
            ry = source[..., 1] + at[:, 1] - target[..., 1]
            jxx, jxy, jyx, jyy = 1.0 + at[:, 2], at[:, 3], at[:, 4], 1.0 + at[:, 5]
            det = torch.clamp(jxx * jyy - jxy * jyx, min=MIN_JACOBIAN)
            step = torch.stack([(jyy * rx - jxy * ry) / det, (jxx * ry - jyx * rx) / det], -1)
            source = source - torch.clamp(step, -MAX_NEWTON_STEP, MAX_NEWTON_STEP)
        return source - target

    def _jacobian(self, field: torch.Tensor) -> torch.Tensor:
        """Spatial derivatives (B, 4, h, w) of a 2-channel field in normalised units:
        d(fx)/dx, d(fx)/dy, d(fy)/dx, d(fy)/dy, by central differences."""
        padded = F.pad(field, (1, 1, 1, 1), mode="replicate")
        grid_h, grid_w = self.grid_shape
        ddx = (padded[:, :, 1:-1, 2:] - padded[:, :, 1:-1, :-2]) * (grid_w / 4.0)
        ddy = (padded[:, :, 2:, 1:-1] - padded[:, :, :-2, 1:-1]) * (grid_h / 4.0)
        return torch.stack([ddx[:, 0], ddy[:, 0], ddx[:, 1], ddy[:, 1]], 1)

    def _sample(self, backward: torch.Tensor) -> torch.Tensor:
        """The moved person composited over the still background, (B, 3, H, W)."""
        batch = backward.shape[0]
        if _whole_graph():
            box = self.active.box_of_frame()
        else:
            found = self.active.box(self.low_grid + backward)
            if found is None:  # the person is out of the picture
                return self.background.expand(batch, -1, -1, -1).clone()
            box = found
        # contiguous first: upsampling a permuted view is about four times slower on CPU
        low = backward.permute(0, 3, 1, 2)[:, :, box.grid_top:box.grid_bottom, box.grid_left:box.grid_right]
        flow = F.interpolate(low.contiguous(), scale_factor=(self.active.step_y, self.active.step_x),
                             mode="bilinear", align_corners=False)
        rows = slice(box.top - box.grid_top * self.active.step_y, box.bottom - box.grid_top * self.active.step_y)
        cols = slice(box.left - box.grid_left * self.active.step_x,
                     box.right - box.grid_left * self.active.step_x)
        # in place: a fresh frame-sized tensor each call would cost its page faults
        grid = flow[:, :, rows, cols].add_(self.full_grid[:, :, box.top:box.bottom, box.left:box.right])
        person = F.grid_sample(self.person.expand(batch, -1, -1, -1), grid.permute(0, 2, 3, 1),
                               mode="bilinear", padding_mode="border", align_corners=False)
        background = self.background[:, :, box.top:box.bottom, box.left:box.right]
        inside = torch.addcmul(person[:, :3], background, 1.0 - person[:, 3:4])
        if self.active.is_whole(box):
            return inside
        frame = self.background.expand(batch, -1, -1, -1).clone()
        frame[:, :, box.top:box.bottom, box.left:box.right] = inside
        return frame

    def _moved(self, points: torch.Tensor, deltas: torch.Tensor, coefficients: torch.Tensor,
               similarity: torch.Tensor) -> torch.Tensor:
        """Tracked `points` (P, 2) moved by the motion, (B, P, 2) canvas pixels."""
        moved = points + (coefficients @ deltas).reshape(coefficients.shape[0], -1, 2)
        rel = moved - self.centre
        grow, turn = similarity[:, 0, None, None], similarity[:, 1, None, None]
        shift = similarity[:, None, 2:4] * self.face_px
        return self.centre + (1.0 + grow) * rel + turn * perpendicular(rel) + shift

    def _draw_mouth(self, frame: torch.Tensor, tracked: torch.Tensor, face_px: float) -> torch.Tensor:
        """`frame` with the lips redrawn and the mouth interior drawn between them, computed
        in a crop around them sized for a face `face_px` tall; `tracked` are the moved
        MOUTH_TRACKED points."""
        polygon = tracked[:, :len(ls.INNER_LIP_POLYGON)]
        mouth = FeatureFrame.from_corners(polygon[:, MOUTH_CORNER_LEFT], polygon[:, MOUTH_CORNER_RIGHT])
        centre = (polygon.amin(1) + polygon.amax(1)) / 2.0
        crop_w, crop_h = crop_sides(face_px, MOUTH_CROP_FACE_HEIGHTS, self.width, self.height)
        crop = crop_around(centre, crop_w, crop_h, self.width, self.height, self.crop_cols, self.crop_rows)
        u, v = mouth.to_frame(crop.pixels)
        drawn, outer_u = self.lips.drawn(mouth, tracked, u)
        lips, lips_alpha = self.lips(self.person, mouth, u, v, drawn, outer_u)
        lip_v = mouth.to_frame(polygon)[1]
        upper_v = lip_v.index_select(1, self.lips.upper)
        lower_v = torch.maximum(lip_v.index_select(1, self.lips.lower), upper_v)  # lips never cross
        top, bottom = drawn[..., INNER_UPPER], drawn[..., INNER_LOWER]
        gap_px = (lower_v - upper_v).amax(1, keepdim=True) * mouth.half_width
        openness = torch.clamp(gap_px / OPEN_PX, 0.0, 1.0)
        if not _whole_graph() and bool(openness.amax() <= 0.0):  # lips shut: no interior shows
            return composite_in_crop(frame, crop, [(lips, lips_alpha)])
        sharpness = mouth.half_width / FEATHER_PX
        alpha = (soft_step(v - top, sharpness) * soft_step(bottom - v, sharpness)
                 * soft_step(1.0 - torch.abs(u), sharpness) * openness)
        upper_mid = lip_v[:, UPPER_LIP_MID, None]
        opening = lower_v[:, MOUTH_CORNER_RIGHT // 2, None] - upper_mid
        interior = self._lower_teeth(self._interior(u, v - upper_mid, opening), u, bottom - v, opening)
        return composite_in_crop(frame, crop, [(lips, lips_alpha), (interior, alpha)])

    def _interior(self, u: torch.Tensor, v: torch.Tensor, opening: torch.Tensor) -> torch.Tensor:
        """Interior colour (B, 3, N) at mouth-frame u and v below the upper lip's middle:
        the teeth-and-cavity texture, with the tongue rising from behind the lower lip."""
        gx = (u - TEXTURE_U[0]) / (TEXTURE_U[1] - TEXTURE_U[0]) * 2.0 - 1.0
        gy = (v - TEXTURE_V[0]) / (TEXTURE_V[1] - TEXTURE_V[0]) * 2.0 - 1.0
        grid = torch.stack([gx, gy], -1)[:, None]
        texture = F.grid_sample(self.mouth_texture.expand(u.shape[0], -1, -1, -1), grid,
                                mode="bilinear", padding_mode="border", align_corners=True)[:, :, 0]
        depth = TONGUE_DEPTH + opening
        top = (1.0 - TONGUE_RISE) * opening
        radius = ((u / TONGUE_HALF_WIDTH) ** 2 + ((v - top - depth) / depth) ** 2).sqrt()
        inside = torch.clamp(1.0 - radius, 0.0, 1.0)
        tongue_alpha = torch.clamp(inside * TONGUE_EDGE_SHARPNESS, 0.0, 1.0)[:, None]
        tongue = self.tongue_rgb * (TONGUE_SHADOW + (1.0 - TONGUE_SHADOW) * inside.sqrt())[:, None]
        return texture + tongue_alpha * (tongue - texture)

    def _lower_teeth(self, interior: torch.Tensor, u: torch.Tensor, above_lip: torch.Tensor,
                     opening: torch.Tensor) -> torch.Tensor:
        """`interior` (B, 3, N) with the lower teeth laid over it; `above_lip` is each
        pixel's height (B, N) over the lower inner lip, `opening` the gap (B, 1) in the middle."""
        phase = u / LOWER_TEETH_SPACING
        seam = (phase - torch.round(phase)) * 2.0  # 0 at a seam between teeth, ±1 mid-tooth
        tip = 1.0 - LOWER_TEETH_TIP_ROUND * (1.0 - seam ** 2)
        height = LOWER_TEETH_HEIGHT * torch.clamp(opening / LOWER_TEETH_FULL_OPENING, 0.0, 1.0) * tip
        alpha = (torch.clamp((height - above_lip) / LOWER_TEETH_EDGE, 0.0, 1.0)
                 * torch.clamp((LOWER_TEETH_HALF_WIDTH - torch.abs(u)) / LOWER_TEETH_EDGE, 0.0, 1.0))
        gaps = 1.0 - LOWER_TEETH_GAP_DARK * torch.exp(-((seam / LOWER_TEETH_GAP_WIDTH) ** 2))
        shade = LOWER_TEETH_SHADE * gaps * (1.0 - LOWER_TEETH_SIDE_SHADE * (u / LOWER_TEETH_HALF_WIDTH) ** 2)
        return interior + alpha[:, None] * (self.teeth_rgb * shade[:, None] - interior)


def _whole_graph() -> bool:
    """Whether every layer must be computed: while the graph is traced for ONNX export
    (`onnx_export.py` exports by tracing), since the exported graph cannot skip a layer
    that draws nothing for the frames at hand."""
    return torch.jit.is_tracing()


def build_graph(avatar: Avatar, size_name: str) -> RenderGraph:
    """The render graph of `avatar` at one output size, in eval mode."""
    return RenderGraph(avatar, size_name).eval()


def render_frames(graph: RenderGraph, motion: np.ndarray) -> np.ndarray:
    """uint8 frames (B, H, W, 3) of motion vectors (B, NUM_FIELDS), computed with torch."""
    with torch.inference_mode():
        frames = graph(torch.from_numpy(np.array(motion, np.float32)))
    return to_uint8(frames)


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """Float frames (B, 3, H, W) in 0..1 as uint8 (B, H, W, 3), rounded and saturated.
    On the CPU OpenCV converts and interleaves the planes in one pass each (about 2.7×
    faster than torch at 1280×720); elsewhere the device converts and only bytes travel."""
    if frames.device.type != "cpu":
        scaled = frames.mul(255.0).add_(0.5).clamp_(0.0, 255.0).to(torch.uint8)
        return scaled.permute(0, 2, 3, 1).contiguous().cpu().numpy()
    planes = frames.detach().numpy()
    return np.stack([cv2.merge([cv2.multiply(plane, 255.0, dtype=cv2.CV_8U) for plane in frame])
                     for frame in planes])
