"""Grading and statistics: metrics, intervals, curves, agreement, controls, seeds."""
