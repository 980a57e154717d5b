"""Mapping review (design §5): map sets, suggestions, reviewers' decisions with audit, Excel and SSSOM, translate.

The Python API that the CLI and the web layer call:

    create_map_set(store, MapSetCreate(slug="local-icd", source="local@1", target="icd10@2.27", four_eyes=True))
    suggest(store, "local-icd")                       # matcher candidates for undecided source entries
    decide(store, "local-icd", "A00", "approve", actor="anna", revision=1, relationship="equivalent")
    export_xlsx(store, "local-icd", "review.xlsx"); import_decisions(store, "local-icd", "review.xlsx", reviewer="anna")
    publish_map_set(store, "local-icd", "2025-1", actor="lead")
    translate(store, "local", "A00", target="icd10")  # only published, approved mappings
"""

from registry.mapping.audit import map_set_history, mapping_history
from registry.mapping.decisions import DECISIONS, Decision, apply_decisions, bulk_decide, decide
from registry.mapping.excel import export_xlsx, import_decisions
from registry.mapping.mapsets import (create_map_set, get_map_set, get_mapping, list_map_set_versions, list_map_sets,
                                      list_mappings, next_mapping, publish_map_set, published_mappings, queue_position,
                                      SORTS)
from registry.mapping.sssom import export_sssom
from registry.mapping.suggest import SuggestReport, suggest
from registry.mapping.translate import translate, translate_back, translate_codes

__all__ = ["DECISIONS", "Decision", "SuggestReport", "apply_decisions", "bulk_decide", "create_map_set", "decide",
           "export_sssom", "export_xlsx", "get_map_set", "get_mapping", "import_decisions", "list_map_set_versions",
           "list_map_sets", "list_mappings", "map_set_history", "mapping_history", "next_mapping",
           "publish_map_set", "published_mappings", "queue_position", "SORTS", "suggest", "translate",
           "translate_back", "translate_codes"]
