"""The trainer's callback protocol: what a method may hook into :func:`vita_cli.training.fit`.

A callback sees the loop at five points and may keep state that the per-epoch checkpoint saves and
``resume`` hands back. Every method is optional (the base class does nothing)::

    on_train_start(model)                      before the first step (after DDP set-up)
    on_batch(images, labels, step)             may replace the batch; ``step`` = optimiser steps done
    after_backward(model)                      gradients are there, the optimiser has not stepped
    after_step(model, step)                    the optimiser and scheduler have stepped
    on_epoch_end(epoch, model, metrics)        returns extra metrics; ``{"stop": True}`` ends training
    state_dict() / load_state_dict(state)      saved under ``state_key`` in every checkpoint

Sparsity masks are such a callback (``vita_cli.sparsity.MaskCallback``): the trainer knows no masks.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


class TrainCallback:
    """No-op base: override what you need. ``state_key`` names its entry in the checkpoint (None: no state)."""

    state_key: str | None = None

    def on_train_start(self, model: nn.Module) -> None:
        pass

    def on_batch(self, images, labels, step: int):
        return images, labels

    def after_backward(self, model: nn.Module) -> None:
        pass

    def after_step(self, model: nn.Module, step: int) -> None:
        pass

    def on_epoch_end(self, epoch: int, model: nn.Module, metrics: dict) -> dict | None:
        return None

    def state_dict(self):
        return {}

    def load_state_dict(self, state) -> None:
        pass


class FunctionCallback(TrainCallback):
    """Plain functions as a callback: ``batch_hook(images, labels, step)``, ``epoch_end(epoch, model,
    metrics)`` and ``state = (get, set)`` (state outside the model and optimiser, saved as ``extra``)."""

    def __init__(
        self,
        batch_hook: Callable | None = None,
        epoch_end: Callable | None = None,
        state: tuple[Callable[[], dict], Callable[[dict], None]] | None = None,
    ):
        self.batch_hook, self.epoch_end, self.state = batch_hook, epoch_end, state
        self.state_key = "extra" if state is not None else None

    def on_batch(self, images, labels, step):
        return self.batch_hook(images, labels, step) if self.batch_hook is not None else (images, labels)

    def on_epoch_end(self, epoch, model, metrics):
        return self.epoch_end(epoch, model, metrics) if self.epoch_end is not None else None

    def state_dict(self):
        return self.state[0]() if self.state is not None else {}

    def load_state_dict(self, state):
        if self.state is not None:
            self.state[1](state)
