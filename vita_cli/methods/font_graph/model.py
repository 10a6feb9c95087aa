"""The four modules of the cycle (image encoder, graph constructor, graph encoder, renderer) and the baseline.

Character conditioning follows the released code: a conv with one weight set per letter (the sample's
letter selects it) and batch norm without affine parameters followed by a per-letter (γ, β).
Per-sample weights run as one grouped convolution over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vita_cli.methods.font_graph.config import ModelConfig

N_LETTERS = 26


class CondBatchNorm(nn.Module):
    """BatchNorm without affine parameters, then (γ, β) of the sample's letter (γ ~ N(1, 0.02), β = 0)."""

    def __init__(self, channels: int, dims: int = 2):
        super().__init__()
        self.bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(channels, affine=False)
        self.gamma = nn.Embedding(N_LETTERS, channels)
        self.beta = nn.Embedding(N_LETTERS, channels)
        nn.init.normal_(self.gamma.weight, 1.0, 0.02)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x, letter):
        shape = (x.shape[0], x.shape[1]) + (1,) * (x.dim() - 2)
        return self.bn(x) * self.gamma(letter).view(shape) + self.beta(letter).view(shape)


class CondConv1d(nn.Module):
    """Conv1d with one weight set per letter."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, padding: int = 1):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(N_LETTERS, cout, cin, kernel) * (2.0 / (cin * kernel)) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(N_LETTERS, cout))
        self.padding = padding

    def forward(self, x, letter):
        b, cin, length = x.shape
        w = self.weight[letter].reshape(-1, cin, self.weight.shape[-1])
        y = F.conv1d(x.reshape(1, b * cin, length), w, padding=self.padding, groups=b)
        return y.reshape(b, -1, y.shape[-1]) + self.bias[letter].unsqueeze(-1)


class CondConvTranspose2d(nn.Module):
    """ConvTranspose2d (kernel 4, stride 2, padding 1: doubles the side) with one weight set per letter."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(N_LETTERS, cin, cout, 4, 4) * (2.0 / (cin * 4)) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(N_LETTERS, cout))

    def forward(self, x, letter):
        b, cin, h, w = x.shape
        weight = self.weight[letter].reshape(b * cin, -1, 4, 4)
        y = F.conv_transpose2d(x.reshape(1, b * cin, h, w), weight, stride=2, padding=1, groups=b)
        return y.reshape(b, -1, 2 * h, 2 * w) + self.bias[letter][:, :, None, None]


class ImageEncoder(nn.Module):
    """R×R glyph → style code z ∈ R^F (+ font logits): stride-2 convs down to 4×4, then a 4×4 conv."""

    def __init__(self, cfg: ModelConfig, image_size: int, n_styles: int):
        super().__init__()
        w, layers, cin, side = cfg.width, [], 1, image_size
        chans = [w, 2 * w, 4 * w, 4 * w, 4 * w][: {32: 3, 64: 4, 128: 5}[image_size]]
        for c in chans:
            layers += [
                nn.Conv2d(cin, c, 4, 2, 1),
                nn.BatchNorm2d(c),
                nn.ReLU(inplace=True),
                nn.Dropout(cfg.dropout),
            ]
            cin, side = c, side // 2
        layers += [nn.Conv2d(cin, cfg.latent, side)]
        self.net = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.latent, max(n_styles, 1)))

    def forward(self, image):
        z = self.net(image.unsqueeze(1)).flatten(1)
        return z, self.classifier(z)


class GraphConstructor(nn.Module):
    """z and a letter → graph [B, N, 4]: z → ConvT1d to length L → letter convs to N channels → per node 4 values.

    As in the released code, the channel axis becomes the node axis (N nodes × L features) and a final
    conv over the nodes maps L features to (x, y, dx, dy).
    """

    def __init__(self, cfg: ModelConfig, points: int):
        super().__init__()
        length = cfg.node_dim
        self.expand = nn.ConvTranspose1d(cfg.latent, cfg.latent, length)
        self.bn0 = CondBatchNorm(cfg.latent, 1)
        self.conv1 = CondConv1d(cfg.latent, cfg.hidden)
        self.bn1 = CondBatchNorm(cfg.hidden, 1)
        self.conv2 = CondConv1d(cfg.hidden, points)
        self.bn2 = CondBatchNorm(points, 1)
        self.head = nn.Conv1d(length, 4, 3, padding=1)

    def forward(self, z, letter):
        h = F.relu(self.bn0(self.expand(z.unsqueeze(-1)), letter))
        h = F.relu(self.bn1(self.conv1(h, letter), letter))
        h = self.bn2(self.conv2(h, letter), letter)  # [B, N, L]
        out = self.head(h.transpose(1, 2)).transpose(1, 2)  # [B, N, 4]
        xy = torch.sigmoid(out[..., :2])  # coordinates in [0, 1] of the frame
        return torch.cat([xy, out[..., 2:]], -1)


