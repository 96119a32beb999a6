"""Training hyper-parameters, as train/ sees them.

The dataclass is defined with the other settings sections (crosslake/settings.py) so that
loading the configuration never imports train/; it is re-exported here for train/'s own
modules. The values live in conf/ (base.yaml, overlaid per profile), and the whole
dataclass is saved into every model's metadata.
"""

from __future__ import annotations

from crosslake.settings import TrainConfig

__all__ = ["TrainConfig"]
