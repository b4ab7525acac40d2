"""The app's runtime: which pairs it offers (`registry`), its pictures (`gallery`), visitors' session pairs and
their expiry (`sessions`), the background sweep (`housekeeping`), training sessions (`training`) run in a worker
process (`worker`). `Runtime` bundles them for one app; the page (`amint_demo.ui`) composes their calls."""
from __future__ import annotations

from dataclasses import dataclass

from amint_demo.runtime.fairness import TrainingLine
from amint_demo.runtime.gallery import Gallery
from amint_demo.runtime.registry import PairRegistry
from amint_demo.runtime.sessions import SessionPolicy
from amint_demo.runtime.training import TrainingJobs
from amint_demo.settings import Settings


@dataclass
class Runtime:
    """Everything one app instance serves from, built from its settings."""

    settings: Settings
    pairs: PairRegistry
    gallery: Gallery
    jobs: TrainingJobs

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        session_dir = settings.resolved_session_dir()
        line = TrainingLine(settings.train_max_waiting, settings.train_max_per_address)
        return cls(settings, PairRegistry(settings.resolved_pairs_dir(), session_dir),
                   Gallery(settings.assets_dir()),
                   TrainingJobs(session_dir, SessionPolicy.from_settings(settings), settings.train_threads,
                                settings.train_max_seconds, line))


__all__ = ["Runtime", "Gallery", "PairRegistry", "SessionPolicy", "TrainingJobs"]
