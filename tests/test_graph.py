import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archcheck.errors import UsageError
from archcheck.graph import DotMissing, capture, draw, folding
from archcheck.inputs import make_inputs
from archcheck.model import build
from archcheck.spec import load_spec
from archcheck.zoo.cspdarknet import CSPDarknet53

ROOT = Path(__file__).resolve().parents[1]
YOLOV4 = ROOT / "specs" / "yolov4.yaml"
XLINK = "{http://www.w3.org/1999/xlink}title"
SVG = "{http://www.w3.org/2000/svg}"
PASS_FILL, FAIL_FILL, NONE_FILL, FAIL_STROKE = "#dff3df", "#fde0e0", "#ffffff", "#c62828"

TOY = """\
archcheck: 1
name: toy
model: {factory: toy:two_scale}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [1]}
  H: {range: [4, 64], multiple_of: 4, values: [16]}
  W: {values: [16]}
modules:
  body:
    stem: [B, 8, H, W]
    down1: [B, 8, H/2, W/2]
    down2: [B, 8, H/4, W/4]
  head:
    head: [B, 4, H/2, W/2]
outputs: [B, 4, H/2, W/2]
"""


def read_svg(path: Path) -> tuple[dict, dict, dict]:
    """(nodes by id, edge labels by (source, target), clusters by name) of a rendered SVG."""
    nodes, edges, clusters = {}, {}, {}
    for group in ET.parse(path).getroot().iter(f"{SVG}g"):
        kind, title = group.get("class"), group.findtext(f"{SVG}title")
        texts = [t.text or "" for t in group.iter(f"{SVG}text")]
        link = next(group.iter(f"{SVG}a"), None)
        shape = next((s for s in group.iter() if s.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse")), None)
        found = {
            "texts": texts,
            "tooltip": link.get(XLINK) if link is not None else "",
            "fill": shape.get("fill") if shape is not None else "",
            "stroke": shape.get("stroke") if shape is not None else "",
        }
        if kind == "node":
            nodes[title] = found
        elif kind == "edge":
            source, _, target = title.partition("->")
            edges[(source, target)] = " ".join(texts)
        elif kind == "cluster":
            clusters[title] = found
    return nodes, edges, clusters


def flow_of(model: nn.Module, shape: tuple[int, ...], depth: int | None = None, spec_paths=()):
    return capture(model, {"x": torch.empty(shape, device="meta")}, folding(model, depth, spec_paths))


@pytest.fixture(scope="module")
def yolov4_flow():
    spec = load_spec(YOLOV4)
    model = build(spec, "meta")
    case = spec.cases({"B": 1, "H": 416, "W": 416})[0]
    (x,) = make_inputs(spec, case, "meta")
    return capture(model, {"x": x}, folding(model, None, spec.module_paths))


@pytest.fixture(scope="module")
def yolov4_svg(tmp_path_factory):
    output = tmp_path_factory.mktemp("graph") / "yolov4.svg"
    drawing = draw(YOLOV4, output, case={"B": 1, "H": 416, "W": 416})
    return drawing, read_svg(output)


@pytest.fixture(scope="module")
def failing_svg(tmp_path_factory):
    folder = tmp_path_factory.mktemp("failing")
    spec = folder / "bad.yaml"
    spec.write_text(YOLOV4.read_text().replace("SPP: [B, 2048, H/32, W/32]", "SPP: [B, 512, H/32, W/32]"))
    output = folder / "bad.svg"
    drawing = draw(spec, output, case={"B": 1, "H": 608, "W": 608})
    return spec, drawing, read_svg(output)


@pytest.fixture
def toy_spec(write_spec):
    return write_spec(TOY, "toy.yaml")


# --- capture: the real data flow, folded ---------------------------------------------------------


def test_yolov4_nodes_are_the_modules_the_spec_names_and_the_ops_between_them(yolov4_flow):
    modules = [n.id for n in yolov4_flow.nodes if n.kind == "module"]
    assert modules == [
        "backbone.stem", *(f"backbone.stages.{i}" for i in range(5)),
        "conv1", "SPP", "conv2", "conv_for_P4", "upsample1", "make_five_conv1", "conv_for_P3", "upsample2",
        "make_five_conv2", "down_sample1", "make_five_conv3", "down_sample2", "make_five_conv4",
        "yolo_head3", "yolo_head2", "yolo_head1",
    ]  # the Identity involutions are not drawn: the spec does not name them
    assert [n.id for n in yolov4_flow.nodes if n.kind == "op"] == ["(cat 1)", "(cat 2)", "(cat 3)", "(cat 4)"]
    assert {n.type_name for n in yolov4_flow.nodes if n.kind == "op"} == {"torch.cat"}
    assert [n.id for n in yolov4_flow.nodes if n.kind in ("input", "output")] == ["(input x)", "(output 0)", "(output 1)", "(output 2)"]
    assert yolov4_flow.crash == ""


def test_yolov4_edges_follow_the_panet_with_shapes_at_the_case(yolov4_flow):
    edges = {(e.source, e.target): e.shape for e in yolov4_flow.edges}
    assert len(edges) == len(yolov4_flow.edges) == 33
    expected = {
        ("(input x)", "backbone.stem"): (1, 3, 416, 416),
        ("backbone.stages.2", "conv_for_P3"): (1, 256, 52, 52),  # the three scales leave the backbone
        ("backbone.stages.3", "conv_for_P4"): (1, 512, 26, 26),
        ("backbone.stages.4", "conv1"): (1, 1024, 13, 13),
        ("conv1", "SPP"): (1, 512, 13, 13),
        ("SPP", "conv2"): (1, 2048, 13, 13),
        ("upsample1", "(cat 1)"): (1, 256, 26, 26),  # top-down
        ("conv_for_P4", "(cat 1)"): (1, 256, 26, 26),
        ("(cat 1)", "make_five_conv1"): (1, 512, 26, 26),
        ("make_five_conv2", "down_sample1"): (1, 128, 52, 52),  # bottom-up, through the hidden involution1
        ("down_sample1", "(cat 3)"): (1, 256, 26, 26),
        ("make_five_conv1", "(cat 3)"): (1, 256, 26, 26),  # the cross connection from the top-down P4
        ("conv2", "(cat 4)"): (1, 512, 13, 13),  # and from P5 past the whole top-down path
        ("make_five_conv2", "yolo_head3"): (1, 128, 52, 52),
        ("yolo_head1", "(output 0)"): (1, 255, 13, 13),
        ("yolo_head3", "(output 2)"): (1, 255, 52, 52),
    }
    assert {pair: edges.get(pair) for pair in expected} == expected


def test_an_identity_that_the_spec_names_is_drawn():
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Identity(), nn.ReLU())
    assert [n.id for n in flow_of(model, (1, 3, 8, 8), depth=1).nodes if n.kind == "module"] == ["0", "2"]
    assert [n.id for n in flow_of(model, (1, 3, 8, 8), depth=1, spec_paths=["1"]).nodes if n.kind == "module"] == ["0", "1", "2"]


def test_depth_folds_deeper_modules_into_their_ancestor():
    spec = load_spec(YOLOV4)
    model = build(spec, "meta")
    flow = flow_of(model, (1, 3, 256, 256), depth=1)
    assert "backbone" in [n.id for n in flow.nodes] and not any(n.id.startswith("backbone.") for n in flow.nodes)
    edges = {(e.source, e.target): e.shape for e in flow.edges}
    assert edges[("backbone", "conv1")] == (1, 1024, 8, 8)
    assert edges[("backbone", "conv_for_P4")] == (1, 512, 16, 16)
    assert edges[("backbone", "conv_for_P3")] == (1, 256, 32, 32)


def test_residual_adds_and_csp_concats_appear_inside_an_opened_stage():
    with torch.device("meta"):
        model = CSPDarknet53(depths=(1, 1, 1), widths=(8, 16, 32), stem_channels=4)
    flow = flow_of(model, (1, 3, 32, 32), spec_paths=["stages.0.blocks.0.block"])  # opens its ancestors
    edges = {(e.source, e.target): e.shape for e in flow.edges}
    ops = {n.id: n for n in flow.nodes if n.kind == "op"}
    assert ops["(add 1)"].label == "+" and ops["(add 1)"].scope == "stages.0.blocks.0"
    assert ops["(add 1)"].type_name == "Tensor.add"
    assert ops["(cat 1)"].scope == "stages.0"
    assert edges[("stages.0.split_conv1", "stages.0.blocks.0.block")] == (1, 8, 16, 16)
    assert edges[("stages.0.split_conv1", "(add 1)")] == (1, 8, 16, 16)  # the residual shortcut
    assert edges[("stages.0.blocks.0.block", "(add 1)")] == (1, 8, 16, 16)
    assert edges[("(add 1)", "stages.0.blocks.1")] == (1, 8, 16, 16)
    assert edges[("stages.0.blocks.1", "(cat 1)")] == (1, 8, 16, 16)
    assert edges[("stages.0.split_conv0", "(cat 1)")] == (1, 8, 16, 16)  # the CSP bypass
    assert edges[("(cat 1)", "stages.0.concat_conv")] == (1, 16, 16, 16)
    assert flow.ran == {"", "stages.0", "stages.0.blocks", "stages.0.blocks.0"}  # the ModuleList never ran
    assert [n.id for n in flow.nodes if n.kind == "module"][-2:] == ["stages.1", "stages.2"]


def test_a_uniform_depth_opens_every_module_above_it():
    with torch.device("meta"):
        model = CSPDarknet53(depths=(1, 1, 1), widths=(8, 16, 32), stem_channels=4)
    flow = flow_of(model, (1, 3, 32, 32), depth=3)
    modules = [n.id for n in flow.nodes if n.kind == "module"]
    assert modules[:7] == ["stem.conv", "stem.bn", "stem.act", "stages.0.downsample", "stages.0.split_conv0", "stages.0.split_conv1", "stages.0.blocks"]
    assert max(len(m.split(".")) for m in modules) == 3


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.split(x, 2, dim=1)
        up = F.interpolate(self.conv(x), scale_factor=2.0)
        return up * self.scale + F.interpolate(torch.cat([b, a], dim=1), size=up.shape[-2:])


def test_functional_ops_are_nodes_and_their_inner_calls_are_not():
    with torch.device("meta"):
        model = Functional()
    flow = flow_of(model, (1, 4, 8, 8))
    ops = [(n.id, n.label, n.type_name) for n in flow.nodes if n.kind == "op"]
    assert ops == [
        ("(split 1)", "split", "torch.split"),
        ("(interpolate 1)", "interpolate", "F.interpolate"),
        ("(mul 1)", "×", "Tensor.mul"),
        ("(cat 1)", "cat", "torch.cat"),
        ("(interpolate 2)", "interpolate", "F.interpolate"),
        ("(add 1)", "+", "Tensor.add"),
    ]
    edges = {(e.source, e.target): e.shape for e in flow.edges}
    assert edges[("(split 1)", "(cat 1)")] == (1, 2, 8, 8)
    assert edges[("conv", "(interpolate 1)")] == (1, 4, 8, 8)
    assert edges[("(interpolate 1)", "(mul 1)")] == (1, 4, 16, 16)
    assert edges[("(add 1)", "(output 0)")] == (1, 4, 16, 16)


def hooks_of(model: nn.Module) -> list[int]:
    return [
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._forward_hooks_with_kwargs)
        + len(m._forward_pre_hooks_with_kwargs) + len(m._forward_hooks_always_called)
        for m in model.modules()
    ]


