"""The two-stream search space: six variables, architectures as plain data, exact analytic MACs.

An :class:`Architecture` holds every size of a network as integers, so it builds a stand-alone model
by itself and round-trips through YAML. A :class:`Space` (from the recipe's ``space`` section) says
which values each of the six variables may take:

* per super-MBConv3D block: temporal kernel ``t``, spatial kernel ``k``, expansion rate ``e``,
  output channels ``c`` (a multiple of the stage's base width) and the ``attention`` block;
* per stage: the fast → slow TS-Fusion ``fusion`` operation.

Macro layout (fixed): per stream a stem (1×3×3 slow, 3×3×3 fast, spatial stride 2), then ``stages``
stages of ``blocks`` blocks (first block of a stage: spatial stride 2), a fusion after every stage but
the last, concatenated to the slow stream entering the next stage, then pooling, concatenation and a linear head. The slow stream sees
every ``alpha``-th frame, the fast stream every frame with ``beta`` × the slow widths. A single-stream
model (X3D-mini) has no fast blocks and sees every ``slow_stride``-th frame.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, replace

FUSION_OPS = ("none", "t2c", "tsample", "tconv")
ATTENTION_OPS = ("none", "se", "tse")
STREAM_VARS = ("t", "k", "e", "c")
STAGES_OF_SEARCH = ("streams", "fusion", "attention")
TCONV_KERNEL = 5


@dataclass(frozen=True)
class Block:
    t: int
    k: int
    e: int
    c: int
    attention: str = "none"


@dataclass(frozen=True)
class Architecture:
    slow: tuple[tuple[Block, ...], ...]  # per stage, per block
    fast: tuple[tuple[Block, ...], ...]  # empty: single-stream
    fusion: tuple[str, ...]  # per stage ("none" for a single stream)
    slow_stem: int
    fast_stem: int
    alpha: int  # the slow stream takes every alpha-th frame (two-stream)
    slow_stride: int  # temporal sampling of the slow stream (== alpha for two streams)
    num_classes: int
    dropout: float = 0.3

    @property
    def two_stream(self) -> bool:
        return len(self.fast) > 0

    def to_dict(self) -> dict:
        def blocks(stages):
            return [[asdict(b) for b in stage] for stage in stages]

        return {
            "slow": blocks(self.slow),
            "fast": blocks(self.fast),
            "fusion": list(self.fusion),
            "slow_stem": self.slow_stem,
            "fast_stem": self.fast_stem,
            "alpha": self.alpha,
            "slow_stride": self.slow_stride,
            "num_classes": self.num_classes,
            "dropout": self.dropout,
        }

    def key(self) -> str:
        """A short unique string (cache key, logs)."""

        def enc(stages):
            return "|".join(
                ",".join(f"{b.t}{b.k}{b.e}{b.c}{b.attention[0]}" for b in stage) for stage in stages
            )

        return f"S[{enc(self.slow)}]F[{enc(self.fast)}]U[{','.join(self.fusion)}]"


class ArchitectureError(ValueError):
    """An architecture description that cannot be built (message names the key)."""


def architecture_from_dict(data: dict, where: str = "architecture") -> Architecture:
    """Parse and validate an architecture (from YAML); raises ArchitectureError naming the key."""
    if not isinstance(data, dict):
        raise ArchitectureError(f"{where}: expected a mapping")
    required = ("slow", "fast", "fusion", "slow_stem", "fast_stem", "alpha", "slow_stride", "num_classes")
    for key in required:
        if key not in data:
            raise ArchitectureError(f"{where}: missing key {key!r}")
    unknown = sorted(set(data) - set(required) - {"dropout"})
    if unknown:
        raise ArchitectureError(f"{where}: unknown key {unknown[0]!r}")

    def blocks(name):
        stages = data[name]
        if not isinstance(stages, list) or not all(isinstance(s, list) for s in stages):
            raise ArchitectureError(f"{where}.{name}: expected a list of stages (lists of blocks)")
        out = []
        for i, stage in enumerate(stages):
            row = []
            for j, b in enumerate(stage):
                key = f"{where}.{name}[{i}][{j}]"
                if not isinstance(b, dict):
                    raise ArchitectureError(f"{key}: expected a mapping with t, k, e, c, attention")
                extra = sorted(set(b) - {"t", "k", "e", "c", "attention"})
                if extra:
                    raise ArchitectureError(f"{key}: unknown key {extra[0]!r}")
                for var in ("t", "k", "e", "c"):
                    v = b.get(var)
                    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                        raise ArchitectureError(f"{key}.{var}: expected a positive integer, got {v!r}")
                if b["t"] % 2 == 0 or b["k"] % 2 == 0:
                    raise ArchitectureError(f"{key}: kernel sizes t and k must be odd")
                att = b.get("attention", "none")
                if att not in ATTENTION_OPS:
                    raise ArchitectureError(
                        f"{key}.attention: unknown operation {att!r} (choose from {', '.join(ATTENTION_OPS)})"
                    )
                row.append(Block(b["t"], b["k"], b["e"], b["c"], att))
            if not row:
                raise ArchitectureError(f"{where}.{name}[{i}]: a stage needs at least one block")
            out.append(tuple(row))
        return tuple(out)

    slow, fast = blocks("slow"), blocks("fast")
    fusion = data["fusion"]
    if not isinstance(fusion, list) or len(fusion) != len(slow) - 1:
        raise ArchitectureError(
            f"{where}.fusion: expected one operation per stage but the last ({len(slow) - 1})"
        )
    for i, op in enumerate(fusion):
        if op not in FUSION_OPS:
            raise ArchitectureError(
                f"{where}.fusion[{i}]: unknown operation {op!r} (choose from {', '.join(FUSION_OPS)})"
            )
        if not fast and op != "none":
            raise ArchitectureError(f"{where}.fusion[{i}]: a single-stream model can only use 'none'")
    if not slow:
        raise ArchitectureError(f"{where}.slow: at least one stage")
    if fast and len(fast) != len(slow):
        raise ArchitectureError(f"{where}.fast: needs as many stages as slow ({len(slow)}) or none")
    for key in ("slow_stem", "fast_stem", "alpha", "slow_stride", "num_classes"):
        v = data[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ArchitectureError(f"{where}.{key}: expected a positive integer, got {v!r}")
    dropout = data.get("dropout", 0.3)
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ArchitectureError(f"{where}.dropout: expected a number in [0, 1), got {dropout!r}")
    return Architecture(
        slow,
        fast,
        tuple(fusion),
        data["slow_stem"],
        data["fast_stem"],
        data["alpha"],
        data["slow_stride"],
        data["num_classes"],
        float(dropout),
    )


# ------------------------------------------------------------------------------------------ space


@dataclass(frozen=True)
class Space:
    """Choices of the six variables and the fixed macro layout (from the recipe's ``space``)."""

    stages: int = 3
    blocks: int = 2
    widths: tuple[int, ...] = (16, 24, 32)  # slow stage base widths
    stem: int = 8
    alpha: int = 4
    beta: float = 0.25
    t: tuple[int, ...] = (1, 3, 5)
    k: tuple[int, ...] = (3, 5)
    e: tuple[int, ...] = (1, 2, 3, 4)
    c: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25)
    fusion: tuple[str, ...] = FUSION_OPS
    attention: tuple[str, ...] = ATTENTION_OPS
    num_classes: int = 8
    dropout: float = 0.3

    def width(self, stream: str, stage: int, mult: float) -> int:
        base = self.widths[stage] * (1.0 if stream == "slow" else self.beta)
        return max(2, int(round(base * mult)))

    def widths_choices(self, stream: str, stage: int) -> tuple[int, ...]:
        return tuple(sorted({self.width(stream, stage, m) for m in self.c}))

    def fast_stem(self) -> int:
        return max(2, int(round(self.stem * self.beta)))

    def _arch(self, pick_block, pick_fusion) -> Architecture:
        def stream(name):
            return tuple(
                tuple(pick_block(name, s, b) for b in range(self.blocks)) for s in range(self.stages)
            )

        return Architecture(
            stream("slow"),
            stream("fast"),
            tuple(pick_fusion(s) for s in range(self.stages - 1)),
            self.stem,
            self.fast_stem(),
            self.alpha,
            self.alpha,
            self.num_classes,
            self.dropout,
        )

    def largest(self) -> Architecture:
        """Every variable at its largest value (the supernet's shape); fusion/attention: the richest."""
        fusion = max(self.fusion, key=FUSION_OPS.index)
        att = max(self.attention, key=ATTENTION_OPS.index)
        return self._arch(
            lambda n, s, b: Block(max(self.t), max(self.k), max(self.e), max(self.widths_choices(n, s)), att),
            lambda s: fusion,
        )

    def smallest(self) -> Architecture:
        return self._arch(
            lambda n, s, b: Block(
                min(self.t), min(self.k), min(self.e), min(self.widths_choices(n, s)), self.attention[0]
            ),
            lambda s: self.fusion[0],
        )

    def check(self) -> None:
        if len(self.widths) != self.stages:
            raise ValueError(f"space.widths needs one base width per stage ({self.stages})")
        for name, values, allowed in (
            ("fusion", self.fusion, FUSION_OPS),
            ("attention", self.attention, ATTENTION_OPS),
        ):
            if not values:
                raise ValueError(f"space.{name} needs at least one choice")
            for v in values:
                if v not in allowed:
                    raise ValueError(
                        f"space.{name}: unknown operation {v!r} (choose from {', '.join(allowed)})"
                    )
        for name in ("t", "k"):
            values = getattr(self, name)
            if not values or any(v < 1 or v % 2 == 0 for v in values):
                raise ValueError(f"space.{name} needs odd positive kernel sizes, got {list(values)}")
        if not self.e or min(self.e) < 1:
            raise ValueError(f"space.e needs positive expansion rates, got {list(self.e)}")
        if not self.c or min(self.c) <= 0:
            raise ValueError(f"space.c needs positive width multipliers, got {list(self.c)}")
        if self.alpha < 1 or not 0 < self.beta <= 1:
            raise ValueError("space.alpha must be >= 1 and space.beta in (0, 1]")


