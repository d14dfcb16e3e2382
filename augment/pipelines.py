"""Pipelines: presets, and user pipelines in albumentations' own format (`A.to_dict`).

A user pipeline is checked before anything runs: every transform must exist in
albumentations and every argument must be one its constructor takes (plain
`A.from_dict` silently drops unknown arguments), so a typo is an exit-2 error
naming the key, not a pipeline quietly doing less.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A  # noqa: E402

from dataprep.core.errors import UserError  # noqa: E402


REFLECT = 4   # cv2.BORDER_REFLECT_101: no black corners after a rotation


def _presets() -> dict[str, A.Compose]:
    return {
        # light: nothing that changes what the image shows (no flips: a flipped 3 or a flipped
        # letter is another class), so it is safe on characters as on photos
        "light": A.Compose([A.Affine(rotate=(-10, 10), scale=(0.95, 1.05), translate_percent=(-0.05, 0.05),
                                     border_mode=REFLECT, p=0.7),
                            A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.15, p=0.5)]),
        "medium": A.Compose([A.HorizontalFlip(p=0.5),
                             A.Affine(rotate=(-20, 20), scale=(0.9, 1.1), translate_percent=(-0.08, 0.08),
                                      border_mode=REFLECT, p=0.8),
                             A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=0.25, p=0.6),
                             A.GaussNoise(std_range=(0.02, 0.06), p=0.3),
                             A.GaussianBlur(blur_limit=(3, 5), p=0.2),
                             A.CoarseDropout(num_holes_range=(1, 3), hole_height_range=(0.05, 0.15),
                                             hole_width_range=(0.05, 0.15), p=0.3)]),
        "detection": A.Compose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.2), A.RandomRotate90(p=0.3),
                                A.RandomBrightnessContrast(p=0.5),
                                A.Affine(scale=(0.9, 1.1), translate_percent=(-0.05, 0.05), p=0.5)]),
    }


PRESETS = ("light", "medium", "detection")


def _check(node: Any, where: str) -> None:
    if not isinstance(node, dict) or "__class_fullname__" not in node:
        raise UserError(f"{where}: expected a transform with '__class_fullname__' (albumentations' A.to_dict format)")
    name = node["__class_fullname__"].split(".")[-1]
    cls = getattr(A, name, None)
    if cls is None or not inspect.isclass(cls):
        raise UserError(f"{where}: unknown transform {node['__class_fullname__']!r}")
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for key in node:
            if key not in params and key not in ("__class_fullname__", "transforms", "bbox_params",
                                                 "keypoint_params", "additional_targets", "is_check_shapes"):
                raise UserError(f"{where}.{key}: {name} takes no argument {key!r}")
    for i, child in enumerate(node.get("transforms", []) or []):
        _check(child, f"{where}.transforms[{i}]")


def load(spec: str | dict) -> A.Compose:
    """A Compose from a preset name or an `A.to_dict` document (validated)."""
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise UserError(f"augment.pipeline: unknown preset {spec!r}; use one of {', '.join(PRESETS)} "
                            "or an albumentations dict (A.to_dict)")
        return _presets()[spec]
    doc = spec if "transform" in spec else {"transform": spec}
    _check(doc["transform"], "augment.pipeline")
    try:
        out = A.from_dict(doc)
    except Exception as exc:     # albumentations raises many types for bad values
        raise UserError(f"augment.pipeline: albumentations rejected it: {type(exc).__name__}: {exc}") from exc
    return out if isinstance(out, A.Compose) else A.Compose([out])


def fingerprint(pipeline: A.Compose) -> str:
    """A hash of the serialized pipeline: changing it changes every seed derived from it."""
    return hashlib.sha1(json.dumps(A.to_dict(pipeline), sort_keys=True, default=str).encode()).hexdigest()[:12]