class Crashes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), self.b(x)], dim=1)


@pytest.mark.parametrize("factory", [lambda: CSPDarknet53(depths=(1, 1, 1), widths=(8, 16, 32), stem_channels=4), Crashes])
def test_the_model_is_left_as_found(factory):
    with torch.device("meta"):
        model = factory()
    model.train()
    list(model.modules())[2].eval()
    modes = [m.training for m in model.modules()]
    flow_of(model, (1, 3, 32, 32), depth=3)
    assert hooks_of(model) == [0] * len(modes)
    assert [m.training for m in model.modules()] == modes
    assert torch._C._len_torch_function_stack() == 0  # the mode was exited


def test_a_crash_is_drawn_up_to_where_it_happened():
    with torch.device("meta"):
        model = Crashes()
    flow = flow_of(model, (1, 3, 9, 9))
    assert flow.crash.startswith("RuntimeError: Sizes of tensors must match except in dimension 1")
    assert [n.id for n in flow.nodes] == ["(input x)", "a", "b"]  # the failed cat and the outputs never happened


# --- draw: rendered SVGs ---------------------------------------------------------------------


def test_yolov4_svg_has_the_sections_nodes_and_shapes(yolov4_svg):
    drawing, (nodes, edges, clusters) = yolov4_svg
    assert str(drawing) == f"wrote {drawing.output}: 30 nodes, 33 edges at B=1, H=416, W=416; {drawing.passed} checks passed, 0 failed"
    assert set(clusters) == {"cluster_module_backbone", "cluster_section_neck", "cluster_section_heads"}
    assert clusters["cluster_section_neck"]["texts"] == ["neck"]
    assert clusters["cluster_module_backbone"]["texts"] == ["backbone"]  # section and module, one box
    assert clusters["cluster_module_backbone"]["stroke"] == "#2e7d32"  # backbone's own checks passed
    assert nodes["SPP"]["texts"] == ["SPP", "SpatialPyramidPooling"]
    assert nodes["SPP"]["fill"] == PASS_FILL
    assert nodes["SPP"]["tooltip"].startswith("SPP (SpatialPyramidPooling)\n2 checks passed\n")
    assert nodes["(cat 1)"]["texts"] == ["cat"]
    assert edges[("make_five_conv2", "down_sample1")] == "1×128×52×52"
    assert edges[("upsample1", "(cat 1)")] == "1×256×26×26"
    assert edges[("conv_for_P4", "(cat 1)")] == "1×256×26×26"
    assert edges[("make_five_conv1", "(cat 3)")] == "1×256×26×26"
    assert edges[("conv2", "(cat 4)")] == "1×512×13×13"
    assert nodes["(output 0)"]["fill"] == PASS_FILL  # the outputs check passed


