"""Lifelong multilingual TTS: a compact Tacotron 2 learning languages one after another with a
replay buffer and the dual sampler (and the fine-tune, joint, EWC and GEM baselines)."""

from vita_cli.methods.tts_lifelong.config import METHODS, TTSLifelongRecipe

__all__ = ["METHODS", "TTSLifelongRecipe"]
