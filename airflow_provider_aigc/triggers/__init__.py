"""Airflow triggers of the AIGC provider (they run in the triggerer)."""
