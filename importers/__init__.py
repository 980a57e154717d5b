"""Importers: turn national files into canonical entries and stage them as drafts.

One pipeline for every format (design §3): read (a format module yields raw
records with their source position) → map (a profile or the format itself
turns records into canonical entries) → validate and stage (the store's bulk
path) → report. `nsi import` and the API upload both call `run_import`.
"""

from importers.pipeline import run_import  # noqa: F401
