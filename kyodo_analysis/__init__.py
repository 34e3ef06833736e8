"""kyodo-analysis: read the collaboration-workshop questionnaires, count, draw and report.

The names below are the public API. They load on first use (PEP 562), so
``import kyodo_analysis`` stays light: no plotting or morphological-analysis code is
imported until a function that needs it is used.
"""
from __future__ import annotations

import importlib
import os
from typing import Any

# Keep openpyxl on its own writer even when lxml (pulled in by python-docx) is installed,
# so the .xlsx outputs stay byte-identical; must run before any openpyxl import.
os.environ["OPENPYXL_LXML"] = "False"

# Public name -> module (relative to this package) that defines it.
_API: dict[str, str] = {
    # input
    "Problem": "input.survey",
    "Survey": "input.survey",
    "file_status": "input.survey",
    "find_input_files": "input.survey",
    "load_questionnaire": "input.survey",
    "load_questionnaires": "input.survey",
    "problem_table": "input.survey",
    "skipped_samples_note": "input.survey",
    "write_processed": "input.survey",
    "apply_corrections": "input.corrections",
    "find_corrections": "input.corrections",
    "load_corrections": "input.corrections",
    # counting
    "compare_citizens_staff": "intent",
    "describe_intent": "intent",
    "intent_counts": "intent",
    "intent_shares": "intent",
    "word_data": "text.words",
    "association_test": "choices",
    "crosstab_with_intent": "choices",
    "question_counts": "choices",
    "rating_sets": "choices",
    "survey_answers": "choices",
    "word_frequencies": "text.words",
    # theme rules
    "compare_groups": "rules.tag",
    "kwic": "rules.kwic",
    "load_rules": "rules.load",
    "tag_comments": "rules.tag",
    "theme_shares": "rules.tag",
    "theme_table": "rules.tag",
    "with_matched_words": "rules.tag",
    # quotes and privacy
    "mask_personal_data": "quotes",
    "select_quotes": "quotes",
    # group worksheets
    "ask_offer_contrast": "group_work",
    "group_statements": "group_work",
    "group_theme_shares": "group_work",
    "split_statements": "input.worksheets",
    "statements_by_theme": "group_work",
    "tally_beside_questionnaire": "group_work",
    "plot_ask_offer": "figures.group_work",
    # figures
    "cooccurrence": "text.words",
    "network_layout": "figures.words",
    "plot_cooccurrence": "figures.words",
    "plot_question": "figures.choices",
    "plot_rating_set": "figures.choices",
    "plot_intent_by_group": "figures.intent",
    "plot_intent_by_group_years": "figures.intent",
    "plot_intent_trend": "figures.intent",
    "plot_themes_by_group": "figures.themes",
    "plot_themes_by_question": "figures.themes",
    "plot_wordcloud": "figures.words",
    "order_themes_by_share": "figures.themes",
    "save_figure": "figures.save",
    # report and notebooks
    "build_report": "report.build",
    "write_chapter": "chapter",
    "load_parameters": "notebook",
    "require_year": "notebook",
    "to_japanese": "labels",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first use and return the name."""
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public API next to the module's own attributes."""
    return sorted(set(globals()) | set(__all__))
