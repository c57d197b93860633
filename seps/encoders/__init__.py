"""Encoders (stage 2): map each agent to a point in an embedding space.

Importing this package registers the built-in encoders ``vae`` and ``deterministic``.
"""

from seps.encoders import deterministic, vae
from seps.encoders.base import IdentityEncoder
from seps.encoders.deterministic import DeterministicEncoder
from seps.encoders.vae import VAEEncoder

__all__ = ["DeterministicEncoder", "IdentityEncoder", "VAEEncoder", "deterministic", "vae"]
