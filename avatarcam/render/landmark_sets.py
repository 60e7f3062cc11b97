"""Named groups of Face Mesh landmark indices (the 478-point refined topology).

Expression offsets, the warp rig and the mouth compositor all address the same lips, lids,
irises and brows; naming them once keeps the three in step. "Right" and "left" are the
person's own, so the right eye is on the image's left.
"""

from __future__ import annotations

# Lips, each contour from the image-left corner to the image-right corner.
INNER_LIP_CORNERS = (78, 308)
OUTER_LIP_CORNERS = (61, 291)
INNER_UPPER_LIP = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LOWER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
OUTER_UPPER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LOWER_LIP = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
INNER_UPPER_MID, INNER_LOWER_MID = 13, 14
# Skin rings just outside the lips, paired point for point with the outer lip contours.
ABOVE_UPPER_LIP = (57, 186, 92, 165, 167, 164, 393, 391, 322, 410, 287)
BELOW_LOWER_LIP = (57, 43, 106, 182, 83, 18, 313, 406, 335, 273, 287)

# Eyelids from outer to inner corner; the upper and lower lists pair up point for point.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (263, 362)
RIGHT_UPPER_LID = (246, 161, 160, 159, 158, 157, 173)
RIGHT_LOWER_LID = (7, 163, 144, 145, 153, 154, 155)
LEFT_UPPER_LID = (466, 388, 387, 386, 385, 384, 398)
LEFT_LOWER_LID = (249, 390, 373, 374, 380, 381, 382)
# The fold above each upper lid, paired with the upper-lid points below it.
RIGHT_LID_CREASE = (247, 30, 29, 27, 28, 56, 190)
LEFT_LID_CREASE = (467, 260, 259, 257, 258, 286, 414)
# Rings further out, paired with the lid points: above the crease (toward the brow) and
# below the lower lid. They bound the skin a closing lid stretches or compresses.
RIGHT_ABOVE_CREASE = (113, 225, 224, 223, 222, 221, 189)
LEFT_ABOVE_CREASE = (342, 445, 444, 443, 442, 441, 413)
RIGHT_BELOW_LOWER_LID = (25, 110, 24, 23, 22, 26, 112)
LEFT_BELOW_LOWER_LID = (255, 339, 254, 253, 252, 256, 341)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first
LEFT_IRIS = (473, 474, 475, 476, 477)

# Brows from outer to inner end: upper edge, then lower edge.
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)

# The outline of the face, clockwise as viewed from the forehead top.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
             400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
             54, 103, 67, 109)


def without_corners(contour: tuple[int, ...]) -> tuple[int, ...]:
    """A lip contour without its two shared corner points."""
    return contour[1:-1]


UPPER_LIP = without_corners(INNER_UPPER_LIP) + without_corners(OUTER_UPPER_LIP)
LOWER_LIP = without_corners(INNER_LOWER_LIP) + without_corners(OUTER_LOWER_LIP)
LIP_CORNERS = INNER_LIP_CORNERS + OUTER_LIP_CORNERS
ALL_LIPS = UPPER_LIP + LOWER_LIP + LIP_CORNERS
# The mouth opening as a closed polygon: upper inner lip left to right, lower back again.
INNER_LIP_POLYGON = INNER_UPPER_LIP + tuple(reversed(without_corners(INNER_LOWER_LIP)))
# Every point the mouth compositor follows: the opening, then the rings from the top down.
MOUTH_TRACKED = INNER_LIP_POLYGON + ABOVE_UPPER_LIP + OUTER_UPPER_LIP + OUTER_LOWER_LIP + BELOW_LOWER_LIP
# Inner-lip points facing each other across the mouth opening.
INNER_LIP_PAIRS = tuple(zip(without_corners(INNER_UPPER_LIP), without_corners(INNER_LOWER_LIP)))