def test_a_failing_node_is_red_with_expected_and_actual(failing_svg):
    spec, drawing, (nodes, edges, clusters) = failing_svg
    assert (drawing.failed, drawing.case.as_dict()) == (1, {"B": 1, "H": 608, "W": 608})
    spp = nodes["SPP"]
    assert (spp["fill"], spp["stroke"]) == (FAIL_FILL, FAIL_STROKE)
    assert spp["texts"] == ["SPP", "SpatialPyramidPooling", "expected [B, 512, H/32, W/32] = [1, 512, 19, 19]", "actual [1, 2048, 19, 19]"]
    assert spp["tooltip"].splitlines()[1] == (
        f"{spec}:27:10: error: SPP [1, 2048, 19, 19] != expected [B, 512, H/32, W/32] = [1, 512, 19, 19]: "
        "dim 1 is 2048, expected 512 at B=1, H=608, W=608 on meta [shape]"
    )
    assert nodes["conv2"]["fill"] == PASS_FILL
    assert edges[("SPP", "conv2")] == "1×2048×19×19"


def test_modules_the_spec_does_not_cover_are_white(toy_spec, tmp_path):
    drawing = draw(toy_spec, tmp_path / "toy.svg")
    nodes, edges, clusters = read_svg(tmp_path / "toy.svg")
    assert str(drawing) == f"wrote {tmp_path / 'toy.svg'}: 9 nodes, 9 edges at B=1, H=16, W=16; 6 checks passed, 0 failed"
    assert {name: nodes[name]["fill"] for name in ("stem", "down2", "up", "bn")} == {"stem": PASS_FILL, "down2": PASS_FILL, "up": NONE_FILL, "bn": NONE_FILL}
    assert nodes["up"]["tooltip"] == "up (Upsample)\nnot covered by the spec"
    assert set(clusters) == {"cluster_section_body", "cluster_section_head"}
    assert edges[("(cat 1)", "head")] == "1×16×8×8"


