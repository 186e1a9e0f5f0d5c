"""Counting: real counts on the meta device, pinned against formulas derived by hand."""

from pathlib import Path

import pytest
import torch
from count_toys import SMALL_CSP_SPEC
from torch import nn

import archcheck
from archcheck.counting import CONVENTIONS, Tally, count_model
from archcheck.errors import ModelError, UsageError

ROOT = Path(__file__).resolve().parents[1]
YOLOV4 = ROOT / "specs" / "yolov4.yaml"


def meta(*shape):
    return torch.empty(*shape, device="meta")


def on_meta(factory):
    with torch.device("meta"):
        return factory().eval()


class Fn(nn.Module):
    """Wraps a function of the inputs, so functional code runs inside a module."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def test_conv2d_macs_are_cout_cin_k_k_hout_wout_and_the_bias_is_other():
    model = on_meta(lambda: nn.Conv2d(16, 32, 3, stride=2, padding=1))
    total = count_model(model, (meta(2, 16, 20, 20),)).total.compute
    out_elements = 2 * 32 * 10 * 10
    assert total == Tally(macs=out_elements * 16 * 3 * 3, other=out_elements, darknet_extra=0)


def test_grouped_conv_divides_by_groups():
    model = on_meta(lambda: nn.Conv2d(16, 32, 3, padding=1, groups=4, bias=False))
    assert count_model(model, (meta(1, 16, 8, 8),)).total.compute.macs == 32 * 8 * 8 * (16 // 4) * 9


def test_linear_on_a_sequence_counts_every_position():
    model = on_meta(lambda: nn.Linear(64, 48))
    total = count_model(model, (meta(2, 10, 64),)).total.compute
    assert total == Tally(macs=2 * 10 * 64 * 48, other=2 * 10 * 48)


def test_einsum_is_counted_as_the_matmul_it_lowers_to():
    model = Fn(lambda a, b: torch.einsum("bij,bjk->bik", a, b))
    counted = count_model(model, (meta(3, 4, 5), meta(3, 5, 6)))
    assert counted.total.compute == Tally(macs=3 * 4 * 5 * 6)
    assert {k.kind for k in counted.kinds if k.compute.macs} == {"matmul"}


def test_same_shape_add_is_a_darknet_shortcut_and_a_broadcast_add_is_not():
    same = count_model(Fn(lambda x, y: x + y), (meta(1, 8, 4, 4), meta(1, 8, 4, 4))).total.compute
    broadcast = count_model(Fn(lambda x, y: x + y), (meta(1, 8, 4, 4), meta(1, 8, 1, 1))).total.compute
    assert same == Tally(other=128, darknet_extra=128)
    assert broadcast == Tally(other=128, darknet_extra=0)


def test_max_pool_costs_k_k_c_hout_wout_under_darknet():
    total = count_model(on_meta(lambda: nn.MaxPool2d(5, stride=1, padding=2)), (meta(1, 8, 6, 6),)).total.compute
    assert total == Tally(other=8 * 6 * 6, darknet_extra=5 * 5 * 8 * 6 * 6)
    assert CONVENTIONS["darknet"].of(total) == 25 * 8 * 36 and CONVENTIONS["macs"].of(total) == 0


def test_norm_activation_upsample_cost_one_op_per_output_element_and_cat_is_free():
    model = on_meta(lambda: nn.Sequential(nn.BatchNorm2d(4), nn.Mish(), nn.Upsample(scale_factor=2)))
    counted = count_model(model, (meta(1, 4, 3, 3),))
    assert counted.total.compute == Tally(other=36 + 36 + 144)
    assert count_model(Fn(lambda x: torch.cat([x, x], 1)), (meta(1, 4, 3, 3),)).total.compute == Tally()


def test_attention_counts_both_matmuls():
    with torch.device("meta"):
        attention = nn.MultiheadAttention(32, 4, batch_first=True, bias=False).eval()
    x = meta(2, 10, 32)
    counted = count_model(Fn(lambda q: attention(q, q, q, need_weights=False)[0]), (x,))
    projections = 4 * 2 * 10 * 32 * 32  # q, k, v and out
    scores_and_values = 2 * (2 * 4 * 10 * 10 * 8)  # per head: T x T x head_dim, twice
    assert counted.total.compute.macs == projections + scores_and_values


def test_a_module_gets_its_own_ops_and_its_childrens():
    model = on_meta(lambda: nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.ReLU()))
    counted = count_model(model, (meta(1, 3, 5, 5),))
    assert counted.module("0").compute == Tally(macs=4 * 3 * 25)
    assert counted.module("1").compute == Tally(other=100)
    assert counted.total.compute == counted.module("0").compute + counted.module("1").compute
    assert [m.calls for m in counted.modules] == [1, 1, 1]


def test_a_module_list_never_called_sums_its_children():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(8, 8, bias=False) for _ in range(3))

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    counted = count_model(on_meta(Stack), (meta(1, 8),))
    assert counted.module("blocks").calls == 0
    assert counted.module("blocks").compute == Tally(macs=3 * 64) == counted.total.compute


def test_shared_weights_are_counted_once_and_a_reused_module_costs_per_call():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.encode = nn.Linear(16, 16, bias=False)
            self.decode = nn.Linear(16, 16, bias=False)
            self.decode.weight = self.encode.weight

        def forward(self, x):
            return self.decode(self.encode(self.encode(x)))

    counted = count_model(on_meta(Tied), (meta(1, 16),))
    assert counted.total.params.total == 256
    assert counted.module("encode").params.total == counted.module("decode").params.total == 256
    assert counted.module("encode").calls == 2 and counted.module("encode").compute.macs == 2 * 256
    assert counted.total.compute.macs == 3 * 256


def test_each_modules_parameters_and_buffers_are_what_its_parameters_and_buffers_give():
    """The counter sums each module's tensors in one pass from the leaves up; the reference is
    ``parameters()``/``buffers()`` of each module, with tied weights, a module in two places, an
    empty parameter slot, frozen weights, a shared buffer and a parametrization."""

    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            block = nn.Sequential(nn.Linear(8, 8, bias=False), nn.BatchNorm1d(8))
            self.left = nn.Sequential(block, nn.Linear(8, 8))
            self.right = nn.Sequential(block, nn.Linear(8, 8))
            self.right[1].weight = self.left[1].weight
            self.right[1].bias.requires_grad_(False)
            self.norm = nn.BatchNorm1d(8)
            self.norm.register_buffer("running_mean", self.left[0][1].running_mean)
            self.square = nn.Linear(8, 8)
            torch.nn.utils.parametrize.register_parametrization(self.square, "weight", Symmetric())

        def forward(self, x):
            return self.square(self.norm(self.left(x) + self.right(x)))

    model = on_meta(Shared)
    counted = count_model(model, (meta(2, 8),))
    for path, module in model.named_modules():
        params = list(module.parameters())
        expected = (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad), sum(b.numel() for b in module.buffers()))
        found = counted.module(path).params
        assert (found.total, found.trainable, found.buffers) == expected, path or "the model"
    assert counted.total.params.total == 64 + 16 + 64 + 8 + 8 + 16 + 64 + 8  # block, left[1], right[1].bias, norm, square
    assert counted.memory.params == sum(p.numel() * p.element_size() for p in model.parameters())
    assert counted.memory.buffers == sum(b.numel() * b.element_size() for b in model.buffers()) == 4 * 3 * 8 + 8 * 2  # num_batches_tracked: int64


def test_buffers_and_frozen_parameters():
    model = on_meta(lambda: nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4)))
    model[0].weight.requires_grad_(False)
    params = count_model(model, (meta(1, 3, 8, 8),)).total.params
    assert (params.total, params.trainable, params.frozen) == (108 + 8, 8, 108)
    assert params.buffers == 4 + 4 + 1  # running mean, running var, num_batches_tracked


def test_ops_without_a_formula_are_listed_with_their_calls_never_as_zero():
    # an FFT has no rule (sort, which once served here, is now costed in 'other')
    model = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), Fn(lambda y: torch.fft.rfft2(y).abs() + torch.fft.rfft2(y).abs()))
    with torch.device("meta"):
        model = model.to("meta")
    counted = count_model(model, (meta(1, 3, 8, 8),))
    assert [(u.op, u.calls, u.module) for u in counted.uncounted] == [("aten._fft_r2c", 2, "1")]


def test_the_model_is_left_as_found():
    model = on_meta(lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)))
    model.train()
    count_model(model, (meta(1, 3, 4, 4),))
    assert all(m.training for m in model.modules())
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    assert not hasattr(model, "total_ops")


def test_a_crash_names_the_module_and_the_case():
    model = on_meta(lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.Linear(5, 2)))
    with pytest.raises(ModelError) as caught:
        count_model(model, (meta(1, 3, 4, 4),))
    assert str(caught.value).startswith("error: cannot count: the forward pass crashed in 1: RuntimeError: ")
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_yolov4_at_416_under_each_convention():
    report = archcheck.count(YOLOV4, case={"B": 1, "H": 416, "W": 416}, convention="darknet")
    total = report.cases[0].total
    assert total.compute == Tally(macs=30_052_385_792, other=115_641_123, darknet_extra=32_448_000)
    assert total.params.total == 64_363_101 and total.params.buffers == 66_411
    # Darknet prints "Total BFLOPS 60.137" for yolov4.cfg at 416x416
    assert report.value() == 60_137_219_584 and f"{report.value() / 1e9:.3f}" == "60.137"
    assert CONVENTIONS["macs"].of(total.compute) == 30_052_385_792
    assert CONVENTIONS["flops"].of(total.compute) == 60_104_771_584
    assert report.cases[0].uncounted == ()


@pytest.mark.parametrize(("size", "printed"), [(512, "91.095"), (608, "128.459")])
def test_yolov4_matches_darknets_printed_bflops(size, printed):
    report = archcheck.count(YOLOV4, case={"B": 1, "H": size, "W": size}, convention="darknet")
    assert f"{report.value() / 1e9:.3f}" == printed


def test_convention_labels():
    assert [c.label() for c in CONVENTIONS.values()] == ["GMACs", "GFLOPs (2 x MACs)", "BFLOPs (Darknet)"]
    assert CONVENTIONS["darknet"].label("M") == "MFLOPs (Darknet)"


def test_unknown_convention_is_a_usage_error():
    with pytest.raises(UsageError, match=r"^error: unknown convention 'gflops'; expected one of: macs, flops, darknet$"):
        archcheck.count(YOLOV4, case={"B": 1, "H": 32, "W": 32}, convention="gflops")


def test_the_6b_transformer_counts_on_meta():
    report = archcheck.count(ROOT / "specs" / "transformer-6b.yaml", case={"T": 512})
    T, D = 512, 4096
    layer = report.cases[0].module("layers.0")
    assert layer.compute.macs == 3 * T * D * D + T * D * D + 2 * T * T * D + 8 * T * D * D
    assert report.cases[0].total.compute.macs == 32 * layer.compute.macs
    assert report.params.total == 6_444_163_072
    assert report.convention.name == "flops" and report.value() == 2 * 32 * layer.compute.macs
    assert report.cases[0].uncounted == ()


def test_fvcore_agrees_with_our_macs_on_convolutions(write_spec):
    pytest.importorskip("fvcore")
    spec = write_spec(
        SMALL_CSP_SPEC
    )
    report = archcheck.count(spec, engines=("fvcore",))
    ours = report.cases[0]
    fvcore = report.engines[0]
    conv = next(k for k in ours.kinds if k.kind == "conv").compute.macs
    assert f"conv: fvcore {conv:,} = archcheck macs {conv:,}" in fvcore.reasons
    modules = dict(fvcore.modules)
    for module in ours.modules:
        if module.type == "Conv2d":
            assert modules[module.path] == module.compute.macs, module.path
    skipped = next(r for r in fvcore.reasons if r.startswith("skipped"))
    assert skipped.startswith("skipped as 0 (no formula): add x3 (archcheck: ") and "mish x22 (archcheck: " in skipped


def test_the_6b_transformer_verifies_on_meta():
    report = archcheck.verify(ROOT / "specs" / "transformer-6b.yaml", devices=["meta"])
    assert report.ok, [r.headline() for r in report.problems]
    assert {r.subject for r in report.results if r.rule == "flops"} == {"flops.total", "flops.modules.layers.0"}


def test_the_text_report_prints_names_as_they_are_not_as_rich_markup():
    from archcheck.counting import CountReport
    from archcheck.report.count import render_text

    odd = type("Odd[/]:thumbs_up:", (nn.Module,), {"forward": lambda self, x: x * 2})
    counted = count_model(on_meta(lambda: nn.Sequential(odd())), (meta(1, 4),))
    text = render_text(CountReport("[bold]named", None, CONVENTIONS["macs"], (counted,)))
    assert "[bold]named (model)" in text and "Odd[/]:thumbs_up:" in text
