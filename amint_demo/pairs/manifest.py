"""The manifest of a pair: a typed, versioned record that validates itself on load.

`read_manifest` parses manifest.json, migrates older schema versions (`MIGRATIONS`) and validates every field;
whatever is wrong becomes one `InvalidPair` line. Every reader of a pair's metadata goes through `Manifest`.
Schema history: 1, the first release; 2, the detector section is the method's own (no "kind" field); 3, held-out
calibration images in the split, a calibrated probability (beta calibration), an out-of-distribution guard and a record of
how often each external image was seen.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator

from amint_demo.data import ImageDataset, Splits
from amint_demo.errors import AmintError, InvalidPair
from amint_demo.evaluation import EvaluationResult
from amint_demo.methods import BetaCalibrator, Method, TrainConfig, TrainedModel, get_method
from amint_demo.models import BackboneSpec, tap_depth_name
from amint_demo.version import __version__

SCHEMA_VERSION = 3
MANIFEST_FILE = "manifest.json"
WEIGHTS_FILE = "weights.safetensors"
MEMBERS_FILE = "members.txt"
EXTRA_FILE = "extra_members.safetensors"
NO_TAP = "n/a"  # what a method that reads no tapped layer shows as its tap depth
SHA256 = r"^[0-9a-f]{64}$"


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetEntry(_Entry):
    """What the pair was trained on; the fingerprint tells two copies of a dataset apart."""

    name: str
    source: str
    fingerprint: str = Field(pattern=SHA256)
    num_classes: int = Field(ge=2)
    class_names: tuple[str, ...]
    image_size: int = Field(ge=1)
    channels: Literal[1, 3]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def of(cls, dataset: ImageDataset) -> DatasetEntry:
        return cls(name=dataset.name, source=dataset.source, fingerprint=dataset.fingerprint(),
                   num_classes=dataset.num_classes, class_names=dataset.class_names, image_size=dataset.image_size,
                   channels=dataset.channels, mean=dataset.mean, std=dataset.std)


class SplitSizes(_Entry):
    members: int = Field(ge=1)
    external: int = Field(ge=0)
    test: int = Field(ge=0)
    calibration: int = Field(default=0, ge=0)  # held-out train images reserved for calibration (0 before schema 3)


class SplitsEntry(_Entry):
    """Enough to rebuild D, E and T and check them: seed, sizes, SHA-256 of the sorted member indices.
    `head_members`: how many members the detector was fitted on (methods fitted on part of D)."""

    seed: int
    sizes: SplitSizes
    member_sha256: str = Field(pattern=SHA256)
    members_file: Literal["members.txt"] = MEMBERS_FILE
    head_member_fraction: float | None = None
    head_members: int | None = None


class BackboneEntry(_Entry):
    """The backbone's `BackboneSpec`, its family and its parameter count."""

    arch: str
    in_chans: int
    num_classes: int
    img_size: int
    small_input_stem: bool
    timm_kwargs: dict[str, Any]
    family: str
    parameters: int = Field(ge=0)

    def spec(self) -> BackboneSpec:
        return BackboneSpec(self.arch, self.in_chans, self.num_classes, self.img_size, self.small_input_stem,
                            dict(self.timm_kwargs))


class HeadEntry(_Entry):
    """The map head over the tapped activations."""

    kind: Literal["cnn", "mlp"]
    channels: tuple[int, ...]
    width: int = Field(ge=1)
    hidden: int = Field(ge=1)


class WeightsEntry(_Entry):
    file: Literal["weights.safetensors"] = WEIGHTS_FILE
    sha256: str = Field(pattern=SHA256)
    dtype: Literal["float32", "float16"]
    bytes: int | None = None


class CalibrationEntry(_Entry):
    """The beta calibration of the membership probability (`methods.calibration`) and what it was fitted on (never
    T)."""

    kind: Literal["beta"] = "beta"
    a: float = Field(ge=0)
    b: float = Field(ge=0)
    c: float
    n_members: int = Field(ge=1)
    n_nonmembers: int = Field(ge=1)

    def calibrator(self) -> BetaCalibrator:
        return BetaCalibrator(self.a, self.b, self.c)


