"""aMINT demonstrator: membership inference tests for image classifiers.

Entry points: `load_pair(path)` -> Pair (`pair.manifest`, `pair.audit(images)`), `python -m amint_demo --help`.
"""
from amint_demo.pairs import AuditVerdict, Pair, list_pairs, load_pair, save_pair
from amint_demo.version import __version__

__all__ = ["AuditVerdict", "Pair", "list_pairs", "load_pair", "save_pair", "__version__"]
