"""The Zalo Bot Platform channel: a thin client of the documented methods."""
