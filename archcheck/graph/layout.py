"""Turn a captured data flow into a graphviz diagram: clusters, shapes on edges, results on nodes.

Clusters are the spec's sections (a node is in the section of the spec entry that is it or its
ancestor) and, inside them, the opened modules that ran. Nodes are coloured by the check results
about them: green passed, red failed (expected and actual in the label and the tooltip), white
when the spec says nothing about them.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, Sequence

import graphviz

from archcheck.graph.capture import Dataflow, Folding, Node, _prefixes
from archcheck.results import CheckResult
from archcheck.spec import Case

Status = Literal["pass", "fail", "none"]

COLORS: dict[Status, dict[str, str]] = {
    "pass": {"fillcolor": "#dff3df", "color": "#2e7d32"},
    "fail": {"fillcolor": "#fde0e0", "color": "#c62828", "penwidth": "2.5"},
    "none": {"fillcolor": "#ffffff", "color": "#9e9e9e"},
}
FAIL_TEXT = "#b71c1c"
STRIDE_COLORS = {1: "#555555", 2: "#7f7f7f", 4: "#009e73", 8: "#0072b2", 16: "#e69f00", 32: "#cc3399", 64: "#d55e00"}  # edges by feature-map stride
MODEL = "(model)"  # where results about no single module go: totals, the forward pass


@dataclass(frozen=True)
class Verdict:
    """What the checks said about one node or cluster."""

    results: tuple[CheckResult, ...] = ()

    @property
    def status(self) -> Status:
        if any(r.failed for r in self.results):
            return "fail"
        return "pass" if any(r.status == "pass" for r in self.results) else "none"

    def failures(self, case: Case | None) -> list[CheckResult]:
        """Failures, those at ``case`` first, each message once."""
        failed = sorted((r for r in self.results if r.failed), key=lambda r: r.case != case)
        return list({r.message: r for r in failed}.values())

    def tooltip(self) -> str:
        lines = [r.headline() for r in self.failures(None)]
        passed = sum(r.status == "pass" for r in self.results)
        if passed:
            lines.append(f"{passed} check{'s' if passed != 1 else ''} passed")
            lines += sorted({f"ok {r.rule}: {r.actual}" for r in self.results if r.status == "pass" and r.actual})
        return "\n".join(lines) or "not covered by the spec"


@dataclass(frozen=True)
class Annotations:
    """What is drawn besides the data flow."""

    sections: Mapping[str, str] = field(default_factory=dict)  # spec module path -> section
    results: Sequence[CheckResult] = ()
    case: Case | None = None
    params: Mapping[str, int] | None = None  # node id -> parameters
    flops: Mapping[str, int] | None = None  # node id -> FLOPs, in the stated convention
    flops_unit: str = "FLOPs"
    title: str = ""


def verdicts(results: Iterable[CheckResult], fold: Folding, flow: Dataflow) -> dict[str, Verdict]:
    """Results by the node or cluster they are about; ``MODEL`` for the rest."""
    found: dict[str, list[CheckResult]] = defaultdict(list)
    ids = {node.id for node in flow.nodes}
    outputs = [node.id for node in flow.nodes if node.kind == "output"]
    for result in results:
        path = result.subject.removeprefix(f"{result.rule}.modules.")  # params.modules.SPP -> SPP
        if result.subject == "outputs":
            targets = outputs or [MODEL]
        elif path in fold.expanded or path in ids:
            targets = [path]
        else:
            node = fold.node_of(path)
            targets = [node if node in ids else MODEL]
        for target in targets:
            found[target].append(result)
    return {key: Verdict(tuple(value)) for key, value in found.items()}


def sections_of(flow: Dataflow, sections: Mapping[str, str]) -> dict[str, str]:
    """Each node's spec section, where it has one."""

    def of_path(path: str) -> str | None:
        for prefix in reversed(list(_prefixes(path))):
            if prefix in sections:
                return sections[prefix]
        below = {section for spec_path, section in sections.items() if spec_path.startswith(path + ".")}
        return below.pop() if len(below) == 1 else None

    found: dict[str, str] = {}
    for node in flow.nodes:
        section = of_path(node.id) if node.kind == "module" else of_path(node.scope) if node.scope else None
        if section:
            found[node.id] = section
    for node in flow.nodes:  # an op of the model's own forward goes where its neighbours are
        if node.kind == "op" and node.id not in found:
            after = {found[e.target] for e in flow.edges if e.source == node.id and e.target in found}
            before = {found[e.source] for e in flow.edges if e.target == node.id and e.source in found}
            for candidates in (after, before):
                if len(candidates) == 1:
                    found[node.id] = candidates.pop()
                    break
    return found


