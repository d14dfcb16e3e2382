"""Labeling: Label Studio and simulated annotators, and label validation."""
