"""`params.yaml` -> a typed config, one section per stage.

Every model forbids unknown keys, so a typo is an error that names the key
instead of a setting silently ignored. CLI flags override values by dotted key
(`select.batch_size=10`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dataprep.core.errors import UserError
from dataprep.core.images import DEFAULT_MAX_PIXELS

SEED_MAX = 2**32 - 1   # numpy's and scikit-learn's seeds: 0 .. 2**32 - 1
_reads: set[str] | None = None


def trace_reads() -> set[str]:
    """Start recording every `section.key` read from any config (see `dataprep.core.trace`)."""
    global _reads
    _reads = set()
    return _reads


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def __getattribute__(self, name: str):
        if _reads is not None and not name.startswith("_"):
            cls = type(self)
            if name in cls.model_fields and cls in _SECTION_NAMES:
                _reads.add(f"{_SECTION_NAMES[cls]}.{name}")
        return super().__getattribute__(name)

    def model_dump(self, *args, **kwargs):
        if _reads is not None and type(self) in _SECTION_NAMES:
            _reads.update(f"{_SECTION_NAMES[type(self)]}.{k}" for k in type(self).model_fields)
        return super().model_dump(*args, **kwargs)


class ProjectSettings(_Section):
    """The `project:` section (the folder and its files are `dataprep.core.project.Project`)."""
    data_dir: str = "data"
    reports_dir: str = "reports"
    task: Literal["classification", "detection"] = "classification"
    labels: list[str] = Field(default_factory=list, description="class names; empty = the source labels")
    seed: int = Field(0, ge=0, le=SEED_MAX)


class Acquire(_Section):
    source: str = "digits"
    kind: Literal["auto", "images", "text", "tabular"] = "auto"
    text_column: str | list[str] = Field("text", description="the column holding the text, or several joined "
                                                              "(title and body) with a blank line between")
    label_column: str | None = "label"
    feature_columns: list[str] = Field(default_factory=list)

    @field_validator("text_column")
    @classmethod
    def _some_text_column(cls, v: str | list[str]) -> str | list[str]:
        if not isinstance(v, str) and (not v or len(set(v)) != len(v)):
            raise ValueError("a list of text columns names one or more columns, each once")
        return v
    test_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    n_jobs: int = Field(2, ge=1)
    max_pixels: int = Field(DEFAULT_MAX_PIXELS, ge=10_000,
                            description="decode budget: larger images are read shrunk (JPEG scale, libvips)")
    encoding: str = Field("utf-8", description="text encoding of CSV/TSV/JSONL sources")
    labels_file: str | None = Field(None, description="images: a table naming each image (its path under the "
                                                       "source, file name or name without suffix) and its label")
    sheet: str | int | None = Field(None, description="Excel workbooks: the sheet to read, by name or number "
                                                       "from 0 (default: the first)")
    follow_links: Literal["inside", "all", "none"] = Field(
        "inside", description="symbolic links in an image folder: follow those pointing inside it, all, or none")
    boxes: str | None = Field(None, description="detection: a COCO file, or a YOLO labels folder, with the true "
                                                 "boxes of some images (their source labels: gold tasks, simulated "
                                                 "annotators)")


class Features(_Section):
    image_size: int = Field(16, ge=4, le=128)
    hog: bool = True
    embedding: str | None = Field(None, description="embeddings file (.parquet/.npz/.npy), an .onnx encoder, "
                                                    "or 'module:function' mapping image paths or texts to an array")
    onnx_input_size: int | None = Field(None, ge=8, description="image side fed to the encoder (None: from the model)")
    onnx_mean: list[float] = Field(default_factory=lambda: [0.485, 0.456, 0.406])
    onnx_std: list[float] = Field(default_factory=lambda: [0.229, 0.224, 0.225])
    batch_size: int = Field(32, ge=1)
    text_max_features: int = Field(20000, ge=10)
    text_analyzer: Literal["auto", "word", "char"] = "auto"
    chunk_size: int = Field(20000, ge=100)


class Select(_Section):
    strategy: str = "margin_kmeans"
    batch_size: int = Field(50, ge=1)
    model: str = "logistic"
    model_params: dict[str, Any] = Field(default_factory=dict)
    cold_start_min_labels: int = Field(20, ge=2)
    cold_start: Literal["stratified", "typical"] = "stratified"
    train_on_waiting: bool = Field(True, description="the loop's model also learns from samples awaiting another "
                                   "annotation, under the label they would get now, where that label is more likely "
                                   "right than wrong; never exported")
    shortlist_factor: int = Field(10, ge=1)
    rare_class_share: float = Field(0.0, ge=0.0, le=1.0)
    stop_agreement: float = Field(0.99, gt=0.0, le=1.0)
    stop_set_size: int = Field(1000, ge=10)
    chunk_size: int = Field(50000, ge=100)
    random_state: int = Field(0, ge=0, le=SEED_MAX)
    detector: str | None = Field(None, description="detection: the team's detector, a predictions file "
                                                   "(.parquet/.csv/.jsonl) or an .onnx model; `dvc repro` "
                                                   "reruns select when this setting changes, so give each "
                                                   "round's predictions their own file name")
    preannotate_min_score: float = Field(0.3, ge=0.0, le=1.0, description="detection: boxes shown to "
                                         "annotators as pre-annotations score at least this")


class AutoAccept(_Section):
    max_error: float = Field(0.02, gt=0.0, lt=1.0)
    confidence: float = Field(0.95, gt=0.0, lt=1.0)
    audit_share: float = Field(0.2, gt=0.0, lt=1.0)


class Label(_Section):
    backend: Literal["simulated", "studio"] = "simulated"
    project_title: str = "dataprep"
    overlap: int = Field(1, ge=1)
    calibration_overlap: int = Field(3, ge=1, description="annotators each new task of a cold-start round wants")
    check_share: float = Field(0.1, ge=0.0, le=1.0, description="share of later new tasks sent to two annotators "
                               "whatever they answer (an unbiased check of annotators and model)")
    max_annotations: int = Field(5, ge=1)
    reannotate: bool = True
    remove_blocked: bool = Field(True, description="blocked annotators get no further tasks")
    auto_accept: AutoAccept | None = None
    gold_share: float = Field(0.05, ge=0.0, lt=1.0)
    label_config: str | None = Field(None, description="path to your own Label Studio XML")
    rename: dict[str, str] = Field(default_factory=dict, description="a class renamed: old name -> new; the "
                                   "labels people gave under the old name count under the new")

    @field_validator("rename")
    @classmethod
    def _one_step(cls, v: dict[str, str]) -> dict[str, str]:
        chained = sorted(set(v) & set(v.values()))
        if chained:     # a -> b and b -> c: which one did the people who answered 'b' mean?
            raise ValueError(f"{chained[0]!r} is renamed and is also a new name; give each old name its final name")
        return v


class Annotator(_Section):
    name: str
    profile: Literal["good", "careful", "spammer", "adversarial", "lazy_majority", "lazy_accept"]
    accuracy: float = Field(0.9, ge=0.0, le=1.0)
    class_map: dict[str, str] = Field(default_factory=dict)


def _default_annotators() -> list[Annotator]:
    good = [Annotator(name=f"ann{i:02d}", profile="good", accuracy=a)
            for i, a in enumerate([0.96, 0.94, 0.92, 0.9, 0.88, 0.86, 0.84])]
    return good + [
        Annotator(name="ann07", profile="spammer"),
        Annotator(name="ann08", profile="adversarial", class_map={"3": "8", "4": "9", "7": "1"}),
        Annotator(name="ann09", profile="lazy_accept"),
    ]


class Simulate(_Section):
    annotators: list[Annotator] = Field(default_factory=_default_annotators)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    active: bool = Field(True, description="false: annotators on a break (pull finds nothing new)")

    @field_validator("annotators")
    @classmethod
    def _one_name_each(cls, v: list[Annotator]) -> list[Annotator]:
        names = [a.name for a in v]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:       # two crowd members would answer as one account
            raise ValueError(f"{names.count(twice)} annotators are named {twice!r}; give each its own name")
        return v


class Validate(_Section):
    min_confidence: float = Field(0.8, ge=0.0, le=1.0)
    max_quarantined_share: float = Field(0.3, ge=0.0, le=1.0)
    max_blocked_share: float = Field(0.5, ge=0.0, le=1.0)
    min_agreement: float = Field(0.4, ge=-1.0, le=1.0)
    block_accuracy: float = Field(0.6, ge=0.0, le=1.0)
    watch_accuracy: float = Field(0.8, ge=0.0, le=1.0)
    blocked_annotators: list[str] = Field(default_factory=list)
    cv_folds: int = Field(5, ge=2)
    clean_folds: bool = True
    label_error_min_accuracy: float = Field(0.9, ge=0.0, le=1.0)


class Augment(_Section):
    pipeline: str | dict[str, Any] = "light"
    copies: int = Field(2, ge=0)
    copies_per_class: dict[str, int] = Field(default_factory=dict)
    min_visibility: float = Field(0.3, ge=0.0, le=1.0)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    n_jobs: int = Field(2, ge=1)


class Triage(_Section):
    near_dup_threshold: float = Field(0.015, ge=0.0, le=1.0)
    near_dup_tabular: float = Field(0.13, ge=0.0)
    outlier_iqr: float = Field(3.0, gt=0.0)
    n_neighbors: int = Field(10, ge=2)
    outlier_reference: int = Field(500, ge=10)
    n_clusters: int = Field(20, ge=1)
    min_size: int = Field(8, ge=1)
    min_std: float = Field(4.0, ge=0.0)
    dark: float = Field(12.0, ge=0.0)
    bright: float = Field(250.0, le=255.0)
    min_sharpness: float = Field(0.0, ge=0.0)
    min_text_chars: int = Field(3, ge=0)
    keep: list[str] = Field(default_factory=list, description="sample ids to keep whatever triage says")
    warn_share: float = Field(0.5, gt=0.0, le=1.0, description="warn, naming the likely cause, above this share set aside")


class Export(_Section):
    format: Literal["auto", "folders", "csv", "parquet", "coco"] = "auto"
    include_augmented: bool = True
    include_auto: bool = True


class Serve(_Section):
    host: str = "127.0.0.1"
    port: int = Field(9090, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    retrain_after: int = Field(10, ge=1, description="retrain once this many annotation events arrived ...")
    debounce_s: float = Field(5.0, gt=0.0, description="... or this many seconds after the first of them")
    reconcile_s: float = Field(60.0, gt=0.0, description="pull from Label Studio this often, events or not")


class Compute(_Section):
    """Where the heavy work runs, never what it computes: no stage declares it in dvc.yaml and
    changing it re-runs nothing (`dataprep.core.parallel`)."""
    scheduler: str | None = Field(None, description="a Dask scheduler address (tcp://host:8786); "
                                  "null: this machine's worker processes. DATAPREP_SCHEDULER overrides it")


class Config(_Section):
    project: ProjectSettings = Field(default_factory=ProjectSettings)
    acquire: Acquire = Field(default_factory=Acquire)
    triage: Triage = Field(default_factory=Triage)
    features: Features = Field(default_factory=Features)
    select: Select = Field(default_factory=Select)
    label: Label = Field(default_factory=Label)
    simulate: Simulate = Field(default_factory=Simulate)
    validate_: Validate = Field(default_factory=Validate, alias="validate")
    augment: Augment = Field(default_factory=Augment)
    export: Export = Field(default_factory=Export)
    serve: Serve = Field(default_factory=Serve)
    compute: Compute = Field(default_factory=Compute)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def validation(self) -> Validate:
        return self.validate_


# sections whose reads are traced (`dataprep.core.trace`): all but `compute`, which changes no output
_SECTION_NAMES: dict[type, str] = {f.annotation: (f.alias or name) for name, f in Config.model_fields.items()
                                   if name != "compute"}


def _set_dotted(raw: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = raw
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise UserError(f"override {key}: {p!r} is not a section")
    node[parts[-1]] = value


def edit_params_text(text: str, changes: dict[str, Any], where: str = "params.yaml") -> str:
    """`params.yaml` text with `section.key` set to each value, comments kept: the value of the
    key's line is replaced in place (its trailing comment stays), a key the section lacks is added
    under it, a section the file lacks is appended. Values are YAML (`"20"` is an int, `"[a, b]"`
    a list); the result is checked by `load_config`'s rules before anything is written."""
    lines = text.splitlines()
    for dotted, value in changes.items():
        section, _, key = dotted.partition(".")
        if not key or "." in key:
            raise UserError(f"{where}: {dotted!r}: expected section.key (for example acquire.source)")
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value) if value.strip() else ""
            except yaml.YAMLError:
                pass
        rendered = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        rendered = rendered.removesuffix("\n...").removesuffix(" ...").strip()
        start = next((i for i, line in enumerate(lines) if line.rstrip() == f"{section}:"
                      or line.startswith(f"{section}:") and line[len(section) + 1:].lstrip().startswith("#")), None)
        if start is None:
            lines += ["", f"{section}:", f"  {key}: {rendered}"]
            continue
        end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()
                    and not lines[i].startswith("#")), len(lines))
        hit = next((i for i in range(start + 1, end) if lines[i].lstrip().startswith(f"{key}:")
                    and len(lines[i]) - len(lines[i].lstrip()) == 2), None)
        if hit is None:
            lines.insert(start + 1, f"  {key}: {rendered}")
            continue
        old = lines[hit]
        comment = old.find(" #")
        head = f"  {key}: {rendered}"
        if comment >= 0:                  # keep the comment, in its column where the value fits
            head += " " * max(1, comment + 1 - len(head)) + old[comment + 1:]
        # a block value (a list written over the following lines) is replaced whole
        nxt = hit + 1
        if old.split("#")[0].rstrip().endswith(":"):
            while nxt < end and (lines[nxt].startswith("    ") or not lines[nxt].strip()):
                nxt += 1
        lines[hit:nxt] = [head]
    out = "\n".join(lines) + "\n"
    try:
        raw = yaml.safe_load(out) or {}
        Config.model_validate(raw)
    except yaml.YAMLError as exc:
        raise UserError(f"{where}: the edit makes it invalid YAML ({exc})") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserError(f"{where}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
    return out


def load_config(path: str | Path = "params.yaml", overrides: dict[str, Any] | None = None) -> Config:
    """Read `path` (absent = defaults) and apply dotted-key overrides."""
    path = Path(path)
    raw: dict = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML ({exc})") from exc
        if not isinstance(raw, dict):
            raise UserError(f"{path}: expected a mapping of sections at the top level")
    for key, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(raw, key, value)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        own = err["type"] == "value_error"      # our validators' messages say what they saw
        got = f", got {err['input']!r}" if err["type"] != "missing" and not own and not isinstance(err["input"], dict) \
            else ""
        msg = err["msg"].removeprefix("Value error, ") if own else err["msg"]
        raise UserError(f"{path}: {key}: {msg}{got}{extra}") from None
    # read off the raw values: a check at load is no stage's read (`dataprep.core.trace`)
    if (raw.get("project") or {}).get("task") == "detection" and (raw.get("label") or {}).get("auto_accept"):
        raise UserError(f"{path}: label.auto_accept: machine labels with an error bound are made for classification; "
                        "a detection project gets none (set it to null)")
    return cfg


def default_params_yaml() -> str:
    """The documented `params.yaml` that `dataprep init` writes."""
    return _PARAMS_TEMPLATE


_PARAMS_TEMPLATE = """\
# dataprep settings: one section per stage. CLI flags override these.
# Unknown keys are errors, so a typo never silently falls back to a default.
project:
  data_dir: data            # the dataset folder (manifest, raw/, annotations, labels...)
  reports_dir: reports      # metrics, plots and the HTML report
  task: classification      # classification | detection
  labels: []                # class names; empty = take them from the source labels
  seed: 0

acquire:
  source: digits            # 'digits' (bundled demo), an image folder, or a CSV/TSV/JSONL/parquet file (.gz/.bz2/.xz too)
  kind: auto                # auto | images | text | tabular
  text_column: text         # text sources: the column holding the text ([title, body]: several, joined by a blank line)
  label_column: label       # optional column with a label that came with the data
  feature_columns: []       # tabular: feature columns (empty = every numeric column)
  test_fraction: 0.3        # stratified held-out test split sampled at acquisition
  n_jobs: 2                 # parallel hashing and image checks
  max_pixels: 40000000      # decode budget per image: larger ones are read shrunk (JPEG DCT scale, libvips), never whole
  encoding: utf-8           # CSV/TSV/JSONL sources: their text encoding (for example latin-1)
  sheet: null               # Excel workbooks (.xlsx): the sheet to read, by name or number from 0 (null: the first)
  labels_file: null         # images: a CSV/table with each image's label (a column naming the image by path, file
                            # name or name without suffix, and acquire.label_column); it wins over class folders
  follow_links: inside      # symbolic links in an image folder: inside (only those pointing into it) | all | none
  boxes: null               # detection: a COCO file or a YOLO labels folder with the true boxes of some images
                            # (gold tasks, simulated annotators)

triage:
  near_dup_threshold: 0.015 # max cosine distance of image thumbnails (or text features) to call two samples near-duplicates
  near_dup_tabular: 0.13    # tables: rows closer than this share of the median distance to a row's nearest neighbour
  outlier_iqr: 3.0          # outlier: k-NN distance above Q3 + this x IQR of the dataset's own distances
  n_neighbors: 10
  outlier_reference: 500    # outlier distances are to this many random samples: a clump under n_neighbors/outlier_reference of the data (2%) cannot hide itself
  n_clusters: 20
  min_size: 8               # images smaller than this (px, either side) are junk
  min_std: 4.0              # std of the most varied colour channel below this: blank / near-constant
  dark: 12.0                # mean grey below this: too dark
  bright: 250.0             # mean grey above this: too bright
  min_sharpness: 0.0        # variance of the Laplacian below this: too blurry (0 = off)
  min_text_chars: 3         # texts shorter than this are junk
  keep: []                  # sample ids to keep whatever triage says
  warn_share: 0.5           # warn (naming the likely cause) when triage sets aside more than this share

features:
  image_size: 16            # images are resized to this square for pixel features
  hog: true                 # add a HOG descriptor
  embedding: null           # your own: embeddings file (.parquet/.npz/.npy keyed by sample id or source path),
                            # an .onnx image or text encoder, or 'module:function' (image paths or texts -> array)
  onnx_input_size: null     # image side fed to an .onnx encoder (null: read from the model, else 224)
  onnx_mean: [0.485, 0.456, 0.406]
  onnx_std: [0.229, 0.224, 0.225]
  batch_size: 32            # samples per encoder call
  text_max_features: 20000
  text_analyzer: auto        # word 1-2-grams, or char 1-3-grams for scripts written without spaces
                            # (Chinese, Japanese, Thai...); auto picks by the texts' letters
  chunk_size: 20000

select:
  strategy: margin_kmeans   # margin_kmeans | margin_kcenter | margin | uncertainty | entropy | random | cold_start (detection: box_uncertainty_kmeans, random, cold_start)
  batch_size: 50
  model: logistic           # logistic | random_forest | a dotted sklearn class path
  model_params: {}
  cold_start_min_labels: 20 # fewer accepted labels than this: pick diverse samples without a model
  cold_start: stratified    # stratified (a random member of each uncovered cluster) | typical (its densest)
  train_on_waiting: true    # the model also learns from samples awaiting another annotation (their label now, if
                            # more likely right than wrong); the export never holds them
  shortlist_factor: 10      # diversity runs over batch_size * this most uncertain samples
  rare_class_share: 0.0     # share of the batch reserved for classes the model rarely predicts
  stop_agreement: 0.99      # stop when consecutive models agree on this share of the stop set
  stop_set_size: 1000
  chunk_size: 50000         # pool rows scored at a time
  random_state: 0
  detector: null            # detection: your detector, a predictions file (.parquet/.csv/.jsonl: sample_id or source, boxes; a new name each round) or an .onnx model
  preannotate_min_score: 0.3 # detection: predicted boxes at or above this score are pre-annotations

label:
  backend: simulated        # simulated | studio
  project_title: dataprep
  overlap: 1                # annotators a new task starts with; re-annotation requests add more where needed
  calibration_overlap: 3    # ... in a cold-start round (no model yet: only other annotators can check one)
  check_share: 0.1          # later rounds: this share of new tasks (seeded draw) goes to two annotators whatever they answer,
                            # so annotators and the model are also judged where nothing looked doubtful
  max_annotations: 5        # most annotators one task may get through re-annotation requests
  reannotate: true          # doubtful samples (ties, model disagreements, low confidence) get another annotation
  remove_blocked: true      # push takes blocked annotators off the work: the simulated crowd stops asking them; Label Studio
                            # removes them from the organization (invite them again to undo)
  auto_accept: null         # machine labels with an error bound, e.g. {max_error: 0.02, confidence: 0.95, audit_share: 0.2}
  gold_share: 0.05          # share of pushed tasks that are gold (known label)
  label_config: null        # path to your own Label Studio XML
  rename: {}                # a class renamed mid-project, old -> new (e.g. {bar: bars}): labels given under the old
                            # name count under the new (the annotation log keeps what was given)

simulate:                   # the simulated annotators (backend: simulated)
  seed: 0
  active: true              # false: the annotators take a break (a pull finds nothing new)
  annotators:
    - {name: ann00, profile: good, accuracy: 0.96}
    - {name: ann01, profile: good, accuracy: 0.94}
    - {name: ann02, profile: good, accuracy: 0.92}
    - {name: ann03, profile: good, accuracy: 0.90}
    - {name: ann04, profile: good, accuracy: 0.88}
    - {name: ann05, profile: good, accuracy: 0.86}
    - {name: ann06, profile: good, accuracy: 0.84}
    - {name: ann07, profile: spammer}
    - {name: ann08, profile: adversarial, class_map: {"3": "8", "4": "9", "7": "1"}}
    - {name: ann09, profile: lazy_accept}

validate:
  min_confidence: 0.8       # accepted labels below this are quarantined
  max_quarantined_share: 0.3  # gate: fail the round if more of the batch is quarantined
  max_blocked_share: 0.5      # gate: fail the round if more of the batch's annotations are by blocked annotators
  min_agreement: 0.4        # gate: fail when Krippendorff's alpha is below this beyond sampling noise (top of its 90% bootstrap interval)
  block_accuracy: 0.6       # annotators estimated below this are blocked
  watch_accuracy: 0.8       # ... and below this are watched
  blocked_annotators: []
  cv_folds: 5
  clean_folds: true         # the model prior's folds train without the labels a first pass flags (twice the fits)
  label_error_min_accuracy: 0.9   # the model quarantines a single label only when this accurate on agreed items (else: kept, listed as doubtful)

augment:
  pipeline: light           # light | medium | detection | an albumentations dict (A.to_dict)
  copies: 2
  copies_per_class: {}
  min_visibility: 0.3
  seed: 0
  n_jobs: 2

export:
  format: auto              # auto | folders (images) | csv | parquet (text, tables) | coco (detection)
  include_augmented: true
  include_auto: true        # machine labels (label.auto_accept, method auto) go into the training set

serve:                      # `dataprep serve`: the Label Studio ML backend
  host: 127.0.0.1
  port: 9090
  workers: 1                # processes answering /predict (one trainer beside them)
  retrain_after: 10         # retrain once this many annotation events arrived ...
  debounce_s: 5.0           # ... or this many seconds after the first of them
  reconcile_s: 60.0         # pull from Label Studio this often, events or not (a webhook is sent once)

compute:                    # where the heavy work runs (never what it computes: changing it re-runs nothing)
  scheduler: null           # a Dask scheduler address (tcp://host:8786); null: this machine's processes. DATAPREP_SCHEDULER overrides it
"""
