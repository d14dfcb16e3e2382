"""dataprep: data-prep ops from raw files to a validated, traceable training set."""

import os as _os

# Offline and quiet by default (DESIGN.md): tools we start must not phone home.
for _k, _v in {
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "DVC_NO_ANALYTICS": "1",
    "LATEST_VERSION_CHECK": "false",
    "COLLECT_ANALYTICS": "false",
}.items():
    _os.environ.setdefault(_k, _v)

__version__ = "0.1.0"
