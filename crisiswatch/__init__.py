"""crisiswatch: one import namespace for the whole product.

The folders the product brief puts at the top level (``api/``, ``flows/``, ``detectors/``,
...) are this package's sub-packages: ``crisiswatch/api`` and its siblings are links to
them, so that an install adds one name, ``crisiswatch``, to site-packages instead of
``api``, ``flows`` and ``store``, which would collide with other projects' modules. The
files in this folder itself are the composition root: the commands (``cli/``) and the
settings that become each part's plain config (``config/``). See ARCHITECTURE.md."""

__version__ = "0.1.0"
