"""The canvas beyond the photo's edges, and the renderer's warp confined to where the person
can show: the frames it makes are those of the whole-frame warp, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avatarcam.motion.space import LOWER_BOUNDS, UPPER_BOUNDS, neutral
from avatarcam.render.active_area import WHOLE_FRAME_SHARE, ActiveArea, PixelBox
from avatarcam.render.avatar import Avatar
from avatarcam.render.benchmark import bench_motion
from avatarcam.render.framing import Framing, output_size
from avatarcam.render.graph import RenderGraph, build_graph
from avatarcam.render.photo_margins import canvas_plate, person_alpha, photo_ramp

SIZE = output_size("720p")
# A 480×600 photo placed at x 400..880 and y 100..700 of the 1280×720 canvas: it leaves
# margins left, right, above and below.
PHOTO_SHAPE = (600, 480)
FRAMING = Framing(1.0, np.array([400.0, 100.0]))


def test_ramp_fades_at_the_edges_inside_the_canvas_only() -> None:
    ramp = photo_ramp(FRAMING, PHOTO_SHAPE, SIZE, bottom=True)
    assert ramp[400, 640] == 1.0
    assert ramp[400, :400].max() == 0.0 and ramp[400, 880:].max() == 0.0 and ramp[:100, 640].max() == 0.0
    assert ramp[700:, 640].max() == 0.0
    assert np.all(np.diff(ramp[400, 390:460]) >= 0.0) and 0.0 < ramp[400, 405] < 1.0
    assert photo_ramp(FRAMING, PHOTO_SHAPE, SIZE, bottom=False)[710, 640] == 1.0
    covering = Framing(3.0, np.array([-100.0, -300.0]))  # edges beyond the canvas on every side
    assert photo_ramp(covering, PHOTO_SHAPE, SIZE, bottom=True).min() == 1.0


def test_body_fades_at_the_photo_sides_and_carries_on_below() -> None:
    mask = np.zeros(PHOTO_SHAPE, np.float32)
    mask[300:, :] = 1.0  # shoulders across the whole photo width, cut by its sides and bottom
    alpha = person_alpha(mask, FRAMING, SIZE)
    assert alpha[500, 640] == 255
    assert alpha[:, :400].max() == 0 and alpha[:, 880:].max() == 0, "a body cut by the photo is not smeared sideways"
    assert alpha[710, 450:830].min() == 255, "below the photo the body continues"


def test_plate_beyond_the_photo_is_smooth_and_the_photo_is_kept() -> None:
    photo = np.zeros((*PHOTO_SHAPE, 3), np.uint8)
    photo[:, ::8] = 255  # sharp stripes, which mirroring or copying would carry outward
    plate = canvas_plate(photo, FRAMING, SIZE).astype(np.float32)
    inside = plate[200:600, 450:830]
    np.testing.assert_array_equal(inside, photo[100:500, 50:430])
    beyond = np.concatenate([plate[200:600, :360], plate[200:600, 920:]], 1)
    assert np.abs(np.diff(beyond, axis=1)).max() < 8.0
    assert np.abs(np.diff(inside, axis=1)).max() == 255.0


def test_prepared_canvas_has_no_person_beyond_the_photo(avatar: Avatar) -> None:
    """The astronaut's photo does not reach the 720p canvas's left edge: nothing of the
    person may show there (before, a faint mask row was copied out to it)."""
    assert avatar.canvas("720p").person[:, :32, 3].max() == 0


def test_grid_must_divide_the_frame() -> None:
    with pytest.raises(ValueError, match="does not divide"):
        ActiveArea(np.ones((100, 130), np.uint8), RenderGraph._identity(7, 10))


def test_box_holds_the_person_and_none_when_out_of_the_picture() -> None:
    coverage = np.zeros((400, 800), np.uint8)
    coverage[180:220, 380:420] = 255
    area = ActiveArea(coverage, RenderGraph._identity(50, 100))
    box = area.box(RenderGraph._identity(50, 100))
    assert isinstance(box, PixelBox)
    assert box.top <= 180 and box.bottom >= 220 and box.left <= 380 and box.right >= 420
    assert (box.bottom - box.top) * (box.right - box.left) < 0.1 * 400 * 800
    assert area.box(torch.full((1, 50, 100, 2), -1.0)) is None  # every source on the empty corner


def test_a_person_filling_the_frame_is_not_looked_for() -> None:
    coverage = np.full((400, 800), 255, np.uint8)
    area = ActiveArea(coverage, RenderGraph._identity(50, 100))
    assert not area.worthwhile
    assert area.box(torch.full((1, 50, 100, 2), -1.0)) == area.box_of_frame()


def test_cropped_warp_makes_the_whole_frame_warp(avatar: Avatar, monkeypatch: pytest.MonkeyPatch) -> None:
    graph = build_graph(avatar, "720p")
    rng = np.random.default_rng(0)
    motion = np.concatenate([neutral(1), bench_motion(24)[::3], LOWER_BOUNDS[None], UPPER_BOUNDS[None],
                             rng.uniform(LOWER_BOUNDS, UPPER_BOUNDS, (6, len(LOWER_BOUNDS)))])
    shares = []
    found = ActiveArea.box

    def recorded(area: ActiveArea, sources: torch.Tensor) -> PixelBox | None:
        box = found(area, sources)
        shares.append(1.0 if box is None else (box.bottom - box.top) * (box.right - box.left)
                      / (area.height * area.width))
        return box

    batch = torch.from_numpy(motion.astype(np.float32))
    with torch.inference_mode():
        monkeypatch.setattr(ActiveArea, "box", recorded)
        cropped = torch.cat([graph(row[None]) for row in batch])
        monkeypatch.setattr(ActiveArea, "box", lambda area, sources: area.box_of_frame())
        whole = torch.cat([graph(row[None]) for row in batch])
        whole_together = graph(batch)
        monkeypatch.setattr(ActiveArea, "box", found)
        together = graph(batch)  # one box for the whole batch
    assert torch.equal(cropped, whole)
    assert torch.equal(together, whole_together)
    assert sum(share < WHOLE_FRAME_SHARE for share in shares) >= len(motion) // 2, shares
