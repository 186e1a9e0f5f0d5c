"""``snapshot`` a model into a spec (formulas and domain inferred, then verified) and ``diff`` two of them.

    take.py     run the model at swept cases, fit formulas (infer.py), choose the domain (domain.py)
    write.py    the Snapshot as a readable, commented spec
    diff.py     two Snapshots compared, module by module (no torch: report/ renders it)

This package's ``__init__`` imports nothing, so that report/ can use the records without torch.
"""

DEFAULT_DEPTH = 2  # modules listed this deep inside the model's children; here, the parsers of snapshot and diff read it for free
