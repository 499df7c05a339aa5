"""Which trained weights a source names, decided in one place.

A source is one of:

- a hub name, `torchvision:NAME[.WEIGHTS]` or `timm:NAME[.TAG]` (read by models/pretrained.py);
- a file: a resnetlab checkpoint (`last.pt`, `best.pt`: its record and its run's config come with it), a state dict
  (`.pth`, `.th`, `.bin`, or a `.pt` that is not a resnetlab checkpoint), or a `.safetensors` file;
- a run folder, which always means the model its run reported on: `last.pt` while the folder keeps its checkpoints,
  else `model.safetensors` (a run shipped with its weights alone). At the end of a run both hold the same weights,
  the evaluated ones (the EMA average where there is one; train/writer.py writes both from that model).

`predict`, `embed`, `export`, `explain`, `eval` (inference/trained.py) and `model.init` (fine-tuning, `load_weights`)
all come through `resolve_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resnetlab.errors import UserInputError
from resnetlab.models.pretrained import PretrainedWeights, load_pretrained
from resnetlab.runs.checkpoint import NotACheckpointError, SavedModel, read_model
from resnetlab.runs.run_dir import LAST_CHECKPOINT

HUB_PREFIXES = ("torchvision:", "timm:")
RUN_WEIGHTS = "model.safetensors"  # a finished run's weights alone, with the model's record as metadata


@dataclass(frozen=True, eq=False)
class ResolvedWeights:
    """Trained weights as found: a resnetlab checkpoint's model (`saved`), or any other weights (`pretrained`)."""

    source: str  # the file read, or the hub name
    saved: SavedModel | None = None  # with its exact record and its run's config
    pretrained: PretrainedWeights | None = None

    def to_start_from(self) -> PretrainedWeights:
        """The weights as `model.init` takes them (their preprocessing travels with them)."""
        if self.saved is not None:
            return PretrainedWeights.from_record(self.saved.record, self.saved.weights, self.source)
        assert self.pretrained is not None  # one of the two is always set (resolve_weights)
        return self.pretrained


def run_weights_file(run_dir: Path) -> Path:
    """The file a run folder stands for: its last checkpoint, or its model.safetensors when it keeps no checkpoint."""
    for name in (LAST_CHECKPOINT, RUN_WEIGHTS):
        if (run_dir / name).is_file():
            return run_dir / name
    raise UserInputError(f"{run_dir} is a folder but not a run's: it holds neither {LAST_CHECKPOINT} nor {RUN_WEIGHTS}")


def resolve_weights(source: str | Path) -> ResolvedWeights:
    """The weights `source` names (see the module docstring); a clear one-line error when it names none."""
    text = str(source)
    if text.startswith(HUB_PREFIXES):
        return ResolvedWeights(text, pretrained=load_pretrained(text))
    path = Path(text).expanduser()
    if path.is_dir():
        path = run_weights_file(path)
    if path.suffix == ".pt":  # a resnetlab checkpoint, or a state dict saved under its suffix
        try:
            return ResolvedWeights(str(path), saved=read_model(path))
        except NotACheckpointError:  # a state dict saved as .pt, as torchvision's and timm's users often do
            pass
    elif path.suffix != ".safetensors" and path.is_file():  # `last.pt.prev`, a renamed checkpoint, or a state dict
        try:
            return ResolvedWeights(str(path), saved=read_model(path))
        except UserInputError:  # not a resnetlab checkpoint: read as weights, with that reader's own errors
            pass
    return ResolvedWeights(str(path), pretrained=load_pretrained(str(path)))


def load_weights(source: str) -> PretrainedWeights:
    """Weights to start from (`model.init`): whatever `source` names, as `PretrainedWeights`."""
    return resolve_weights(source).to_start_from()
