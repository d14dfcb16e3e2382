"""The user's detector, as detection rounds (`select.detector`) and box validation read it.

dataprep trains no detector: a team has its own. A round reads it one of two ways:
- a predictions file (.parquet, .csv or .jsonl) the team's job writes each round: a row per
  image, `sample_id` (or `source`: the image's path as `acquire` recorded it, or its file
  name) and `boxes`, a JSON list of `{label, x_min, y_min, x_max, y_max, score}` in pixels of
  the image as displayed (EXIF orientation applied);
- an ONNX detector (`.onnx`), run with onnxruntime one image at a time: input float32
  NCHW RGB in [0, 1] resized to the model's square side (`features.onnx_input_size`, else the
  graph's, else 320); outputs `boxes` (N x 4, x_min y_min x_max y_max as a share of the
  width and height), `scores` (N) and `labels` (N, index into `project.labels`), by name or
  in that order. Boxes are scaled to the image's displayed size.

Both give `predict(sample_ids)` (boxes per image) and `uncertainty(sample_ids)`: per image,
the largest binary entropy of a box score (a box at 0.5 is the least decided; an image
with no box scores 0), the score `box_uncertainty_kmeans` ranks by.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from dataprep.core.errors import UserError
from dataprep.core.images import load_rgb


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def image_uncertainty(boxes: list[dict]) -> float:
    return float(_entropy([b.get("score", 1.0) for b in boxes]).max()) if boxes else 0.0


def _fingerprint(path: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Detector:
    fingerprint: str

    def predict(self, sample_ids) -> list[list[dict]]:
        raise NotImplementedError

    def uncertainty(self, sample_ids) -> np.ndarray:
        return np.array([image_uncertainty(b) for b in self.predict(sample_ids)], dtype=float)

    def covers(self, sample_id) -> bool:
        """Whether the detector has looked at this image (a predictions file may hold a few)."""
        return True


class PredictionsFile(_Detector):
    def __init__(self, path: Path, manifest: pd.DataFrame):
        self.path, self.fingerprint = path, f"predictions-{_fingerprint(path)}"
        suffix = path.suffix.lower()
        try:
            df = (pd.read_parquet(path) if suffix == ".parquet" else
                  pd.read_json(path, lines=True) if suffix == ".jsonl" else pd.read_csv(path))
        except Exception as exc:  # pandas and pyarrow raise many types for a bad file
            raise UserError(f"select.detector: {path}: not a readable predictions table ({exc})") from None
        if "boxes" not in df.columns or not ({"sample_id", "source"} & set(df.columns)):
            raise UserError(f"select.detector: {path} needs the columns boxes and sample_id (or source); "
                            f"it has {', '.join(map(str, df.columns))}")
        ids = df["sample_id"].astype(str) if "sample_id" in df.columns else self._ids(df["source"], manifest, path)
        self.boxes: dict[str, list[dict]] = {}
        for k, (sid, raw) in enumerate(zip(ids, df["boxes"])):
            try:
                boxes = json.loads(raw) if isinstance(raw, str) else list(raw)
                self.boxes[sid] = [{"label": str(b["label"]), **{c: float(b[c]) for c in
                                    ("x_min", "y_min", "x_max", "y_max")}, "score": float(b.get("score", 1.0))}
                                   for b in boxes]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise UserError(f"select.detector: {path} row {k}: boxes must be a JSON list of "
                                f"{{label, x_min, y_min, x_max, y_max, score}} ({exc})") from None

    @staticmethod
    def _ids(sources: pd.Series, manifest: pd.DataFrame, path: Path) -> list[str]:
        full, names = {}, {}
        for sid, srcs in zip(manifest["sample_id"], manifest["sources"]):
            for s in json.loads(srcs):
                full[str(PurePosixPath(Path(s).as_posix()))] = sid
                names.setdefault(PurePosixPath(s).name, set()).add(sid)
        out = []
        for k, s in enumerate(sources.astype(str)):
            sid = full.get(str(PurePosixPath(Path(s).as_posix())))
            if sid is None and len(names.get(PurePosixPath(s).name, ())) == 1:
                sid = next(iter(names[PurePosixPath(s).name]))
            if sid is None:
                raise UserError(f"select.detector: {path} row {k}: source {s!r} is no image of the dataset")
            out.append(sid)
        return out

    def predict(self, sample_ids) -> list[list[dict]]:
        return [self.boxes.get(str(s), []) for s in sample_ids]

    def covers(self, sample_id) -> bool:
        return str(sample_id) in self.boxes


class OnnxDetector(_Detector):
    def __init__(self, path: Path, manifest: pd.DataFrame, root: Path, labels: list[str], input_size: int | None,
                 max_pixels: int):
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError("select.detector: an .onnx detector needs onnxruntime: pip install 'dataprep[onnx]'") from None
        try:
            self.sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a bad file
            raise UserError(f"select.detector: {path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        if not labels:
            raise UserError("select.detector: an .onnx detector gives class indices: list the classes in project.labels")
        self.fingerprint, self.labels, self.root, self.max_pixels = f"onnx-{_fingerprint(path)}", labels, root, max_pixels
        inp = self.sess.get_inputs()[0]
        dims = [d for d in inp.shape[2:4] if isinstance(d, int)]
        self.size = input_size or (dims[0] if len(dims) == 2 and dims[0] == dims[1] else 320)
        self.input = inp.name
        names = [o.name for o in self.sess.get_outputs()]
        want = ("boxes", "scores", "labels")
        self.outputs = list(want) if set(want) <= set(names) else names[:3]
        if len(self.outputs) < 3:
            raise UserError(f"select.detector: {path} needs three outputs (boxes, scores, labels); it has {names}")
        self.man = manifest.set_index("sample_id")
        self.cache: dict[str, list[dict]] = {}

    def _run(self, sid: str) -> list[dict]:
        row = self.man.loc[sid]
        from PIL import Image
        im = load_rgb(self.root / row["path"], max_pixels=self.max_pixels).resize((self.size, self.size), Image.BILINEAR)
        x = (np.asarray(im, np.float32).transpose(2, 0, 1)[None] / 255.0).astype(np.float32)
        boxes, scores, labels = (np.asarray(v) for v in self.sess.run(self.outputs, {self.input: x}))
        W, H = float(row["width"]), float(row["height"])
        out = []
        for b, s, lab in zip(boxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)):
            k = int(lab)
            if not 0 <= k < len(self.labels):
                continue
            x0, x1 = sorted((float(np.clip(b[0], 0, 1)) * W, float(np.clip(b[2], 0, 1)) * W))
            y0, y1 = sorted((float(np.clip(b[1], 0, 1)) * H, float(np.clip(b[3], 0, 1)) * H))
            if x1 - x0 >= 1 and y1 - y0 >= 1:
                out.append({"label": self.labels[k], "x_min": round(x0, 2), "y_min": round(y0, 2),
                            "x_max": round(x1, 2), "y_max": round(y1, 2), "score": round(float(s), 4)})
        return out

    def predict(self, sample_ids) -> list[list[dict]]:
        for s in sample_ids:
            if s not in self.cache:
                self.cache[s] = self._run(s)
        return [self.cache[s] for s in sample_ids]


def load_detector(spec: str | None, project, manifest: pd.DataFrame) -> _Detector | None:
    """The detector `select.detector` names, or None (no detector yet: rounds pick for diversity)."""
    if not spec:
        return None
    path = Path(spec) if Path(spec).is_absolute() else project.root / spec
    if not path.exists():
        raise UserError(f"select.detector: {path} does not exist")
    if path.suffix.lower() == ".onnx":
        return OnnxDetector(path, manifest, project.data, list(project.cfg.project.labels),
                            project.cfg.features.onnx_input_size, project.cfg.acquire.max_pixels)
    if path.suffix.lower() not in (".parquet", ".csv", ".jsonl"):
        raise UserError(f"select.detector: {path}: expected a predictions file (.parquet, .csv, .jsonl) or an .onnx model")
    return PredictionsFile(path, manifest)
