import pytest
import torch

from vita_cli.methods.predict_pose import model as M
from vita_cli.methods.predict_pose.skeleton import EDGES, adjacency

A = torch.tensor(adjacency())


def test_faithful_layer_equals_the_factorised_form():
    x = torch.randn(3, 4, 16, 3)
    a = torch.randn(3, 5, 16, 16)
    torch.testing.assert_close(M.faithful_aggregate(x, a), M.factorised_aggregate(x, a))
    # and inside the layer: with a fixed A the product is pooled feature × row sum (the limb degree)
    layer = M.STGCNN(2, 3, 5, "faithful", learn_adjacency=False).eval()
    v = torch.randn(2, 5, 16, 2)
    feats = layer.feature(v.permute(0, 3, 2, 1))
    degree = A.sum(1)
    expected = feats.sum(3, keepdim=True) * degree.view(1, 1, 16, 1)
    torch.testing.assert_close(
        M.faithful_aggregate(feats, A.expand(2, 5, 16, 16)), expected.expand(-1, -1, -1, 5)
    )


def test_faithful_does_not_mix_joints_but_gcn_does():
    x = torch.zeros(1, 1, 16, 5)
    x[0, 0, 1] = 1.0  # a feature on joint 1 (spine) only
    a = A.expand(1, 5, 16, 16)
    i, k = EDGES[0]  # pelvis-spine
    assert M.faithful_aggregate(x, a)[0, 0, i].abs().sum() == 0
    assert M.gcn_aggregate(x, a)[0, 0, i].abs().sum() > 0
    assert M.gcn_aggregate(x, a)[0, 0, 5].abs().sum() == 0  # r_elbow is not a neighbour of the spine


@pytest.mark.parametrize("aggregation", ["faithful", "gcn"])
@pytest.mark.parametrize("learn", [True, False])
def test_skeleton_graph_shapes_and_size(aggregation, learn):
    net = M.SkeletonGraph(A, 5, 10, 5, 11, aggregation, learn)
    assert net(torch.randn(4, 5, 16, 2)).shape == (4, 10, 16, 3)
    n = M.count_parameters(net)
    assert 10_000 < n < 14_000  # ≈ 13k at 21 joints in the notes; 16 joints here


def test_baseline_shapes_and_constant_velocity_arithmetic():
    gru = M.ARGRU(16, 10, 32)
    x = torch.randn(2, 5, 16, 2)
    y = torch.randn(2, 10, 16, 3)
    assert gru(x).shape == (2, 10, 16, 3) and gru(x, y, 1.0).shape == (2, 10, 16, 3)

    class Stub(torch.nn.Module):  # "lifts" a 2D pose to (u, v, u)
        def forward(self, p):
            return torch.cat([p, p[..., :1]], -1)

    v = torch.zeros(1, 3, 16, 2)
    v[0, 1] = 1.0
    v[0, 2] = 3.0
    cv = M.LiftExtrapolate(Stub(), 4, velocity=True)(v)
    zv = M.LiftExtrapolate(Stub(), 4, velocity=False)(v)
    torch.testing.assert_close(cv[0, :, 0, 0], torch.tensor([5.0, 7.0, 9.0, 11.0]))
    torch.testing.assert_close(zv[0, :, 0, 0], torch.tensor([3.0, 3.0, 3.0, 3.0]))


def test_denormalise_wraps_outputs_and_teacher_targets():
    gru = M.ARGRU(16, 4, 8)
    wrapped = M.Denormalise(gru, [0.0, 0.0, 4.0], [1.0, 1.0, 2.0])
    x = torch.randn(2, 5, 16, 2)
    torch.testing.assert_close(wrapped(x)[..., 2], gru(x)[..., 2] * 2 + 4)
    assert wrapped(x, torch.randn(2, 4, 16, 3), 0.5).shape == (2, 4, 16, 3)
