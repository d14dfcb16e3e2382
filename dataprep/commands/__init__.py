"""The commands of each part, mounted by `dataprep.cli`: `labeling` (label push/pull, validate,
studio), `learning` (select), `augment`, and `loop` (the stages of the core, report, demo and
example). They are the face: they parse options, call the part's functions and print; the
parts themselves never import them."""
