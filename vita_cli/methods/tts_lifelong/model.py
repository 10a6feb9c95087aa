"""A compact multilingual Tacotron 2 with the dual sampler's auxiliary (RRS) output heads.

Character embedding → 3 × (conv k5, BN, ReLU, dropout) → BiLSTM; a one-hot language code is
concatenated to every encoder frame (the attention memory). The decoder runs an attention LSTM on
[prenet(previous frame), context], location-sensitive attention, a generator LSTM on
[h_att, context], and projects [h_dec, context] to ``reduction`` mel frames plus one stop logit per
step. The main heads (``frame_proj``, ``stop_proj``) drive inference; the RRS copies
(``frame_proj_rrs``, ``stop_proj_rrs``) see only the dual sampler's instance-balanced batches.
A residual conv postnet refines the mel.
"""

from __future__ import annotations

from dataclasses import asdict

import torch
import torch.nn.functional as F
from torch import nn

from vita_cli.methods.tts_lifelong.config import ModelConfig
from vita_cli.methods.tts_lifelong.text import PAD


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig, n_symbols: int):
        super().__init__()
        self.embed = nn.Embedding(n_symbols, cfg.embed, padding_idx=PAD)
        nn.init.xavier_uniform_(self.embed.weight)
        layers, channels = [], cfg.embed
        for _ in range(cfg.encoder_convs):
            layers += [
                nn.Conv1d(channels, cfg.encoder_channels, 5, padding=2),
                nn.BatchNorm1d(cfg.encoder_channels),
                nn.ReLU(),
                nn.Dropout(cfg.dropout),
            ]
            channels = cfg.encoder_channels
        self.convs = nn.Sequential(*layers)
        self.lstm = nn.LSTM(channels, cfg.encoder_lstm, batch_first=True, bidirectional=True)

    def forward(self, text: torch.Tensor, text_lens: torch.Tensor) -> torch.Tensor:
        x = self.convs(self.embed(text).transpose(1, 2)).transpose(1, 2)
        packed = nn.utils.rnn.pack_padded_sequence(x, text_lens.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=text.shape[1])
        return out


