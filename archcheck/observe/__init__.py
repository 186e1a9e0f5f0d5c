"""Stage 3, observe: run a model and record what it did, leaving it exactly as found.

``hooks`` is the only place hooks are added and train/eval flags restored; ``tree`` walks nested
outputs; ``trace`` records every module call as shapes; ``keep`` keeps CPU copies of chosen
outputs for parity; ``memo`` makes sweeps of meta forwards fast; ``fastmeta`` answers the meta
ops torch runs as slow Python code by shape.
"""