def to_digraph(flow: Dataflow, fold: Folding, notes: Annotations) -> graphviz.Digraph:
    """The diagram: one box per module node, small ellipses for ops, shapes on the edges."""
    judged = verdicts(notes.results, fold, flow)
    graph = graphviz.Digraph("archcheck", graph_attr=_GRAPH, node_attr=_NODE, edge_attr=_EDGE)

    tree = _Cluster()
    in_section = sections_of(flow, notes.sections)
    for node in flow.nodes:
        if node.kind in ("input", "output"):
            continue
        scopes = [p for p in _prefixes(node.scope if node.kind == "op" else node.id.rpartition(".")[0]) if p in flow.ran]
        place = tree.child(("section", in_section[node.id])) if node.id in in_section else tree
        for scope in scopes:
            place = place.child(("module", scope))
        place.nodes.append(node)
    tree.draw(graph, judged, notes)

    for kind, rank in (("input", "source"), ("output", "sink")):
        with graph.subgraph(name=f"{kind}s") as ends:
            ends.attr(rank=rank)
            for node in flow.nodes:
                if node.kind == kind:
                    _draw_node(ends, node, judged.get(node.id, Verdict()), notes)
    reference = next((e.shape for e in flow.edges if e.source.startswith("(input ")), ())
    strides = {_stride(reference, e.shape) for e in flow.edges} & set(STRIDE_COLORS)
    graph.attr(label=_title(notes, judged.get(MODEL, Verdict()), flow.crash, strides), labelloc="t", labeljust="l")
    for edge in flow.edges:
        stride = _stride(reference, edge.shape)
        colour = {"color": STRIDE_COLORS[stride], "fontcolor": STRIDE_COLORS[stride]} if stride in STRIDE_COLORS else {}
        graph.edge(edge.source, edge.target, label="×".join(map(str, edge.shape)), **colour)
    return graph


def _stride(reference: tuple[int, ...], shape: tuple[int, ...]) -> int | None:
    """How much smaller a feature map is than the first input, along the last dim (images: width)."""
    if len(reference) < 3 or len(shape) != len(reference) or not shape[-1] or reference[-1] % shape[-1]:
        return None
    return reference[-1] // shape[-1]


RANKDIR = "TB"
_GRAPH = {"rankdir": RANKDIR, "fontname": "Helvetica", "fontsize": "12", "nodesep": "0.3", "ranksep": "0.35", "newrank": "true", "tooltip": " "}
_NODE = {"fontname": "Helvetica", "fontsize": "11", "shape": "box", "style": "rounded,filled", "margin": "0.12,0.04"}
_EDGE = {"fontname": "Helvetica", "fontsize": "8", "fontcolor": "#555555", "color": "#555555", "arrowsize": "0.6"}


@dataclass
class _Cluster:
    """A box around nodes: a spec section or an opened module, nested."""

    key: tuple[str, str] = ("", "")
    nodes: list[Node] = field(default_factory=list)
    children: dict[tuple[str, str], _Cluster] = field(default_factory=dict)

    def child(self, key: tuple[str, str]) -> _Cluster:
        return self.children.setdefault(key, _Cluster(key))

    def draw(self, graph: graphviz.Digraph, judged: Mapping[str, Verdict], notes: Annotations) -> None:
        for node in self.nodes:
            _draw_node(graph, node, judged.get(node.id, Verdict()), notes)
        for child in self.children.values():
            chain = [child]
            while not chain[-1].nodes and len(chain[-1].children) == 1:  # a box holding one box: merge them
                chain.append(next(iter(chain[-1].children.values())))
            inner = chain[-1]
            names = list(dict.fromkeys(c.key[1] for c in chain))
            modules = [c.key[1] for c in chain if c.key[0] == "module"]
            verdict = Verdict(tuple(r for m in modules for r in judged.get(m, Verdict()).results))
            is_section = child.key[0] == "section"
            title = " / ".join(names)
            with graph.subgraph(name=f"cluster_{inner.key[0]}_{inner.key[1]}") as box:
                box.attr(
                    label=f"<<B>{html.escape(title)}</B>>" if is_section else html.escape(title),
                    tooltip=f"{title}\n{verdict.tooltip()}" if verdict.results else title,
                    style="rounded" if is_section else "rounded,dashed",
                    color=COLORS[verdict.status]["color"] if verdict.results else "#b0b0b0",
                    penwidth="2" if verdict.status == "fail" else "1",
                    fontsize="13" if is_section else "10",
                    fontcolor=FAIL_TEXT if verdict.status == "fail" else "#333333",
                    bgcolor="#fafafa" if is_section else "#ffffff",
                    labeljust="l",
                )
                inner.draw(box, judged, notes)