def test_a_crash_is_painted_in_the_title(toy_spec, tmp_path):
    drawing = draw(toy_spec, tmp_path / "crash.dot", case={"H": 18})
    crash = "RuntimeError: Sizes of tensors must match except in dimension 1. Expected 9 in dimension 2 but got 8 for tensor number 1 in the list"
    assert (drawing.nodes, drawing.crash) == (5, crash)
    assert str(drawing).endswith(f"; the forward pass crashed: {crash}")
    title = (tmp_path / "crash.dot").read_text().split("label=<<B>toy", 1)[1].split("</FONT>", 1)[0]
    assert '<FONT COLOR="#b71c1c">forward crashed in the model&#x27;s forward (TwoScale)' in title and title.endswith(crash)


def test_params_and_flops_on_request(toy_spec, tmp_path):
    draw(toy_spec, tmp_path / "toy.svg", params=True, flops="macs")
    nodes, _, _ = read_svg(tmp_path / "toy.svg")
    assert nodes["stem"]["texts"] == ["stem", "Conv2d", "224 params, 55.3k MACs"]  # 8*3*3*3 + 8; 8*27*16*16
    assert nodes["up"]["texts"] == ["up", "Upsample", "0 params, 0 MACs"]
    assert nodes["stem"]["tooltip"].endswith("\n224 parameters")


