"""Backbones, taps, activation capture and MINT heads."""
from amint_demo.models.auditable import AuditableModel, AuditOutput, tokens_to_grid
from amint_demo.models.backbones import DEFAULT_ARCHS, FAMILIES, BackboneSpec, family_of, pick_device
from amint_demo.models.heads import CnnMintHead, MlpMintHead, VectorMintHead
from amint_demo.models.taps import TAP_DEPTHS, ActivationCapture, resolve_taps, stages, tap_depth_name

__all__ = ["AuditableModel", "AuditOutput", "tokens_to_grid", "DEFAULT_ARCHS", "FAMILIES", "BackboneSpec",
           "family_of", "pick_device", "CnnMintHead", "MlpMintHead", "VectorMintHead", "TAP_DEPTHS",
           "ActivationCapture", "resolve_taps", "stages", "tap_depth_name"]