def _draw_node(graph: graphviz.Digraph, node: Node, verdict: Verdict, notes: Annotations) -> None:
    status = verdict.status
    if node.kind == "op":
        graph.node(node.id, label=node.label, shape="ellipse", style="filled", fillcolor="#eeeeee", color="#9e9e9e", fontsize="9", margin="0.02,0.01", height="0.3", tooltip=f"{node.type_name} in {node.scope or 'the model forward'}")
        return
    if node.kind in ("input", "output"):
        graph.node(node.id, label=html.escape(node.label), shape="box", style="rounded,filled", tooltip=verdict.tooltip(), **(COLORS[status] if verdict.results else {"fillcolor": "#e3edf7", "color": "#5b7fa6"}))
        return
    lines = [f"<B>{html.escape(node.id)}</B>", f'<FONT POINT-SIZE="9">{html.escape(node.type_name)}{f" ×{node.calls}" if node.calls > 1 else ""}</FONT>']
    counts = []
    if notes.params is not None and node.id in notes.params:
        counts.append(f"{_short(notes.params[node.id])} params")
    if notes.flops is not None and node.id in notes.flops:
        counts.append(f"{_short(notes.flops[node.id])} {notes.flops_unit}")
    if counts:
        lines.append(f'<FONT POINT-SIZE="9">{html.escape(", ".join(counts))}</FONT>')
    failures = verdict.failures(notes.case)
    if failures:
        first = failures[0]
        detail = [f"expected {first.expected}", f"actual {first.actual}"] if first.expected or first.actual else [first.message]
        if len(failures) > 1:
            detail.append(f"(+{len(failures) - 1} more: see tooltip)")
        lines += [f'<FONT POINT-SIZE="9" COLOR="{FAIL_TEXT}">{html.escape(line)}</FONT>' for line in detail]
    tooltip = f"{node.id} ({node.type_name})\n{verdict.tooltip()}"
    if notes.params is not None and node.id in notes.params:
        tooltip += f"\n{notes.params[node.id]:,} parameters"
    graph.node(node.id, label="<" + "<BR/>".join(lines) + ">", tooltip=tooltip, **COLORS[status])


def _title(notes: Annotations, model: Verdict, crash: str, strides: set[int]) -> str:
    lines = [f"<B>{html.escape(notes.title)}</B>"] if notes.title else []
    passed = sum(r.status == "pass" for r in notes.results)
    failed = sum(r.failed for r in notes.results)
    if notes.results:
        lines.append(f"{passed} check{'' if passed == 1 else 's'} passed, {failed} failed")
    lines += [f'<FONT COLOR="{FAIL_TEXT}">{html.escape(r.message)}</FONT>' for r in model.failures(notes.case)]
    if strides:
        legend = "  ".join(f'<FONT COLOR="{STRIDE_COLORS[s]}">stride {s}</FONT>' for s in sorted(strides))
        lines.append(f'<FONT POINT-SIZE="10">edges by feature-map size: {legend}</FONT>')
    if crash and not any(r.rule == "crash" for r in notes.results):
        lines.append(f'<FONT COLOR="{FAIL_TEXT}">forward crashed: {html.escape(crash)}</FONT>')
    return "<" + "<BR ALIGN=\"LEFT\"/>".join(lines) + "<BR ALIGN=\"LEFT\"/>>" if lines else ""


def _short(number: int) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= size:
            return f"{number / size:.3g}{suffix}"
    return str(number)
