"""IMP results on disk: every round's mask, trained and rewound weights (the whole IMP flow).

<dir>/rewind.safetensors                the rewind point θ_k (dense)
<dir>/round_NN/trained.safetensors      trained weights + ``mask::<param>`` masks of round NN
<dir>/round_NN/rewound.safetensors      θ_k ⊙ M_NN, the weights round NN started from (round 0: init)
<dir>/round_NN/record.json              accuracy, remaining weights, history
<dir>/round_NN/train/last.pt            the trainer's resumable checkpoint while the round runs
"""

from __future__ import annotations

import json
from pathlib import Path

from vita_cli.methods.imp.engine import ImpRound, ImpStore
from vita_cli.models import build_model, load_model, save_model


class FileImpStore(ImpStore):
    def __init__(self, directory: str | Path, arch: dict, meta: dict | None = None):
        super().__init__()
        self.dir = Path(directory)
        self.arch, self.meta = dict(arch), dict(meta or {})
        self._model = None

    def _builder(self):
        if self._model is None:
            self._model = build_model(self.arch)
        return self._model

    def _save(self, path: Path, state: dict, masks=None, extra=None) -> None:
        model = self._builder()
        model.load_state_dict(state)
        save_model(path, model, self.arch, masks=masks, meta={**self.meta, **(extra or {})})

    def train_dir(self, round_index: int):
        return self.dir / f"round_{round_index:02d}" / "train"

    def save_rewind(self, state):
        self._save(self.dir / "rewind.safetensors", state, extra={"imp": "rewind point"})

    def load_rewind(self):
        path = self.dir / "rewind.safetensors"
        if not path.is_file():
            return None
        return load_model(path).model.state_dict()

    def save_round(self, record: ImpRound, masks, trained, rewound) -> None:
        folder = self.dir / f"round_{record.round:02d}"
        info = {"imp_round": record.round, "remaining": record.remaining, "test_acc": record.test_acc}
        self._save(folder / "rewound.safetensors", rewound, masks, {**info, "imp": "rewound"})
        self._save(folder / "trained.safetensors", trained, masks, {**info, "imp": "trained"})
        (folder / "record.json").write_text(json.dumps(record.as_dict(), indent=2))

    def load_rounds(self):
        out = []
        for folder in sorted(self.dir.glob("round_*")):
            record_path, trained = folder / "record.json", folder / "trained.safetensors"
            if not (record_path.is_file() and trained.is_file()):
                continue  # a round that was interrupted: the trainer's checkpoint resumes it
            record = ImpRound(**json.loads(record_path.read_text()))
            loaded = load_model(trained)
            masks = {k: v.bool() for k, v in loaded.masks.items()}
            out.append((record, masks, {k: v.clone() for k, v in loaded.model.state_dict().items()}))
        return out
