"""Gateway core: the centre file, the store, the queue engine and the command line.

This package never imports Textual, escpos or serial: a whole centre can run from the
command line or from tests. ``tests/test_layering.py`` enforces it.
"""

__version__ = "0.1.0"