# --------------------------------------------------------------------------- sampling & mutation

# Decision slots: (kind, stream, stage, block). kind in t/k/e/c/attention (blocks) or fusion (stages).


def slots(space: Space, variables: tuple[str, ...]) -> list[tuple]:
    out = []
    for var in variables:
        if var == "fusion":
            out += [("fusion", None, s, None) for s in range(space.stages - 1)]
        else:
            out += [
                (var, stream, s, b)
                for stream in ("slow", "fast")
                for s in range(space.stages)
                for b in range(space.blocks)
            ]
    return out


def choices(space: Space, slot: tuple) -> tuple:
    kind, stream, stage, _ = slot
    if kind == "fusion":
        return space.fusion
    if kind == "attention":
        return space.attention
    if kind == "c":
        return space.widths_choices(stream, stage)
    return getattr(space, kind)


def get(arch: Architecture, slot: tuple):
    kind, stream, stage, block = slot
    if kind == "fusion":
        return arch.fusion[stage]
    return getattr(getattr(arch, stream)[stage][block], kind)


def set_many(arch: Architecture, values: dict[tuple, object]) -> Architecture:
    slow = [list(s) for s in arch.slow]
    fast = [list(s) for s in arch.fast]
    fusion = list(arch.fusion)
    for (kind, stream, stage, block), v in values.items():
        if kind == "fusion":
            fusion[stage] = v
        else:
            rows = slow if stream == "slow" else fast
            rows[stage][block] = replace(rows[stage][block], **{kind: v})
    return replace(arch, slow=tuple(map(tuple, slow)), fast=tuple(map(tuple, fast)), fusion=tuple(fusion))