@pytest.mark.parametrize(("suffix", "magic"), [(".dot", b"digraph archcheck {"), (".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-")])
def test_the_suffix_chooses_the_format(toy_spec, tmp_path, suffix, magic):
    output = tmp_path / "out" / f"toy{suffix}"
    draw(toy_spec, output, results=())
    assert output.read_bytes().startswith(magic)
    assert sorted(p.name for p in output.parent.iterdir()) == [output.name]


def test_results_given_are_painted_without_running_verify(toy_spec, tmp_path):
    draw(toy_spec, tmp_path / "toy.dot", results=())
    source = (tmp_path / "toy.dot").read_text()
    assert "checks passed" not in source and "#dff3df" not in source
    assert 'stem [label=<<B>stem</B><BR/><FONT POINT-SIZE="9">Conv2d</FONT>>' in source


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output": "toy.jpg"}, "cannot draw toy.jpg: the suffix chooses the format; use .svg, .png, .pdf or .dot"),
        ({"output": "toy.svg", "depth": 0}, "--depth must be at least 1, got 0"),
        ({"output": "toy.svg", "flops": "bflops"}, "unknown FLOPs convention 'bflops'; expected one of: macs, flops, darknet"),
        ({"output": "toy.svg", "case": {"Q": 3}}, "--case names Q, which is not a dim of toy; the spec's dims are B, H, W"),
    ],
)
def test_bad_arguments_are_usage_errors(toy_spec, kwargs, message):
    with pytest.raises(UsageError) as caught:
        draw(toy_spec, **kwargs)
    assert str(caught.value) == f"error: {message}"


def test_without_dot_the_source_is_written_and_the_error_says_how_to_install(toy_spec, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    output = tmp_path / "toy.png"
    with pytest.raises(DotMissing) as caught:
        draw(toy_spec, output, results=())
    assert str(caught.value) == (
        f"error: cannot render {output}: graphviz's dot program is not installed; wrote the source to {tmp_path / 'toy.dot'}. "
        f"Install graphviz (apt-get install graphviz, brew install graphviz or conda install graphviz), then run: dot -Tpng {tmp_path / 'toy.dot'} -o {output}"
    )
    assert caught.value.exit_code == 2
    assert not output.exists() and (tmp_path / "toy.dot").read_text().startswith("digraph archcheck {")
