"""convanim's documentation, built with its own Sphinx extension: ``make docs``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

from convanim.version import __version__  # noqa: E402

project = "convanim"
author = "the convanim authors"
copyright = "the convanim authors"
version = release = __version__
extensions = ["sphinx.ext.autodoc", "convanim.sphinx", "convanim_docs"]
# The figures of the site: small GIFs, drawn (and cached) by the convanim directive.
convanim_defaults = {"quality-animation": 80}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "alabaster"
html_title = f"convanim {__version__}"
exclude_patterns = ["_build"]
