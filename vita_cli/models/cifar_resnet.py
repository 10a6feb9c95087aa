"""ResNets for 32×32 inputs.

ResNet-20/32/44/56 (He et al. 2016, §4.2): a 3×3 stem with 16 channels, three stages of ``n`` basic
blocks with 16/32/64 channels, global average pooling, one linear layer; depth = 6n + 2. Shortcut
option A adds the block input subsampled by 2 and zero-padded in channels (no parameters); option B
uses a 1×1 convolution + BN when the shape changes.

ResNet-18/50 "CIFAR" variants are torchvision's ResNets with a 3×3 stride-1 stem and no max-pool,
which keeps 32×32 feature maps in the first stage.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ZeroPadShortcut(nn.Module):
    """Option A: subsample by ``stride`` and zero-pad channels up to ``out_channels`` (parameter-free)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.stride, self.extra = stride, out_channels - in_channels

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        front = self.extra // 2
        return F.pad(x, (0, 0, 0, 0, front, self.extra - front))


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: str = "A"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride == 1 and in_channels == out_channels:
            self.shortcut = nn.Identity()
        elif shortcut == "A":
            self.shortcut = ZeroPadShortcut(in_channels, out_channels, stride)
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(
        self,
        depth: int = 20,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: str = "A",
        width: int = 16,
    ):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, 110); got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' or 'B'; got {shortcut!r}")
        n = (depth - 2) // 6
        widths = [width, 2 * width, 4 * width]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, channels = [], widths[0]
        for i, w in enumerate(widths):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(channels, w, 2 if (i > 0 and j == 0) else 1, shortcut))
                channels = w
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(widths[2], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def torchvision_cifar_resnet(variant: str, num_classes: int = 10, in_channels: int = 3) -> nn.Module:
    """torchvision ResNet-18/50 with a 3×3 stride-1 stem and no max-pool (the usual CIFAR adaptation)."""
    import torchvision  # lazy: about a second to import, and only these two models need it

    model = getattr(torchvision.models, variant)(weights=None, num_classes=num_classes)
    model.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    model.maxpool = nn.Identity()
    return model