class GraphEncoder(nn.Module):
    """Graph [B, N, 4] + end-of-contour flags → z' ∈ R^F: node embeddings (coords, flag, position) → strided convs."""

    def __init__(self, cfg: ModelConfig, points: int, n_styles: int):
        super().__init__()
        e = cfg.embed
        self.coords = nn.Linear(4, e)
        self.flag = nn.Embedding(2, e)
        self.position = nn.Embedding(points, e)
        layers, cin, length = [], 3 * e, points
        for cout, k, s in ((4 * e, 5, 3), (4 * e, 5, 3), (cfg.latent, 5, 3)):
            layers += [nn.Conv1d(cin, cout, k, s, 1)]
            length = (length + 2 - k) // s + 1
            if cout != cfg.latent:
                layers += [nn.BatchNorm1d(cout), nn.ReLU(inplace=True)]
            cin = cout
        self.net = nn.Sequential(*layers)
        self.pool = nn.Linear(length, 1)
        self.classifier = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(cfg.latent, max(n_styles, 1)))

    def forward(self, graph, ends):
        pos = torch.arange(graph.shape[1], device=graph.device)
        h = torch.cat(
            [self.coords(graph), self.flag(ends.long()), self.position(pos).expand(graph.shape[0], -1, -1)],
            -1,
        )
        z = self.pool(self.net(h.transpose(1, 2))).squeeze(-1)
        return z, self.classifier(z)


class Renderer(nn.Module):
    """z and a letter → R×R image: ConvT to 4×4, then letter-conditional ConvT ×2 steps, sigmoid."""

    def __init__(self, cfg: ModelConfig, image_size: int):
        super().__init__()
        w = cfg.width
        steps = {32: 3, 64: 4, 128: 5}[image_size]
        chans = [4 * w, 4 * w, 2 * w, w, w // 2][:steps] + [1]
        self.start = nn.ConvTranspose2d(cfg.latent, chans[0], 4)
        self.bn0 = CondBatchNorm(chans[0])
        self.ups = nn.ModuleList(
            CondConvTranspose2d(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True)
        )
        self.bns = nn.ModuleList(CondBatchNorm(c) for c in chans[1:-1])

    def forward(self, z, letter):
        h = F.relu(self.bn0(self.start(z[:, :, None, None]), letter))
        for i, up in enumerate(self.ups):
            h = up(h, letter)
            if i < len(self.bns):
                h = F.relu(self.bns[i](h, letter))
        return torch.sigmoid(h.squeeze(1))


class FontGraphModel(nn.Module):
    """image → z → graph(letter) → z' → image(letter); ``kind='img2img'`` skips the graph (the baseline)."""

    def __init__(self, cfg: ModelConfig, image_size: int, points: int, n_styles: int, kind: str = "graph"):
        super().__init__()
        if kind not in ("graph", "img2img"):
            raise ValueError(f"model kind must be graph or img2img, got {kind!r}")
        self.kind, self.points, self.image_size = kind, points, image_size
        self.image_encoder = ImageEncoder(cfg, image_size, n_styles)
        self.renderer = Renderer(cfg, image_size)
        if kind == "graph":
            self.constructor = GraphConstructor(cfg, points)
            self.graph_encoder = GraphEncoder(cfg, points, n_styles)

    def encode(self, images):
        return self.image_encoder(images)[0]

    def decode(self, z, letter, ends=None):
        """Style codes [B, F] and letters [B] → (images [B, R, R], graphs [B, N, 4] or None)."""
        if self.kind == "img2img":
            return self.renderer(z, letter), None
        graph = self.constructor(z, letter)
        return self.render_graph(graph, ends, letter), graph

    def render_graph(self, graph, ends, letter):
        return self.renderer(self.graph_encoder(graph, ends)[0], letter)
