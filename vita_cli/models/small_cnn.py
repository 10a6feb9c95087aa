"""A small, fast CNN for 32×32 images (≈0.24M parameters, ≈12M MACs at 1×32×32 with width 32).

conv1 (in→w) → pool → conv2 (w→2w) → pool → conv3 (2w→4w) → pool → conv4 (4w→4w) → global pool → fc.
conv2..conv4 have ≥ 32 input and output channels at the default width, big enough to hold a 29×29
signature pattern (lottery-ticket ownership).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 32, dropout: float = 0.0):
        super().__init__()
        w = int(width)
        self.conv1 = nn.Conv2d(in_channels, w, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.conv2 = nn.Conv2d(w, 2 * w, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * w)
        self.conv3 = nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * w)
        self.conv4 = nn.Conv2d(4 * w, 4 * w, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(4 * w)
        self.dropout = dropout
        self.fc = nn.Linear(4 * w, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = F.max_pool2d(F.relu(self.bn3(self.conv3(x))), 2)
        x = F.relu(self.bn4(self.conv4(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        if self.dropout > 0:
            x = F.dropout(x, self.dropout, self.training)
        return self.fc(x)
