"""Correlation: links between objects members share, sighting counts and the per-reader indicator score."""
