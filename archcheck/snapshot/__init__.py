"""``snapshot`` a model into a spec (formulas and domain inferred, then verified) and ``diff`` two of them.

    take.py     run the model at swept cases, fit formulas (infer.py), choose the domain (domain.py)
    write.py    the Snapshot as a readable, commented spec
    diff.py     two Snapshots compared, module by module (no torch: report/ renders it)

This package's ``__init__`` imports nothing, so that report/ can use the records without torch.
"""
