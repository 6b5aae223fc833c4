"""Spot checks during inspections (逢查必考、逢查必问)."""