def variables_of(stage: str) -> tuple[str, ...]:
    return {
        "streams": STREAM_VARS,
        "fusion": ("fusion",),
        "attention": ("attention",),
        "joint": STREAM_VARS + ("fusion", "attention"),
    }[stage]


def sample(space: Space, base: Architecture, variables, rng: random.Random) -> Architecture:
    return set_many(base, {s: rng.choice(choices(space, s)) for s in slots(space, variables)})


def mutate(space: Space, arch: Architecture, variables, prob: float, rng: random.Random) -> Architecture:
    values = {}
    for s in slots(space, variables):
        if rng.random() < prob:
            values[s] = rng.choice(choices(space, s))
    return set_many(arch, values)


def crossover(space: Space, a: Architecture, b: Architecture, variables, rng: random.Random) -> Architecture:
    return set_many(a, {s: get(rng.choice((a, b)), s) for s in slots(space, variables)})


def extreme(space: Space, base: Architecture, variables, which: str) -> Architecture:
    """``base`` with the given variables at their largest or smallest value (sandwich rule)."""
    pick = max if which == "max" else min
    values = {}
    for s in slots(space, variables):
        opts = choices(space, s)
        if s[0] in ("fusion", "attention"):
            order = FUSION_OPS if s[0] == "fusion" else ATTENTION_OPS
            values[s] = pick(opts, key=order.index)
        else:
            values[s] = pick(opts)
    return set_many(base, values)


