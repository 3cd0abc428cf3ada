"""Report analysis: turn a raw report (HTML, PDF, text, Markdown) into a draft STIX 2.1 bundle, offline."""

from __future__ import annotations

from pacte.analysis.knowledge import Knowledge
from pacte.analysis.pipeline import Draft, Evidence, Item, analyse

__all__ = ["Draft", "Evidence", "Item", "Knowledge", "analyse"]