class LocationAttention(nn.Module):
    def __init__(self, query_dim: int, memory_dim: int, cfg: ModelConfig):
        super().__init__()
        self.query = nn.Linear(query_dim, cfg.attention, bias=False)
        self.memory = nn.Linear(memory_dim, cfg.attention, bias=False)
        self.location_conv = nn.Conv1d(
            2, cfg.location_filters, cfg.location_kernel, padding=cfg.location_kernel // 2, bias=False
        )
        self.location = nn.Linear(cfg.location_filters, cfg.attention, bias=False)
        self.v = nn.Linear(cfg.attention, 1, bias=True)

    def forward(self, query, keys, memory, weights, cumulative, mask):
        loc = self.location(self.location_conv(torch.stack([weights, cumulative], 1)).transpose(1, 2))
        energies = self.v(torch.tanh(self.query(query).unsqueeze(1) + keys + loc)).squeeze(2)
        energies = energies.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(energies, dim=1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


class Tacotron(nn.Module):
    def __init__(self, cfg: ModelConfig, n_symbols: int, n_languages: int, n_mels: int):
        super().__init__()
        self.cfg, self.n_symbols, self.n_languages, self.n_mels = cfg, n_symbols, n_languages, n_mels
        r = cfg.reduction
        self.encoder = Encoder(cfg, n_symbols)
        mem = 2 * cfg.encoder_lstm + n_languages
        self.attention = LocationAttention(cfg.decoder, mem, cfg)
        self.prenet = nn.ModuleList([nn.Linear(n_mels, cfg.prenet), nn.Linear(cfg.prenet, cfg.prenet)])
        self.attention_rnn = nn.LSTMCell(cfg.prenet + mem, cfg.decoder)
        self.decoder_rnn = nn.LSTMCell(cfg.decoder + mem, cfg.decoder)
        self.frame_proj = nn.Linear(cfg.decoder + mem, n_mels * r)
        self.stop_proj = nn.Linear(cfg.decoder + mem, 1)
        self.frame_proj_rrs = nn.Linear(cfg.decoder + mem, n_mels * r)
        self.stop_proj_rrs = nn.Linear(cfg.decoder + mem, 1)
        layers, channels = [], n_mels
        for i in range(cfg.postnet_layers):
            last = i == cfg.postnet_layers - 1
            out = n_mels if last else cfg.postnet_channels
            layers += [nn.Conv1d(channels, out, 5, padding=2), nn.BatchNorm1d(out)]
            if not last:
                layers += [nn.Tanh(), nn.Dropout(cfg.dropout)]
            channels = out
        self.postnet = nn.Sequential(*layers)

    def spec(self) -> dict:
        """What rebuilds this model (stored in checkpoints: sizes, no code names)."""
        return {
            "model": asdict(self.cfg),
            "n_symbols": self.n_symbols,
            "n_languages": self.n_languages,
            "n_mels": self.n_mels,
        }

    @classmethod
    def from_spec(cls, spec: dict) -> Tacotron:
        return cls(ModelConfig(**spec["model"]), spec["n_symbols"], spec["n_languages"], spec["n_mels"])

    def heads(self, name: str):
        if name == "main":
            return self.frame_proj, self.stop_proj
        if name == "rrs":
            return self.frame_proj_rrs, self.stop_proj_rrs
        raise ValueError(f"unknown heads {name!r}")

    def _prenet(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.prenet:  # dropout stays on at inference (as Tacotron 2)
            x = F.dropout(F.relu(layer(x)), p=0.5, training=True)
        return x

    def _memory(self, text, text_lens, lang):
        enc = self.encoder(text, text_lens)
        onehot = F.one_hot(lang, self.n_languages).to(enc.dtype)
        memory = torch.cat([enc, onehot.unsqueeze(1).expand(-1, enc.shape[1], -1)], 2)
        mask = torch.arange(text.shape[1], device=text.device)[None, :] < text_lens[:, None]
        return memory, mask

    def _init_state(self, memory):
        b, length, dim = memory.shape
        z = memory.new_zeros
        return {
            "h_att": z(b, self.cfg.decoder),
            "c_att": z(b, self.cfg.decoder),
            "h_dec": z(b, self.cfg.decoder),
            "c_dec": z(b, self.cfg.decoder),
            "weights": z(b, length),
            "cumulative": z(b, length),
            "context": z(b, dim),
        }

    def _step(self, frame, state, memory, keys, mask, frame_proj, stop_proj):
        p = self._prenet(frame)
        h_att, c_att = self.attention_rnn(
            torch.cat([p, state["context"]], 1), (state["h_att"], state["c_att"])
        )
        h_att = F.dropout(h_att, self.cfg.decoder_dropout, self.training)
        context, weights = self.attention(h_att, keys, memory, state["weights"], state["cumulative"], mask)
        h_dec, c_dec = self.decoder_rnn(torch.cat([h_att, context], 1), (state["h_dec"], state["c_dec"]))
        h_dec = F.dropout(h_dec, self.cfg.decoder_dropout, self.training)
        out = torch.cat([h_dec, context], 1)
        new = {
            "h_att": h_att,
            "c_att": c_att,
            "h_dec": h_dec,
            "c_dec": c_dec,
            "weights": weights,
            "cumulative": state["cumulative"] + weights,
            "context": context,
        }
        return frame_proj(out), stop_proj(out).squeeze(1), new

    def _postnet(self, mel):
        return mel + self.postnet(mel.transpose(1, 2)).transpose(1, 2)

    def forward(self, text, text_lens, lang, mels, heads: str = "main"):
        """Teacher-forced pass. ``mels`` (B, T, n_mels) with T a multiple of the reduction factor.

        Returns mel before and after the postnet (B, T, n_mels), stop logits (B, T/r) and the
        attention weights (B, T/r, text length).
        """
        frame_proj, stop_proj = self.heads(heads)
        r = self.cfg.reduction
        b, t, m = mels.shape
        memory, mask = self._memory(text, text_lens, lang)
        keys = self.attention.memory(memory)
        state = self._init_state(memory)
        previous = torch.cat(
            [mels.new_zeros(b, 1, m), mels[:, r - 1 :: r][:, :-1]], 1
        )  # last frame of each group
        frames, stops, aligns = [], [], []
        for s in range(t // r):
            out, stop, state = self._step(previous[:, s], state, memory, keys, mask, frame_proj, stop_proj)
            frames.append(out.view(b, r, m))
            stops.append(stop)
            aligns.append(state["weights"])
        mel = torch.cat(frames, 1)
        return mel, self._postnet(mel), torch.stack(stops, 1), torch.stack(aligns, 1)

    @torch.no_grad()
    def infer(self, text, text_lens, lang, max_steps: int | None = None, threshold: float = 0.5):
        """Free-running synthesis with the main heads. Returns mels (B, T, n_mels) and frame lengths."""
        frame_proj, stop_proj = self.heads("main")
        r, m = self.cfg.reduction, self.n_mels
        max_steps = max_steps or self.cfg.max_decoder_steps
        b = text.shape[0]
        memory, mask = self._memory(text, text_lens, lang)
        keys = self.attention.memory(memory)
        state = self._init_state(memory)
        frame = memory.new_zeros(b, m)
        lengths = torch.full((b,), max_steps, dtype=torch.long, device=text.device)
        done = torch.zeros(b, dtype=torch.bool, device=text.device)
        frames = []
        for s in range(max_steps):
            out, stop, state = self._step(frame, state, memory, keys, mask, frame_proj, stop_proj)
            out = out.view(b, r, m)
            frames.append(out)
            frame = out[:, -1]
            stopped = (torch.sigmoid(stop) > threshold) & ~done
            lengths[stopped] = s + 1
            done |= stopped
            if bool(done.all()):
                break
        mel = torch.cat(frames, 1)
        return self._postnet(mel), lengths * r


def guided_attention_loss(aligns, text_lens, step_lens, sigma: float) -> torch.Tensor:
    """mean_b Σ_{s,l} W_sl α_sl / S_b with W = 1 − exp(−(l/L − s/S)² / (2σ²)) (padding masked)."""
    b, steps, length = aligns.shape
    s = torch.arange(steps, device=aligns.device, dtype=aligns.dtype)[None, :, None]
    ll = torch.arange(length, device=aligns.device, dtype=aligns.dtype)[None, None, :]
    sl = step_lens.to(aligns.dtype)[:, None, None]
    tl = text_lens.to(aligns.dtype)[:, None, None]
    w = 1 - torch.exp(-((ll / tl - s / sl) ** 2) / (2 * sigma**2))
    valid = (s < sl) & (ll < tl)
    return ((w * aligns * valid).sum((1, 2)) / step_lens.to(aligns.dtype)).mean()


def tacotron_loss(outputs, batch, reduction: int, stop_frames: int, pos_weight: float, sigma: float | None):
    """2·MSE(mel) + MSE(postnet mel) + BCE(stop)/(n_mels + 2) + guided attention (when ``sigma``)."""
    mel, post, stops, aligns = outputs
    target, mel_lens = batch["mels"], batch["mel_lens"]
    b, t, m = target.shape
    frame_mask = (torch.arange(t, device=target.device)[None, :] < mel_lens[:, None]).unsqueeze(2)
    count = frame_mask.sum() * m
    mse = lambda pred: (((pred - target) ** 2) * frame_mask).sum() / count  # noqa: E731
    step_lens = (mel_lens + reduction - 1) // reduction
    steps = torch.arange(stops.shape[1], device=target.device)[None, :]
    stop_target = (steps >= (step_lens[:, None] - stop_frames)).to(stops.dtype)
    step_mask = (steps < step_lens[:, None]).to(stops.dtype)
    bce = F.binary_cross_entropy_with_logits(
        stops, stop_target, pos_weight=stops.new_tensor(pos_weight), reduction="none"
    )
    stop_loss = (bce * step_mask).sum() / step_mask.sum() / (m + 2)
    loss = 2 * mse(mel) + mse(post) + stop_loss
    if sigma is not None:
        loss = loss + guided_attention_loss(aligns, batch["text_lens"], step_lens, sigma)
    return loss
