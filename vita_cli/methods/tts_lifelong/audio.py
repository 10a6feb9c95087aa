"""Audio: wav files, log-mel features (dB), their normalisation, and Griffin-Lim synthesis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from vita_cli.core.errors import UserError
from vita_cli.methods.tts_lifelong.config import FeatureConfig


def read_wav(path: Path, sample_rate: int, resample: bool = False) -> torch.Tensor:
    """Mono float waveform at ``sample_rate``; another rate is resampled or refused."""
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise UserError(f"cannot read wav file {path}: {str(exc).splitlines()[0]}") from exc
    wave = torch.from_numpy(data.mean(axis=1))
    if rate != sample_rate:
        if not resample:
            raise UserError(
                f"{path} has sample rate {rate} Hz, the recipe expects {sample_rate} Hz",
                "set data.resample=true to resample, or data.sample_rate to the corpus rate",
            )
        wave = torchaudio.functional.resample(wave, rate, sample_rate)
    return wave


def write_wav(path: Path, wave: torch.Tensor, sample_rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = wave.detach().cpu().float().numpy()
    peak = float(np.abs(data).max()) if data.size else 0.0
    if peak > 0.99:
        data = data * (0.99 / peak)
    sf.write(str(path), data, sample_rate, subtype="PCM_16")
    return path


class MelFeatures:
    """Waveform -> dB mel (frames × n_mels) and back (Griffin-Lim through the mel pseudo-inverse)."""

    def __init__(self, cfg: FeatureConfig, sample_rate: int):
        self.cfg, self.sample_rate = cfg, sample_rate
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=cfg.n_fft,
            win_length=cfg.win,
            hop_length=cfg.hop,
            f_min=cfg.f_min,
            f_max=cfg.f_max,
            n_mels=cfg.n_mels,
            power=1.0,
            norm="slaney",
            mel_scale="slaney",
        )
        self._inverse = torch.linalg.pinv(self.mel.mel_scale.fb.T)  # (n_freq, n_mels)

    def db_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """(frames, n_mels) magnitude mel in dB, floored at ``min_db``."""
        with torch.no_grad():
            m = self.mel(wave.float())
        floor = 10 ** (self.cfg.min_db / 20)
        return (20 * torch.log10(m.clamp_min(floor))).T.contiguous()

    def griffin_lim(self, db_mel: torch.Tensor, iters: int = 32) -> torch.Tensor:
        """Waveform from a (frames, n_mels) dB mel."""
        db_mel = db_mel.detach().cpu().float()
        short = self.cfg.n_fft // self.cfg.hop + 2 - db_mel.shape[0]
        if short > 0:  # too few frames for the STFT: pad with silence
            db_mel = torch.cat([db_mel, db_mel.new_full((short, db_mel.shape[1]), self.cfg.min_db)])
        mag = 10 ** (db_mel.T / 20)  # (n_mels, frames)
        spec = (self._inverse @ mag).clamp_min(0.0)
        gl = torchaudio.transforms.GriffinLim(
            n_fft=self.cfg.n_fft, win_length=self.cfg.win, hop_length=self.cfg.hop, power=1.0, n_iter=iters
        )
        with torch.no_grad():
            return gl(spec)


class Normaliser:
    """Per-channel mean/std of dB mels, pooled over all languages' training utterances."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        self.mean, self.std = mean.float(), std.float().clamp_min(1e-3)

    @classmethod
    def fit(cls, mels: list[torch.Tensor]) -> Normaliser:
        stacked = torch.cat(mels, 0)
        return cls(stacked.mean(0), stacked.std(0))

    def __call__(self, db_mel: torch.Tensor) -> torch.Tensor:
        return (db_mel - self.mean.to(db_mel.device)) / self.std.to(db_mel.device)

    def inverse(self, norm_mel: torch.Tensor) -> torch.Tensor:
        return norm_mel * self.std.to(norm_mel.device) + self.mean.to(norm_mel.device)
