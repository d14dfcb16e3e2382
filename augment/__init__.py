"""Augmentation: reproducible, bbox-aware albumentations pipelines with lineage."""
