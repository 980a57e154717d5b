"""NSI Registry: versioned reference catalogs, code mapping and publishing.

The Python API lives here; the CLI (`cli.py`) and the web app (`registry.web`)
only translate requests into calls of it.
"""

__version__ = "0.1.0"
