"""Pairs (audited model + membership detector) on disk, and auditing with them."""
from amint_demo.pairs.audit import AuditVerdict
from amint_demo.pairs.manifest import MANIFEST_FILE, MEMBERS_FILE, NO_TAP, SCHEMA_VERSION, WEIGHTS_FILE, Manifest
from amint_demo.pairs.sharing import extra_members_from_images, zip_pair
from amint_demo.pairs.store import Pair, load_pair, save_pair
from amint_demo.pairs.workflow import evaluate_pair, train_pair
from amint_demo.pairs.zoo import PairSummary, list_pairs

__all__ = ["AuditVerdict", "MANIFEST_FILE", "MEMBERS_FILE", "NO_TAP", "SCHEMA_VERSION", "WEIGHTS_FILE", "Manifest", "Pair",
           "load_pair",
           "save_pair", "PairSummary", "list_pairs", "evaluate_pair", "train_pair", "extra_members_from_images", "zip_pair"]
