"""Preparing a portrait into an avatar folder once, and loading it fast for every run.

Everything slow (face mesh, segmentation, background fill, expression fit, warp rig, mouth
assets) happens in `prepare_avatar`; `load_avatar` only reads arrays back, so starting
the renderer takes well under half a second.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from avatarcam.errors import AvatarcamError
from avatarcam.motion.space import NUM_FIELDS, to_dict, from_dict
from avatarcam.render.expression_basis import (EXPRESSION_SLICE, expression_basis, lip_seal,
                                               measure_motion, to_canonical)
from avatarcam.render.face_landmarks import find_portrait_face
from avatarcam.render.framing import SIZES, OutputSize, frame_head, output_size
from avatarcam.render.mouth import MouthAssets, fill_mouth_gap, mouth_assets
from avatarcam.render.photo_margins import canvas_plate, person_alpha
from avatarcam.render.portrait_image import load_portrait
from avatarcam.render.rig import Rig, RigInput, build_rig
from avatarcam.render.segmentation import fill_background, person_mask
from avatarcam.render import landmark_sets as ls

FORMAT = "avatarcam-avatar"
# 2: eyelids drawn at full resolution, lip seal as its own basis; 3: rounded jaw opening;
# 4: the teeth colour for the lower teeth; 5: turn fields relaxed where they would fold;
# 6: the canvas beyond the photo continues the plate smoothly, the person fades out there
VERSION = 6
META_FILE = "meta.json"
MOTION_FILE = "motion.json"

log = logging.getLogger(__name__)


class AvatarError(AvatarcamError):
    """An avatar folder is missing, incomplete or from another version."""


@dataclass(frozen=True)
class Canvas:
    """One output size of an avatar: its textures, warp rig and mouth assets."""

    size: OutputSize
    person: np.ndarray  # uint8 (H, W, 4): RGB with the mouth opening lip-filled, and the mask
    background: np.ndarray  # uint8 (H, W, 3): the scene without the person
    rig: Rig
    mouth: MouthAssets


@dataclass(frozen=True)
class Avatar:
    """A prepared portrait: its own measured motion vector and one canvas per output size."""

    motion: np.ndarray  # float32 (NUM_FIELDS,): the photo's own face state
    canvases: dict[str, Canvas]

    def canvas(self, size_name: str) -> Canvas:
        """The canvas of the output size called `size_name`."""
        size = output_size(size_name)
        if size.name not in self.canvases:
            raise AvatarError(
                f"This avatar was prepared without the {size.name!r} size; prepare it again."
            )
        return self.canvases[size.name]


def _canvas(image: np.ndarray, mask: np.ndarray, background: np.ndarray, landmarks: np.ndarray,
            rig_in_portrait: RigInput, size: OutputSize) -> Canvas:
    """The canvas of one output size, cut from portrait-pixel inputs."""
    framing = frame_head(rig_in_portrait.translation, rig_in_portrait.scale, size)
    rgb = framing.image(image, size, cv2.BORDER_REPLICATE)
    alpha = person_alpha(mask, framing, size)
    plate = canvas_plate(background, framing, size)
    canvas_landmarks = framing.points(landmarks.astype(np.float64))
    translation = framing.points(rig_in_portrait.translation[None].astype(np.float64))[0]
    rig_in = RigInput(
        landmarks=canvas_landmarks, canonical=rig_in_portrait.canonical,
        rotation=rig_in_portrait.rotation, scale=rig_in_portrait.scale * framing.zoom,
        translation=translation, yaw=rig_in_portrait.yaw, pitch=rig_in_portrait.pitch,
        roll=rig_in_portrait.roll, deltas=rig_in_portrait.deltas, seal=rig_in_portrait.seal,
        own_expression=rig_in_portrait.own_expression,
    )
    polygon = canvas_landmarks[list(ls.INNER_LIP_POLYGON), :2]
    person = np.dstack([fill_mouth_gap(rgb, polygon), alpha])
    return Canvas(size, person, plate, build_rig(rig_in, size), mouth_assets(rgb, canvas_landmarks))


def prepare_avatar(portrait_path: str | Path, out_dir: str | Path,
                   sizes: tuple[str, ...] = tuple(SIZES)) -> Avatar:
    """Analyse the photo at `portrait_path` and write the avatar to `out_dir`.

    Raises PortraitError (one sentence) for a photo that cannot be animated.
    """
    image = load_portrait(portrait_path)
    face = find_portrait_face(image)
    mask = person_mask(image)
    background = fill_background(image, mask)
    motion = measure_motion(face.landmarks, face.pose)
    aligned = to_canonical(face.landmarks.astype(np.float64), face.pose)
    pose = face.pose
    rig_in = RigInput(
        landmarks=face.landmarks.astype(np.float64), canonical=aligned, rotation=pose.rotation,
        scale=pose.scale, translation=pose.translation, yaw=pose.yaw, pitch=pose.pitch,
        roll=pose.roll, deltas=expression_basis().deltas, seal=lip_seal(aligned, motion),
        own_expression=motion[EXPRESSION_SLICE],
    )
    canvases = {name: _canvas(image, mask, background, face.landmarks, rig_in, output_size(name))
                for name in sizes}
    avatar = Avatar(motion, canvases)
    _write(Path(out_dir), image, mask, background, face.landmarks, pose.translation, avatar,
           portrait_path)
    return avatar


def _write(out: Path, image: np.ndarray, mask: np.ndarray, background: np.ndarray,
           landmarks: np.ndarray, pose_translation: np.ndarray, avatar: Avatar,
           source: str | Path) -> None:
    """The avatar folder: inspectable images and JSON, and one .npz per output size."""
    out.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out / "portrait.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / "background.png"), cv2.cvtColor(background, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / "mask.png"), np.round(mask * 255).astype(np.uint8))
    np.save(out / "landmarks.npy", landmarks.astype(np.float32))
    (out / MOTION_FILE).write_text(json.dumps(to_dict(avatar.motion), indent=1) + "\n")
    for name, canvas in avatar.canvases.items():
        rig, mouth = canvas.rig, canvas.mouth
        np.savez(out / f"canvas_{name}.npz", person=canvas.person, background=canvas.background,
                 bases=rig.bases, mouth_points=rig.mouth_points, mouth_deltas=rig.mouth_deltas,
                 eye_points=rig.eye_points, eye_deltas=rig.eye_deltas,
                 yaw_offsets=rig.yaw_offsets, pitch_offsets=rig.pitch_offsets,
                 centre=rig.centre, face_px=np.float32(rig.face_px),
                 mouth_texture=mouth.texture, tongue_rgb=mouth.tongue_rgb, teeth_rgb=mouth.teeth_rgb,
                 teeth_seen=np.bool_(mouth.teeth_seen))
    meta = {"format": FORMAT, "version": VERSION, "source": str(source),
            "sizes": list(avatar.canvases), "pose_translation_px": pose_translation.tolist()}
    (out / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")


def _read_meta(folder: Path) -> dict[str, object]:
    """meta.json, checked to be an avatar of this version."""
    try:
        meta = json.loads((folder / META_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        raise AvatarError(
            f"{folder} is not an avatar folder; make one with `avatarcam prepare PORTRAIT -o {folder}`."
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise AvatarError(
            f"The avatar in {folder} was made by another avatarcam version; prepare it again."
        )
    return meta


def load_avatar(folder: str | Path, sizes: tuple[str, ...] | None = None) -> Avatar:
    """The avatar prepared in `folder`, with the output sizes named (default: all)."""
    folder = Path(folder)
    meta = _read_meta(folder)
    available = [str(s) for s in meta["sizes"]]  # type: ignore[union-attr]
    wanted = list(sizes) if sizes is not None else available
    canvases = {}
    for name in wanted:
        if name not in available:
            raise AvatarError(
                f"The avatar in {folder} has no {name!r} size ({', '.join(available)}); prepare it again."
            )
        with np.load(folder / f"canvas_{name}.npz") as data:
            rig = Rig(bases=data["bases"], mouth_points=data["mouth_points"],
                      mouth_deltas=data["mouth_deltas"], eye_points=data["eye_points"],
                      eye_deltas=data["eye_deltas"], yaw_offsets=data["yaw_offsets"],
                      pitch_offsets=data["pitch_offsets"], centre=data["centre"],
                      face_px=float(data["face_px"]))
            mouth = MouthAssets(data["mouth_texture"], data["tongue_rgb"], data["teeth_rgb"],
                                bool(data["teeth_seen"]))
            canvases[name] = Canvas(output_size(name), data["person"], data["background"], rig, mouth)
    motion = from_dict(json.loads((folder / MOTION_FILE).read_text()))
    assert motion.shape == (NUM_FIELDS,)
    return Avatar(motion, canvases)
