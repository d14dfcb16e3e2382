"""Label Studio label configs: generated from the task type and label set, or a user's
own XML checked against the label set before anything is created on the server."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

from dataprep.core.errors import UserError

FROM_NAME = "label"


def to_name(modality: str) -> str:
    """The object a label is given to: the text, the table row, the image."""
    return {"text": "text", "tabular": "row"}.get(modality, "image")


def generate(task: str, modality: str, labels: list[str]) -> str:
    if not labels:
        raise UserError("project.labels: empty and the data has no source labels; list the class names")
    opts = "".join(f"<{'Label' if task == 'detection' else 'Choice'} value={quoteattr(lab)}/>" for lab in labels)
    if modality == "text":
        if task == "detection":
            raise UserError("project.task: detection needs images, the dataset holds text")
        return (f'<View><Text name="text" value="$text"/>'
                f'<Choices name="{FROM_NAME}" toName="text" choice="single" showInline="true">{opts}</Choices></View>')
    if modality == "tabular":
        if task == "detection":
            raise UserError("project.task: detection needs images, the dataset is a table")
        # Label Studio's Table tag shows a task's {column: value} object as a two-column table
        return (f'<View><Table name="row" value="$row"/>'
                f'<Choices name="{FROM_NAME}" toName="row" choice="single" showInline="true">{opts}</Choices></View>')
    if modality != "image":
        raise UserError(f"Label Studio labeling needs images, text or table rows; this dataset is {modality}")
    if task == "detection":
        return (f'<View><Image name="image" value="$image"/>'
                f'<RectangleLabels name="{FROM_NAME}" toName="image">{opts}</RectangleLabels></View>')
    return (f'<View><Image name="image" value="$image"/>'
            f'<Choices name="{FROM_NAME}" toName="image" choice="single" showInline="true">{opts}</Choices></View>')


def check_user_config(path: Path, labels: list[str], task: str) -> str:
    """Read a user's XML and check it names exactly our labels under a control called `label`."""
    try:
        root = ET.fromstring(path.read_text())
    except (OSError, ET.ParseError) as exc:
        raise UserError(f"label.label_config: {path}: not readable XML ({exc})") from exc
    tag = "RectangleLabels" if task == "detection" else "Choices"
    ctrl = [e for e in root.iter(tag) if e.get("name") == FROM_NAME]
    if not ctrl:
        raise UserError(f"label.label_config: {path}: needs a <{tag} name=\"{FROM_NAME}\"> control")
    found = [e.get("value") for e in ctrl[0] if e.get("value") is not None]
    missing, extra = sorted(set(labels) - set(found)), sorted(set(found) - set(labels))
    if missing or extra:
        raise UserError(f"label.label_config: {path}: labels differ from the label set "
                        f"(missing {missing}, not in the set {extra})")
    return path.read_text()
