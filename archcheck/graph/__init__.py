"""Architecture diagrams: the real data flow, folded to a depth, painted with the check results."""

from archcheck.graph.capture import Dataflow, Edge, Folding, Node, capture, folding
from archcheck.graph.draw import Drawing, draw
from archcheck.graph.layout import Annotations, to_digraph
from archcheck.graph.render import FORMATS, DotMissing, output_format, render

__all__ = ["FORMATS", "Annotations", "Dataflow", "DotMissing", "Drawing", "Edge", "Folding", "Node", "capture", "draw", "folding", "output_format", "render", "to_digraph"]