class GuardEntry(_Entry):
    """The out-of-distribution guard (`methods.guard`): its shape, threshold and what it was fitted on."""

    positions: int = Field(ge=1)
    exceptions: int = Field(ge=0)
    threshold: float
    quantile: float = Field(gt=0, le=1)
    n_fit: int = Field(ge=1)
    n_threshold: int = Field(ge=1)
    held_out_flagged: float = Field(ge=0, le=1)


class ExternalUse(_Entry):
    """How often the detector saw each image of E: `pool` images, `draws` in all."""

    pool: int = Field(ge=0)
    draws: int = Field(ge=0)
    mean_per_image: float = Field(ge=0)
    max_per_image: int = Field(ge=0)


class ExtraMembersEntry(_Entry):
    """A user's own images added to the members, stored beside the weights."""

    file: Literal["extra_members.safetensors"] = EXTRA_FILE
    count: int = Field(ge=1)
    sha256: str = Field(pattern=SHA256)


class Manifest(_Entry):
    """The whole manifest.json of a pair (schema `SCHEMA_VERSION`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    schema_version: Literal[3]
    library_version: str
    created: str
    method: str
    dataset: DatasetEntry
    splits: SplitsEntry
    backbone: BackboneEntry
    taps: tuple[str, ...] = Field(min_length=1, max_length=2)
    tap_depth: str | None
    head: HeadEntry | None
    detector: dict[str, Any]
    train_config: TrainConfig
    metrics: EvaluationResult | None
    history: dict[str, list[dict[str, Any]]]
    weights: WeightsEntry
    runtime: dict[str, Any] = Field(default_factory=dict)
    extra_members: ExtraMembersEntry | None = None
    calibration: CalibrationEntry | None = None
    guard: GuardEntry | None = None
    external_use: ExternalUse | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, name: str) -> str:
        get_method(name)  # InvalidConfig (a ValueError) names the known methods
        return name

    @field_validator("train_config", mode="before")
    @classmethod
    def _config(cls, value: Any) -> Any:
        return TrainConfig.from_dict(value) if isinstance(value, dict) else value

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, value: Any) -> Any:
        return EvaluationResult.from_dict(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _sections_agree(self) -> Manifest:
        try:
            self.method_info.check_section(self.detector)
        except ValidationError as err:
            raise ValueError(f"{_one_line(err, 'detector section')} (method {self.method})") from None
        if self.train_config.method != self.method:
            raise ValueError(f"train_config.method {self.train_config.method!r} is not the pair's method")
        return self

    @field_serializer("train_config")
    def _dump_config(self, config: TrainConfig) -> dict:
        return config.to_dict()

    @field_serializer("metrics")
    def _dump_metrics(self, metrics: EvaluationResult | None) -> dict | None:
        return None if metrics is None else metrics.to_dict()

    @property
    def method_info(self) -> Method:
        return get_method(self.method)

    @property
    def family(self) -> str:
        return self.backbone.family

    @property
    def tap_label(self) -> str:
        """The tap depth ("entry", "middle", "output"), the tapped module names, or NO_TAP for a method that
        reads no layer (the same at every depth)."""
        if not self.method_info.reads_taps:
            return NO_TAP
        return self.tap_depth or "+".join(self.taps)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=1)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(config: TrainConfig, dataset: ImageDataset, splits: Splits, trained: TrainedModel,
                   evaluation: EvaluationResult | None, weights: WeightsEntry, runtime: dict,
                   extra_members: ExtraMembersEntry | None) -> Manifest:
    """The manifest of a freshly trained pair (`dataset`: the base dataset, without any extra members)."""
    model = trained.model
    split_entry = SplitsEntry(seed=splits.seed, sizes=SplitSizes(**splits.sizes()),
                              member_sha256=splits.member_sha256())
    if trained.head_members is not None:
        split_entry = split_entry.model_copy(update={"head_member_fraction": config.head_member_fraction,
                                                     "head_members": len(trained.head_members)})
    head = None if model.head is None else HeadEntry(kind=model.head_kind, channels=tuple(model.tap_channels),
                                                     width=config.head_width, hidden=config.head_hidden)
    calibration = None
    if trained.calibrator is not None:
        record = trained.history["calibration"][0]
        calibration = CalibrationEntry(**trained.calibrator.to_dict(), n_members=record["n_members"],
                                       n_nonmembers=record["n_nonmembers"])
    guard = None if trained.guard is None else GuardEntry(**trained.history["guard"][0])
    backbone = BackboneEntry(**model.spec.to_dict(), family=model.spec.family,
                             parameters=sum(p.numel() for p in model.backbone.parameters()))
    return Manifest(schema_version=SCHEMA_VERSION, library_version=__version__,
                    created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), method=config.method,
                    dataset=DatasetEntry.of(dataset), splits=split_entry, backbone=backbone, taps=tuple(model.taps),
                    tap_depth=tap_depth_name(model.backbone, model.taps), head=head,
                    detector=trained.detector.section(), train_config=config, metrics=evaluation,
                    history=trained.history, weights=weights, runtime=runtime, extra_members=extra_members,
                    calibration=calibration, guard=guard,
                    external_use=None if trained.external_use is None else ExternalUse(**trained.external_use))


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 named the detector's kind beside its settings; in 2 the method alone says which detector it
    is (a kind that disagrees with the method is caught by the section's validation and the tensor names)."""
    detector = dict(data.get("detector") or {})
    detector.pop("kind", None)
    return data | {"schema_version": 2, "detector": detector}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 adds fields that default to "none" (no reserved calibration images, no Platt calibration, no
    guard, no record of E use): a schema-2 pair scores exactly as before."""
    return data | {"schema_version": 3}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(data: Any, where: Path) -> dict[str, Any]:
    """Bring a parsed manifest of any supported schema up to `SCHEMA_VERSION`."""
    if not isinstance(data, dict):
        raise InvalidPair(f"{where}: manifest is not a JSON object")
    if "schema_version" not in data:
        raise InvalidPair(f"{where}: manifest lacks 'schema_version'")
    while data.get("schema_version") in MIGRATIONS:
        data = MIGRATIONS[data["schema_version"]](data)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InvalidPair(f"{where}: schema_version {data.get('schema_version')!r} is not supported "
                          f"(this library reads 1 to {SCHEMA_VERSION})")
    return data


def _one_line(error: ValidationError, what: str = "manifest") -> str:
    """The first problem pydantic found, as one phrase naming the field."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"{what} lacks {location.split('.')[-1]!r}" + (f" (in {location})" if "." in location else "")
    message = first["msg"].removeprefix("Value error, ")
    return f"{what} field {location!r}: {message}" if location else f"{what}: {message}"


def parse_manifest(data: Any, where: Path) -> Manifest:
    """A parsed manifest.json (any supported schema) -> Manifest, or InvalidPair naming the first problem."""
    data = migrate(data, where)
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        raise InvalidPair(" ".join(f"{where}: {_one_line(err)}".split())) from None
    except AmintError as err:  # raised by a validator outside pydantic's wrapping
        raise InvalidPair(f"{where}: {err}") from None


def read_manifest_file(file: Path) -> Manifest:
    """Read and validate `file` (a pair's manifest.json)."""
    try:
        return parse_manifest(json.loads(file.read_text()), file.parent)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidPair(f"{file} is not valid JSON: {err}") from None


def config_from_json(path: Path) -> dict[str, Any]:
    """Training settings from a JSON file: a pair's manifest (any supported schema; its `train_config`) or a
    plain object of TrainConfig fields."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if "schema_version" in data:
        return parse_manifest(data, path).train_config.to_dict()
    return data
