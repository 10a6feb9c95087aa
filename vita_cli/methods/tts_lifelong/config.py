"""The ``recipes/tts-lifelong/*.yaml`` schema: corpus, features, model, training and evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Language codes vita knows how to synthesise (and the CSS10 folder names they are read from).
KNOWN_LANGUAGES = ("de", "nl", "zh", "ja")
METHODS = ("dual", "random", "weighted", "finetune", "joint", "ewc", "gem")


@dataclass
class DataConfig:
    """A multilingual corpus in the CSS10/LJSpeech layout: ``root/<lang>/metadata.csv`` + ``wavs/``.

    The last ``n_test`` lines of each language's metadata are its test split, the ``n_val`` lines
    before them its validation split, the rest its training split.
    """

    root: str = "runs/tts-corpus/default"
    build_missing: bool = True  # build the espeak-ng corpus at ``root`` when the folder does not exist
    languages: list[str] = field(default_factory=lambda: list(KNOWN_LANGUAGES))
    n_train: dict[str, int] = field(default_factory=lambda: {"de": 160, "nl": 128, "zh": 58, "ja": 146})
    n_val: int = 8
    n_test: int = 12
    min_words: int = 3
    max_words: int = 6
    seed: int = 1234
    sample_rate: int = 22050
    resample: bool = False  # resample wavs at another rate (False: refuse them with a clear error)

    def __post_init__(self):
        if not self.languages:
            raise ValueError("data.languages must list at least one language")
        if len(set(self.languages)) != len(self.languages):
            raise ValueError(f"data.languages has duplicates: {self.languages}")
        for lang, n in self.n_train.items():
            if n < 1:
                raise ValueError(f"data.n_train.{lang} must be at least 1, got {n}")
        if self.n_val < 0 or self.n_test < 1:
            raise ValueError("data.n_val must be >= 0 and data.n_test >= 1")
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError("data.min_words must lie in [1, data.max_words]")
        if self.sample_rate < 8000:
            raise ValueError(f"data.sample_rate must be at least 8000, got {self.sample_rate}")


@dataclass
class FeatureConfig:
    """Log-mel features (dB), normalised per channel with statistics pooled over all languages."""

    n_mels: int = 40
    n_fft: int = 1024
    hop: int = 441  # 20 ms at 22050 Hz
    win: int = 1024
    f_min: float = 0.0
    f_max: float = 8000.0
    min_db: float = -100.0

    def __post_init__(self):
        if self.n_mels < 14:
            raise ValueError(f"features.n_mels must be at least 14 (MCD uses 13 cepstra), got {self.n_mels}")
        if not 0 < self.hop <= self.win <= self.n_fft:
            raise ValueError("features need 0 < hop <= win <= n_fft")
        if not 0 <= self.f_min < self.f_max:
            raise ValueError("features.f_min must lie below features.f_max")


@dataclass
class ModelConfig:
    """A compact Tacotron 2 (sizes of the CPU protocol; the paper's sizes are in recipe ``paper``)."""

    embed: int = 64
    encoder_channels: int = 64
    encoder_convs: int = 3
    encoder_lstm: int = 48  # per direction
    attention: int = 64
    location_filters: int = 8
    location_kernel: int = 15
    prenet: int = 64
    decoder: int = 160
    postnet_channels: int = 64
    postnet_layers: int = 3
    reduction: int = 2  # frames per decoder step (the paper: 1)
    dropout: float = 0.5
    decoder_dropout: float = 0.1
    max_decoder_steps: int = 200

    def __post_init__(self):
        for name in ("embed", "encoder_channels", "encoder_lstm", "attention", "prenet", "decoder"):
            if getattr(self, name) < 1:
                raise ValueError(f"model.{name} must be positive")
        if self.encoder_convs < 0 or self.postnet_layers < 2:
            raise ValueError("model.encoder_convs must be >= 0 and model.postnet_layers >= 2")
        if self.location_kernel % 2 == 0:
            raise ValueError(f"model.location_kernel must be odd, got {self.location_kernel}")
        if not 1 <= self.reduction <= 5:
            raise ValueError(f"model.reduction must lie in [1, 5], got {self.reduction}")
        if not 0 <= self.dropout < 1 or not 0 <= self.decoder_dropout < 1:
            raise ValueError("model.dropout and model.decoder_dropout must lie in [0, 1)")
        if self.max_decoder_steps < 1:
            raise ValueError("model.max_decoder_steps must be positive")


@dataclass
class TrainConfig:
    """Sequential training: the first language alone, then one task per further language."""

    method: Literal["dual", "random", "weighted", "finetune", "joint", "ewc", "gem"] = "dual"
    init: str | None = None  # a task-0 checkpoint (the first language) to start from instead of training it
    first_epochs: int = 40  # epochs on the first language
    epochs: int = 30  # epochs per later task
    batch_size: int = 24  # divisible by 2, 3 and 4: CBS batches exactly language-balanced
    lr: float = 1e-3
    weight_decay: float = 1e-6
    lr_decay_at: float = 0.6  # fraction of a task's epochs after which the lr is halved
    lr_decay: float = 0.5
    clip: float = 0.25
    buffer_size: int = 24  # replay buffer R, fixed total size
    buffer_policy: Literal["balanced", "faithful"] = "balanced"
    lambda_rrs: float = 1.0
    lambda_cbs: float = 0.5
    ewc_lambda: float = 100.0
    ewc_accumulate: bool = False  # False (as the official code): the Fisher of the last task only
    gem_margin: float = 0.5
    gem_eps: float = 1e-3
    guided_sigma: float = 0.25
    guided_growth: float = 1.00025
    guided_steps: int = 20000
    stop_frames: int = 2  # decoder steps marked "stop" at an utterance's end
    stop_pos_weight: float = 10.0
    bucket: int = 4  # batches per length bucket (1: no bucketing)

    def __post_init__(self):
        if self.first_epochs < 0 or self.epochs < 1:
            raise ValueError("train.first_epochs must be >= 0 and train.epochs >= 1")
        if self.batch_size < 2:
            raise ValueError(f"train.batch_size must be at least 2, got {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be positive, got {self.lr}")
        if not 0 < self.lr_decay_at <= 1 or not 0 < self.lr_decay <= 1:
            raise ValueError("train.lr_decay_at and train.lr_decay must lie in (0, 1]")
        if self.clip <= 0:
            raise ValueError("train.clip must be positive")
        if self.buffer_size < 1:
            raise ValueError(f"train.buffer_size must be at least 1, got {self.buffer_size}")
        if self.lambda_rrs < 0 or self.lambda_cbs <= 0:
            raise ValueError("train.lambda_rrs must be >= 0 and train.lambda_cbs > 0")
        if self.ewc_lambda < 0 or self.gem_margin < 0 or self.gem_eps < 0:
            raise ValueError("train.ewc_lambda, gem_margin and gem_eps must be >= 0")
        if not 0 < self.guided_sigma <= 1:
            raise ValueError("train.guided_sigma must lie in (0, 1]")
        if self.stop_frames < 1 or self.stop_pos_weight <= 0 or self.bucket < 1:
            raise ValueError("train.stop_frames, stop_pos_weight and bucket must be positive")


@dataclass
class EvalConfig:
    """MCD-DTW of free-running synthesis on each seen language's test sentences after every task."""

    utterances: int = 0  # test sentences per language (0: all)
    mcd_scale: Literal["plain", "db"] = "plain"  # db: times 10·√2/ln 10 (the usual dB constant)
    samples: bool = True  # one Griffin-Lim wav per language per task
    griffin_lim_iters: int = 32

    def __post_init__(self):
        if self.utterances < 0:
            raise ValueError("eval.utterances must be >= 0")
        if self.griffin_lim_iters < 1:
            raise ValueError("eval.griffin_lim_iters must be positive")


@dataclass
class TTSLifelongRecipe:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self):
        missing = [lang for lang in self.data.languages if lang not in self.data.n_train]
        if missing:
            raise ValueError(f"data.n_train has no size for language {missing[0]}")
        n = len(self.data.languages)
        if self.train.method == "dual":
            bad = [k for k in range(2, n + 1) if self.train.batch_size % k]
            if bad:
                raise ValueError(
                    f"train.batch_size {self.train.batch_size} is not divisible by {bad[0]}: dual-sampler "
                    f"batches must split exactly over 2..{n} languages"
                )
        if self.features.f_max > self.data.sample_rate / 2:
            raise ValueError("features.f_max must not exceed half of data.sample_rate")
