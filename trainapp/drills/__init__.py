"""Evacuation drills: records, frequency rules and per-enterprise status."""