# ------------------------------------------------------------------------------------ analytic MACs


@dataclass
class Shape:
    frames: int
    size: int


def _conv_out(size: int, k: int, stride: int) -> int:
    return (size + 2 * (k // 2) - k) // stride + 1


def block_macs(c_in: int, b: Block, frames: int, size: int, stride: int) -> tuple[int, int]:
    """MACs of one MBConv3D block at input (c_in, frames, size, size); returns (macs, output size).

    1×1×1 expand (skipped when e = 1 and c_in = c_mid ... never: always present), t×k×k depth-wise
    (spatial stride), attention, 1×1×1 project. Counted: conv and linear multiply-accumulates.
    """
    mid = c_in * b.e
    out = _conv_out(size, b.k, stride)
    pos_in = frames * size * size
    pos_out = frames * out * out
    macs = pos_in * c_in * mid  # expand
    macs += pos_out * mid * b.t * b.k * b.k  # depth-wise
    if b.attention == "se":
        hidden = se_hidden(mid)
        macs += mid * hidden + hidden * mid
    elif b.attention == "tse":
        macs += mid * frames * 3  # depth-wise 3×1×1 over the pooled time series
    macs += pos_out * mid * b.c  # project
    return macs, out


def se_hidden(mid: int) -> int:
    return max(1, mid // 4)


def fusion_channels(op: str, c_fast: int) -> int:
    return 0 if op == "none" else 2 * c_fast


def fusion_macs(op: str, c_fast: int, frames_fast: int, alpha: int, size: int) -> int:
    out_frames = frames_fast // alpha
    pos = out_frames * size * size
    c_out = fusion_channels(op, c_fast)
    if op == "none":
        return 0
    if op == "t2c":
        return pos * c_fast * alpha * c_out
    if op == "tsample":
        return pos * c_fast * c_out
    if op == "tconv":
        return pos * c_fast * TCONV_KERNEL * c_out
    raise ArchitectureError(f"unknown fusion operation {op!r}")


def count_macs(arch: Architecture, frames: int, size: int) -> dict:
    """Exact MACs of ``arch`` on a (3, frames, size, size) clip, by part."""
    parts: dict[str, int] = {}
    slow_t = frames // arch.slow_stride
    s = _conv_out(size, 3, 2)
    parts["stem"] = slow_t * s * s * 3 * arch.slow_stem * 9
    if arch.two_stream:
        parts["stem"] += frames * s * s * 3 * arch.fast_stem * 27
    c_slow, c_fast = arch.slow_stem, arch.fast_stem
    fuse = 0
    parts["slow"] = parts["fast"] = parts["fusion"] = 0
    for i, stage in enumerate(arch.slow):
        size_in = s
        c = c_slow + fuse
        for j, b in enumerate(stage):
            m, s = block_macs(c, b, slow_t, s, 2 if j == 0 else 1)
            parts["slow"] += m
            c = b.c
        c_slow = c
        if arch.two_stream:
            sf = size_in
            cf = c_fast
            for j, b in enumerate(arch.fast[i]):
                m, sf = block_macs(cf, b, frames, sf, 2 if j == 0 else 1)
                parts["fast"] += m
                cf = b.c
            c_fast = cf
            if i < len(arch.fusion):
                parts["fusion"] += fusion_macs(arch.fusion[i], c_fast, frames, arch.alpha, s)
                fuse = fusion_channels(arch.fusion[i], c_fast)
        else:
            fuse = 0
    feat = c_slow + (c_fast if arch.two_stream else 0)
    parts["head"] = feat * arch.num_classes
    parts["total"] = sum(parts.values())
    return parts


def macs(arch: Architecture, frames: int, size: int) -> int:
    return count_macs(arch, frames, size)["total"]


# ------------------------------------------------------------------------------- hand-designed


def slowfast_mini(space: Space) -> Architecture:
    """SlowFast-mini: slow t = 1 in the early stages and 3 in the last, fast t = 3, e = 3, k = 3,
    the base widths, time-strided conv fusion after every stage, no attention."""

    def stream(name):
        rows = []
        for s in range(space.stages):
            t = 3 if (name == "fast" or s == space.stages - 1) else 1
            rows.append(tuple(Block(t, 3, 3, space.width(name, s, 1.0)) for _ in range(space.blocks)))
        return tuple(rows)

    return Architecture(
        stream("slow"),
        stream("fast"),
        ("tconv",) * (space.stages - 1),
        space.stem,
        space.fast_stem(),
        space.alpha,
        space.alpha,
        space.num_classes,
        space.dropout,
    )


def x3d_mini(space: Space, target_macs: int, frames: int, size: int) -> Architecture:
    """X3D-mini: one stream, every 2nd frame, t = 3, k = 3, e = 3, SE attention in every other block,
    its width scaled so its MACs come closest to ``target_macs`` (matched FLOPs)."""

    def build(mult: float) -> Architecture:
        rows = tuple(
            tuple(
                Block(3, 3, 3, max(2, int(round(space.widths[s] * mult))), "se" if b % 2 == 0 else "none")
                for b in range(space.blocks)
            )
            for s in range(space.stages)
        )
        return Architecture(
            rows,
            (),
            ("none",) * (space.stages - 1),
            max(2, int(round(space.stem * mult))),
            space.fast_stem(),
            space.alpha,
            2,
            space.num_classes,
            space.dropout,
        )

    best = min(
        (build(m / 20) for m in range(4, 81)),
        key=lambda a: abs(math.log(macs(a, frames, size) / target_macs)),
    )
    return best


def space_summary(space: Space) -> dict:
    d = asdict(space)
    d["variables"] = ["t", "k", "e", "c", "fusion", "attention"]
    d["size"] = space_size(space)
    return d


def space_size(space: Space) -> float:
    """log10 of the number of architectures in the space."""
    total = 0.0
    for var in ("t", "k", "e", "c", "fusion", "attention"):
        for s in slots(space, (var,)):
            total += math.log10(len(choices(space, s)))
    return round(total, 1)
