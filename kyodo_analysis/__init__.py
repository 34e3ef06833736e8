"""kyodo-analysis."""
